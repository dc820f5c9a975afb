"""Bad images in training folders, named the same way by both frameworks' loaders: an empty
file, a JPEG cut short (no end-of-image marker: decoders read the part they have and say
nothing) or one the decoder cannot read is a ``BadImageError`` naming the path and the way
out (``--skip-bad-images``, which replaces it by the next readable image and logs it).
Grayscale, CMYK and alpha images are not bad: the loaders convert them to RGB."""
import os

__all__ = ['BadImageError', 'SKIP_FLAG', 'image_problem', 'bad_image', 'empty_images',
           'empty_images_error']

SKIP_FLAG = '--skip-bad-images'


class BadImageError(IOError):
    """An image of a training or evaluation folder cannot be used."""


def image_problem(data):
    """What is wrong with an image file's bytes before decoding, or None."""
    if not data:
        return 'the file is empty'
    if data[:2] == b'\xff\xd8' and data.rstrip(b'\x00\r\n ')[-2:] != b'\xff\xd9':
        return 'the JPEG is cut short (no end-of-image marker)'
    return None


def bad_image(path, problem):
    """The ``BadImageError`` for ``path``, with the way out."""
    return BadImageError('bad image %s: %s. Remove or replace it, or pass %s to skip such '
                         'images (each is logged)' % (path, problem, SKIP_FLAG))


def empty_images(paths):
    """The empty files among ``paths`` (found when a folder is opened, before training)."""
    return [p for p in paths if os.path.getsize(p) == 0]


def empty_images_error(root, empty):
    return BadImageError("%d empty image file(s) in '%s': %s%s. Remove or replace them, or "
                         'pass %s to skip them' % (len(empty), root, ', '.join(empty[:5]),
                                                   ' ...' if len(empty) > 5 else '',
                                                   SKIP_FLAG))
