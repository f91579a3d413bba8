"""``nrp-plugin calibrate``: measure how often each interval kind covers the value it is about, on fresh worlds
drawn from one population (:mod:`nrp_plugin.validity.calibration`), and write ``coverage.json`` and
``coverage.md``.

Each finished world is kept as ``DIR/replicates/<index>.json`` (written atomically) together with the
configuration it was drawn from (``DIR/config.json``); a rerun into the same folder with the same configuration
scores only the worlds still missing, so an interrupted calibration loses at most the worlds in progress.
"""
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from ..storage.cache import atomic_write_text
from ..validity import calibration

__all__ = ['calibrate']


def _replicate_task(config, index, environment, threads):
    """One replicate in a Dask worker, with the run's environment and torch threads."""
    from .cluster import prepare_worker
    prepare_worker(environment, threads)
    return calibration.replicate(config, index)


def _kept(out, config):
    """The replicates already kept in ``out`` for ``config`` (``{index: result}``); ValueError when ``out`` holds
    another configuration's."""
    found = {}
    config_path = out / 'config.json'
    if config_path.is_file():
        kept = json.loads(config_path.read_text())
        if kept != json.loads(json.dumps(asdict(config))):
            raise ValueError(f'{out} holds replicates of another calibration ({kept}); give another --out or remove '
                             f'{out / "replicates"}')
    for path in sorted((out / 'replicates').glob('*.json')):
        result = json.loads(path.read_text())
        found[int(result['replicate'])] = result
    return found


def calibrate(config, replicates, out, workers=None, threads=None, log=print, command=None):
    """Run ``replicates`` worlds (on ``workers`` local Dask workers when given) and write the coverage files.

    Parameters
    ----------
    config : CalibrationConfig
    replicates : int
        At least 3 (the population value of a replicate is the mean of the others).
    out : path
        The folder ``coverage.json`` (a list of ``{"quantity", "method", "nominal", "coverage", "replicates",
        ...}``), ``coverage.md``, ``replicates/<index>.json`` (each world's scores and intervals) and ``config.json``
        are written to, each atomically.
    workers : int, optional
    threads : int, optional
        torch threads per process (1 per Dask worker by default).
    command : str, optional
        The command line, recorded in ``coverage.json``.

    Returns
    -------
    list of dict
        The coverage table.
    """
    import torch
    if replicates < 3:
        raise ValueError(f'--replicates {replicates}: give at least 3 (each population value is the mean of the '
                         f'other replicates); the target is 200 or more')
    out = Path(out)
    results = _kept(out, config)
    atomic_write_text(out / 'config.json', json.dumps(asdict(config)))
    todo = [index for index in range(replicates) if index not in results]
    if results:
        log(f'{len(set(range(replicates)) & set(results))} of {replicates} worlds already in {out / "replicates"}')
    started = time.perf_counter()
    population = calibration.pool(config)  # once, before any worker needs it

    def keep(result, done):
        results[result['replicate']] = result
        atomic_write_text(out / 'replicates' / f"{result['replicate']:05d}.json", json.dumps(result))
        log(f"world {result['replicate']}: {result['seconds']:.0f} s ({done} of {len(todo)} done, "
            f"{time.perf_counter() - started:.0f} s)")

    if workers and todo:
        from distributed import as_completed
        from .cluster import ENVIRONMENT, start_client
        client, close = start_client(workers=workers, threads=threads or 1)
        environment = {name: os.environ[name] for name in ENVIRONMENT if name in os.environ}
        try:
            futures = [client.submit(_replicate_task, config, index, environment, threads or 1,
                                     key=f'nrp-calibrate-{config.hash()}-{index}', pure=False) for index in todo]
            for done, future in enumerate(as_completed(futures), start=1):
                keep(future.result(), done)
        finally:
            close()
    else:
        if threads:
            torch.set_num_threads(threads)
        for done, index in enumerate(todo, start=1):
            keep(calibration.replicate(config, index, population), done)
    chosen = [results[index] for index in range(replicates)]
    table = calibration.coverage_table(chosen)
    seconds = sum(result['seconds'] for result in chosen)
    atomic_write_text(out / 'coverage.json', json.dumps(table, indent=1))
    atomic_write_text(out / 'coverage.md', calibration.coverage_markdown(table, config, replicates, seconds,
                                                                         command) + '\n')
    return table
