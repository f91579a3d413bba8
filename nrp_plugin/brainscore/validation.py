"""Checks on the assemblies the metrics receive, with errors that name the problem and the fix.

:func:`align` is the one gate every metric of this package passes its ``source`` (model) and
``target`` (neural) assemblies through; :func:`check_stratification` checks that the splits can
be drawn; :func:`check_mappable` adds what a mapping fitted per split needs.
"""
import numpy as np

#: Columns of the source checked for NaN/inf at a time (bounds the temporary boolean array).
_FINITE_CHUNK = 4096


def coord_values(assembly, coord, name=None, dim='presentation'):
    """The values of ``coord``; None when absent (or a ValueError when ``name`` is given)."""
    try:
        values = assembly[coord]
    except KeyError:
        if name is None:
            return None
        raise ValueError(f"The {name} assembly has no '{coord}' coordinate on '{dim}'; add it "
                         f"(e.g. assembly['{coord}'] = '{dim}', values).") from None
    if name is not None and values.dims != (dim,):
        raise ValueError(f"The {name} assembly's '{coord}' coordinate lies on {values.dims}; expected ('{dim}',).")
    return np.asarray(values.values)


def as_2d(assembly, name):
    """The assembly as (presentation, neuroid), dropping extra dimensions of size 1 (e.g. one ``time_bin``)."""
    if not hasattr(assembly, 'dims') or not hasattr(assembly, 'coords'):
        raise ValueError(f"The {name} must be a DataAssembly (xarray) with dims ('presentation', 'neuroid'); "
                         f"got {type(assembly).__name__}.")
    for dim in assembly.dims:
        if dim in ('presentation', 'neuroid'):
            continue
        if assembly.sizes[dim] != 1:
            raise ValueError(f"The {name} assembly has a dimension '{dim}' of size {assembly.sizes[dim]}; expected "
                             f"dims ('presentation', 'neuroid'). Select or average '{dim}' first (e.g. average "
                             f"repetitions, or .sel({dim}=...)).")
        assembly = assembly.squeeze(dim, drop=True)
    if set(assembly.dims) != {'presentation', 'neuroid'}:
        raise ValueError(f"The {name} assembly has dims {tuple(assembly.dims)}; expected ('presentation', 'neuroid').")
    return assembly.transpose('presentation', 'neuroid')


def _check_numeric(assembly, name):
    dtype = assembly.dtype
    if not np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.complexfloating):
        raise ValueError(f"The {name} assembly holds values of dtype {dtype}; expected real numbers.")


def check_finite(values, name, stimulus_ids):
    """Raise naming the first stimulus with a NaN/inf, reading ``values`` in column chunks."""
    values = np.asarray(values)
    bad_rows = np.zeros(values.shape[0], dtype=bool)
    n_bad = 0
    for start in range(0, values.shape[1], _FINITE_CHUNK):
        bad = ~np.isfinite(values[:, start:start + _FINITE_CHUNK])
        n_bad += int(bad.sum())
        bad_rows |= bad.any(axis=1)
    if n_bad:
        row = int(np.flatnonzero(bad_rows)[0])
        raise ValueError(f"The {name} assembly contains {n_bad} NaN/inf value(s) (first at stimulus "
                         f"{stimulus_ids[row]!r}); remove or impute them before scoring.")


