"""Time the NRP's training on the embedded world, and compare training settings at equal data.

For each model the benchmark's inputs are prepared once (activations on the scored images, per-split
principal components) and saved, so later runs, including runs of another checkout of this package,
train on exactly the same tensors. Every setting is then trained on all splits at once, as the metric
does, and the script prints per setting: wall time, its ratio to the first setting's time in this
process, the NRP-error and its relative difference from the first setting's, and the epochs used
(mean best epoch, epochs run).

    python scripts/benchmark_training.py                                   # teacher and one untrained model, IT
    python scripts/benchmark_training.py --settings default batch_size=128 patience=20
    PYTHONPATH=/path/to/other/checkout python scripts/benchmark_training.py --data-dir DIR   # same tensors, other code

Settings are ``default`` or comma-separated ``name=value`` overrides of ``NRPConfig``.
"""
import argparse
import json
import os
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch


def parse_setting(text):
    if text == 'default':
        return {}
    overrides = {}
    for item in text.split(','):
        name, value = item.split('=')
        overrides[name] = json.loads(value) if value not in ('True', 'False') else value == 'True'
    return overrides


def prepared_data(model_identifier, region, data_dir):
    """The CrossValidatedData of ``model`` on ``SyntheticMajajHong2015.<region>-nrp``, cached in ``data_dir``."""
    from nrp_plugin.core.crossval import CrossValidatedData
    path = Path(data_dir) / f'{model_identifier}__{region}.pt'
    if path.is_file():
        saved = torch.load(path, weights_only=False)
        # only the fields this checkout's CrossValidatedData knows, so an older checkout trains on the same tensors
        known = {field.name for field in fields(CrossValidatedData)}
        return CrossValidatedData(**{name: value for name, value in saved.items() if name in known})
    import brainscore_vision
    benchmark = brainscore_vision.load_benchmark(f'SyntheticMajajHong2015.{region}-nrp')
    model = brainscore_vision.load_model(model_identifier)
    source, _ = benchmark.record(model)
    data, _ = benchmark.metric.prepare(source, benchmark._assembly)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({name: getattr(data, name) for name in data.__dataclass_fields__}, path)
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=['SyntheticMajajHong2015-teacher', 'resnet50_untrained_pruned00'])
    parser.add_argument('--region', default='IT')
    parser.add_argument('--settings', nargs='+', default=['default'])
    parser.add_argument('--repeats', type=int, default=1, help='runs of each setting; the fastest is reported')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--data-dir', default=os.path.join(os.environ.get('NRP_PLUGIN_HOME', '.'), 'training_benchmark'))
    parser.add_argument('--json', default=None, help='also write the figures here')
    args = parser.parse_args(argv)
    os.environ.setdefault('BS_INSTALL_DEPENDENCIES', 'no')
    if args.threads:
        torch.set_num_threads(args.threads)
    from nrp_plugin.core import scoring
    from nrp_plugin.core.crossval import fit_nrp
    from nrp_plugin.core.network import NRPConfig
    rows = []
    for model in args.models:
        data = prepared_data(model, args.region, args.data_dir)
        first = None
        for setting in args.settings:
            config = NRPConfig(**parse_setting(setting))
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                prediction, info = fit_nrp(data, config, 0, torch.device('cpu'))
                times.append(time.perf_counter() - start)
            error = float(scoring.mae(prediction, data.test_targets).mean())
            row = dict(model=model, region=args.region, setting=setting, seconds=min(times), nrp_error=error,
                       best_epoch=float(np.mean(info['best_epoch'])), epochs_run=int(info['epochs_run']))
            first = first or row
            row['time_ratio'] = row['seconds'] / first['seconds']
            row['error_change'] = error / first['nrp_error'] - 1
            rows.append(row)
            print(f"{model:32s} {setting:28s} {row['seconds']:7.1f} s  x{row['time_ratio']:.2f}  "
                  f"NRP-error {error:.5f} ({100 * row['error_change']:+.2f}%)  best epoch {row['best_epoch']:.0f}, "
                  f"ran {row['epochs_run']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == '__main__':
    main()
