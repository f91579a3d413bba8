"""Per-group input preparation for the NRP, fitted on each split's training rows only.

Every group (one model layer) is prepared the same way, whatever its width:

1. centre the group's columns on the training rows and take all its non-zero principal components:
   for a group wider than ``max_components`` from its stimulus-by-stimulus Gram matrix (the activations
   are read once, in column chunks, never copied per split; a recording may hand the Gram matrix on
   directly), for a narrow group from an SVD of the centred block (the same PCA, cheaper);
2. keep ``k`` leading components, ``k = max(k_noise, k_loo)`` capped at ``max_components``
   (``n_components='noise+loo'``):

   - ``k_noise``: singular values above Gavish & Donoho's (2014) hard threshold for unknown noise,
     ``omega(beta) * median(singular values)``: the components that stand out of the noise, whatever the
     responses (they carry signal a linear map cannot use, e.g. products);
   - ``k_loo``: the count minimising the exact leave-one-out error of least squares on the leading
     components (principal-component regression) on the training rows: weak components that still
     carry linearly useful signal, as in power-law CNN layers;
3. keep the components' relative variances and divide the whole block by one common scale, the root of
   the kept components' mean variance (``scaling='common'``). Whitening every component
   (``scaling='whiten'``) gives noise components the weight of signal ones
   on a wide, low-rank layer; the validity sweep (docs/validity.md) measured what that cost.

``k`` is chosen per split from that split's training rows, so splits may keep different numbers of
components. Each split's block is zero-padded to a width fixed before any data is read,
``min(max_components, the group's width, n_train - 1)`` (:func:`padded_width`), so the splits batch together
and no split's inputs depend on another split's rows (another split's training rows are this split's test
rows). A zero column is inert: it adds nothing to the forward pass and its weights get no data gradient.

Nothing of a split is computed from its test rows: the Gram matrix is formed without centring (each entry
is the dot product of two rows' features), every centring uses the training rows' means, and a test row is
only projected. Changing a split's test rows (their features or targets) leaves that split's training
inputs bit for bit as they were.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .kernels import RELATIVE_ZERO, GroupKernels, as_tensor, fix_signs, gram_matrix

DEFAULT_MAX_COMPONENTS = 128
N_COMPONENT_RULES = ('noise+loo', 'noise', 'loo', 'fixed')
SCALINGS = ('common', 'whiten', 'none')
_EPS = 1e-12


def group_slices(groups):
    """Column indices of each group, in order of first appearance.

    Parameters
    ----------
    groups : array-like, shape (n_columns,) or None

    Returns
    -------
    names : list
    indices : list of ndarray of int, or None when ``groups`` is None (one group of all columns)
    """
    if groups is None:
        return [None], None
    groups = np.asarray(groups)
    names = list(dict.fromkeys(groups.tolist()))
    return names, [np.flatnonzero(groups == name) for name in names]


def kernel_components(gram, train, test):
    """All non-zero principal components of one split, from the group's full Gram matrix.

    Parameters
    ----------
    gram : Tensor, shape (n_rows, n_rows)
        ``X X^T`` of the group (any constant shift of ``X``'s columns gives the same result).
    train, test : Tensor of int

    Returns
    -------
    train_scores : Tensor, shape (n_train, r)
        Unwhitened scores, columns in descending variance.
    test_scores : Tensor, shape (n_test, r)
    variances : Tensor, shape (r,)
        Variance of each component on the training rows.
    """
    gram_train = gram[train][:, train]
    row = gram_train.mean(dim=0, keepdim=True)
    eigenvalues, eigenvectors = torch.linalg.eigh(gram_train - row - row.T + row.mean())
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
    keep = eigenvalues > eigenvalues[0].clamp(min=_EPS) * RELATIVE_ZERO
    eigenvalues, eigenvectors = eigenvalues[keep], fix_signs(eigenvectors[:, keep])
    roots = eigenvalues.sqrt()
    cross = gram[test][:, train]
    cross = cross - cross.mean(dim=1, keepdim=True) - row + row.mean()
    return eigenvectors * roots, cross @ eigenvectors / roots, eigenvalues / len(train)


def dense_components(train_block, test_block):
    """All non-zero principal components of a narrow block; the same outputs as :func:`kernel_components`.

    Parameters
    ----------
    train_block : Tensor, shape (n_train, width)
    test_block : Tensor, shape (n_test, width)
    """
    mean = train_block.mean(dim=0, keepdim=True)
    centred = train_block - mean
    left, singular, right = torch.linalg.svd(centred, full_matrices=False)
    keep = singular > singular[0].clamp(min=_EPS) * np.sqrt(RELATIVE_ZERO)
    left, singular, right = left[:, keep], singular[keep], right[keep]
    signs = torch.sign(left[left.abs().argmax(dim=0), torch.arange(left.shape[1], device=left.device)])
    projection = right.T * signs
    return centred @ projection, (test_block - mean) @ projection, singular ** 2 / len(train_block)


def gavish_donoho_omega(beta):
    """Gavish & Donoho's (2014) approximation of the optimal hard-threshold factor for unknown noise level."""
    return 0.56 * beta ** 3 - 0.95 * beta ** 2 + 1.82 * beta + 1.43


def noise_n_components(variances, n_train, width):
    """Components whose singular value exceeds ``omega(beta) * median(singular values)``.

    The median is over the ``min(n_train - 1, width)`` singular values of the centred training block
    (those below numerical zero count as 0); ``beta`` is the block's aspect ratio.
    """
    singular = variances.sqrt()
    beta = min(n_train, width) / max(n_train, width)
    n_values = min(n_train - 1, width)
    padded = torch.cat([singular, singular.new_zeros(max(0, n_values - len(singular)))])
    return int((singular > gavish_donoho_omega(beta) * padded.median()).sum())


def loo_n_components(train_scores, targets, max_components):
    """The leading-component count minimising least squares' exact leave-one-out error.

    Least squares with an intercept on the first ``k`` orthogonal components has hat matrix
    ``1/n + U_k U_k^T`` (``U`` the normalised scores), so one pass gives the leave-one-out residuals
    ``(y - fitted_k) / (1 - h_k)`` of every ``k``. Targets are standardised per column with training
    statistics and the squared error averaged over them.

    Parameters
    ----------
    train_scores : Tensor, shape (n_train, r)
        Centred, mutually orthogonal columns in descending variance.
    targets : Tensor, shape (n_train, n_targets)
    max_components : int

    Returns
    -------
    int, at least 1
    """
    n = train_scores.shape[0]
    limit = int(min(train_scores.shape[1], max_components, n // 2))
    if limit < 1:
        return 1
    basis = train_scores[:, :limit] / train_scores[:, :limit].norm(dim=0).clamp(min=_EPS)
    centred = targets.to(basis) - targets.to(basis).mean(dim=0, keepdim=True)
    centred = centred / centred.std(dim=0, unbiased=False, keepdim=True).clamp(min=_EPS)
    coefficients = basis.T @ centred
    fitted = torch.zeros_like(centred)
    leverage = torch.full((n, 1), 1.0 / n, dtype=basis.dtype, device=basis.device)
    errors = []
    for k in range(limit):  # one component at a time: memory O(n x n_targets)
        fitted += basis[:, k:k + 1] * coefficients[k:k + 1]
        leverage += basis[:, k:k + 1] ** 2
        errors.append((((centred - fitted) / (1 - leverage).clamp(min=1e-6)) ** 2).mean())
    return int(torch.stack(errors).argmin()) + 1


def choose_n_components(rule, variances, n_train, width, max_components, train_scores=None, targets=None):
    """How many leading components of one group and split to keep (see the module notes).

    Parameters
    ----------
    rule : {'noise+loo', 'noise', 'loo', 'fixed'}
        ``'fixed'`` keeps ``max_components``; the ``'loo'`` rules need ``train_scores`` and ``targets``.
    variances : Tensor, shape (r,), descending
    n_train, width : int
        Shape of the group's training block.
    max_components : int
    """
    r = len(variances)
    if rule == 'fixed':
        k = r
    elif rule == 'noise':
        k = noise_n_components(variances, n_train, width)
    elif rule == 'loo':
        k = loo_n_components(train_scores, targets, max_components)
    elif rule == 'noise+loo':
        k = max(noise_n_components(variances, n_train, width), loo_n_components(train_scores, targets, max_components))
    else:
        raise ValueError(f"n_components={rule!r} must be one of {N_COMPONENT_RULES}.")
    return int(max(1, min(k, r, max_components)))


def scale_divisors(variances, scaling):
    """What each kept component is divided by: one common scale (relative variances kept), its own standard
    deviation (whitening), or nothing (``'none'``: the centred features in the components' orthonormal basis).
    Shape (k,)."""
    if scaling == 'none':
        return torch.ones_like(variances)
    if scaling == 'whiten':
        return variances.sqrt().clamp(min=_EPS)
    if scaling == 'common':
        return variances.mean().sqrt().clamp(min=_EPS).expand(len(variances))
    raise ValueError(f"scaling={scaling!r} must be one of {SCALINGS}.")


def _check_rule(n_components, scaling, targets_given):
    if n_components not in N_COMPONENT_RULES:
        raise ValueError(f"n_components={n_components!r} must be one of {N_COMPONENT_RULES}.")
    if scaling not in SCALINGS:
        raise ValueError(f"scaling={scaling!r} must be one of {SCALINGS}.")
    if 'loo' in n_components and not targets_given:
        raise ValueError(f"n_components={n_components!r} chooses components with the training targets; pass them "
                         f"(or use n_components='noise').")


def _columns(features, columns):
    """``features[:, columns]``: a view when the columns are one contiguous run (a layer of an assembly)."""
    if len(columns) == features.shape[1]:
        return features
    if len(columns) and columns[-1] - columns[0] == len(columns) - 1 and np.all(np.diff(columns) == 1):
        return features[:, int(columns[0]):int(columns[-1]) + 1]
    return features[:, columns]


@dataclass(frozen=True)
class InputBlock:
    """One input group (a model layer) as :func:`prepare_blocks` reads it.

    Attributes
    ----------
    values : ndarray or Tensor
        ``kind='features'``: shape (n_rows, n_columns), the layer's features (read in place). ``kind='gram'``:
        shape (n_rows, n_rows), the uncentred Gram matrix ``X X^T`` of the layer's features over the rows (row
        and column ``i`` are the same stimulus).
    kind : {'features', 'gram'}
    width : int
        The layer's number of features (for ``'features'``, the number of columns unless the columns hold
        another basis of them); the noise threshold reads it.
    """
    values: object
    kind: str = 'features'
    width: int = None

    def __post_init__(self):
        if self.kind not in ('features', 'gram'):
            raise ValueError(f"InputBlock kind={self.kind!r} must be 'features' or 'gram'.")
        shape = tuple(self.values.shape)
        if len(shape) != 2 or (self.kind == 'gram' and shape[0] != shape[1]):
            raise ValueError(f"An InputBlock of kind {self.kind!r} has shape {shape}; expected "
                             f"{'(n_rows, n_rows)' if self.kind == 'gram' else '(n_rows, n_columns)'}.")
        if self.width is None:
            if self.kind == 'gram':
                raise ValueError("An InputBlock of kind 'gram' needs the layer's width (its number of features).")
            object.__setattr__(self, 'width', shape[1])
        object.__setattr__(self, 'width', int(self.width))


def feature_blocks(features, groups=None, widths=None):
    """The column groups of one feature matrix as :class:`InputBlock` s (views where the columns are contiguous).

    Parameters
    ----------
    features : ndarray or Tensor, shape (n_rows, n_columns)
    groups : array-like, shape (n_columns,) or None
        One group of all columns when None.
    widths : list of int, optional
        Each group's number of features, when its columns hold another basis of them.
    """
    _, indices = group_slices(groups)
    if indices is None:
        indices = [np.arange(features.shape[1])]
    if widths is not None and len(widths) != len(indices):
        raise ValueError(f"widths has {len(widths)} entries for {len(indices)} groups.")
    return [InputBlock(_columns(features, columns), 'features', None if widths is None else int(widths[index]))
            for index, columns in enumerate(indices)]


def padded_width(width, n_train, max_components):
    """The width every split's block of a group is padded to: the most components any split can keep.

    A group of ``width`` features centred on ``n_train`` rows has at most ``min(width, n_train - 1)`` non-zero
    components, and at most ``max_components`` are kept. The width depends on no value of any row.
    """
    return int(max(1, min(int(max_components), int(width), int(n_train) - 1)))


def block_sources(blocks, max_components=DEFAULT_MAX_COMPONENTS, device='cpu'):
    """What each block's components are computed from: ``('gram', K, width)`` for a block wider than
    ``max_components`` (its uncentred Gram matrix, formed from its features when it has them) or ``('dense', X,
    width)`` for a narrow one (its features, float64)."""
    sources = []
    for block in blocks:
        if block.kind == 'gram':
            sources.append(('gram', as_tensor(block.values).to(device=device, dtype=torch.float64), block.width))
        elif block.width > max_components:
            sources.append(('gram', gram_matrix(block.values, center=False, device=device), block.width))
        else:
            dense = torch.as_tensor(np.ascontiguousarray(block.values)).to(device=device, dtype=torch.float64)
            sources.append(('dense', dense, block.width))
    return sources


def split_components(source, train, test):
    """All non-zero principal components of one block (:func:`block_sources`) fitted on ``train`` rows:
    ``(train_scores, test_scores, variances)`` as :func:`kernel_components` returns them."""
    kind, values, _ = source
    if kind == 'gram':
        return kernel_components(values, train, test)
    return dense_components(values[train], values[test])


def prepare_splits(features, groups, splits, max_components=DEFAULT_MAX_COMPONENTS, device='cpu', *, widths=None,
                   **kwargs):
    """:func:`prepare_blocks` of the column groups of one feature matrix (:func:`feature_blocks`)."""
    return prepare_blocks(feature_blocks(features, groups, widths), splits, max_components, device, **kwargs)


def prepare_blocks(blocks, splits, max_components=DEFAULT_MAX_COMPONENTS, device='cpu', *, train_targets=None,
                   n_components='noise+loo', scaling='common', on_components=None, with_kernels=False):
    """Prepared inputs of every split (see the module notes).

    Parameters
    ----------
    blocks : list of InputBlock
        One per input group, all over the same rows.
    splits : list of (ndarray of int, ndarray of int)
        Train and test row indices per split; all train parts must have the same size.
    max_components : int
    device : torch.device
    train_targets : Tensor, shape (S, n_train, n_targets), optional
        Each split's training targets (needed by the ``'loo'`` rules; never test rows).
    n_components : {'noise+loo', 'noise', 'loo', 'fixed'}
    scaling : {'common', 'whiten'}
    on_components : callable, optional
        Called once per split as ``on_components(split, components)`` with, per group, the
        ``(train_scores, test_scores, variances)`` of all its non-zero components; lets a linear
        reference use every component without the caller holding them for all splits at once.
    with_kernels : bool
        Also return each group's Gram matrix over the rows and the inputs' scales, for the NRP's linear path
        (:class:`nrp_plugin.core.kernels.GroupKernels`). A wide group's is the Gram matrix its components
        come from; no copy is made.

    Returns
    -------
    train_inputs : Tensor, shape (S, n_train, n_inputs), float64
    test_inputs : Tensor, shape (S, n_test, n_inputs), float64
    group_sizes : list of int
        Width of each group's padded block (:func:`padded_width`).
    kept : ndarray of int, shape (n_groups, S)
        Components kept per group and split before padding.
    kernels : GroupKernels
        Only with ``with_kernels``: rows are each split's train rows, new rows its test rows.
    """
    _check_rule(n_components, scaling, train_targets is not None)
    n_train = {len(train) for train, _ in splits}
    if len(n_train) != 1:
        raise ValueError(f"Every split needs the same number of training rows; got {sorted(n_train)}.")
    n_train = n_train.pop()
    sources = block_sources(blocks, max_components, device)
    sizes = [padded_width(width, n_train, max_components) for _, _, width in sources]
    pad = lambda tensor, width: torch.nn.functional.pad(tensor, (0, width - tensor.shape[1]))
    train_parts, test_parts, scale_parts = [], [], []  # per split: the padded blocks of every group
    kept = np.zeros((len(sources), len(splits)), dtype=int)
    for split, (train, test) in enumerate(splits):
        train_t, test_t = torch.as_tensor(train, device=device), torch.as_tensor(test, device=device)
        components, trains, tests, scales = [], [], [], []
        for index, (kind, source, width) in enumerate(sources):
            scores = split_components((kind, source, width), train_t, test_t)
            components.append(scores)
            train_scores, test_scores, variances = scores
            targets = None if train_targets is None else train_targets[split]
            k = choose_n_components(n_components, variances, len(train), width, max_components, train_scores, targets)
            kept[index, split] = k
            divisors = scale_divisors(variances[:k], scaling)
            trains.append(pad(train_scores[:, :k] / divisors, sizes[index]))
            tests.append(pad(test_scores[:, :k] / divisors, sizes[index]))
            scales.append(pad(divisors[None] ** 2, sizes[index])[0])
        if on_components is not None:
            on_components(split, components)
        del components
        train_parts.append(torch.cat(trains, dim=1))
        test_parts.append(torch.cat(tests, dim=1))
        scale_parts.append(torch.cat(scales))
    train_inputs, test_inputs = torch.stack(train_parts), torch.stack(test_parts)
    if not with_kernels:
        return train_inputs, test_inputs, sizes, kept
    grams = [source if kind == 'gram' else source @ source.T for kind, source, _ in sources]
    kernels = GroupKernels(grams, torch.as_tensor(np.stack([train for train, _ in splits]), dtype=torch.long),
                           torch.as_tensor(np.stack([test for _, test in splits]), dtype=torch.long),
                           torch.stack(scale_parts), sizes, scaling)
    return train_inputs, test_inputs, sizes, kept, kernels


def all_components_inputs(components):
    """Inputs that use every non-zero component of every group, each group scaled to unit total variance.

    For one group this is the raw centred features in another orthonormal basis, so ridge on it equals
    ridge on the raw features; scaling each group keeps one wide layer from drowning the others.

    Parameters
    ----------
    components : list of (train_scores, test_scores, variances), one per group (as ``on_components`` gets)

    Returns
    -------
    train_inputs : Tensor, shape (n_train, n_inputs)
    test_inputs : Tensor, shape (n_test, n_inputs)
    """
    trains, tests = [], []
    for train_scores, test_scores, variances in components:
        root = variances.sum().sqrt().clamp(min=_EPS)
        trains.append(train_scores / root)
        tests.append(test_scores / root)
    return torch.cat(trains, dim=1), torch.cat(tests, dim=1)


class GroupReduction:
    """The preparation of :func:`prepare_splits`, fitted once on training rows and applied to new rows.

    Parameters
    ----------
    groups : array-like, shape (n_columns,) or None
    max_components : int
    n_components : {'noise+loo', 'noise', 'loo', 'fixed'}
    scaling : {'common', 'whiten'}

    Attributes
    ----------
    indices_ : list of ndarray of int
    steps_ : list of (Tensor, Tensor)
        Per group, the training mean (1, width) and the projection (width, k).
    group_sizes_ : list of int
    input_scales_ : Tensor, shape (sum(group_sizes_),)
        The square of what each prepared column was divided by (see :func:`scale_divisors`).
    """

    def __init__(self, groups=None, max_components=DEFAULT_MAX_COMPONENTS, n_components='noise+loo', scaling='common'):
        self.groups = groups
        self.max_components = max_components
        self.n_components = n_components
        self.scaling = scaling

    def fit(self, features, targets=None):
        """Fit on training rows.

        Parameters
        ----------
        features : array-like, shape (n_rows, n_columns)
        targets : array-like, shape (n_rows,) or (n_rows, n_targets), optional
            Needed by the ``'loo'`` rules.

        Returns
        -------
        self
        """
        _check_rule(self.n_components, self.scaling, targets is not None)
        features = torch.as_tensor(np.array(features, dtype=np.float64))
        if targets is not None:
            targets = torch.as_tensor(np.array(targets, dtype=np.float64)).reshape(features.shape[0], -1)
        _, indices = group_slices(self.groups)
        self.indices_ = indices if indices is not None else [np.arange(features.shape[1])]
        self.steps_, self.group_sizes_, scales = [], [], []
        n_rows = features.shape[0]
        for columns in self.indices_:
            block = features[:, columns]
            mean = block.mean(dim=0, keepdim=True)
            left, singular, right = torch.linalg.svd(block - mean, full_matrices=False)
            keep = singular > singular[0].clamp(min=_EPS) * np.sqrt(RELATIVE_ZERO)
            left, singular, right = left[:, keep], singular[keep], right[keep]
            signs = torch.sign(left[left.abs().argmax(dim=0), torch.arange(left.shape[1])])
            variances = singular ** 2 / n_rows
            k = choose_n_components(self.n_components, variances, n_rows, block.shape[1], self.max_components,
                                    left * singular, targets)
            divisors = scale_divisors(variances[:k], self.scaling)
            self.steps_.append((mean, right[:k].T * signs[:k] * (1.0 / divisors)))
            self.group_sizes_.append(k)
            scales.append(divisors ** 2)
        self.input_scales_ = torch.cat(scales)
        return self

    def transform(self, features):
        """Prepared inputs, shape (n_rows, sum(group_sizes_)), float64 Tensor."""
        features = torch.as_tensor(np.array(features, dtype=np.float64))
        return torch.cat([(features[:, columns] - mean) @ projection
                          for columns, (mean, projection) in zip(self.indices_, self.steps_)], dim=1)
