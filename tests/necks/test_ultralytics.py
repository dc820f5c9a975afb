"""gluon_aff.torch.integrations.ultralytics.register(): AFF, iAFF and MSCAM in a model
YAML where Concat stands; DetectionModel builds it (the fusion's output has its first
input's channels, the second is projected), trains a step and exports to ONNX (ONNX
Runtime agrees); the model pickles, as ultralytics' trainer saves it, and YOLO's own
train and export run on it. ultralytics pinned in requirements-test.txt."""
import io
import os
import pickle
import tempfile
import types
import warnings

import numpy as np
import pytest
import torch

os.environ.setdefault('YOLO_OFFLINE', '1')        # no update checks, no downloads
os.environ.setdefault('YOLO_CONFIG_DIR', tempfile.mkdtemp(prefix='ultralytics-'))
ultralytics = pytest.importorskip('ultralytics')

from gluon_aff import torch as twin  # noqa: E402
from gluon_aff.torch.integrations.ultralytics import register  # noqa: E402

# a small YOLOv8-style network: P3/P4 outputs, the top-down and bottom-up merges fuse
YAML = {
    'nc': 3,
    'backbone': [
        [-1, 1, 'Conv', [16, 3, 2]],        # 0 P1/2
        [-1, 1, 'Conv', [32, 3, 2]],        # 1 P2/4
        [-1, 1, 'C2f', [32, True]],         # 2
        [-1, 1, 'Conv', [64, 3, 2]],        # 3 P3/8
        [-1, 1, 'C2f', [64, True]],         # 4
        [-1, 1, 'Conv', [128, 3, 2]],       # 5 P4/16
        [-1, 1, 'C2f', [128, True]],        # 6
    ],
    'head': [
        [-1, 1, 'nn.Upsample', [None, 2, 'nearest']],   # 7
        [[-1, 4], 1, 'AFF', []],                        # 8: 128 (64 projected)
        [-1, 1, 'C2f', [64]],                           # 9 P3 out
        [-1, 1, 'Conv', [64, 3, 2]],                    # 10
        [[-1, 6], 1, 'iAFF', [8]],                      # 11: 64 (128 projected), r=8
        [-1, 1, 'MSCAM', []],                           # 12 P4 out
        [[9, 12], 1, 'Detect', ['nc']],                 # 13
    ],
}


def _model():
    from ultralytics.nn.tasks import DetectionModel
    register()
    register()                      # idempotent
    torch.manual_seed(0)
    return DetectionModel(YAML, ch=3, nc=3, verbose=False)


def test_a_yaml_with_the_fusions_builds_with_their_channels():
    model = _model()
    layers = model.model
    assert [layers[i].layer_name for i in (8, 11, 12)] == ['AFF', 'iAFF', 'MSCAM']
    assert [layers[i].type for i in (8, 11, 12)] == ['AFF', 'iAFF', 'MSCAM']
    aff, iaff, mscam = layers[8].block, layers[11].block, layers[12].block
    assert isinstance(aff, twin.AFF) and aff.in_pair == (128, 64) and aff.channels == 128
    assert isinstance(iaff, twin.IAFF) and iaff.in_pair == (64, 128) and iaff.channels == 64
    assert iaff.local_att[0].out_channels == 64 // 8 and isinstance(mscam, twin.MSCAM)
    assert layers[8].f == [-1, 4] and layers[11].f == [-1, 6]
    assert list(model.stride) == [8.0, 16.0]
    # ultralytics' trainer saves the whole model with torch.save (pickle): the layers are
    # found again by their module and name, and compute the same
    copy = pickle.loads(pickle.dumps(model))
    assert type(copy.model[8]) is type(layers[8]) and copy.model[8].layer_name == 'AFF'
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(copy.eval()(x)[0], model.eval()(x)[0], rtol=0, atol=0)


