"""After `pip install '.[torch]'` into a fresh environment (`make torch-check`): nothing of
the MXNet side is installed; the twin, `gluon-aff list`, `summary` and `convert`, and timm's
loading of the Hub folder `convert` writes work; a command that needs MXNet says how to
install it.

    python tests/torch_only_check.py
"""
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

MXNET_SIDE = ('mxnet', 'gluoncv', 'pandas', 'sklearn', 'pycocotools', 'onnx', 'onnxruntime',
              'openvino', 'nncf')


def _command(*args):
    exe = os.path.join(os.path.dirname(sys.executable), 'gluon-aff')
    return subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=600)


def main():
    present = [m for m in MXNET_SIDE if importlib.util.find_spec(m) is not None]
    assert not present, "pip install '.[torch]' brought the MXNet side's %s" % present
    start = time.perf_counter()
    import gluon_aff.torch as twin
    took = time.perf_counter() - start
    import timm
    import torch
    assert not [m for m in MXNET_SIDE if m in sys.modules]

    net = twin.get_model('cifar_iaff_resnet20', blocks=1, channel_times=1).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = net(x)
    with tempfile.TemporaryDirectory() as folder:
        params = twin.save_mxnet_params(net, os.path.join(folder, 'net.params'))
        hub = os.path.join(folder, 'hub')
        run = _command('convert', 'cifar_iaff_resnet20', '--params', params, '--hub-dir', hub,
                       '--out', os.path.join(folder, 'net.safetensors'), '--arg', 'blocks=1',
                       '--arg', 'channel_times=1')
        assert run.returncode == 0, run.stderr
        model = timm.create_model('local-dir:' + hub, pretrained=True).eval()
        with torch.no_grad():
            torch.testing.assert_close(model(x), expected, rtol=0, atol=0)

    listed = _command('list', 'cifar_*_resnet20')
    assert listed.returncode == 0 and 'cifar_iaff_resnet20' in listed.stdout, listed.stderr
    summary = _command('summary', 'iaff_resnet50', '--totals')
    assert summary.returncode == 0 and '4,795,965,440 multiply-adds' in summary.stdout, \
        summary.stdout + summary.stderr
    export = _command('export', 'iaff_resnet50', '--format', 'onnx')
    assert export.returncode == 2 and 'pip install --no-deps mxnet==1.9.1' in export.stderr \
        and "gluon-aff[mxnet]" in export.stderr, export.stderr
    print('pip install .[torch]: none of %s installed; import gluon_aff.torch %.2f s; the twin, '
          'list, summary, convert and local-dir loading work; export names the MXNet install'
          % (', '.join(MXNET_SIDE), took))
    return 0


if __name__ == '__main__':
    sys.exit(main())
