"""The package's import graph: no module imports one that (directly or through others)
imports it back, and each subpackage imports only the layers below it
(docs/architecture.md). Read from the sources with ``ast``, lazy imports inside functions
included, so a cycle cannot hide behind a function-level import."""
import ast
import os

from helpers import ROOT

PACKAGE = os.path.join(ROOT, 'gluon_aff')
# lowest first: a subpackage may import those before it, never those after it
LAYERS = ['mxnet_compat', 'workers', 'params_file', 'atomic', 'preprocessing', 'released',
          'afi_layout', 'fusion_names', 'autoaugment', 'plots',
          'torch', 'nn', 'utils', 'model_zoo', 'transforms', 'data', 'deploy',
          'train', 'tools', 'cli', 'launch', '__main__']


def _modules():
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for f in files:
            if f.endswith('.py'):
                path = os.path.join(folder, f)
                name = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
                found[name[:-len('.__init__')] if f == '__init__.py' else name] = path
    return found


def _import_graph():
    modules = _modules()

    def resolve(name):
        while name not in modules and '.' in name:
            name = name.rsplit('.', 1)[0]
        return name if name in modules else None

    graph = {}
    for module, path in modules.items():
        package = module if path.endswith('__init__.py') else module.rsplit('.', 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    parts = package.split('.')
                    base = '.'.join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
                names = [base + '.' + a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                target = resolve(name) if name.startswith('gluon_aff') else None
                # importing one's own package only runs what is already running
                if target and target != module and not module.startswith(target + '.'):
                    targets.add(target)
        graph[module] = targets
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_cycle():
    assert _cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]


def test_no_import_cycle():
    graph = _import_graph()
    assert len(graph) > 60 and 'gluon_aff.model_zoo.registry' in graph
    assert _cycles(graph) == []


def test_each_layer_imports_only_the_layers_below_it():
    def layer(module):
        parts = module.split('.')
        return parts[1] if len(parts) > 1 else None

    upward = []
    for module, targets in _import_graph().items():
        for target in targets:
            a, b = layer(module), layer(target)
            if a and b and a != b and b != '__init__':
                assert a in LAYERS and b in LAYERS, (module, target)
                if LAYERS.index(b) > LAYERS.index(a):
                    upward.append('%s -> %s' % (module, target))
    assert upward == []