def test_the_model_trains_a_step_and_exports_to_onnx():
    import onnxruntime
    model = _model().train()
    model.args = types.SimpleNamespace(box=7.5, cls=0.5, dfl=1.5)
    batch = {'img': torch.rand(2, 3, 64, 64), 'batch_idx': torch.tensor([0.0, 1.0]),
             'cls': torch.tensor([[1.0], [2.0]]),
             'bboxes': torch.tensor([[0.5, 0.5, 0.3, 0.4], [0.3, 0.6, 0.2, 0.2]])}
    loss, items = model.loss(batch)
    parts = list(items.values()) if isinstance(items, dict) else [items]
    assert torch.isfinite(loss).all() and all(torch.isfinite(p).all() for p in parts)
    loss.sum().backward()
    assert model.model[8].block.global_att[1].weight.grad is not None
    model.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        want = model(x)[0]
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(model, (x,), f, dynamo=False, input_names=['images'])
    got = onnxruntime.InferenceSession(f.getvalue()).run(None, {'images': x.numpy()})[0]
    np.testing.assert_allclose(got, want.numpy(), atol=1e-3, rtol=1e-4)


def test_a_fusion_row_of_the_wrong_arity_is_named():
    from ultralytics.nn.tasks import DetectionModel
    register()
    for row, message in (([[-1, 4, 2], 1, 'AFF', []], r'row 8 \(head\): AFF takes two inputs'),
                         ([[-1, 4], 1, 'MSCAM', []], r'row 8 \(head\): MSCAM takes one input')):
        bad = dict(YAML, head=YAML['head'][:1] + [row] + YAML['head'][2:])
        with pytest.raises(ValueError, match=message):
            DetectionModel(bad, ch=3, nc=3, verbose=False)


def _yolo_folder(root, count=4, size=64):
    """A detection set in YOLO's layout (images/{train,val}, labels/{train,val}: one bright
    square per image, of class i % 3), and its data YAML."""
    from PIL import Image
    rng = np.random.RandomState(0)
    for split in ('train', 'val'):
        for kind in ('images', 'labels'):
            (root / kind / split).mkdir(parents=True)
        for i in range(count):
            image = rng.randint(0, 60, (size, size, 3)).astype(np.uint8)
            r, c = rng.randint(8, size - 24, 2)
            image[r:r + 16, c:c + 16] = 220
            Image.fromarray(image).save(str(root / 'images' / split / ('%d.png' % i)))
            (root / 'labels' / split / ('%d.txt' % i)).write_text('%d %.4f %.4f %.4f %.4f\n' % (
                i % 3, (c + 8) / size, (r + 8) / size, 16 / size, 16 / size))
    data = root / 'data.yaml'
    data.write_text('path: %s\ntrain: images/train\nval: images/val\nnames:\n  0: a\n'
                    '  1: b\n  2: c\n' % root)
    return data


@pytest.mark.e2e
def test_yolo_trains_saves_reloads_and_exports_with_its_own_loops(tmp_path):
    """What a user runs: YOLO(yaml).train() (one epoch on 4 generated images, offline; it
    saves best.pt by pickling the model and validates it reloaded), then
    YOLO(best.pt) without the YAML, and model.export(format='onnx')."""
    import onnxruntime
    import yaml
    from ultralytics import YOLO
    register()
    net = tmp_path / 'net.yaml'
    net.write_text(yaml.safe_dump(YAML))
    model = YOLO(str(net))
    environ = dict(os.environ)
    try:
        model.train(data=str(_yolo_folder(tmp_path / 'set')), epochs=1, imgsz=64, batch=4,
                    device='cpu', workers=0, plots=False, amp=False, seed=0, verbose=False,
                    project=str(tmp_path / 'runs'), name='t')
    finally:            # the trainer sets environment variables: the next tests' are as before
        os.environ.clear()
        os.environ.update(environ)
    best = tmp_path / 'runs' / 't' / 'weights' / 'best.pt'
    assert best.exists() and (best.parent / 'last.pt').exists()
    reloaded = YOLO(str(best)).model.eval()
    assert [reloaded.model[i].layer_name for i in (8, 11, 12)] == ['AFF', 'iAFF', 'MSCAM']
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        want = reloaded(x)[0]
    onnx_path = YOLO(str(best)).export(format='onnx', imgsz=64)
    got = onnxruntime.InferenceSession(onnx_path).run(None, {'images': x.numpy()})[0]
    np.testing.assert_allclose(got, want.numpy(), atol=1e-3, rtol=1e-4)
