"""A float32 matrix kept on disk in column chunks: written a block of rows at a time, read a chunk of
columns at a time.

A model layer recorded on all scored stimuli (2,560 images x 400k units is 4 GB) is written here batch
by batch while the network runs, and read back one chunk of columns (all rows) at a time to form the
stimulus-by-stimulus Gram matrix (:func:`nrp_plugin.core.kernels.gram_matrix`). Each chunk is one
contiguous region of the file, holding its columns for every row (row-major inside the chunk), so both
the writes of a row block and the reads of a column chunk are plain sequential file I/O. The file is
read and written with ``pread``/``pwrite``, never memory-mapped: the operating system's page cache
holds it, not the process, so the process's resident memory stays at one batch or one chunk.
"""
import os
from pathlib import Path

import numpy as np

__all__ = ['ColumnChunkedFile']

#: Bytes of one column chunk (float32, all rows) when ``chunk_columns`` is not given.
CHUNK_BYTES = 32 * 2 ** 20


def _pwrite_all(fd, buffer, offset):
    view = memoryview(buffer).cast('B')
    while len(view):
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _pread_into(fd, array, offset):
    view = memoryview(array).cast('B')
    while len(view):
        read = os.preadv(fd, [view], offset)
        if read == 0:
            raise EOFError(f"unexpected end of file at byte {offset}")
        view, offset = view[read:], offset + read


class ColumnChunkedFile:
    """An ``(n_rows, n_columns)`` float32 matrix stored on disk in chunks of columns.

    Parameters
    ----------
    path : str or Path
        The file to create (any existing file is replaced). :meth:`remove` deletes it.
    n_rows, n_columns : int
    chunk_columns : int, optional
        Columns per chunk; by default chunks of about 32 MiB.

    Attributes
    ----------
    shape : tuple of int
    chunk_columns : int
    """
    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, path, n_rows, n_columns, chunk_columns=None):
        if int(n_rows) < 1 or int(n_columns) < 1:
            raise ValueError(f"A column-chunked file needs at least one row and one column; got "
                             f"({n_rows}, {n_columns}).")
        self.path = Path(path)
        self.shape = (int(n_rows), int(n_columns))
        if chunk_columns is None:
            chunk_columns = CHUNK_BYTES // (self.dtype.itemsize * self.shape[0])
        self.chunk_columns = int(max(1, min(int(chunk_columns), self.shape[1])))
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.ftruncate(self._fd, self.nbytes)

    @property
    def nbytes(self):
        return self.shape[0] * self.shape[1] * self.dtype.itemsize

    def _chunks(self):
        for start in range(0, self.shape[1], self.chunk_columns):
            yield start, min(start + self.chunk_columns, self.shape[1])

    def write_rows(self, start, block):
        """Store ``block`` (shape (n, n_columns)) as rows ``start:start + n``."""
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != self.shape[1] or not 0 <= start <= self.shape[0] - block.shape[0]:
            raise ValueError(f"rows {start}:{start + (block.shape[0] if block.ndim else 0)} of shape "
                             f"{block.shape} do not fit a file of shape {self.shape}.")
        for c0, c1 in self._chunks():
            part = np.ascontiguousarray(block[:, c0:c1], dtype=self.dtype)
            offset = (c0 * self.shape[0] + start * (c1 - c0)) * self.dtype.itemsize
            _pwrite_all(self._fd, part, offset)

    def read_columns(self, start, stop):
        """Columns ``start:stop`` of every row, shape (n_rows, stop - start); ``start`` must begin a chunk
        and ``stop`` end one (see :meth:`iter_column_chunks`)."""
        if start % self.chunk_columns or stop != min(start + self.chunk_columns, self.shape[1]):
            raise ValueError(f"columns {start}:{stop} are not one chunk of {self.chunk_columns} columns.")
        out = np.empty((self.shape[0], stop - start), dtype=self.dtype)
        _pread_into(self._fd, out, start * self.shape[0] * self.dtype.itemsize)
        return out

    def read_all(self):
        """The whole matrix in memory, shape (n_rows, n_columns) (for narrow layers)."""
        out = np.empty(self.shape, dtype=self.dtype)
        for c0, c1 in self._chunks():
            out[:, c0:c1] = self.read_columns(c0, c1)
        return out

    def iter_column_chunks(self, device, dtype, rows=None):
        """Yield ``(start, stop, chunk)``: tensors of columns ``start:stop`` (rows ``rows``, all by default) on
        ``device`` in the torch ``dtype``, one stored chunk at a time (the protocol
        :func:`nrp_plugin.core.kernels.iter_column_chunks` reads)."""
        import torch
        for c0, c1 in self._chunks():
            chunk = self.read_columns(c0, c1)
            if rows is not None:
                chunk = chunk[np.asarray(rows)]
            yield c0, c1, torch.from_numpy(chunk).to(device=device, dtype=dtype)

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def remove(self):
        """Close and delete the file."""
        self.close()
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
