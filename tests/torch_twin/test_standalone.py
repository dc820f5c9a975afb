"""The PyTorch side stands alone: importing it loads nothing of the MXNet side, its extra
installs nothing of it, and the twin and the commands that need no MXNet run where the
MXNet side is absent (`make torch-check` does the same in a fresh `pip install '.[torch]'`
environment)."""
import importlib.metadata

from helpers import run_python

MXNET_SIDE = ('mxnet', 'gluoncv', 'pandas', 'sklearn', 'pycocotools', 'onnx', 'onnxruntime',
              'openvino', 'nncf')
DISTRIBUTIONS = ('mxnet', 'gluoncv', 'pandas', 'scikit-learn', 'pycocotools', 'onnx',
                 'onnxruntime', 'openvino', 'nncf')


def test_the_mxnet_side_still_comes_with_import_gluon_aff():
    out = run_python('''
import gluon_aff
import gluoncv, mxnet, numpy
net = gluoncv.model_zoo.get_model('cifar_iaff_resnet20', blocks=1, channel_times=1)
net.initialize()
print(type(net).__module__, net(mxnet.nd.array(numpy.zeros((1, 3, 32, 32)))).shape)
print(gluon_aff.get_model('iaff_resnet50').zoo_name)
''')
    assert out.split() == ['gluon_aff.model_zoo.cifar_resnet', '(1,', '100)', 'iaff_resnet50']


def test_the_twin_loads_nothing_of_the_mxnet_side_and_runs_without_it(tmp_path):
    """Importing the twin loads no MXNet-side package; then, as in a PyTorch-only
    environment (each of them made unimportable), the twin and its commands run."""
    out = run_python('''
import sys
import gluon_aff.torch
print('loaded', sorted(m for m in %r if m in sys.modules))
for m in %r:
    sys.modules[m] = None
import torch, timm
import gluon_aff, gluon_aff.torch as twin
from gluon_aff.cli import main
folder = sys.argv[1]
net = twin.get_model('cifar_aff_resnet20', blocks=1, channel_times=1).eval()
path = twin.save_mxnet_params(net, folder + '/n.params')
assert main(['convert', 'cifar_aff_resnet20', '--params', path, '--hub-dir', folder + '/hub',
             '--arg', 'blocks=1', '--arg', 'channel_times=1']) == 0
model = timm.create_model('local-dir:' + folder + '/hub', pretrained=True).eval()
x = torch.randn(1, 3, 32, 32)
assert torch.equal(model(x), net(x))
assert main(['list', 'cifar_*_resnet20']) == 0
assert main(['summary', 'cifar_iaff_resnet20', '--totals', '--arg', 'blocks=1']) == 0
assert gluon_aff.list_models('*iaff_resnet5*') == ['cifar_iaff_resnet56', 'iaff_resnet50']
assert main(['export', 'iaff_resnet50', '--format', 'onnx']) == 2
''' % (MXNET_SIDE, MXNET_SIDE), str(tmp_path))
    assert out.splitlines()[0] == 'loaded []'
    assert 'cifar_iaff_resnet20' in out and 'multiply-adds' in out


def _requirements(name, extras=()):
    """The distributions ``name`` (with ``extras``) requires here, by its installed
    metadata."""
    from packaging.requirements import Requirement
    found = []
    for line in importlib.metadata.requires(name) or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({'extra': e})
                                     for e in tuple(extras) + ('',)):
            found.append(req.name.lower().replace('_', '-'))
    return found


def _closure(name, extras):
    todo, seen = [(name, tuple(extras))], set()
    while todo:
        dist, wanted = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            todo.extend((r, ()) for r in _requirements(dist, wanted))
        except importlib.metadata.PackageNotFoundError:
            pass        # a dependency for another platform, not installed here
    return seen


def test_the_torch_extra_brings_nothing_of_the_mxnet_side():
    """Every distribution `pip install 'gluon-aff[torch]'` installs, followed through the
    installed packages' metadata; the MXNet side's are in its own extra."""
    torch_side = _closure('gluon-aff', ['torch'])
    assert {'torch', 'timm', 'torchvision', 'safetensors'} <= torch_side
    assert sorted(torch_side & set(DISTRIBUTIONS)) == []
    assert {'gluoncv', 'pandas', 'scikit-learn', 'pycocotools', 'onnx'} <= \
        set(_requirements('gluon-aff', ['mxnet']))
    assert {'onnxruntime', 'openvino'} <= set(_requirements('gluon-aff', ['serve']))
