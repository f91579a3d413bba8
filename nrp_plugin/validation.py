"""Checks on the assemblies the metrics receive, with errors that name the problem and the fix."""
import numpy as np


def _coord_values(assembly, coord):
    try:
        return np.asarray(assembly[coord].values)
    except KeyError:
        return None


def check_assembly(assembly, name, require_coords=('stimulus_id',)):
    """Check one assembly is 2-D (presentation x neuroid), finite, and has the needed coordinates."""
    dims = tuple(assembly.dims)
    extra = [dim for dim in dims if dim not in ('presentation', 'neuroid')]
    for dim in extra:
        if assembly.sizes[dim] != 1:
            raise ValueError(f"The {name} assembly has a dimension '{dim}' of size {assembly.sizes[dim]}; "
                             f"expected dims ('presentation', 'neuroid'). Select or average '{dim}' first "
                             f"(e.g. average repetitions, or .squeeze('time_bin')).")
    if 'presentation' not in dims or 'neuroid' not in dims:
        raise ValueError(f"The {name} assembly has dims {dims}; expected ('presentation', 'neuroid').")
    for coord in require_coords:
        if _coord_values(assembly, coord) is None:
            raise ValueError(f"The {name} assembly has no '{coord}' coordinate on 'presentation'; add it "
                             f"(e.g. assembly['{coord}'] = 'presentation', values) or choose another "
                             f"stratification coordinate with crossvalidation_kwargs.")
    values = np.asarray(assembly.transpose('presentation', 'neuroid', ...).values)
    if not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"The {name} assembly holds non-numeric values of dtype {values.dtype}.")
    bad = ~np.isfinite(values.reshape(values.shape[0], -1))
    if bad.any():
        row = int(np.nonzero(bad.any(axis=1))[0][0])
        stimuli = _coord_values(assembly, 'stimulus_id')
        example = stimuli[row] if stimuli is not None else row
        raise ValueError(f"The {name} assembly contains {int(bad.sum())} NaN/inf value(s) (first at stimulus "
                         f"{example!r}); remove or impute them before scoring.")


def check_pair(source, target, stratification_coord='object_name'):
    """Check a source (model) and target (neural) assembly can be scored against each other."""
    coords = ('stimulus_id',) + ((stratification_coord,) if stratification_coord else ())
    check_assembly(source, 'source', require_coords=('stimulus_id',))
    check_assembly(target, 'target', require_coords=coords)
    source_ids = _coord_values(source, 'stimulus_id')
    target_ids = _coord_values(target, 'stimulus_id')
    if len(set(target_ids)) != len(target_ids):
        raise ValueError("The target assembly repeats stimulus_id values; average repetitions first "
                         "(brainscore_vision.benchmark_helpers.neural_common.average_repetition).")
    missing = sorted(set(target_ids) - set(source_ids))
    extra = sorted(set(source_ids) - set(target_ids))
    if missing or extra:
        detail = []
        if missing:
            detail.append(f"{len(missing)} target stimuli absent from the source (e.g. {missing[:3]})")
        if extra:
            detail.append(f"{len(extra)} source stimuli absent from the target (e.g. {extra[:3]})")
        raise ValueError("Source and target have different stimulus sets: " + '; '.join(detail) +
                         ". Record the model on exactly the target's stimuli.")
    n_neuroids = target.sizes['neuroid']
    if n_neuroids < 2:
        raise ValueError(f"The target has {n_neuroids} neuroid; the NRP metrics need at least 2 recording "
                         f"sites (a region's population). Pass all sites of the region.")
    values = np.asarray(target.transpose('presentation', 'neuroid').values)
    constant = np.ptp(values, axis=0) == 0
    if constant.any():
        ids = _coord_values(target, 'neuroid_id')
        ids = ids if ids is not None else np.asarray(target['neuroid'].values)
        names = list(ids[constant][:3])
        raise ValueError(f"{int(constant.sum())} target neuroid(s) have constant responses (e.g. {names}); "
                         f"drop them (they carry no signal to predict).")


def check_stratification(target, splits, train_size, stratification_coord):
    """Check every stratum has enough stimuli for Brain-Score's stratified shuffle splits."""
    if not stratification_coord:
        return
    labels = _coord_values(target, stratification_coord)
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
