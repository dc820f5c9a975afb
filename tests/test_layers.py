"""The package's import graph: no module imports one that (directly or through others)
imports it back, and each subpackage imports only the layers below it
(docs/architecture.md). Read from the sources with ``ast``, lazy imports inside functions
included, so a cycle cannot hide behind a function-level import."""
import ast
import os

from helpers import ROOT

PACKAGE = os.path.join(ROOT, 'gluon_aff')
# lowest first: a subpackage may import those before it, never those after it
LAYERS = ['core', 'mxnet_compat', 'torch', 'nn', 'utils', 'model_zoo', 'data', 'deploy',
          'train', 'launch', 'tools', 'cli', '__main__']
# what each framework-free or PyTorch layer must never import, even lazily
FORBIDDEN = {'core': ('mxnet', 'gluoncv', 'torch', 'torchvision', 'timm', 'sklearn', 'pandas'),
             'torch': ('mxnet', 'gluoncv', 'sklearn', 'pandas')}


def _modules():
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for f in files:
            if f.endswith('.py'):
                path = os.path.join(folder, f)
                name = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
                found[name[:-len('.__init__')] if f == '__init__.py' else name] = path
    return found


def _imported_names(path, package):
    """Every absolute module name a file imports, function-level imports included."""
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = package.split('.')
                base = '.'.join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            yield from (base + '.' + a.name for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


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
        for name in _imported_names(path, package):
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


def test_core_needs_no_framework_and_the_twin_no_mxnet():
    """gluon_aff/core imports no deep-learning framework, gluon_aff/torch nothing of the
    MXNet side's stack (tests/torch_twin/test_standalone.py imports them to be sure)."""
    found = []
    for module, path in _modules().items():
        parts = module.split('.')
        forbidden = FORBIDDEN.get(parts[1] if len(parts) > 1 else None, ())
        package = module if path.endswith('__init__.py') else module.rsplit('.', 1)[0]
        for name in _imported_names(path, package):
            if name.split('.')[0] in forbidden:
                found.append('%s imports %s' % (module, name))
    assert len(_modules()) > 60 and found == []
