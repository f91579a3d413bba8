"""Time one recovery candidate score in a Dask worker's setting: a fresh process started with the nanny's
``MALLOC_TRIM_THRESHOLD_=65536``, scoring in a thread, with and without ``prepare_worker``'s allocator tuning.

Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which fixes glibc's mmap threshold at 128 KiB;
:func:`nrp_plugin.app.cluster.prepare_worker` keeps up to 256 MiB of freed memory per arena and serves arrays up to
32 MiB from it. This script starts, ``--repeats`` times and alternately, one process of each kind; each scores the
same generated candidate (every mapping of ``nrp-plugin recovery``, 10 splits) in a thread, as a Dask worker does,
and reports its wall, user and system seconds and minor page faults. It prints the median ratio and whether the
scores are identical. glibc only.

    python scripts/benchmark_worker_allocator.py
    python scripts/benchmark_worker_allocator.py --features 20000 --repeats 3
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time

import numpy as np


def score_once(args, prepared):
    """One candidate score in a thread of this process; its seconds, page faults and scores."""
    import torch
    from nrp_plugin.app import cluster
    from nrp_plugin.brainscore.assemblies import neuroid_assembly
    from nrp_plugin.validity import recovery as rec
    if prepared:
        cluster.prepare_worker()
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    features = np.maximum(rng.standard_normal((args.images, 64)) @ rng.standard_normal((64, args.features)), 0)
    responses = np.tanh(features[:, :64] @ rng.standard_normal((64, args.sites)) / 20)
    responses += 0.1 * rng.standard_normal(responses.shape)
    source = neuroid_assembly(features, 'unit', layers=['layer'] * args.features)
    target = neuroid_assembly(responses, 'site')
    out = {}
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    worker = threading.Thread(target=lambda: out.update(rec.score_candidate(source, target)))
    worker.start()
    worker.join()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {'wall': time.perf_counter() - start, 'user': after.ru_utime - before.ru_utime,
            'system': after.ru_stime - before.ru_stime, 'faults': after.ru_minflt - before.ru_minflt, 'scores': out}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--images', type=int, default=640, help='scored images (the embedded world: 640)')
    parser.add_argument('--features', type=int, default=4096, help='features of the candidate layer')
    parser.add_argument('--sites', type=int, default=168, help='sites (IT of the embedded world: 168)')
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--child', choices=['dask', 'prepare_worker'], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(score_once(args, args.child == 'prepare_worker')))
        return
    if platform.libc_ver()[0] != 'glibc':
        raise SystemExit('this C library is not glibc: nothing to compare')
    env = {**os.environ, 'MALLOC_TRIM_THRESHOLD_': '65536', 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1',
           'OPENBLAS_NUM_THREADS': '1'}  # as Dask's nanny starts a worker
    forwarded = [f'--{name}={getattr(args, name)}' for name in ('images', 'features', 'sites', 'seed')]
    runs = {'dask': [], 'prepare_worker': []}
    for _ in range(args.repeats):
        for name in runs:
            done = subprocess.run([sys.executable, __file__, f'--child={name}', *forwarded], env=env, check=True,
                                  capture_output=True, text=True)
            run = json.loads(done.stdout.strip().splitlines()[-1])
            runs[name].append(run)
            print(f"{name:>15}: wall {run['wall']:6.1f} s, user {run['user']:6.1f} s, system {run['system']:6.1f} s, "
                  f"minor page faults {run['faults']:>10,}", flush=True)
    median = {name: float(np.median([run['wall'] for run in values])) for name, values in runs.items()}
    same = all(run['scores'] == runs['dask'][0]['scores'] for values in runs.values() for run in values)
    print(f"median wall: Dask's setting {median['dask']:.1f} s, prepare_worker's {median['prepare_worker']:.1f} s; "
          f"ratio {median['dask'] / median['prepare_worker']:.2f}x; scores identical: {same}")


if __name__ == '__main__':
    main()
