"""Image folders whose bad images are named (gluon_aff.data.folders): grayscale, CMYK and
alpha images converted to RGB; empty, undecodable and cut-short images named with the way
out, or skipped and logged with the flag."""
import io
import logging

import numpy as np
import pytest
from PIL import Image

from gluon_aff.data.folders import BadImageError, CheckedImageFolder

RGB = np.random.RandomState(0).randint(0, 256, (12, 10, 3)).astype(np.uint8)


def _jpeg(img, mode=None):
    buf = io.BytesIO()
    (img.convert(mode) if mode else img).save(buf, 'JPEG', quality=95)
    return buf.getvalue()


def _folder(root, files):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return str(root)


def test_grey_cmyk_and_alpha_images_become_rgb(tmp_path):
    photo = Image.fromarray(RGB)
    rgba = io.BytesIO()
    Image.fromarray(np.dstack([RGB, np.full(RGB.shape[:2], 7, np.uint8)])).save(rgba, 'PNG')
    grey = io.BytesIO()
    photo.convert('L').save(grey, 'PNG')
    root = _folder(tmp_path, {'a/cmyk.jpg': _jpeg(photo, 'CMYK'), 'a/grey.png': grey.getvalue(),
                              'b/rgba.png': rgba.getvalue()})
    ds = CheckedImageFolder(root)
    got = {ds.items[i][0].split('/')[-1]: ds[i] for i in range(len(ds))}
    for name, (img, label) in got.items():
        assert img.shape == (12, 10, 3) and img.dtype == np.uint8, name
    assert got['rgba.png'][1] == 1 and np.array_equal(got['rgba.png'][0].asnumpy(), RGB)
    grey_values = np.asarray(photo.convert('L'))
    for c in range(3):
        assert np.array_equal(got['grey.png'][0].asnumpy()[:, :, c], grey_values)
    # CMYK through JPEG is lossy: compare with PIL's own decoding of the same file
    expected = np.asarray(Image.open(io.BytesIO(_jpeg(photo, 'CMYK'))).convert('RGB'), float)
    assert np.abs(got['cmyk.jpg'][0].asnumpy() - expected).mean() < 3


def test_bad_images_are_named_or_skipped_and_logged(tmp_path, caplog):
    good = _jpeg(Image.fromarray(RGB))
    files = {'a/0good.jpg': good, 'a/1garbage.jpg': b'not an image at all' * 20,
             'a/2cut.jpg': good[:len(good) // 2], 'b/3good.jpg': good}
    root = _folder(tmp_path / 'data', files)
    ds = CheckedImageFolder(root)
    with pytest.raises(BadImageError, match=r"1garbage.jpg: OpenCV cannot decode it.*"
                                            r"--skip-bad-images"):
        ds[1]
    with pytest.raises(BadImageError, match=r'2cut.jpg: the JPEG is cut short'):
        ds[2]
    # skipped: each bad image is replaced by the next readable one, with its label
    ds = CheckedImageFolder(root, skip_bad=True)
    with caplog.at_level(logging.WARNING, logger='gluon_aff.data.folders'):
        labels = [ds[i][1] for i in range(4)]
    assert labels == [0, 1, 1, 1]
    assert sorted(p.split('/')[-1] for p in ds.skipped) == ['1garbage.jpg', '2cut.jpg']
    assert caplog.text.count('skipped (--skip-bad-images)') == 2
    # an empty file is found when the folder is opened, before any training
    (tmp_path / 'data' / 'b' / '4empty.jpg').write_bytes(b'')
    with pytest.raises(BadImageError, match=r"1 empty image file\(s\).*4empty.jpg.*"
                                            r'--skip-bad-images'):
        CheckedImageFolder(root)
    assert len(CheckedImageFolder(root, skip_bad=True)) == 4


def _jpeg_bytes(seed=0, size=32):
    buf = io.BytesIO()
    pixels = np.random.RandomState(seed).randint(0, 256, (size, size, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(buf, 'JPEG', quality=90)
    return buf.getvalue()


def test_a_jpeg_with_bytes_after_its_end_reads_and_one_cut_short_does_not(tmp_path):
    """Phones and editors append data after the end-of-image marker: such a JPEG is whole.
    One cut short is named, also when an EXIF thumbnail (a whole JPEG of its own, with
    its own end marker) sits before the cut."""
    from gluon_aff.core.images import image_problem
    whole = _jpeg_bytes()
    trailing = whole + b'\x00MPF trailer: a second image, metadata ...' * 20
    thumbnail = _jpeg_bytes(1, 8)
    exif = b'Exif\x00\x00' + thumbnail
    with_thumbnail = whole[:2] + b'\xff\xe1' + (len(exif) + 2).to_bytes(2, 'big') + exif + \
        whole[2:]
    assert image_problem(whole) is None and image_problem(trailing) is None
    assert image_problem(with_thumbnail) is None
    for cut in (whole[:len(whole) // 2], whole[:-2], with_thumbnail[:len(with_thumbnail) - 40]):
        assert 'cut short' in image_problem(cut)
    folder = _folder(tmp_path / 'd', {'a/trailing.jpg': trailing, 'b/thumb.jpg': with_thumbnail})
    data = CheckedImageFolder(folder)
    assert len(data) == 2 and all(data[i][0].shape[:2] == (32, 32) for i in range(2))
