"""Speed and memory of the metrics on a MajajHong2015-sized synthetic workload, in one process.

The workload mirrors scoring AlexNet on MajajHong2015's private split: 2,560 stimuli of 64 objects,
88 V4 and 168 IT recording sites, and random-but-structured "activations" of AlexNet's sizes
(64,896 units for the V4 layer, 9,216 for the IT layer, float32), 10 cross-validation splits.
Activations are a rectified random projection of latent stimulus factors (object identity plus
per-image variation, with a decaying spectrum); the neural responses are noisy nonlinear
functions of the same factors, so every mapping has real signal to find.

Timed, each for V4 and IT, with its peak memory:

* ``reference``: Brain-Score's ``pls`` metric (``brainscore_vision.load_metric('pls')``);
* ``pls_torch``: this package's kernel-form PLS (``load_metric('pls_torch')``);
* ``nrp``: :class:`nrp_plugin.brainscore.nrp_metric.NRPErrorMetric` without its references;
* ``least_squares``, ``ridge``, ``banded_ridge``, ``kernel_ridge``: each reference mapping alone, as its metric
  (``nrp_least_squares``, ``nrp_ridge``, ``nrp_banded_ridge``, ``nrp_kernel_ridge``) computes it, input preparation
  included, so a user knows what each mapping costs;
* ``all``: ``pls_torch``, then ``NRPErrorMetric`` with all its references (least squares, ridge, banded ridge,
  kernel ridge), which is what this package's ``-pls`` and ``-nrp`` benchmarks compute for a region. Inside it, each
  mapping's own fit is timed too (the rest is the shared input preparation).

It prints a table per metric and region, a table of each mapping's cost per split (alone, and its own fit inside
``all``; beside the figures of an earlier run with ``--before``), and the ratio the speed target is set on: ``all``
(the NRP, every reference and ``pls_torch``), V4 and IT together, over the reference's time in the same process.

Peak memory is the highest resident set size (sampled every 2 ms) during a call minus the
resident size just before it, reported in MiB and as a multiple of that region's activation
matrix; on a GPU also ``torch.cuda.max_memory_allocated``. The ``pls_torch`` scores are checked
against the reference (score and every split x neuroid r within 1e-4).

Usage (full size; most of the time is the reference)::

    python scripts/benchmark_speed.py --json after.json

A quick reduced run (a few minutes)::

    python scripts/benchmark_speed.py --stimuli 1280 --splits 2

Beside an earlier run's figures (its ``--json`` file, e.g. of the code before a change)::

    python scripts/benchmark_speed.py --skip-reference --before before.json
"""
import argparse
import ctypes
import gc
import inspect
import json
import math
import os
import platform
import sys
import threading
import time
import warnings

os.environ.setdefault('BS_INSTALL_DEPENDENCIES', 'no')
os.environ.setdefault('RESULTCACHING_DISABLE', '1')

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import torch  # noqa: E402

TOLERANCE = 1e-4
REGIONS = ('V4', 'IT')
MIB = 2 ** 20


