"""Per-group input preparation for the NRP: standardisation, or PCA for groups too wide to train on.

A group (one model layer) with at most ``max_components`` columns is standardised with the training
rows' mean and standard deviation. A wider group is centred on the training rows and projected on its
first ``max_components`` principal components (fitted on the training rows only), and the component
scores are standardised. For cross-validation the PCA of every split is computed from one
stimulus-by-stimulus Gram matrix per group, so the activations are held once and never copied per
split; the per-split projections equal an explicit PCA of that split's training rows.
"""
import numpy as np
import torch

from .kernels import gram_matrix

DEFAULT_MAX_COMPONENTS = 128
_EPS = 1e-12


def _centre_train(gram_train):
    row = gram_train.mean(dim=0, keepdim=True)
    return gram_train - row - row.T + row.mean()


def kernel_pca_split(gram, train, test, n_components):
    """PCA scores of one split from the full Gram matrix.

    Parameters
    ----------
    gram : Tensor, shape (n_rows, n_rows)
    train, test : Tensor of int
    n_components : int

    Returns
    -------
    train_scores : Tensor, shape (n_train, k)
    test_scores : Tensor, shape (n_test, k)
        ``k <= n_components`` (components with zero variance are dropped).
    """
    gram_train = gram[train][:, train]
    centred = _centre_train(gram_train)
    eigenvalues, eigenvectors = torch.linalg.eigh(centred)
    order = torch.argsort(eigenvalues, descending=True)[:n_components]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    keep = eigenvalues > eigenvalues[0].clamp(min=_EPS) * 1e-10
    eigenvalues, eigenvectors = eigenvalues[keep], eigenvectors[:, keep]
    # fix each component's sign so the result does not depend on the eigen-solver
    signs = torch.sign(eigenvectors[eigenvectors.abs().argmax(dim=0), torch.arange(eigenvectors.shape[1])])
    eigenvectors = eigenvectors * signs
    roots = eigenvalues.sqrt()
    train_scores = eigenvectors * roots
    cross = gram[test][:, train]
    cross = cross - cross.mean(dim=1, keepdim=True) - gram_train.mean(dim=0, keepdim=True) + gram_train.mean()
    test_scores = cross @ eigenvectors / roots
    return train_scores, test_scores


def _standardise(train, test):
    mean = train.mean(dim=0, keepdim=True)
    std = train.std(dim=0, unbiased=False, keepdim=True)
    std = torch.where(std > _EPS, std, torch.ones_like(std))
    return (train - mean) / std, (test - mean) / std


def group_slices(groups):
    """Column indices of each group, in order of first appearance.

    Parameters
    ----------
    groups : array-like, shape (n_columns,) or None

    Returns
    -------
    names : list
    indices : list of ndarray of int
    """
    if groups is None:
        return [None], None
    groups = np.asarray(groups)
    names = list(dict.fromkeys(groups.tolist()))
    return names, [np.flatnonzero(groups == name) for name in names]


def prepare_splits(features, groups, splits, max_components=DEFAULT_MAX_COMPONENTS, device='cpu'):
    """Reduced, standardised inputs of every split.

    Parameters
    ----------
    features : ndarray, shape (n_rows, n_columns)
    groups : array-like, shape (n_columns,) or None
    splits : list of (ndarray of int, ndarray of int)
        Train and test row indices per split; all train parts must have the same size.
    max_components : int
    device : torch.device

    Returns
    -------
    train_inputs : Tensor, shape (S, n_train, n_inputs), float64
    test_inputs : Tensor, shape (S, n_test, n_inputs), float64
    group_sizes : list of int
        Width of each group's reduced block (the same for every split).
    """
    names, indices = group_slices(groups)
    if indices is None:
        indices = [np.arange(features.shape[1])]
    n_train = len(splits[0][0])
    per_group = []
    for columns in indices:
        block = features[:, columns] if len(columns) < features.shape[1] else features
        width = len(columns)
        if width <= max_components:
            dense = torch.as_tensor(np.ascontiguousarray(block)).to(device=device, dtype=torch.float64)
            pairs = [_standardise(dense[torch.as_tensor(train, device=device)],
                                  dense[torch.as_tensor(test, device=device)]) for train, test in splits]
        else:
            gram = gram_matrix(block, center=True, device=device)
            k = min(max_components, n_train - 1)
            pairs = []
            for train, test in splits:
                train_t, test_t = torch.as_tensor(train, device=device), torch.as_tensor(test, device=device)
                pairs.append(_standardise(*kernel_pca_split(gram, train_t, test_t, k)))
            k = min(pair[0].shape[1] for pair in pairs)
            pairs = [(train_scores[:, :k], test_scores[:, :k]) for train_scores, test_scores in pairs]
        per_group.append(pairs)
    train_inputs = torch.stack([torch.cat([group[s][0] for group in per_group], dim=1) for s in range(len(splits))])
    test_inputs = torch.stack([torch.cat([group[s][1] for group in per_group], dim=1) for s in range(len(splits))])
    sizes = [group[0][0].shape[1] for group in per_group]
    return train_inputs, test_inputs, sizes


class GroupReduction:
    """The same reduction as :func:`prepare_splits`, fitted once and applied to new rows.

    Parameters
    ----------
    groups : array-like, shape (n_columns,) or None
    max_components : int
    """

    def __init__(self, groups=None, max_components=DEFAULT_MAX_COMPONENTS):
        self.groups = groups
        self.max_components = max_components

    def fit(self, features):
        """Fit on training rows, ``features`` of shape (n_rows, n_columns); returns self."""
        features = torch.as_tensor(np.asarray(features, dtype=np.float64))
        _, indices = group_slices(self.groups)
        if indices is None:
            indices = [np.arange(features.shape[1])]
        self.indices_ = indices
        self.steps_ = []
        n_rows = features.shape[0]
        for columns in indices:
            block = features[:, columns]
            mean = block.mean(dim=0, keepdim=True)
            if block.shape[1] <= self.max_components:
                projection = None
                scores = block - mean
            else:
                k = min(self.max_components, n_rows - 1)
                _, singular, right = torch.linalg.svd(block - mean, full_matrices=False)
                singular, right = singular[:k], right[:k]
                keep = singular ** 2 > (singular[0] ** 2).clamp(min=_EPS) * 1e-10
                right = right[keep]
                signs = torch.sign(((block - mean) @ right.T).gather(
                    0, ((block - mean) @ right.T).abs().argmax(dim=0, keepdim=True)))
                projection = right.T * signs
                scores = (block - mean) @ projection
            std = scores.std(dim=0, unbiased=False, keepdim=True)
            std = torch.where(std > _EPS, std, torch.ones_like(std))
            if projection is None:
                scores_mean = torch.zeros_like(mean)
            else:
                scores_mean = scores.mean(dim=0, keepdim=True)
            self.steps_.append((mean, projection, scores_mean, std))
        self.group_sizes_ = [step[1].shape[1] if step[1] is not None else len(cols)
                             for step, cols in zip(self.steps_, indices)]
        return self

    def transform(self, features):
        """Reduced, standardised inputs, shape (n_rows, sum(group_sizes_)), float64 Tensor."""
        features = torch.as_tensor(np.asarray(features, dtype=np.float64))
        blocks = []
        for columns, (mean, projection, scores_mean, std) in zip(self.indices_, self.steps_):
            block = features[:, columns] - mean
            if projection is not None:
                block = block @ projection
            blocks.append((block - scores_mean) / std)
        return torch.cat(blocks, dim=1)
