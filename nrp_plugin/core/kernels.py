"""The stimulus-by-stimulus kernel (Gram matrix) of a feature matrix, read in column chunks.

With far fewer stimuli than features (2,560 images against up to 400k model units), the PCA of the
NRP's inputs and the PLS fit need only ``K = X X^T``. :func:`gram_matrix` forms it reading ``X`` one
chunk of columns at a time, so the activations are never copied whole.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .device import resolve_device

__all__ = ['RELATIVE_ZERO', 'GroupKernels', 'as_tensor', 'feature_chunk_size', 'fix_signs', 'gram_matrix',
           'iter_column_chunks']

#: Bytes of one feature chunk (in the compute dtype) when ``chunk_size`` is not given.
_CHUNK_BYTES = 64 * 2 ** 20
#: Rows per block of the kernel (only blocks on and above the diagonal are computed).
_GRAM_BLOCK = 512
#: Eigenvalues of a kernel (the squared singular values of the centred features) below this share of the largest
#: are treated as zero; singular values are compared with its square root.
RELATIVE_ZERO = 1e-10


def as_tensor(values):
    """``values`` as a tensor, sharing memory where it can; a read-only array (a stored layer) is copied, as torch
    does not take read-only memory."""
    if torch.is_tensor(values):
        return values
    return torch.from_numpy(np.require(np.asarray(values), requirements='W'))


def feature_chunk_size(n_rows, dtype, chunk_size=None):
    """Columns per chunk: ``chunk_size`` when given, else as many as fill about 64 MiB in ``dtype``."""
    if chunk_size is not None:
        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size={chunk_size!r} must be a positive integer.")
        return int(chunk_size)
    itemsize = torch.empty((), dtype=dtype).element_size()
    return max(1, _CHUNK_BYTES // max(1, n_rows * itemsize))


_NUMPY_DTYPES = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16}


def _column_chunk(X, start, stop, device, dtype, rows=None):
    """A new contiguous tensor holding columns ``start:stop`` of ``X`` (rows ``rows``, all by default).

    Always a copy (callers modify it in place), made in one step with the type conversion.
    """
    if torch.is_tensor(X):
        chunk = X[:, start:stop]
        if rows is not None:
            chunk = chunk[torch.as_tensor(rows, device=chunk.device)]
        return chunk.to(device=device, dtype=dtype, copy=True).contiguous()
    if dtype in _NUMPY_DTYPES:
        if rows is None:
            chunk = np.array(X[:, start:stop], dtype=_NUMPY_DTYPES[dtype], order='C', copy=True)
        else:  # fancy indexing already copies
            chunk = np.ascontiguousarray(X[rows, start:stop], dtype=_NUMPY_DTYPES[dtype])
        return torch.from_numpy(chunk).to(device=device)
    chunk = X[:, start:stop] if rows is None else X[rows, start:stop]
    return torch.from_numpy(np.array(chunk, order='C', copy=True)).to(device=device, dtype=dtype)


def iter_column_chunks(X, device, dtype, chunk_size=None, rows=None):
    """Yield ``(start, stop, chunk)``: copies of ``X[rows, start:stop]`` on ``device`` in ``dtype``.

    Parameters
    ----------
    X : ndarray, Tensor or column-chunked store, shape (n_samples, n_features)
        A store with its own ``iter_column_chunks(device, dtype, rows)`` (e.g.
        :class:`nrp_plugin.storage.ColumnChunkedFile`) is read in its stored chunks.
    chunk_size : int, optional
        Columns per chunk; by default about 64 MiB per chunk.
    rows : array-like of int, optional
    """
    if hasattr(X, 'iter_column_chunks'):
        yield from X.iter_column_chunks(device, dtype, rows)
        return
    n_samples, n_features = X.shape
    size = feature_chunk_size(n_samples, dtype, chunk_size)
    for start in range(0, n_features, size):
        stop = min(start + size, n_features)
        yield start, stop, _column_chunk(X, start, stop, device, dtype, rows)


def gram_matrix(X, *, center=True, rows=None, device='auto', dtype=torch.float64, gram_dtype=None,
                chunk_size=None):
    """Stimulus-by-stimulus kernel ``(X - c)(X - c)^T``, accumulated over feature chunks.

    Parameters
    ----------
    X : ndarray or Tensor, shape (n_samples, n_features)
        Read in place; only one chunk of columns at a time is copied (to ``device`` and ``gram_dtype``).
    center : bool or array-like, shape (n_features,)
        ``True`` subtracts each column's mean over the rows used, ``False`` nothing, an array that
        vector. Any constant shift leaves the split-wise centred kernels unchanged; removing the
        overall mean only avoids cancellation when they are formed.
    rows : array-like of int, shape (n_rows,), optional
        Use ``X[rows]`` (e.g. to put the stimuli in another order) without copying ``X``.
    device : {'auto', 'cpu', 'cuda'} or torch.device
    dtype : torch.dtype
        Type of the returned kernel (float64 by default, see the module notes).
    gram_dtype : torch.dtype, optional
        Type the chunk products are computed in before they are added to the kernel (``dtype`` by
        default). ``torch.float32`` is faster on a CPU at a small cost in accuracy (docs/speed.md).
    chunk_size : int, optional
        Features per chunk; by default chunks of about 64 MiB.

    Returns
    -------
    K : Tensor, shape (n_rows, n_rows)
    """
    device = resolve_device(device)
    gram_dtype = gram_dtype or dtype
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {tuple(X.shape)}.")
    n_features = X.shape[1]
    n_rows = X.shape[0] if rows is None else len(rows)
    shift = None
    if center is not True and center is not False and center is not None:
        shift = torch.as_tensor(np.asarray(center, dtype=np.float64), device=device, dtype=gram_dtype)
        if shift.shape != (n_features,):
            raise ValueError(f"center has shape {tuple(shift.shape)}; expected ({n_features},).")
    K = torch.zeros((n_rows, n_rows), device=device, dtype=dtype)
    # K is symmetric: accumulate only the row blocks on and above the diagonal (about 60% of the
    # products for 2,560 stimuli), then mirror them
    edges = list(range(0, n_rows, _GRAM_BLOCK)) + [n_rows]
    blocks = [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
    for start, stop, chunk in iter_column_chunks(X, device, gram_dtype, chunk_size, rows):
        if shift is not None:
            chunk -= shift[start:stop]
        elif center is True:
            chunk -= chunk.mean(dim=0, keepdim=True)
        for i, (a0, a1) in enumerate(blocks):
            for b0, b1 in blocks[i:]:
                if gram_dtype == dtype:
                    K[a0:a1, b0:b1].addmm_(chunk[a0:a1], chunk[b0:b1].T)
                else:
                    K[a0:a1, b0:b1] += (chunk[a0:a1] @ chunk[b0:b1].T).to(dtype)
        del chunk
    for i, (a0, a1) in enumerate(blocks):
        K[a0:a1, a0:a1] = 0.5 * (K[a0:a1, a0:a1] + K[a0:a1, a0:a1].T)
        for b0, b1 in blocks[i + 1:]:
            K[b0:b1, a0:a1] = K[a0:a1, b0:b1].T
    return K


def fix_signs(vectors):
    """Make the largest-magnitude entry of each column positive (results independent of the solver)."""
    index = vectors.abs().argmax(dim=0)
    return vectors * torch.sign(vectors[index, torch.arange(vectors.shape[1], device=vectors.device)])


@dataclass
class GroupKernels:
    """Per-layer Gram matrices over a universe of rows, and where each fit's rows lie in it.

    Attributes
    ----------
    grams : list of Tensor, each (n_universe, n_universe)
        One per input group, ``X_g X_g^T`` of the group's features (any constant shift of the columns).
    rows : Tensor of int, shape (S, n_rows)
        Universe index of each fit's training rows, in the order of its inputs.
    new_rows : Tensor of int, shape (S, n_new)
        Universe index of the rows each fit will predict (its test rows), in the order of their inputs.
    input_scales : Tensor, shape (S, n_inputs)
        Per fit and input column, the squared factor that column was divided by in the prepared inputs
        (the group's common scale; 0 for a padding column).
    group_sizes : list of int
        Input columns of each group, in column order.
    scaling : {'common', 'whiten'}
        How the prepared inputs were scaled (:func:`nrp_plugin.core.reduction.scale_divisors`).
    """
    grams: list
    rows: torch.Tensor
    new_rows: torch.Tensor
    input_scales: torch.Tensor
    group_sizes: list
    scaling: str = 'common'

    def take(self, fits=None, groups=None):
        """The kernels of a subset of fits (indices) and of groups (indices, in the new column order)."""
        rows, new_rows, scales = self.rows, self.new_rows, self.input_scales
        if fits is not None:
            fits = torch.as_tensor(fits, dtype=torch.long)
            rows, new_rows, scales = rows[fits], new_rows[fits], scales[fits.to(scales.device)]
        grams, sizes = self.grams, list(self.group_sizes)
        if groups is not None:
            offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
            columns = np.concatenate([np.arange(offsets[g], offsets[g + 1]) for g in groups])
            scales = scales[:, torch.as_tensor(columns, device=scales.device)]
            grams, sizes = [grams[g] for g in groups], [sizes[g] for g in groups]
        return GroupKernels(grams, rows, new_rows, scales, sizes, self.scaling)

    def with_rows(self, rows, new_rows):
        """The same kernels for other row sets (universe indices, shapes (S, n_rows) and (S, n_new))."""
        return GroupKernels(self.grams, torch.as_tensor(rows, dtype=torch.long),
                            torch.as_tensor(new_rows, dtype=torch.long), self.input_scales, self.group_sizes,
                            self.scaling)