def align(source, target, stratification_coord='object_name', check_source_values=True):
    """Validate a source/target pair and align the source's rows to the target's stimuli.

    Parameters
    ----------
    source : NeuroidAssembly, shape (n_stimuli, n_features)
    target : NeuroidAssembly, shape (n_stimuli, n_neuroids)
        Repetition-averaged, with ``stimulus_id`` (and ``stratification_coord`` when given).
    stratification_coord : str or None
    check_source_values : bool
        Scan the source for NaN/inf here (a metric that finds them more cheaply later may skip it).

    Returns
    -------
    source, target : NeuroidAssembly, dims (presentation, neuroid)
    source_rows : ndarray of int, shape (n_stimuli,)
        ``source[source_rows]`` lists the source's rows in the target's stimulus order.
    """
    source = as_2d(source, 'source')
    target = as_2d(target, 'target')
    target_ids = coord_values(target, 'stimulus_id', 'target')
    source_ids = coord_values(source, 'stimulus_id', 'source')
    if stratification_coord and coord_values(target, stratification_coord) is None:
        raise ValueError(f"The target assembly has no '{stratification_coord}' coordinate on 'presentation' to "
                         f"stratify the splits on; add it, or choose another stratification coordinate with "
                         f"crossvalidation_kwargs=dict(stratification_coord=...) (None: no stratification).")
    for name, ids in (('target', target_ids), ('source', source_ids)):
        if len(np.unique(ids)) != len(ids):
            raise ValueError(f"The {name} assembly repeats stimulus_id values; average repetitions first "
                             f"(brainscore_vision.benchmark_helpers.neural_common.average_repetition).")
    missing = np.setdiff1d(target_ids, source_ids)
    extra = np.setdiff1d(source_ids, target_ids)
    if len(missing) or len(extra):
        detail = []
        if len(missing):
            detail.append(f"{len(missing)} target stimuli absent from the source (e.g. {list(missing[:3])})")
        if len(extra):
            detail.append(f"{len(extra)} source stimuli absent from the target (e.g. {list(extra[:3])})")
        raise ValueError("Source and target have different stimulus sets: " + '; '.join(detail) +
                         ". Record the model on exactly the target's stimuli.")
    for name, assembly in (('source', source), ('target', target)):
        _check_numeric(assembly, name)
    check_finite(target.values, 'target', target_ids)
    if check_source_values:
        check_finite(source.values, 'source', source_ids)
    position = {stimulus_id: index for index, stimulus_id in enumerate(source_ids)}
    source_rows = np.array([position[stimulus_id] for stimulus_id in target_ids])
    return source, target, source_rows


def check_mappable(source, target):
    """What a mapping fitted per split needs beyond :func:`align`: source columns and a population of
    non-constant sites."""
    if source.sizes['neuroid'] < 1:
        raise ValueError("The source assembly has no feature columns (0 neuroids); record at least one model "
                         "layer (check the layer names passed to the model).")
    n_neuroids = target.sizes['neuroid']
    if n_neuroids < 2:
        raise ValueError(f"The target has {n_neuroids} neuroid; the NRP metrics need at least 2 recording "
                         f"sites (a region's population). Pass all sites of the region.")
    values = np.asarray(target.values)
    constant = np.ptp(values, axis=0) == 0
    if constant.any():
        ids = coord_values(target, 'neuroid_id')
        ids = ids if ids is not None else np.asarray(target['neuroid'].values)
        names = list(ids[constant][:3])
        raise ValueError(f"{int(constant.sum())} target neuroid(s) have constant responses (e.g. {names}); "
                         f"drop them (they carry no signal to predict).")


def check_stratification(target, splits, train_size, stratification_coord):
    """Check every stratum has enough stimuli for Brain-Score's stratified shuffle splits."""
    if not stratification_coord:
        return
    labels = coord_values(target, stratification_coord)
    names, counts = np.unique(labels, return_counts=True)
    n = len(labels)

    def sizes(total):  # as scikit-learn's StratifiedShuffleSplit sizes its parts
        n_test = int(np.ceil((1 - train_size) * total))
        return total - n_test, n_test
    n_train, n_test = sizes(n)
    few = names[counts < 2]
    if len(few):
        raise ValueError(f"{len(few)} '{stratification_coord}' value(s) have a single stimulus (e.g. "
                         f"{list(few[:3])}); stratified splits need at least 2 stimuli per "
                         f"{stratification_coord}. Add stimuli or pass crossvalidation_kwargs="
                         f"dict(stratification_coord=None).")
    if n_test < len(names) or n_train < len(names):
        needed = next(total for total in range(n, 10 * n + 10 * len(names) + 10)
                      if min(sizes(total)) >= len(names))
        raise ValueError(f"{n} stimuli are too few to split {len(names)} '{stratification_coord}' values "
                         f"{train_size:.0%}/{1 - train_size:.0%}: each test split needs at least one stimulus "
                         f"per {stratification_coord}, so at least {needed} "
                         f"stimuli are needed. Add stimuli or stratify on a coarser coordinate.")
