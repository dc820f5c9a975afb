"""Bad images in training folders, named the same way by both frameworks' loaders: an empty
file, a JPEG cut short (no end-of-image marker: decoders read the part they have and say
nothing) or one the decoder cannot read is a ``BadImageError`` naming the path and the way
out (``--skip-bad-images``, which replaces it by the next readable image and logs it).
Grayscale, CMYK and alpha images are not bad: the loaders convert them to RGB."""
import logging
import os

__all__ = ['BadImageError', 'SKIP_FLAG', 'image_problem', 'bad_image', 'empty_images',
           'empty_images_error', 'without_empty', 'read_checked', 'first_readable']

logger = logging.getLogger('gluon_aff')

SKIP_FLAG = '--skip-bad-images'


class BadImageError(IOError):
    """An image of a training or evaluation folder cannot be used."""


def image_problem(data):
    """What is wrong with an image file's bytes before decoding, or None."""
    if not data:
        return 'the file is empty'
    if data[:2] == b'\xff\xd8' and not _jpeg_ends(data):
        return 'the JPEG is cut short (no end-of-image marker)'
    return None


def _jpeg_ends(data):
    """Whether the JPEG in ``data`` reaches its end-of-image marker, walking its segments
    (a thumbnail's marker inside EXIF does not count; bytes after the end, as phones and
    editors append, are allowed). A structure it cannot walk is left to the decoder."""
    i, n = 2, len(data)
    while i + 1 < n:
        if data[i] != 0xFF:
            return b'\xff\xd9' in data            # not walkable: the decoder will say
        marker = data[i + 1]
        if marker == 0xD9:
            return True
        if marker == 0xFF:                          # fill byte
            i += 1
        elif 0xD0 <= marker <= 0xD7 or marker == 0x01:
            i += 2
        elif i + 4 > n:
            return False
        else:
            i += 2 + int.from_bytes(data[i + 2:i + 4], 'big')
            if marker == 0xDA:                      # scan data: up to the next real marker
                while True:
                    i = data.find(b'\xff', i)
                    if i < 0 or i + 1 >= n:
                        return False
                    if data[i + 1] == 0x00 or 0xD0 <= data[i + 1] <= 0xD7:
                        i += 2
                    elif data[i + 1] == 0xFF:
                        i += 1
                    else:
                        break
    return False


def bad_image(path, problem):
    """The ``BadImageError`` for ``path``, with the way out."""
    return BadImageError('bad image %s: %s. Remove or replace it, or pass %s to skip such '
                         'images (each is logged)' % (path, problem, SKIP_FLAG))


def empty_images(paths):
    """The empty files among ``paths`` (found when a folder is opened, before training)."""
    return [p for p in paths if os.path.getsize(p) == 0]


def without_empty(root, samples, skip_bad):
    """``samples`` ((path, label) pairs) without the empty files: with ``skip_bad`` they
    are logged and left out, otherwise their ``BadImageError``. Returns (samples, empty)."""
    empty = empty_images([path for path, _ in samples])
    if empty and not skip_bad:
        raise empty_images_error(root, empty)
    if empty:
        logger.warning("skipping %d empty image file(s) in '%s' (%s): %s", len(empty), root,
                       SKIP_FLAG, ', '.join(empty[:5]) + (' ...' if len(empty) > 5 else ''))
        gone = set(empty)
        samples = [s for s in samples if s[0] not in gone]
    if not samples:
        raise BadImageError("'%s' has no readable image" % root)
    return samples, empty


def read_checked(path, decode):
    """The image at ``path`` decoded by ``decode(bytes)``, which raises ``ValueError``
    naming what its decoder could not do; every failure a ``BadImageError`` naming the path."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise BadImageError('cannot read the image %s: %s' % (path, e.strerror or e))
    problem = image_problem(data)
    if problem is None:
        try:
            return decode(data)
        except ValueError as e:
            problem = str(e)
    raise bad_image(path, problem)


def first_readable(samples, index, read, skip_bad, skipped):
    """(image, label) of ``samples[index]``; a bad image raises, or with ``skip_bad`` is
    replaced by the next readable one (its label with it) and logged once (``skipped``: the
    set of paths already logged)."""
    n = len(samples)
    for k in range(n):
        path, label = samples[(index + k) % n]
        try:
            return read(path), label
        except BadImageError as e:
            if not skip_bad:
                raise
            if path not in skipped:
                skipped.add(path)
                logger.warning('skipped (%s): %s', SKIP_FLAG, str(e).split('. Remove')[0])
    raise BadImageError('no readable image in the folder of %s' % samples[index][0])


def empty_images_error(root, empty):
    return BadImageError("%d empty image file(s) in '%s': %s%s. Remove or replace them, or "
                         'pass %s to skip them' % (len(empty), root, ', '.join(empty[:5]),
                                                   ' ...' if len(empty) > 5 else '',
                                                   SKIP_FLAG))