# ----------------------------------------------------------------------------------------- workload
def make_workload(n_stimuli=2560, n_objects=64, n_features=None, n_sites=None, n_latent=96, seed=0, log=print):
    """Source and target assemblies per region.

    Parameters
    ----------
    n_stimuli, n_objects : int
    n_features, n_sites : dict region -> int
    n_latent : int
        Dimension of the latent stimulus factors.
    seed : int

    Returns
    -------
    dict region -> (source NeuroidAssembly (n_stimuli, n_features) float32,
                    target NeuroidAssembly (n_stimuli, n_sites) float64)
    """
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    n_features = n_features or {'V4': 64896, 'IT': 9216}
    n_sites = n_sites or {'V4': 88, 'IT': 168}
    rng = np.random.default_rng(seed)
    objects = np.array([f'object{i:02d}' for i in range(n_objects)])
    object_of = objects[np.arange(n_stimuli) % n_objects]
    stimulus_ids = np.array([f'stimulus{i:05d}' for i in range(n_stimuli)])
    object_factor = rng.normal(size=(n_objects, n_latent))
    latent = 0.8 * object_factor[np.arange(n_stimuli) % n_objects] + rng.normal(size=(n_stimuli, n_latent))
    latent *= np.arange(1, n_latent + 1) ** -0.6                           # decaying spectrum
    workload = {}
    for region_index, region in enumerate(REGIONS):
        p, q = n_features[region], n_sites[region]
        features = np.empty((n_stimuli, p), dtype=np.float32)              # the only full-size array
        chunk = 4096
        for start in range(0, p, chunk):
            stop = min(start + chunk, p)
            mixing = rng.normal(size=(n_latent, stop - start)) / math.sqrt(n_latent)
            block = latent @ mixing + 0.3 * rng.normal(size=(1, stop - start))
            np.maximum(block, 0.0, out=block)
            block += 0.05 * rng.normal(size=block.shape)
            features[:, start:stop] = block
        # IT depends more on object identity than V4; both are nonlinear in the latents
        weight = 1.0 + region_index
        drive = latent @ rng.normal(size=(n_latent, q)) + weight * (latent[:, :8] ** 2) @ rng.normal(size=(8, q)) / 4
        rates = 10.0 * np.log1p(np.exp(drive)) + rng.normal(scale=14.0, size=(n_stimuli, q))
        common = {'stimulus_id': ('presentation', stimulus_ids), 'object_name': ('presentation', object_of)}
        source = NeuroidAssembly(features, coords={**common, 'neuroid_id': ('neuroid', [f'unit{i}' for i in range(p)]),
                                                   'layer': ('neuroid', [f'{region}-layer'] * p)},
                                 dims=['presentation', 'neuroid'])
        site_ids = [f'{region}site{i:03d}' for i in range(q)]
        target = NeuroidAssembly(rates, coords={**common, 'neuroid_id': ('neuroid', site_ids),
                                                'region': ('neuroid', [region] * q)},
                                 dims=['presentation', 'neuroid'])
        workload[region] = (source, target)
        log(f"  {region}: activations {n_stimuli} x {p} float32 = {features.nbytes / MIB:.0f} MiB; "
            f"{q} sites")
    return workload


