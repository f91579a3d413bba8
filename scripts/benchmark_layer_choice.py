"""Time the layer choice's score (``loo_r2``) with its penalty search in float64 and in float32, in one process.

The workload is the layer choice of ``nrp-plugin recovery`` and ``compare`` on the embedded world: every candidate
layer's principal components on the selection images (by default 320 rows, layers of 64 to 20,000 features with a
decaying spectrum) scored against several response sets (by default 168 sites). Both searches run on the same
tensors, interleaved, ``--repeats`` times; the script prints each one's best and median seconds per response set,
the ratio, the largest difference between their layer scores and whether every choice agrees.

    python scripts/benchmark_layer_choice.py
    python scripts/benchmark_layer_choice.py --rows 2304 --sites 168 --threads 2
"""
import argparse
import time

import numpy as np
import torch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--rows', type=int, default=320, help='selection images')
    parser.add_argument('--widths', type=int, nargs='+', default=[64, 2048, 20000], help='features per layer')
    parser.add_argument('--sites', type=int, default=168)
    parser.add_argument('--response-sets', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    from nrp_plugin.core.layer_scores import best_layers, loo_r2
    from nrp_plugin.core.reduction import dense_components
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    layers = []
    for width in args.widths:
        features = rng.standard_normal((args.rows, width)) * np.geomspace(1, 1e-2, width)
        components, _, _ = dense_components(torch.as_tensor(features), torch.zeros(0, width, dtype=torch.float64))
        layers.append(components)
    responses = []
    for index in range(args.response_sets):
        source = layers[index % len(layers)]
        drive = source[:, :16].numpy() @ rng.standard_normal((min(16, source.shape[1]), args.sites))
        responses.append(torch.as_tensor(np.tanh(drive / drive.std()) + 0.5 * rng.standard_normal(drive.shape)))
    searches = {'float64': None, 'float32': torch.float32}
    seconds = {name: [] for name in searches}
    scores = {}
    for _ in range(args.repeats):
        for name, dtype in searches.items():
            started = time.perf_counter()
            scores[name] = np.asarray([[loo_r2(components, values, search_dtype=dtype) for components in layers]
                                       for values in responses])
            seconds[name].append((time.perf_counter() - started) / len(responses))
    print(f"{args.rows} rows, layers {args.widths} (components {[int(c.shape[1]) for c in layers]}), "
          f"{args.sites} sites, {len(responses)} response sets, {torch.get_num_threads()} threads")
    print('| search | best s per response set | median | ratio to float64 (median) |')
    print('|---|---:|---:|---:|')
    reference = float(np.median(seconds['float64']))
    for name, values in seconds.items():
        print(f'| {name} | {min(values):.3f} | {np.median(values):.3f} | {reference / np.median(values):.2f}x |')
    print(f"largest layer-score difference: {np.abs(scores['float32'] - scores['float64']).max():.2e}; "
          f"same choice for every response set: "
          f"{bool((best_layers(scores['float32']) == best_layers(scores['float64'])).all())}")


if __name__ == '__main__':
    main()
