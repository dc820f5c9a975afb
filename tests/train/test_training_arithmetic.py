"""Training arithmetic with exact expected values: labels, schedules, no-wd, the digits set,
the scripts' flags."""
import math

import mxnet as mx
import numpy as np
import pytest

from gluon_aff.data.digits import digits_arrays, digits_dataset
from gluon_aff.model_zoo import get_model
from gluon_aff.train.labels import draw_lambda, mixup_batch, smooth_targets
from gluon_aff.train.network import disable_wd_on_norm_and_bias
from gluon_aff.train import CifarConfig, ImageNetConfig, SegConfig
from gluon_aff.train.options import cifar_parser, imagenet_parser, parse_config, seg_parser
from gluon_aff.train.schedule import cifar_schedule, decay_epochs, imagenet_schedule


# -- mixup and label smoothing ----------------------------------------------------------------
def test_smoothing_values():
    t = smooth_targets(mx.nd.array([0, 2]), 4, 0.1).asnumpy()
    np.testing.assert_allclose(t, [[0.925, 0.025, 0.025, 0.025],
                                   [0.025, 0.025, 0.925, 0.025]], rtol=1e-6)


def test_mixup_with_smoothing_mixes_each_device_slice_with_its_reverse():
    x0 = mx.nd.array([[1.0], [2.0], [3.0]])
    x1 = mx.nd.array([[10.0], [20.0]])
    y0, y1 = mx.nd.array([0, 2, 1]), mx.nd.array([3, 0])
    data, targets = mixup_batch([x0, x1], [y0, y1], 4, lam=0.3, eta=0.1)
    np.testing.assert_allclose(data[0].asnumpy().ravel(), [0.3 * 1 + 0.7 * 3, 2.0, 0.3 * 3 + 0.7 * 1],
                               rtol=1e-6)
    np.testing.assert_allclose(data[1].asnumpy().ravel(), [0.3 * 10 + 0.7 * 20, 0.3 * 20 + 0.7 * 10],
                               rtol=1e-6)
    np.testing.assert_allclose(targets[0].asnumpy(), [
        [0.295, 0.655, 0.025, 0.025],     # 0.3*t(0) + 0.7*t(1)
        [0.025, 0.025, 0.925, 0.025],     # the middle sample is its own partner
        [0.655, 0.295, 0.025, 0.025]], rtol=1e-5)
    np.testing.assert_allclose(targets[1].asnumpy(), [
        [0.3 * 0.025 + 0.7 * 0.925, 0.025, 0.025, 0.3 * 0.925 + 0.7 * 0.025],
        [0.3 * 0.925 + 0.7 * 0.025, 0.025, 0.025, 0.3 * 0.025 + 0.7 * 0.925]], rtol=1e-5)


def test_mixup_lambda_is_one_in_the_off_epochs():
    assert draw_lambda(0.2, 8, 10, 2) == 1.0 and draw_lambda(0.2, 9, 10, 2) == 1.0
    np.random.seed(3)
    expected = np.random.RandomState(3).beta(0.2, 0.2)
    assert draw_lambda(0.2, 7, 10, 2) == expected


