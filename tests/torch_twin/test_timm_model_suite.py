"""Every name in timm's registry, walked as timm's own model tests walk timm's models
(timm's tests/test_models.py: the default config, ``forward_features`` against
``pool_size``, the head with and without pooling, the ``classifier`` and ``first_conv``
keys), at each family's smallest configuration; the segmentation networks are out of the
registry and still built by ``gluon_aff.torch.get_model``.

Expected values come from the network itself as it runs (the map shapes of a forward pass,
the convolution a hook sees take the image), not from the declaration under test."""
import dataclasses

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from timm.models import PretrainedCfg

from gluon_aff import torch as twin
from gluon_aff.core.zoo import get_model_info, list_models
from gluon_aff.data.photos import sample_photos

REGISTERED = [n for n in list_models() if get_model_info(n).task == 'classification']
SEGMENTATION = [n for n in list_models() if get_model_info(n).task == 'segmentation']

# the PretrainedCfg fields every registered name fills (timm's ResNets fill the same ones;
# test_input_size/test_crop_pct/test_pool_size are left out: the zoo evaluates at the
# training size, and label_offset/label_descriptions belong to other label sets)
FILLED = ('architecture', 'input_size', 'min_input_size', 'fixed_input_size', 'interpolation',
          'crop_pct', 'crop_mode', 'mean', 'std', 'num_classes', 'pool_size', 'first_conv',
          'classifier', 'license', 'description', 'origin_url', 'paper_name', 'paper_ids')


def test_the_registry_holds_the_classifiers_and_get_model_the_segmenters():
    assert SEGMENTATION and len(REGISTERED) + len(SEGMENTATION) == len(list_models())
    registered = set(timm.list_models())
    assert set(REGISTERED) <= registered and not set(SEGMENTATION) & registered
    with pytest.raises(RuntimeError, match='Unknown model'):
        timm.create_model(SEGMENTATION[0])
    info = get_model_info(SEGMENTATION[0])
    net = twin.get_model(SEGMENTATION[0], **info.smallest).eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 16, 16))
    assert out.shape == (1, info.classes, 16, 16)


def _first_convolution(model, x):
    """The name of the first convolution that runs on ``x`` itself (after at most a
    normalisation of it), found by hooks on a forward pass."""
    order = []
    handles = [m.register_forward_hook(lambda m, i, o, name=name: order.append((name, m)))
               for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return order[0]


@pytest.mark.parametrize('name', REGISTERED)
def test_default_cfg_as_timms_model_tests_read_it(name):
    info = get_model_info(name)
    model = timm.create_model(name, **info.smallest).eval()
    cfg = model.pretrained_cfg
    known = {f.name for f in dataclasses.fields(PretrainedCfg)}
    assert set(cfg) <= known, set(cfg) - known
    assert [f for f in FILLED if cfg.get(f) is None] == []
    assert cfg == timm.models.get_pretrained_cfg(name).to_dict(remove_source=False) | {
        k: v for k, v in cfg.items() if v is None}
    state = model.state_dict()
    assert model.num_classes == cfg['num_classes'] > 0
    assert cfg['classifier'] + '.weight' in state
    assert state[cfg['classifier'] + '.weight'].shape[0] == cfg['num_classes']
    x = torch.randn(2, *cfg['input_size'])
    first, conv = _first_convolution(model, x)
    assert cfg['first_conv'] == first and conv.in_channels == cfg['input_size'][0]
    assert state[cfg['first_conv'] + '.weight'].shape[1] == cfg['input_size'][0]
    with torch.no_grad():
        features = model.forward_features(x)
        pre = model.forward_head(features, pre_logits=True)
        assert tuple(features.shape[2:]) == tuple(cfg['pool_size'])
        assert features.shape[1] == model.num_features and pre.shape[1] == model.head_hidden_size
        model.reset_classifier(0)
        pooled = model(x)
        assert pooled.shape == (2, model.head_hidden_size)
        model.reset_classifier(0, '')
        unpooled = model(x)
    # (as timm's MobileNetV3: unpooled, forward gives the map after the head's 1x1)
    assert unpooled.dim() == 4 and tuple(unpooled.shape[2:]) == tuple(cfg['pool_size'])
    assert unpooled.shape[1] == model.head_hidden_size


@pytest.mark.parametrize('name', ['iaff_resnet50', 'cifar_aff_resnet32'])
def test_the_cfgs_preprocessing_gives_the_mxnet_zoos_pixels(name):
    """An evaluation transform written from the cfg's fields alone (OpenCV's resize with
    the cfg's interpolation, the short side to ceil(S / crop_pct), centre crop, mean, std)
    gives the MXNet side's evaluation pixels, to float rounding: a changed
    interpolation, crop_pct, mean, std or input_size in the cfg is caught here."""
    cv2 = pytest.importorskip('cv2')
    from gluon_aff.data.eval_transform import eval_transform, load_image
    cfg = timm.models.get_pretrained_cfg(name).to_dict()
    flag = {'bilinear': cv2.INTER_LINEAR, 'bicubic': cv2.INTER_CUBIC,
            'nearest': cv2.INTER_NEAREST}[cfg['interpolation']]
    side = cfg['input_size'][1]
    short = int(np.ceil(side / cfg['crop_pct']))
    for path in sample_photos():
        img = np.asarray(Image.open(path).convert('RGB'))
        h, w = img.shape[:2]
        size = (short, short * h // w) if h > w else (short * w // h, short)
        img = cv2.resize(img, size, interpolation=flag)
        top, left = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
        img = img[top:top + side, left:left + side].astype(np.float32) / 255
        expected = ((img - cfg['mean']) / cfg['std']).transpose(2, 0, 1)
        got = eval_transform(get_model_info(name), load_image(path)).asnumpy()[0]
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=path)
