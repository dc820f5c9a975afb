"""MXNet 1.9.1 and gluoncv on today's numpy: every numpy name their sources read resolves,
the names put back compute what numpy 1.x computed, numpy integers pass as operator
arguments, records pack, and the package imports without MXNet."""
import ast
import json
import math
import os
import re
import struct
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

from helpers import ROOT
from gluon_aff import mxnet_compat

SITE = os.path.dirname(os.path.dirname(mx.__file__))


def _source(relpath):
    with open(os.path.join(SITE, relpath)) as f:
        return f.read()


def _numpy_reads_on_import(relpath, alias):
    """Names read as ``alias.NAME`` when the module is imported: at module and class level
    and in default arguments, not inside function bodies."""
    names = set()

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in node.args.defaults + node.args.kw_defaults + node.decorator_list:
                if sub is not None:
                    visit(sub)
            return
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == alias:
            names.add(node.attr)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(_source(relpath)))
    return names


def _string_list(relpath, variable):
    tree = ast.parse(_source(relpath))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None) == variable:
            return [e.value for e in node.value.elts]
    raise AssertionError('%s not found in %s' % (variable, relpath))


def _resolves(name):
    obj = np
    for part in name.split('.'):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize('relpath,alias', [
    ('mxnet/numpy/utils.py', 'onp'), ('mxnet/numpy/fallback.py', 'onp'),
    ('mxnet/gluon/contrib/estimator/event_handler.py', 'np')])
def test_numpy_names_mxnet_reads_on_import_resolve(relpath, alias):
    names = _numpy_reads_on_import(relpath, alias)
    assert names
    missing = [n for n in sorted(names) if not hasattr(np, n)]
    assert not missing, '%s reads numpy names this numpy lacks: %s' % (relpath, missing)


def test_functions_mxnet_dispatches_by_name_resolve():
    # numpy_dispatch_protocol looks each of these up with getattr(numpy, name)
    names = _string_list('mxnet/numpy_dispatch_protocol.py', '_NUMPY_ARRAY_FUNCTION_LIST')
    assert {'sometrue', 'round_', 'product'} <= set(names)
    missing = []
    for name in names:
        try:
            _resolves(name)
        except AttributeError:
            missing.append(name)
    assert not missing


def test_names_read_when_called_resolve():
    pattern = re.compile(r'\bnp\.(int|float)\b(?!\w)')
    for relpath in ('gluoncv/model_zoo/rcnn/rpn/anchor.py', 'gluoncv/model_zoo/hrnet.py'):
        assert pattern.search(_source(relpath))
    assert np.int is int and np.float is float       # the builtins, as before numpy 1.24
    assert '_np.compat.basestring' in _source('mxnet/ndarray/numpy/_op.py')
    assert isinstance('constant', np.compat.basestring)
    padded = mx.np.pad(mx.np.ones((2, 2)), ((1, 1), (1, 1)), mode='constant')
    assert padded.shape == (4, 4) and float(padded.sum()) == 4.0


def test_restored_names_compute_what_numpy_1_did():
    assert np.PZERO == 0.0 and not math.copysign(1, np.PZERO) < 0
    assert np.NZERO == 0.0 and math.copysign(1, np.NZERO) < 0
    assert np.PINF == np.Inf == math.inf and np.NINF == -math.inf
    assert math.isnan(np.NAN) and math.isnan(np.NaN)
    a = np.array([[3, 1], [2, 5], [1, 4]])
    assert np.alltrue(a > 0) and not np.alltrue(a > 1)
    assert np.sometrue(a > 4) and not np.sometrue(a > 5)
    assert np.product(a) == 3 * 1 * 2 * 5 * 1 * 4
    assert np.round_(2.567, 2) == 2.57
    assert np.in1d(a, [1, 5]).tolist() == [False, True, False, True, True, False]
    assert np.in1d(a, [1, 5], invert=True).tolist() == [True, False, True, False, False, True]
    assert np.msort(a).tolist() == [[1, 1], [2, 4], [3, 5]]
    assert np.trapz([1, 2, 3]) == 4.0 and np.trapz([1, 2, 3], dx=2) == 8.0
    with pytest.raises(RuntimeError, match='numpy_financial'):
        np.pmt(0.05, 10, 1000)