# -- learning-rate schedules ------------------------------------------------------------------
def test_cifar_cosine_with_warmup():
    s = cifar_schedule(True, 0.2, 640, 10, 390)
    n_warm = 10 * 390 - 1                       # gluoncv's linear: T / (niters - 1)
    assert s(0) == 0.0
    assert s(195) == pytest.approx(0.2 * 195 / n_warm, rel=1e-12)
    assert s(3900) == pytest.approx(0.2, rel=1e-12)
    n_cos = 630 * 390 - 1
    assert s(3900 + n_cos // 2) == pytest.approx(0.2 * (1 + math.cos(math.pi * (n_cos // 2) / n_cos)) / 2)
    assert s(640 * 390 - 1) == pytest.approx(0.0, abs=1e-12)


def test_cifar_step_decays_when_the_listed_epochs_minus_warmup_begin():
    s = cifar_schedule(False, 0.2, 640, 10, 390, lr_decay_epoch='300,450')
    assert s(1) == 0.2                              # no warm-up in step mode
    assert s(290 * 390) == 0.2                      # the last update of epoch 289
    assert s(290 * 390 + 1) == 0.2 * 0.1            # the first of epoch 290 (300 - 10)
    assert s(440 * 390) == 0.2 * 0.1
    assert s(440 * 390 + 1) == 0.2 * 0.1 * 0.1      # 450 - 10, multiplied in turn


def test_decay_period_does_not_run_off_its_list():
    assert decay_epochs('300,450', 100, 640, 10) == [90, 190, 290, 390, 490, 590]
    s = cifar_schedule(False, 0.2, 640, 10, 10, lr_decay_period=100)
    assert s(590 * 10) == pytest.approx(0.2 * 0.1 ** 5)
    assert s(590 * 10 + 1) == pytest.approx(0.2 * 0.1 ** 6)
    assert s(10 ** 7) == pytest.approx(0.2 * 0.1 ** 6)     # past the end: still defined


def test_imagenet_schedules():
    cos = imagenet_schedule('cosine', 0.075, 240, 5, 100, warmup_lr=0.01)
    assert cos(0) == pytest.approx(0.01)                     # --warmup-lr is the start
    assert cos(250) == pytest.approx(0.01 + (0.075 - 0.01) * 250 / 499)
    assert cos(500) == pytest.approx(0.075)
    step = imagenet_schedule('step', 0.1, 90, 5, 100, lr_decay_epoch='40,60')
    assert step(40 * 100 - 1) == pytest.approx(0.1)
    assert step(40 * 100) == pytest.approx(0.01)              # the epoch as written
    assert step(60 * 100) == pytest.approx(0.001)
    poly = imagenet_schedule('poly', 0.1, 10, 0, 100)
    assert poly(500) == pytest.approx(0.1 * (1 - 500 / 999) ** 2)
    with pytest.raises(ValueError, match='--lr-mode'):
        imagenet_schedule('cosin', 0.1, 10, 0, 100)


def test_run_shorter_than_its_warmup_stays_in_it():
    s = imagenet_schedule('cosine', 0.075, 1, 5, 10)
    assert s(0) == 0.0 and 0 < s(9) < 0.075


# -- no weight decay on norm and bias ---------------------------------------------------------
def test_no_wd_multipliers_and_their_effect():
    net = get_model('cifar_aff_resnet20', blocks=1, channel_times=1, classes=10)
    net.initialize(mx.init.One())
    names = disable_wd_on_norm_and_bias(net)
    params = net._collect_params_with_prefix()
    assert params['features.1.weight'].wd_mult == 1.0
    for key in ('features.2.0.resfwd.0.gamma', 'features.2.0.resfwd.0.beta',
                'features.2.0.attention.local_att.0.bias', 'output.bias'):
        assert params[key].wd_mult == 0.0
    assert len(names) == sum(1 for k in params if k.endswith(('gamma', 'beta', 'bias')))
    trainer = mx.gluon.Trainer(net.collect_params(), 'nag',
                               {'learning_rate': 1.0, 'wd': 0.1, 'momentum': 0.0})
    with mx.autograd.record():
        zero = net(mx.nd.ones((1, 3, 32, 32))).sum() * 0     # fresh, all-zero gradients
    zero.backward()
    trainer.step(1)
    assert params['features.1.weight'].data().asnumpy().max() == pytest.approx(0.9)
    assert params['features.2.0.resfwd.0.gamma'].data().asnumpy().min() == 1.0


# -- the digits set ---------------------------------------------------------------------------
def test_digits_set():
    from sklearn.datasets import load_digits
    train, val = digits_dataset(True), digits_dataset(False)
    assert (len(train), len(val)) == (1437, 360)
    order = np.random.RandomState(0).permutation(1797)
    target = load_digits().target
    assert [train[i][1] for i in range(5)] == list(target[order[:5]])
    assert [val[i][1] for i in range(3)] == list(target[order[1437:1440]])
    img = train[0][0].asnumpy()
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    assert (img[:, :, 0] == img[:, :, 1]).all() and (img[:, :, 1] == img[:, :, 2]).all()
    images, _ = digits_arrays()
    assert images.max() == 255 and images.min() == 0
    raw = load_digits().images[0]
    small = (raw * 255 / 16).round().astype(np.uint8)
    expected = mx.image.imresize(mx.nd.array(small[:, :, None], dtype='uint8'), 32, 32,
                                 interp=1).asnumpy()[:, :, 0]
    np.testing.assert_array_equal(images[0, :, :, 0], expected)


# -- the scripts' flags -----------------------------------------------------------------------
# The original's defaults; --model/--askc-type ('xxx' there, meaning "not given") and the
# options a zoo name configures itself are None until given (the host networks' values are
# checked in test_host_defaults_are_the_originals).
CIFAR_DEFAULTS = dict(dataset='cifar100', batch_size=128, askc_type=None, channel_times=None,
                      blocks=None, start_layer=None, summary=False, gpus='0,1,2,3', model=None,
                      num_workers=96, num_epochs=640, lr=0.2, momentum=0.9, wd=0.0001,
                      lr_decay=0.1, lr_decay_period=0, lr_decay_epoch='300,450', drop_rate=None,
                      mode='hybrid', save_period=10, save_dir='params', logging_dir='logs',
                      resume_from=None, save_plot_dir='.', mixup=False, mixup_alpha=1.0,
                      mixup_off_epoch=40, auto_aug=False, label_smoothing=False, cosine=False,
                      no_wd=False, warmup_lr=0.0, warmup_epochs=10, deep_stem=False)
IMAGENET_DEFAULTS = dict(
    use_rec=False, summary=False, batch_size=128, r=None, dtype='float16', model=None,
    askc_type=None, num_gpus=4, num_workers=96, num_epochs=240, lr=0.075, momentum=0.9,
    wd=0.0001, lr_mode='cosine', lr_decay=0.1, lr_decay_period=0, lr_decay_epoch='40,60',
    warmup_lr=0.0, warmup_epochs=5, last_gamma=False, mode='hybrid', input_size=224,
    crop_ratio=0.875, use_pretrained=False, use_se=False, mixup=False, mixup_alpha=0.2,
    mixup_off_epoch=5, label_smoothing=False, no_wd=False, teacher=None, temperature=20,
    hard_weight=0.5, batch_norm=False, save_frequency=10, save_dir='params', resume_epoch=None,
    resume_params='', resume_states='', log_interval=50, logging_file='train_imagenet.log',
    use_gn=False, auto_aug=False, start_layer=None, num_layer=50)


@pytest.mark.parametrize('parser,defaults', [(cifar_parser, CIFAR_DEFAULTS),
                                             (imagenet_parser, IMAGENET_DEFAULTS)])
def test_every_original_flag_with_its_default(parser, defaults):
    opt = vars(parser().parse_args([]))
    assert {k: opt[k] for k in defaults} == defaults


@pytest.mark.parametrize('parser,config', [(cifar_parser, CifarConfig),
                                           (imagenet_parser, ImageNetConfig),
                                           (seg_parser, SegConfig)])
def test_parser_and_configuration_agree(parser, config):
    import dataclasses
    assert parse_config(parser(), []) == config()
    given = parse_config(parser(), ['--lr', '0.5', '--batch-size', '3', '--auto-resume'])
    assert (given.lr, given.batch_size, given.auto_resume) == (0.5, 3, True)
    flags = {a.dest for a in parser()._actions if a.option_strings}
    assert {f.name for f in dataclasses.fields(config)} <= flags


def test_configurations_name_the_flag_of_a_bad_value():
    for make, flag in ((lambda: CifarConfig(batch_size=0), '--batch-size'),
                       (lambda: CifarConfig(blocks=0), '--blocks'),
                       (lambda: ImageNetConfig(input_size=-1), '--input-size'),
                       (lambda: CifarConfig(mode='hybridise'), '--mode'),
                       (lambda: ImageNetConfig(kvstore='nccl'), '--kvstore'),
                       (lambda: CifarConfig(dataset='mnist'), '--dataset')):
        with pytest.raises(ValueError, match=flag):
            make()
    from gluon_aff.train import run
    with pytest.raises(TypeError, match='CifarConfig'):
        run(dict(model='resnet'))


def test_host_defaults_are_the_originals():
    from gluon_aff.train.network import build_cifar_network
    net, name, _ = build_cifar_network(CifarConfig(model='resnet', askc_type='aff'), 100)
    assert name == 'cifar100-ASKCFuse-resnet-8-c-4-s-1' and net.drop is None
    net, name, _ = build_cifar_network(CifarConfig(model='resnext', askc_type='aff'), 100)
    assert name == 'cifar100-ASKCFuse-resneXt-11-32x4-c-4-s-1'


def test_given_options_override_a_zoo_name_and_others_keep_its_configuration():
    from gluon_aff.train.network import build_cifar_network
    stages = lambda net: [len(net.features[i]) for i in (2, 3, 4)]  # noqa: E731
    net, _, _ = build_cifar_network(CifarConfig(model='cifar_aff_resnet32'), 10)
    assert stages(net) == [5, 5, 5]
    # the script's default value, given explicitly, still overrides
    net, _, _ = build_cifar_network(CifarConfig(model='cifar_aff_resnet32', blocks=1), 10)
    assert stages(net) == [1, 1, 1]
    net, _, _ = build_cifar_network(parse_config(cifar_parser(), [
        '--model', 'cifar_aff_resnet32', '--blocks', '1']), 10)
    assert stages(net) == [1, 1, 1]


def test_start_layer_defaults_are_the_originals():
    # None in the parser, resolved per script: 1 for CIFAR, 3 for ImageNet
    from gluon_aff.train.network import build_cifar_network, build_imagenet_network
    net, name, _ = build_cifar_network(parse_config(cifar_parser(), [
        '--model', 'resnet', '--askc-type', 'ASKCFuse', '--blocks', '5']), 100)
    assert name == 'cifar100-ASKCFuse-resnet-32-c-4-s-1'
    net, name, _ = build_imagenet_network(parse_config(imagenet_parser(), [
        '--model', 'resnet', '--askc-type', 'ASKCFuse']))
    assert name == 'ImageNet-ASKCFuse-resnet--50-s-3'
    assert type(net.layer2[0].attention).__name__ == 'Add'
    assert type(net.layer3[0].attention).__name__ == 'AFF'
