"""MXNet's ``.params`` files (``mx.nd.save``, ``Block.save_parameters``) read and written
with numpy alone: the released checkpoints open without MXNet.

Layout (all integers little-endian)::

    uint64 0x112 (list magic), uint64 0 (reserved), uint64 N
    N arrays:  uint32 magic (0xF993FAC9; 0xF993FACA under numpy-shape semantics)
               int32 storage type (0 dense)
               uint32 ndim, ndim x int64 shape     (ndim 0: an empty array, nothing more)
               int32 device type, int32 device id  (1, 0: CPU)
               int32 dtype flag, then the data in C order
    uint64 M (names: N, or 0 for an unnamed list), M x (uint64 length, UTF-8 bytes)

``read_params(path)`` returns the arrays by name, in the file's order, in their stored
dtypes (the released ImageNet files keep convolution and dense weights in float16);
``write_params`` writes the bytes ``mx.nd.save`` writes.
"""
import struct
from collections import OrderedDict

import numpy as np

__all__ = ['read_params', 'write_params', 'ParamsFileError', 'DTYPES']

LIST_MAGIC = 0x112
ARRAY_MAGIC_V2 = 0xF993FAC9
ARRAY_MAGIC_V3 = 0xF993FACA     # written under numpy-shape semantics: ndim 0 is a scalar
# MXNet's dtype flags
DTYPES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32, 5: np.int8,
          6: np.int64}
_FLAGS = {np.dtype(t): flag for flag, t in DTYPES.items()}


class ParamsFileError(ValueError):
    """A file that is not (or not all) an MXNet .params file; says where it stops."""


class _Reader(object):
    def __init__(self, data, path):
        self.data, self.path, self.pos = data, path, 0

    def take(self, n, what):
        if self.pos + n > len(self.data):
            raise ParamsFileError(
                "'%s' is truncated: %s needs %d bytes at offset %d, the file has %d; the "
                'download or copy was cut short, fetch the file again'
                % (self.path, what, n, self.pos, len(self.data)))
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt, what):
        return struct.unpack('<' + fmt, self.take(struct.calcsize('<' + fmt), what))


def _read_array(r, index):
    what = 'array %d' % index
    magic, = r.unpack('I', what + ' header')
    if magic not in (ARRAY_MAGIC_V2, ARRAY_MAGIC_V3):
        raise ParamsFileError("'%s': array %d starts with 0x%08X, not an MXNet 1.x array "
                              '(0x%08X); files from MXNet before 1.0 are not read'
                              % (r.path, index, magic, ARRAY_MAGIC_V2))
    storage, = r.unpack('i', what + ' storage type')
    if storage != 0:
        raise ParamsFileError("'%s': array %d is sparse (storage type %d); only dense arrays "
                              'are read' % (r.path, index, storage))
    ndim, = r.unpack('I', what + ' ndim')
    if ndim == 0 and magic == ARRAY_MAGIC_V2:
        return np.zeros((0,), np.float32)
    shape = r.unpack('%dq' % ndim, what + ' shape') if ndim else ()
    r.unpack('ii', what + ' context')
    flag, = r.unpack('i', what + ' dtype')
    if flag not in DTYPES:
        raise ParamsFileError("'%s': array %d has dtype flag %d, which is none of MXNet's "
                              '%s' % (r.path, index, flag, sorted(DTYPES)))
    dtype = np.dtype(DTYPES[flag])
    count = int(np.prod(shape, dtype=np.int64))
    data = r.take(count * dtype.itemsize, '%s data (%s %s)' % (what, dtype.name, shape))
    return np.frombuffer(data, dtype.newbyteorder('<')).astype(dtype).reshape(shape)


def read_params(path):
    """{name: numpy array} of an MXNet .params file, in the file's order and dtypes.
    ParamsFileError names the file and what is wrong (not a .params file, truncated,
    sparse)."""
    with open(path, 'rb') as f:
        r = _Reader(f.read(), path)
    if len(r.data) < 24 or struct.unpack('<Q', r.data[:8])[0] != LIST_MAGIC:
        raise ParamsFileError("'%s' is not an MXNet .params file (it does not begin with "
                              'the list magic 0x112)' % path)
    _, _, count = r.unpack('QQQ', 'header')
    arrays = [_read_array(r, i) for i in range(count)]
    names_count, = r.unpack('Q', 'the name count')
    if names_count not in (0, count):
        raise ParamsFileError("'%s' holds %d arrays but %d names" % (path, count, names_count))
    names = []
    for i in range(names_count):
        length, = r.unpack('Q', 'name %d length' % i)
        names.append(r.take(length, 'name %d' % i).decode('utf-8'))
    if r.pos != len(r.data):
        raise ParamsFileError("'%s' has %d bytes after its last name" % (path,
                                                                        len(r.data) - r.pos))
    if not names:
        names = [str(i) for i in range(count)]
    return OrderedDict(zip(names, arrays))


def write_params(path, arrays):
    """Write ``{name: numpy array}`` (in its order) as ``mx.nd.save`` does."""
    out = [struct.pack('<QQQ', LIST_MAGIC, 0, len(arrays))]
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        if array.dtype not in _FLAGS:
            raise ValueError('%s: dtype %s is none of MXNet\'s (%s)' % (
                name, array.dtype, ', '.join(np.dtype(t).name for t in DTYPES.values())))
        out.append(struct.pack('<IiI', ARRAY_MAGIC_V2, 0, array.ndim))
        out.append(struct.pack('<%dq' % array.ndim, *array.shape))
        out.append(struct.pack('<iii', 1, 0, _FLAGS[array.dtype]))
        out.append(array.astype(array.dtype.newbyteorder('<')).tobytes())
    out.append(struct.pack('<Q', len(arrays)))
    for name in arrays:
        encoded = name.encode('utf-8')
        out.append(struct.pack('<Q', len(encoded)) + encoded)
    with open(path, 'wb') as f:
        f.write(b''.join(out))