def test_dispatch_keeps_numpys_own_functions():
    """The put-back names are functions of their own: np.any still dispatches to
    mx.np.any, not to mx.np.sometrue."""
    from mxnet.numpy_dispatch_protocol import _NUMPY_ARRAY_FUNCTION_DICT as table
    assert np.sometrue is not np.any and np.product is not np.prod
    assert table[np.any].__name__ == 'any' and table[np.prod].__name__ == 'prod'
    assert table[np.sometrue].__name__ == 'sometrue'


def test_numpy_integers_as_operator_arguments():
    x = mx.nd.arange(24).reshape((2, 3, 4))
    n = np.int64(8)
    assert mx.nd.reshape(x, shape=(n, np.int64(-1))).shape == (8, 3)
    assert x.reshape((np.int32(4), -1)).shape == (4, 6)
    assert mx.nd.slice_axis(x, axis=np.int64(2), begin=np.int64(1), end=None).shape == (2, 3, 3)
    assert mx.nd.transpose(x, axes=[np.int64(2), 0, 1]).shape == (4, 2, 3)
    sym = mx.sym.reshape(mx.sym.var('a'), shape=(n, np.int64(-1)))
    assert sym.infer_shape(a=(2, 3, 4))[1] == [(8, 3)]


def test_users_print_options_are_untouched():
    code = ('import numpy as np; before = np.get_printoptions(); r0 = repr(np.int64(8)); '
            'import gluon_aff, mxnet; '
            'print(before == np.get_printoptions(), r0 == repr(np.int64(8)))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ['True', 'True']


def test_packing_records(tmp_path):
    """pack and pack_img against the record layout written out by hand: header
    (flag uint32, label float32, id uint64, id2 uint64), then float32 labels, then data."""
    header = mx.recordio.IRHeader(0, [1.5, 2.0, 7.0], 42, 0)
    packed = mx.recordio.pack(header, b'payload')
    labels = np.array([1.5, 2.0, 7.0], np.float32)
    assert packed == struct.pack('<IfQQ', 3, 0.0, 42, 0) + labels.tobytes() + b'payload'
    assert mx.recordio.pack(mx.recordio.IRHeader(0, 4, 1, 0), b'x') == \
        struct.pack('<IfQQ', 0, 4.0, 1, 0) + b'x'
    img = (np.arange(8 * 6 * 3) % 251).astype(np.uint8).reshape(8, 6, 3)
    path = str(tmp_path / 'one.rec')
    writer = mx.recordio.MXIndexedRecordIO(path[:-4] + '.idx', path, 'w')
    writer.write_idx(0, mx.recordio.pack_img(mx.recordio.IRHeader(0, 5, 0, 0), img,
                                             img_fmt='.png'))
    writer.close()
    reader = mx.recordio.MXIndexedRecordIO(path[:-4] + '.idx', path, 'r')
    head, decoded = mx.recordio.unpack_img(reader.read_idx(0))
    assert head.label == 5 and np.array_equal(decoded, img)    # PNG: lossless


def test_the_package_imports_without_mxnet():
    """sys.modules['mxnet'] = None is Python's way of making a module absent."""
    code = '''
import sys
sys.modules['mxnet'] = None
import gluon_aff
from gluon_aff.deploy.runtimes import Classifier
for attempt in ('gluon_aff.get_model', 'import gluon_aff.nn', 'import gluon_aff.model_zoo',
                'from gluon_aff.deploy import export_onnx'):
    try:
        exec(attempt if attempt.startswith(('import', 'from')) else attempt)
    except ImportError as e:
        print(str(e))
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert len(out) == 4
    for line in out:
        assert 'needs MXNet, which is not installed' in line
        assert mxnet_compat.MXNET_INSTALL in line
    assert 'mxnet==1.9.1' in mxnet_compat.MXNET_INSTALL and '--no-deps' in \
        mxnet_compat.MXNET_INSTALL


def test_gluoncv_imports_beside_pytorch_2(tmp_path):
    """gluoncv 0.10.5 raises "Legacy torch==2... detected" on import when any PyTorch 2 is
    installed; a stand-in torch package says 2.5.0 here, whatever torch the machine has."""
    (tmp_path / 'torch').mkdir()
    (tmp_path / 'torch' / '__init__.py').write_text("__version__ = '2.5.0'\n")
    code = ('import torch; assert torch.__version__ == "2.5.0"; import gluon_aff, gluoncv; '
            'net = gluoncv.model_zoo.get_model("iaff_resnet50"); print(type(net).__name__)')
    env = dict(os.environ, PYTHONPATH=str(tmp_path) + os.pathsep + ROOT)
    run = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == 'AFFResNet'


def test_building_an_mxnet_network_imports_neither_torch_nor_sklearn(tmp_path):
    """gluoncv's version check would import torch (1.5 s) only to refuse it, and MXNet
    imports scikit-learn (0.4 s) only for a legacy base class; a stand-in torch shows
    whether anything still imports it. scikit-learn imports as usual afterwards."""
    (tmp_path / 'torch').mkdir()
    (tmp_path / 'torch' / '__init__.py').write_text("__version__ = '2.5.0'\n")
    code = ('import sys, gluon_aff, gluoncv; gluoncv.model_zoo.get_model("cifar_iaff_resnet20"); '
            'print("torch" in sys.modules, "sklearn" in sys.modules); '
            'from sklearn.datasets import load_digits; print(load_digits().data.shape)')
    env = dict(os.environ, PYTHONPATH=str(tmp_path) + os.pathsep + ROOT)
    run = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split('\n')[:2] == ['False False', '(1797, 64)']


def test_the_command_without_mxnet_serves_and_names_the_install():
    code = ("import sys; sys.modules['mxnet'] = None; from gluon_aff.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    help_ = subprocess.run([sys.executable, '-c', code, 'predict', '--help'],
                           capture_output=True, text=True)
    assert help_.returncode == 0 and '--precision' in help_.stdout
    export = subprocess.run([sys.executable, '-c', code, 'export', 'iaff_resnet50'],
                            capture_output=True, text=True)
    assert export.returncode == 2
    assert export.stderr.strip() == mxnet_compat.missing_mxnet_message('gluon-aff export')


def test_installing_beside_numpy_2_keeps_numpy(tmp_path):
    """pip resolves this project against the environment the suite runs in (numpy 2,
    pandas), offline: it installs the project alone, and MXNet is not a requirement."""
    import pandas  # noqa: F401  (the environment holds it)
    assert int(np.__version__.split('.')[0]) >= 2
    report = tmp_path / 'report.json'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-index',
                    '--no-build-isolation', '--quiet', '--report', str(report), ROOT],
                   check=True, capture_output=True)
    with open(report) as f:
        install = json.load(f)['install']
    assert [i['metadata']['name'] for i in install] == ['gluon-aff']
    requires = install[0]['metadata']['requires_dist']
    assert not [r for r in requires if re.match(r'mxnet\b', r)]
    assert [r for r in requires if r.startswith('numpy')]


def test_gluoncvs_table_brings_the_zoo_in_when_read_not_while_gluoncv_imports():
    """``import gluoncv`` after ``import gluon_aff`` imports none of the zoo (no import of
    the zoo inside another package's); gluoncv's get_model and get_model_list then find
    the zoo's names, and the zoo importing gluoncv itself is no cycle."""
    code = '''
import sys
import gluon_aff
import gluoncv
print('zoo during gluoncv:', 'gluon_aff.model_zoo' in sys.modules)
print('listed:', 'cifar_iaff_resnet20' in gluoncv.model_zoo.get_model_list())
net = gluoncv.model_zoo.get_model('cifar_aff_resnet20', blocks=1, channel_times=1)
print('built:', type(net).__name__)
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ['zoo during gluoncv: False', 'listed: True', 'built: CIFARAFFResNet']
    first = subprocess.run([sys.executable, '-c', 'import gluon_aff.model_zoo, gluoncv; '
                            'print(gluoncv.model_zoo.get_model("iaff_resnet50", '
                            'layers=[1, 1, 1, 1]).zoo_name)'],
                           capture_output=True, text=True, check=True)
    assert first.stdout.split() == ['iaff_resnet50']
