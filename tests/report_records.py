"""Score records of many generated models for the report's tests (tests/test_html_report.py,
tests/test_report_browser.py), without scoring anything.

Each record is what the comparison runner keeps of a benchmark's Score (:func:`nrp_plugin.app.compare.summarize` of
:func:`helpers.site_score`, plus the fields :meth:`nrp_plugin.app.compare.Comparison.model_records` adds, the layers
through :func:`nrp_plugin.app.compare.score_layers` and a cache key of
:func:`nrp_plugin.app.result_cache.key_payload`), built from per-split, per-site values drawn here. The models' order
by PLS r and by the NRP-error is mostly the same, with a few pairs swapped within the noise, as for models that
differ little; some models report no reference mappings beyond ridge (a metric from before them), some recorded no
layers, and the last model fails.
"""

import numpy as np

from helpers import FAMILY, site_score
from nrp_plugin.app import compare, contrasts, report, result_cache
from nrp_plugin.brainscore.nrp_metric import _split_neuroid

REGIONS = ('V4', 'IT')
SPLITS, SITES = 10, 24
#: Per layer-recording model, the layers it is scored from and how they were chosen.
LAYERS = {'layer': 'layer3', 'nrp_layers': ['layer2', 'layer3', 'layer4'],
          'layer_choice': {'method': 'selection set', 'images': 'public', 'layer': 'layer3'}}
FAILURE = 'RuntimeError: weights file not found; place it under $NRP_WEIGHTS_DIR'
_ARCHITECTURES = ('alexnet', 'resnet18', 'resnet50', 'vgg16', 'convnext_t', 'vit_b16', 'squeezenet', 'mobilenet',
                  'densenet121', 'cornet_s')


def model_names(n):
    """``n`` distinct model names, the first failing ones last: ``alexnet_000``, ``resnet18_001``, ..."""
    return [f'{_ARCHITECTURES[i % len(_ARCHITECTURES)]}_{i:03d}' for i in range(n)]


def failing_model(names):
    """The model of ``names`` that fails (the last; none with one model, which is then scored)."""
    return names[-1] if len(names) > 1 else None


def reports_references(index):
    """Whether model ``index`` reports the reference mappings beyond ridge (four of every five do)."""
    return index % 5 != 4


def records_layers(index):
    """Whether model ``index``'s records name the layers it was scored from (two of every three do)."""
    return index % 3 != 2


def _nrp_score(values, ridge, references, ids, layers):
    """:func:`helpers.site_score` of an NRP benchmark, with the reference mappings' attrs (each a shift of the NRP's
    per-site MAEs) and the layers as the benchmark's Score carries them."""
    score = site_score('x-nrp', values, ridge=ridge, neuroid_ids=ids)
    raw = score.attrs['raw']
    for name, mae in references.items():
        raw.attrs.update({f'{name}_mae': float(mae.mean(axis=1).mean()), f'{name}_mae_error': 0.003,
                          f'{name}_r2': 0.2, f'{name}_r2_error': 0.01, f'{name}_pearson': 0.4,
                          f'{name}_raw': _split_neuroid(mae, ids)})
    if layers:
        score.attrs.update(nrp_layers=LAYERS['nrp_layers'], layer_choice=dict(LAYERS['layer_choice']))
    return score


def _pls_score(values, ids, layers):
    score = site_score('x-pls', values, neuroid_ids=ids)
    if layers:
        score.attrs.update(layer=LAYERS['layer'], layer_choice=dict(LAYERS['layer_choice']))
    return score


def synthetic_records(n_models, seed=0, regions=REGIONS, sites=SITES):
    """Score records of ``n_models`` generated models on ``FakeFamily`` (both regions, both kinds) and one failure
    record (:func:`failing_model`).

    Returns
    -------
    records : list of dict
        As :func:`nrp_plugin.app.compare.run_compare` returns them.
    names : list of str
        The models, in order (the failing one last).
    """
    rng = np.random.default_rng(seed)
    names = model_names(n_models)
    failing = failing_model(names)
    scored = [name for name in names if name != failing]
    ids = [f's{j:03d}' for j in range(sites)]
    side = ['banded_ridge', 'least_squares', 'kernel_ridge']  # the references besides ridge
    # PLS r falls with the model's index; the NRP-error rises with it, each with its own noise, so that the orders
    # agree but for neighbours closer than the noise
    quality = np.linspace(0.7, 0.3, max(len(scored), 1))
    noise = 0.4 / max(len(scored), 2)  # about the gap between neighbours
    keys = {}
    records = []
    for index, model in enumerate(scored):
        for region in regions:
            site_effect = rng.normal(0.0, 0.05, sites)
            split_effect = rng.normal(0.0, 0.01, (SPLITS, 1))
            pls_values = quality[index] + rng.normal(0, noise) + split_effect + site_effect \
                + 0.02 * rng.normal(size=(SPLITS, sites))
            nrp_values = 1.0 - quality[index] + rng.normal(0, noise) + split_effect - site_effect \
                + 0.02 * rng.normal(size=(SPLITS, sites))
            ridge = nrp_values + 0.03 + 0.01 * rng.normal(size=(SPLITS, sites))
            references = ({name: nrp_values + 0.02 * (k + 1) + 0.01 * rng.normal(size=(SPLITS, sites))
                           for k, name in enumerate(side)} if reports_references(index) else {})
            layers = records_layers(index)
            for kind, score in (('pls', _pls_score(pls_values, ids, layers)),
                                ('nrp', _nrp_score(nrp_values, ridge, references, ids, layers))):
                benchmark = f'{FAMILY}.{region}-{kind}'
                if benchmark not in keys:
                    keys[benchmark] = result_cache.key_payload(
                        'alexnet', benchmark, {'metric': {'config': {'max_epochs': 8}}, 'resolved_device': 'cpu'})
                record = compare.summarize(score, kind)
                record.update(model=model, benchmark=benchmark, family=FAMILY, region=region, sparsity=None,
                              plot_family=None, train_size=0.9, model_loaded=None,
                              key=dict(keys[benchmark], model={'identifier': model}), cached=False,
                              **compare.score_layers(score, None, region))
                records.append(record)
    if failing:
        records.append(compare.failure_record(failing, FAILURE))
    return records, names


def run_info(names, regions=REGIONS):
    """The run settings a `compare` run keeps in table.json (``run``)."""
    return {'command': 'nrp-plugin compare --models ' + ' '.join(names[:3]) + (' ...' if len(names) > 3 else ''),
            'started': '2025-01-02T03:04:05+00:00', 'models': list(names), 'families': [FAMILY],
            'regions': list(regions), 'device': 'auto', 'nrp_config': {'max_epochs': 8}}



def quick_statistics(monkeypatch):
    """Make :func:`nrp_plugin.app.report.write_report` quick for many models, for the report's tests: the contrasts
    of every pair of models, which the page does not show, left empty."""
    monkeypatch.setattr(contrasts, 'model_differences', lambda rows, panels=None: [])


def write_synthetic_report(out, n_models, monkeypatch, regions=REGIONS, sites=SITES):
    """The real :func:`nrp_plugin.app.report.write_report` on :func:`synthetic_records` (no plots): the files of a
    `compare` run of ``n_models`` generated models in ``out``; returns the models' names."""
    quick_statistics(monkeypatch)
    records, names = synthetic_records(n_models, regions=regions, sites=sites)
    report.write_report(records, out, run_info=run_info(names, regions), plots=False)
    return names
