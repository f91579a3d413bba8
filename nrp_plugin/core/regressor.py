"""The NRP as a scikit-learn regressor."""
import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from . import combination, network
from .device import resolve_device
from .kernels import GroupKernels
from .reduction import DEFAULT_MAX_COMPONENTS, GroupReduction


class NRPRegressor(RegressorMixin, BaseEstimator):
    """Neural response predictor: a small locally dense network from model features to responses.

    NRP-L1 has one dense block of ``l1_size`` units per input group, each fed only its group's
    columns, followed by ReLU; the blocks are concatenated and passed through NRP-L2 (dense,
    ``l2_size`` units, ReLU) and NRP-out (linear, one output per target). Trained with Adam on the
    mean squared error of standardised targets, stopping early on a validation part carved out of
    the training rows. Each input group is projected on its leading principal components, as many as
    stand out of the noise or help least squares in leave-one-out (at most ``max_components``), and
    scaled by one common factor (:class:`nrp_plugin.core.reduction.GroupReduction`), all fitted on the
    training rows only.

    Parameters
    ----------
    groups : array-like of shape (n_features,), optional
        Group label of each column (e.g. the model layer it comes from); one group when None.
    l1_size, l2_size : int
        Units per NRP-L1 block and in NRP-L2 (``l2_size=0`` drops NRP-L2).
    learning_rate : float
    max_epochs : int
    batch_size : int
    weight_decay : float
    patience : int
    validation_fraction : float
    linear_path : bool
        The ridge-initialised linear path into NRP-out (:class:`nrp_plugin.core.network.NRPConfig`);
        ``False`` is the paper's network.
    paper_candidate : bool
        With ``linear_path``: also train the paper's network and predict with the convex combination of the two
        networks that does best on the validation rows (:func:`nrp_plugin.core.combination.train`).
    max_components : int
    device : {'auto', 'cpu', 'cuda'}
        ``'auto'`` uses CUDA when present.
    random_state : int

    Attributes
    ----------
    reduction_ : GroupReduction
    params_ : dict of Tensor
        Network parameters (on the CPU).
    target_mean_, target_scale_ : ndarray of shape (n_targets,)
    n_features_in_ : int
    best_epoch_ : int
        The (linear-path) network's best validation epoch.
    linear_path_weight_ : float or None
        With ``paper_candidate``: the linear-path network's weight in the validated combination (the paper's
        network has the rest).
    linear_offset_ : dict or None
        With ``linear_path``: ridge on every component of every group, held fixed outside the inputs the
        network reads (:mod:`nrp_plugin.core.linear_start`), in feature space.
    """

    def __init__(self, groups=None, l1_size=128, l2_size=128, learning_rate=3e-3, max_epochs=400,
                 batch_size=64, weight_decay=1e-3, patience=40, validation_fraction=0.1, linear_path=True,
                 paper_candidate=True, max_components=DEFAULT_MAX_COMPONENTS, device='auto', random_state=0):
        self.groups = groups
        self.l1_size = l1_size
        self.l2_size = l2_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.linear_path = linear_path
        self.paper_candidate = paper_candidate
        self.max_components = max_components
        self.device = device
        self.random_state = random_state

    def _more_tags(self):
        return {'multioutput': True}

    def _config(self):
        return network.NRPConfig(l1_size=self.l1_size, l2_size=self.l2_size, learning_rate=self.learning_rate,
                                 max_epochs=self.max_epochs, batch_size=self.batch_size,
                                 weight_decay=self.weight_decay, patience=self.patience,
                                 validation_fraction=self.validation_fraction, linear_path=self.linear_path,
                                 paper_candidate=self.paper_candidate)

    def fit(self, X, y):
        """Fit the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self
        """
        X, y = check_X_y(X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        if X.shape[0] < 2:
            raise ValueError(f"NRPRegressor needs at least 2 samples to hold out a validation part; got "
                             f"n_samples={X.shape[0]}.")
        if self.groups is not None and len(self.groups) != X.shape[1]:
            raise ValueError(f"groups has {len(self.groups)} labels for {X.shape[1]} feature columns; give one "
                             f"label per column.")
        config = self._config()
        device = resolve_device(self.device)
        self._y_1d = y.ndim == 1
        targets = y.reshape(len(y), -1)
        self.n_features_in_ = X.shape[1]
        self.reduction_ = GroupReduction(self.groups, self.max_components).fit(X, y)
        inputs = self.reduction_.transform(X)
        self.target_mean_ = targets.mean(axis=0)
        scale = targets.std(axis=0)
        self.target_scale_ = np.where(scale > 1e-12, scale, 1.0)
        standardised = torch.as_tensor((targets - self.target_mean_) / self.target_scale_)
        seed = int(np.random.SeedSequence([int(self.random_state or 0), 0]).generate_state(1)[0])
        kernels = self._kernels(X) if config.linear_path else None
        params, layout, info = combination.train(inputs.unsqueeze(0), standardised.unsqueeze(0),
                                               self.reduction_.group_sizes_, config, [seed], device,
                                               linear_kernels=kernels)
        self.params_ = {name: value.detach().cpu() for name, value in params.items()}
        self.layout_ = layout
        self.best_epoch_ = int(info['best_epoch'][0])
        self.linear_path_weight_ = float(info['mix'][0, 0]) if 'mix' in info else None
        self.linear_offset_ = self._linear_offset(X, info['linear_start']) if kernels is not None else None
        return self

    def _kernels(self, X):
        """Every group's Gram matrix over the training rows, for the linear path's ridge start."""
        features = torch.from_numpy(np.require(X, requirements='W'))  # a read-only X is copied
        grams = [features[:, columns] @ features[:, columns].T for columns in self.reduction_.indices_]
        rows = torch.arange(len(X))[None]
        return GroupKernels(grams, rows, rows[:, :0], self.reduction_.input_scales_[None],
                            self.reduction_.group_sizes_, self.reduction_.scaling)

    def _linear_offset(self, X, start):
        """What the linear path's fixed part needs to predict new rows, in feature space (ridge's weights
        per group, ``(mean, weights)``, its layer weights folded in), with ridge's intercept and the trained path's
        starting weights."""
        fit_rows = start['fit_rows'][0].cpu().numpy()
        dual = start['dual'][0].cpu()
        groups = []
        for columns, total, layer_weight in zip(self.reduction_.indices_, start['group_totals'][0].tolist(),
                                                start['layer_weights'][0].cpu()):
            block = torch.as_tensor(X[np.ix_(fit_rows, columns)])
            mean = block.mean(dim=0)
            groups.append((mean, (block - mean).T @ (dual * layer_weight) / total))
        return dict(groups=groups, intercept=start['intercept'][0].cpu(), w_linear=start['w_linear'][0].cpu(),
                    b_linear=start['b_linear'][0].cpu(), every=start['every'][0].cpu(),
                    fit_rows=torch.as_tensor(fit_rows))

    def predict(self, X):
        """Predicted responses, shape (n_samples,) or (n_samples, n_targets) as ``y`` was given."""
        check_is_fitted(self, 'params_')
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but NRPRegressor was fitted with "
                             f"{self.n_features_in_} features.")
        inputs = self.reduction_.transform(X).unsqueeze(0)
        device = resolve_device(self.device)
        # float64 at prediction time: a row's prediction must not depend on the other rows in the batch
        params = {name: value.to(device=device, dtype=torch.float64) for name, value in self.params_.items()}
        output = network.predict(params, self.layout_, inputs, device, dtype=torch.float64)[0].cpu()
        if self.linear_offset_ is not None:  # ridge on the components outside the inputs, held fixed
            offset = self.linear_offset_
            features = torch.from_numpy(np.require(X, requirements='W'))  # a read-only X is copied
            ridge = sum((features[:, columns] - mean) @ weights
                        for columns, (mean, weights) in zip(self.reduction_.indices_, offset['groups']))
            fixed = ridge + offset['intercept'] - (inputs[0] @ offset['w_linear'] + offset['b_linear'])
            fixed = torch.where(offset['every'][None], fixed, torch.zeros_like(fixed))
            if 'mix' in self.params_:  # the validated choice's weight of the linear-path network
                fixed = fixed * self.params_['mix'][0, 0].double()
            output = output + fixed
        output = output.numpy() * self.target_scale_ + self.target_mean_
        return output[:, 0] if self._y_1d else output