# ------------------------------------------------------------------------------------- measurement
def _trim_heap():
    """Hand freed heap memory back to the OS so one phase's leftovers do not hide the next one's peak."""
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Peak resident memory (and CUDA memory) above the level at entry, sampled in a thread."""

    def __init__(self, device, interval=0.002):
        self.device = device
        self.interval = interval
        self.process = psutil.Process()

    def __enter__(self):
        _trim_heap()
        self.baseline = self.process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        if self.device.type == 'cuda':
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.cuda_baseline = torch.cuda.memory_allocated()
        self.start = time.perf_counter()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self.start
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)
        self.extra = self.peak - self.baseline
        self.cuda_peak = None
        if self.device.type == 'cuda':
            self.cuda_peak = torch.cuda.max_memory_allocated() - self.cuda_baseline
        return False


REFERENCES = ('least_squares', 'ridge', 'banded_ridge', 'kernel_ridge')
#: The speed target: ``all`` (the NRP, every reference and pls_torch), V4 and IT together, over the reference
TARGET_RATIO = 0.25


class MappingTimes:
    """Seconds spent in each registered mapping's own fit (``fit`` or ``fit_split``) while the block runs."""

    def __init__(self, device):
        self.device = device
        self.seconds = {}

    def __enter__(self):
        from nrp_plugin import mappings
        self._patched = []
        for name, cls in mappings.registered().items():
            for method in ('fit', 'fit_split'):
                if method in vars(cls):
                    original = vars(cls)[method]
                    setattr(cls, method, self._timed(name, original))
                    self._patched.append((cls, method, original))
        return self

    def _timed(self, name, original):
        def timed(mapping, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original(mapping, *args, **kwargs)
            finally:
                if self.device.type == 'cuda':
                    torch.cuda.synchronize()
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        return timed

    def __exit__(self, *exc):
        for cls, method, original in self._patched:
            setattr(cls, method, original)
        return False


def _all_scores(pls_score, nrp_score):
    """The figures of one region's full scoring: PLS, the NRP and its references."""
    return {'pls_torch': pls_score, 'nrp': nrp_score,
            **{name: nrp_score.attrs[f'{name}_mae'] for name in REFERENCES}}


def _construct(cls, **kwargs):
    """Instantiate with the keyword arguments the class accepts."""
    accepted = inspect.signature(cls).parameters
    return cls(**{key: value for key, value in kwargs.items() if key in accepted})


# ------------------------------------------------------------------------------------------ driver
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--stimuli', type=int, default=2560, help='stimuli (default 2560, MajajHong private)')
    parser.add_argument('--objects', type=int, default=64, help='objects the stimuli show (default 64)')
    parser.add_argument('--splits', type=int, default=10, help='cross-validation splits (default 10)')
    parser.add_argument('--features-v4', type=int, default=64896, help='V4-layer units (default 64896, AlexNet)')
    parser.add_argument('--features-it', type=int, default=9216, help='IT-layer units (default 9216, AlexNet)')
    parser.add_argument('--sites-v4', type=int, default=88, help='V4 recording sites (default 88)')
    parser.add_argument('--sites-it', type=int, default=168, help='IT recording sites (default 168)')
    parser.add_argument('--device', default='auto', help="'auto' (CUDA when visible), 'cpu' or 'cuda'")
    parser.add_argument('--skip-reference', action='store_true', help="skip Brain-Score's pls (the slow part)")
    parser.add_argument('--skip-nrp', action='store_true', help='skip the NRP and linear-baseline metrics')
    parser.add_argument('--gram-dtype', choices=('float64', 'float32'), default='float64',
                        help="pls_torch: type of the feature-chunk products forming the kernel (default float64)")
    parser.add_argument('--threads', type=int, help='torch CPU threads (default: torch\'s choice)')
    parser.add_argument('--seed', type=int, default=0, help='workload seed')
    parser.add_argument('--methods', nargs='+', choices=('nrp', 'all', 'reference') + REFERENCES,
                        help='time only these besides pls_torch (default: every one)')
    parser.add_argument('--regions', nargs='+', choices=REGIONS, default=list(REGIONS),
                        help='regions to time (default both; the workload is built for both)')
    parser.add_argument('--json', help='also write the figures to this JSON file')
    parser.add_argument('--before', help="an earlier run's --json file: its seconds per split beside this run's")
    parser.add_argument('--no-install', action='store_true',
                        help='use the plugin folders already installed in brainscore_vision (they call into the '
                             'nrp_plugin on the path) instead of placing this checkout\'s')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    warnings.filterwarnings('ignore')
    from nrp_plugin.core.device import resolve_device
    from nrp_plugin.app.installer import install
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.no_install:
        install()
    before = _read_before(args.before) if args.before else None
    from brainscore_vision import load_metric
    try:
        from nrp_plugin.brainscore.nrp_metric import NRPErrorMetric
    except ImportError as error:  # the NRP metrics are optional for this script
        NRPErrorMetric = None
        nrp_missing = f"{type(error).__name__}: {error}"
    else:
        nrp_missing = None

    hardware = torch.cuda.get_device_name(device) if device.type == 'cuda' else platform.processor() or 'cpu'
    print(f"benchmark_speed: {args.stimuli} stimuli of {args.objects} objects, {args.splits} splits, "
          f"device {device} ({hardware}), {psutil.cpu_count()} CPU cores (load average {os.getloadavg()[0]:.1f}), "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    started = time.perf_counter()
    workload = make_workload(args.stimuli, args.objects,
                             {'V4': args.features_v4, 'IT': args.features_it},
                             {'V4': args.sites_v4, 'IT': args.sites_it}, seed=args.seed)
    print(f"  built in {time.perf_counter() - started:.1f} s; "
          f"process RSS {psutil.Process().memory_info().rss / MIB:.0f} MiB")
    crossvalidation = dict(splits=args.splits)

    pls_torch = load_metric('pls_torch', crossvalidation_kwargs=crossvalidation, device=device,
                            gram_dtype=getattr(torch, args.gram_dtype))
    methods = [('pls_torch', lambda s, t: {'pls_torch': pls_torch(s, t)})]
    if NRPErrorMetric is not None and not args.skip_nrp:
        nrp = _construct(NRPErrorMetric, crossvalidation_kwargs=crossvalidation, device=device, references='none')
        # as the -nrp benchmarks run it: with every reference mapping on the same splits
        nrp_benchmark = _construct(NRPErrorMetric, crossvalidation_kwargs=crossvalidation, device=device,
                                   references='all')
        methods.append(('nrp', lambda s, t: {'nrp': nrp(s, t)}))
        for name in REFERENCES:
            reference_metric = load_metric(f'nrp_{name}', crossvalidation_kwargs=crossvalidation, device=device)
            methods.append((name, lambda s, t, metric=reference_metric, name=name: {name: metric(s, t)}))
        methods.append(('all', lambda s, t: _all_scores(pls_torch(s, t), nrp_benchmark(s, t))))
    elif nrp_missing:
        print(f"  NRP metrics unavailable ({nrp_missing}); timing the PLS metrics only")
    if not args.skip_reference:
        reference = load_metric('pls', crossvalidation_kwargs=crossvalidation)
        methods.append(('reference', lambda s, t: {'pls': reference(s, t)}))
    if args.methods:
        methods = [(name, call) for name, call in methods if name in args.methods or name == 'pls_torch']

    results = {}
    for method, call in methods:
        for region in args.regions:
            source, target = workload[region]
            print(f"  running {method:<9} {region} ...", flush=True)
            with PeakMemory(device) as memory, MappingTimes(device) as mapping_times:
                scores = call(source, target)
            activation = source.values.nbytes
            results[(method, region)] = dict(
                seconds=memory.seconds, extra_mib=memory.extra / MIB, activation_mib=activation / MIB,
                extra_ratio=memory.extra / activation,
                cuda_peak_mib=None if memory.cuda_peak is None else memory.cuda_peak / MIB,
                mapping_seconds=dict(mapping_times.seconds),
                scores={name: float(getattr(score, 'values', score)) for name, score in scores.items()},
                raw={name: np.asarray(score.attrs['raw'].values) for name, score in scores.items()
                     if name in ('pls', 'pls_torch')})
            if args.json:  # after every call, so a run stopped early keeps what it measured
                _write_json(args.json, results, args)

    _report(results, methods, args, device)
    _report_per_split(results, methods, args, before)
    if args.json:
        _write_json(args.json, results, args)
        print(f"figures written to {args.json}")
    return results


def _write_json(path, results, args):
    """The figures so far as JSON (``method/region`` keys, ``_args``), written whole or not at all."""
    payload = {f'{method}/{region}': {key: value for key, value in figures.items() if key != 'raw'}
               for (method, region), figures in results.items()}
    payload['_args'] = vars(args)
    partial = f'{path}.partial'
    with open(partial, 'w', encoding='utf-8') as handle:
        json.dump(payload, handle, indent=2, default=str)
    os.replace(partial, path)


def _read_before(path):
    """An earlier run's figures (its ``--json`` file): ``{(method, region): figures}`` and its number of splits."""
    with open(path, encoding='utf-8') as handle:
        payload = json.load(handle)
    splits = int(payload.get('_args', {}).get('splits', 10))
    figures = {tuple(key.split('/')): value for key, value in payload.items() if not key.startswith('_')}
    return dict(figures=figures, splits=splits, path=path)


def _report_per_split(results, methods, args, before):
    """Each mapping's seconds per split: its metric alone (input preparation included) and its own fit inside
    ``all``; with ``before``, the earlier run's alone-seconds per split and how many times faster this run is."""
    names = [method for method, _ in methods]
    rows = [name for name in ('pls_torch', 'nrp') + REFERENCES + ('all', 'reference') if name in names]
    if not rows:
        return
    print()
    print(f"seconds per split ({args.splits} splits; 'alone': the metric by itself, input preparation included; "
          f"'in all': the mapping's own fit inside 'all')")
    header = f"{'mapping':<14}{'region':<7}{'alone':>9}{'in all':>9}"
    if before:
        header += f"{'before':>9}{'x faster':>10}"
    print(header)
    print('-' * len(header))
    totals = {}
    for name in rows:
        for region in args.regions:
            figures = results[(name, region)]
            alone = figures['seconds'] / args.splits
            if name == 'pls_torch':  # 'all' starts with the same pls_torch call
                inside = alone if ('all', region) in results else None
            else:
                inside = results.get(('all', region), {}).get('mapping_seconds', {}).get(name)
                inside = None if inside is None else inside / args.splits
            inside = '' if inside is None else f'{inside:.2f}'
            line = f"{name:<14}{region:<7}{alone:>9.2f}{inside:>9}"
            totals.setdefault(name, [0.0, 0.0])[0] += figures['seconds']
            if before:
                earlier = before['figures'].get((name, region))
                if earlier is not None:
                    earlier_split = earlier['seconds'] / before['splits']
                    totals[name][1] += earlier['seconds'] / before['splits'] * args.splits
                    line += f"{earlier_split:>9.2f}{earlier_split / alone:>10.1f}"
            print(line)
    print()
    for name in rows:
        line = f"total {name:<14} {'+'.join(args.regions)}: {totals[name][0]:8.1f} s"
        if before and totals[name][1]:
            line += f" (before: {totals[name][1]:.1f} s scaled to {args.splits} splits)"
        print(line)
    if 'all' in names and 'reference' in names:
        ours = sum(results[('all', region)]['seconds'] for region in args.regions)
        theirs = sum(results[('reference', region)]['seconds'] for region in args.regions)
        ratio = ours / theirs
        verdict = 'PASS' if ratio <= TARGET_RATIO else 'FAIL'
        print(f"ratio: NRP + every reference + pls_torch ('all', {'+'.join(args.regions)}) {ours:.1f} s / Brain-Score's "
              f"pls {theirs:.1f} s = {ratio:.3f} (target <= {TARGET_RATIO}): {verdict}")
    else:
        print("ratio: not measured (it needs 'all' and 'reference' in the same run)")


def _report(results, methods, args, device):
    names = [method for method, _ in methods]
    has_reference = 'reference' in names
    print()
    header = f"{'method':<10}{'region':<7}{'seconds':>9}{'x faster':>10}{'peak MiB':>10}{'x act.':>8}"
    if device.type == 'cuda':
        header += f"{'GPU MiB':>10}"
    header += '  score(s)'
    print(header)
    print('-' * len(header))
    totals = {}
    for method in names:
        for region in args.regions:
            figures = results[(method, region)]
            totals[method] = totals.get(method, 0.0) + figures['seconds']
            speedup = float('nan')
            if has_reference:
                speedup = results[('reference', region)]['seconds'] / figures['seconds']
            line = (f"{method:<10}{region:<7}{figures['seconds']:>9.1f}{speedup:>10.1f}{figures['extra_mib']:>10.0f}"
                    f"{figures['extra_ratio']:>8.2f}")
            if device.type == 'cuda':
                line += f"{figures['cuda_peak_mib']:>10.0f}"
            line += '  ' + ', '.join(f"{name}={value:.4f}" for name, value in figures['scores'].items())
            print(line)
    print()
    for method in names:
        ratio = (f"  ({totals['reference'] / totals[method]:.1f}x faster than the reference)"
                 if has_reference and method != 'reference' else '')
        print(f"total {method:<10} {'+'.join(args.regions)}: {totals[method]:8.1f} s{ratio}")
    print("peak MiB: highest RSS during the call minus RSS before it (activations already resident); "
          "x act.: that over the region's activation matrix")
    if 'V4' in args.regions:
        total_ratio = 1.0 + results[('pls_torch', 'V4')]['extra_ratio']
        full_size = args.stimuli >= 2560 and args.features_v4 >= 64896
        print(f"memory target, pls_torch V4: activations + overhead = {total_ratio:.2f}x the activation matrix "
              f"(target <= 2x): {'PASS' if total_ratio <= 2.0 else 'FAIL'}"
              + ('' if full_size else ' (the target is set for the full-size workload; fixed overheads '
                                      'dominate small runs)'))
    if has_reference:
        for region in args.regions:
            ours = results[('pls_torch', region)]
            theirs = results[('reference', region)]
            score_gap = abs(ours['scores']['pls_torch'] - theirs['scores']['pls'])
            raw_gap = float(np.nanmax(np.abs(ours['raw']['pls_torch'] - theirs['raw']['pls'])))
            verdict = 'PASS' if score_gap <= TOLERANCE and raw_gap <= TOLERANCE else 'FAIL'
            print(f"agreement {region}: |score - reference| = {score_gap:.2e}, max |r - reference r| over "
                  f"split x neuroid = {raw_gap:.2e} (tolerance {TOLERANCE:g}): {verdict}")
    else:
        print("agreement with the reference: not checked (--skip-reference)")


if __name__ == '__main__':
    main(sys.argv[1:])
