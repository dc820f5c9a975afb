"""What the bench feeds the networks: crops of real photographs, and a network trained on
the digits set with its validation, calibration and accuracy-control images."""
import logging
import tempfile

import numpy as np

__all__ = ['real_images', 'digits_inputs', 'DIGITS_MODEL']

# the network trained on the digits set for the accuracy columns
DIGITS_MODEL = ('cifar_aff_resnet20', dict(blocks=1, channel_times=1, classes=10))
log = logging.getLogger('gluon_aff.bench')


def _photos():
    from PIL import Image
    from ...data.photos import sample_photos
    return [np.asarray(Image.open(f).convert('RGB')) for f in sample_photos()]


def real_images(info, count, seed=0):
    """``count`` crops of real photographs (matplotlib's and scikit-learn's sample images)
    at several scales and places, resized to the model's input and normalised as in its
    evaluation (N x 3 x S x S float32). Seed 0: the evaluation set; other seeds: others
    (e.g. int8 calibration)."""
    import cv2
    rng = np.random.RandomState(seed)
    photos, size, out = _photos(), info.input_size, []
    mean, std = np.asarray(info.mean, np.float32), np.asarray(info.std, np.float32)
    for i in range(count):
        img = photos[i % len(photos)]
        h, w = img.shape[:2]
        side = int(min(h, w) * rng.uniform(0.35, 1.0))
        y, x = rng.randint(0, h - side + 1), rng.randint(0, w - side + 1)
        crop = cv2.resize(img[y:y + side, x:x + side], (size, size),
                          interpolation=cv2.INTER_AREA)
        if rng.rand() < 0.5:
            crop = crop[:, ::-1]
        out.append(((crop.astype(np.float32) / 255 - mean) / std).transpose(2, 0, 1))
    return np.stack(out)


def digits_inputs(params=None, epochs=6):
    """(params file, validation inputs, labels, int8 calibration inputs, (inputs, labels)
    held out from calibration for accuracy control) of a network trained on the digits set
    (``params`` if given, else trained now with the CIFAR recipe, about a minute on 2
    cores)."""
    from ...data.digits import digits_arrays, digits_split
    from ...core.preprocessing import CIFAR_PREPROCESS
    mean, std = CIFAR_PREPROCESS['mean'], CIFAR_PREPROCESS['std']
    images, labels = digits_arrays()
    train_idx, val_idx = digits_split()
    norm = lambda a: ((a.astype(np.float32) / 255 - mean) / std).transpose(  # noqa: E731
        0, 3, 1, 2).astype(np.float32)
    train_x, val_x, val_y = norm(images[train_idx]), norm(images[val_idx]), labels[val_idx]
    if params is None:
        from ...train import CifarConfig, run
        folder = tempfile.mkdtemp(prefix='gluon_aff_bench_digits_')
        log.info('training %s on the digits set for the accuracy columns', DIGITS_MODEL[0])
        params = run(CifarConfig(
            model='resnet', askc_type='aff', dataset='digits', gpus='', num_workers=0,
            blocks=1, channel_times=1, batch_size=32, num_epochs=epochs, cosine=True,
            warmup_epochs=1, seed=0, save_period=0, progress='off', save_dir=folder,
            logging_dir=folder, save_plot_dir=folder)).best_path
    # int8: calibrate on 300 training images (NNCF's default subset size; all 1,137 took
    # twice as long for the same accuracy), control the accuracy on 300 others held out
    # from calibration (never on the validation images, which are the reported metric)
    train_y = labels[train_idx]
    return params, val_x, val_y, train_x[:300], (train_x[-300:], train_y[-300:])
