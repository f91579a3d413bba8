"""The ``nrp-plugin`` command: a thin layer over the library's functions.

Exit status (:data:`EXIT_STATUS`): 0 success; 1 a check found a problem (``status``, ``data check``), install
failed, or no model could be scored; 2 a problem with the request or its data, found before scoring (unknown
identifiers, an unwritable ``--out``, MajajHong2015 files that cannot be had: :mod:`nrp_plugin.brainscore.majajhong`),
or the data failing when a benchmark is loaded; 3 some models could not be scored (their rows say why); 130
interrupted.
"""
import argparse
import signal
import sys
from pathlib import Path


def _install(args):
    from . import installer
    try:
        link = True if getattr(args, 'link', False) else (False if getattr(args, 'copy', False) else None)
        placed = installer.install(link=link)
    except installer.InstallError as error:
        print(f'nrp-plugin install: {error}', file=sys.stderr)
        return 1
    how = 'linked' if installer.installation_mode() == 'link' else 'placed'
    print(f'{how} {len(placed)} plugin folders into {installer.brainscore_root()}:')
    for rel in placed:
        print(f'  {rel}')
    return 0


def _uninstall(args):
    from . import installer
    removed = installer.uninstall()
    print(f'removed {len(removed)} plugin folders from {installer.brainscore_root()}')
    for rel in removed:
        print(f'  {rel}')
    return 0


def _status(args):
    from . import installer
    status = installer.installation_status()
    print(f'nrp_plugin plugin folders in {installer.brainscore_root()}:')
    for rel, state in status.items():
        print(f'  {rel}: {state}')
    problem = installer.status_problem(status)
    if problem:
        print(f'nrp-plugin status: {problem}', file=sys.stderr)
        return 1
    return 0


def _warn_if_stale():
    """One line on stderr when the installed plugin folders are missing or outdated (no failure)."""
    from . import installer
    try:
        problem = installer.status_problem(installer.installation_status())
    except Exception:  # noqa: BLE001 - a hint only
        return
    if problem:
        print(f'warning: {problem}', file=sys.stderr)


def _pack(args):
    from . import installer
    try:
        entries = installer.pack(args.out)
    except installer.InstallError as error:
        return _fail('pack', str(error))
    folders = sorted({'/'.join(e.split('/')[1:3]) for e in entries if e.count('/') >= 3})
    print(f'wrote {args.out}: {len(folders)} plugin folders, {len(entries)} entries')
    for folder in folders:
        print(f'  {folder}')
    return 0


EXIT_STATUS = ('exit status: 0 success; 1 a check found a problem (status, data check), install failed or '
               'no model could be scored; 2 a problem with the request or its data (unknown identifiers, unwritable '
               '--out, MajajHong2015 files that cannot be had); 3 some models could not be scored (their rows say '
               'why, the others are scored); 130 interrupted')


def _fail(command, message, code=2):
    """Print ``nrp-plugin <command>: <message>`` on stderr and return the exit status (see :data:`EXIT_STATUS`)."""
    print(f'nrp-plugin {command}: {message}', file=sys.stderr)
    return code


def _set_device(device):
    import os
    from ..core.device import ENV_VAR
    if device and device != 'auto':
        from ..core.device import resolve_device
        resolve_device(device)  # a clear error now when CUDA is asked for and absent
        os.environ[ENV_VAR] = device


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _compare(args):
    import os
    from ..brainscore import majajhong
    from . import checks
    os.environ.setdefault('BS_INSTALL_DEPENDENCIES', 'no')
    # Brain-Score's result_caching keys stored activations and ceilings by identifier only, so a changed
    # synthetic world (preset) reads stale ones; our own result cache is keyed properly instead.
    os.environ.setdefault('RESULTCACHING_DISABLE', '1')
    _warn_if_stale()
    from . import run
    try:
        _set_device(args.device)
        settings = run.settings_from_arguments(args, command=_command_line(getattr(args, 'argv', ())))
        if list(settings.models) != list(args.models):
            print(f'models ({len(settings.models)}): {" ".join(settings.models)}', flush=True)
        failures = run.check_request(settings)
    except (checks.CompareError, majajhong.DataUnavailableError, ValueError) as error:
        return _fail('compare', str(error))
    except KeyboardInterrupt:
        return _fail('compare', 'interrupted', 130)
    # a kill (SIGTERM) ends the run like Ctrl-C: scratch files and partial writes are cleaned up
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        return _run_compare(settings, failures)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _command_line(argv):
    """The command line of ``argv`` (the arguments after ``nrp-plugin``), as a shell would take it."""
    import shlex
    return ' '.join(shlex.quote(str(part)) for part in ['nrp-plugin'] + list(argv))


def _run_compare(settings, failures):
    from ..brainscore import majajhong
    from . import report, run
    out = Path(settings.out)
    try:
        outcome = run.run(settings, failures)
        if outcome.failed and not outcome.scored:  # nothing to tabulate: say why each model failed, write no table
            return _fail('compare', 'no model could be scored: ' + ' | '.join(
                f"{record['model']}: {record['reason']}" for record in outcome.failed), 1)
        written = report.write_report(outcome.records, out, run_info=outcome.run_info(settings))
    except KeyboardInterrupt:
        return _fail('compare', f'interrupted; finished scores are kept in {settings.cache_directory} and a rerun '
                     f'resumes from them (no table written)', 130)
    except Exception as error:  # noqa: BLE001 - one line, no traceback
        unavailable = majajhong.data_error(error, settings.families)
        if unavailable is not None:
            return _fail('compare', str(unavailable))
        return _fail('compare', f'{type(error).__name__}: {error}', 1)
    print(written.table_markdown)
    _write_layers(outcome.scored, out)
    print(written.stats_markdown)
    print(f"{len(outcome.scored)} scores ({outcome.recomputed} computed, {len(outcome.scored) - outcome.recomputed} "
          f"from the cache {settings.cache_directory}) in {outcome.wall_seconds} s")
    print(f'wrote {out}/table.csv, table.md, table.json, stats.md, report.html and {len(written.plots)} plots:')
    for path in written.plots:
        print(f'  {path}')
    if outcome.failed:
        print(f'nrp-plugin compare: {len(outcome.failed)} of {len(settings.models)} models could not be scored (their '
              f'rows say why):', file=sys.stderr)
        for record in outcome.failed:
            print(f"  {record['model']}: {record['reason']}", file=sys.stderr)
        return 3
    return 0


def _write_layers(records, out):
    """Print the layers each model was scored from and keep them in OUT/layers.md."""
    from ..storage.cache import atomic_write_text
    from .compare import layers_markdown
    text = layers_markdown(records)
    if text:
        print('\nLayers and how they were chosen (a model without a region-layer map never chooses on the images '
              'it is scored on):\n' + text + '\n')
        atomic_write_text(out / 'layers.md', text + '\n')


def _report(args):
    """``report DIR``: rebuild DIR/report.html from DIR/table.json (nothing is scored)."""
    from . import html_report
    try:
        path = html_report.write_html(Path(args.dir))
    except html_report.ReportError as error:
        return _fail('report', str(error))
    except OSError as error:
        return _fail('report', f'cannot write {Path(args.dir) / html_report.REPORT_NAME} ({error}): check that the '
                     f'folder is writable')
    print(f'wrote {path}')
    return 0


def _score(args):
    import os
    from ..brainscore import majajhong
    from . import checks, compare
    os.environ.setdefault('BS_INSTALL_DEPENDENCIES', 'no')
    # Brain-Score's result_caching keys stored activations and ceilings by identifier only, so a changed
    # synthetic world (preset) reads stale ones; our own result cache is keyed properly instead.
    os.environ.setdefault('RESULTCACHING_DISABLE', '1')
    _warn_if_stale()
    try:
        _set_device(args.device)
        checks.check_identifiers(models=[args.model], benchmarks=[args.benchmark])
        majajhong.ensure_data([args.benchmark])  # last: it may download
    except (checks.CompareError, majajhong.DataUnavailableError, ValueError) as error:
        return _fail('score', str(error))
    try:
        model = compare.load_model(args.model)
        score = compare.score_model(model, compare.load_benchmark(args.benchmark))
    except KeyboardInterrupt:
        return _fail('score', 'interrupted', 130)
    except Exception as error:  # noqa: BLE001
        unavailable = majajhong.data_error(error, [args.benchmark])
        if unavailable is not None:
            return _fail('score', str(unavailable))
        return _fail('score', f'{type(error).__name__}: {error}', 1)
    kind = 'nrp' if 'nrp_error' in score.attrs else 'pls'
    record = compare.summarize(score, kind)
    print(f'{args.model} on {args.benchmark}: score {record["score"]:.4f}')
    layers = compare.score_layers(score, model, args.benchmark.split('.', 1)[-1].rsplit('-', 1)[0])
    for key, value in layers.items():
        if value:
            print(f'  {key}: {value if isinstance(value, str) else ", ".join(value)}')
    for key, value in record.items():
        if key in ('kind', 'score') or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        print(f'  {key}: {value:.4f}')
    return 0


def _list(args):
    from . import checks, installer
    try:
        sources = installer.plugin_sources()
    except installer.InstallError as error:
        return _fail('list', str(error))
    headings = (('model_registry', 'models'), ('benchmark_registry', 'benchmarks'), ('metric_registry', 'metrics'),
                ('data_registry', 'data'))
    own = {}
    for (kind, name), folder in sources.items():
        for registry, identifier in installer.registrations(folder / '__init__.py'):
            own.setdefault(registry, []).append((identifier, f'{kind}/{name}'))
    print('nrp_plugin:')
    for registry, title in headings:
        entries = own.get(registry, [])
        if entries:
            print(f'  {title} ({len(entries)}):')
            for identifier, folder in entries:
                print(f'    {identifier}    [{folder}]')
    if args.all:
        registered = checks.registered_identifiers()
        mine = {registry: {identifier for identifier, _ in entries} for registry, entries in own.items()}
        print(f'in-tree ({installer.brainscore_root()}):')
        for registry, title in headings:
            entries = sorted(registered.get(registry, set()) - mine.get(registry, set()))
            print(f'  {title} ({len(entries)}):')
            for identifier in entries:
                print(f'    {identifier}')
    return 0


def _cache(args):
    """Report or empty the activation store (and, with --results, the result cache)."""
    from ..storage.activation_store import ActivationStore
    from .result_cache import result_cache_dir
    try:
        store = ActivationStore()
    except ValueError as error:
        return _fail('cache', str(error))
    results = Path(result_cache_dir())
    result_files = sorted(results.glob('*.json')) if results.is_dir() else []
    if args.action == 'info':
        print(f'activation store: {store.root} ({len(store.entries())} layers, {store.size() / 2 ** 20:.1f} MB; '
              f'limit {store.limit_bytes / 2 ** 30:.1f} GB)')
        print(f'result cache: {results} ({len(result_files)} scores)')
        return 0
    count, size = store.clear()
    print(f'activation store: removed {count} layers ({size / 2 ** 20:.1f} MB) from {store.root}')
    if args.results:
        for path in result_files + (sorted(results.glob('*.heldout.npz')) if results.is_dir() else []):
            path.unlink(missing_ok=True)
        print(f'result cache: removed {len(result_files)} scores from {results}')
    return 0


def _data(args):
    """``data check``: each MajajHong2015 file the families read, ok / missing / sha1 mismatch (exit 1 unless all ok)."""
    from ..brainscore import majajhong
    families = list(dict.fromkeys(args.benchmarks))
    print(f"MajajHong2015 files for {', '.join(families)} in {majajhong.brainio_home()} ($BRAINIO_HOME):")
    states = majajhong.check_files(families)
    width = max(map(len, majajhong.FILE_STATES))
    for found in states:
        detail = f'  (sha1 {found.sha1}, expected {found.file.sha1})' if found.state == majajhong.MISMATCH else ''
        print(f'  {found.state:<{width}}  {found.file.path}{detail}')
    problem = majajhong.check_problem(states)
    if problem:
        return _fail('data check', problem, 1)
    return 0


def _calibrate(args):
    from ..validity.calibration import CalibrationConfig
    from . import calibrate
    config = CalibrationConfig(seed=args.seed, region=args.region, draws=args.draws)
    try:
        table = calibrate.calibrate(config, args.replicates, args.out, workers=args.workers, threads=args.threads,
                                    command=_command_line(getattr(args, 'argv', ())))
    except ValueError as error:
        return _fail('calibrate', str(error))
    except KeyboardInterrupt:
        return _fail('calibrate', f'interrupted (no coverage written; the finished worlds are kept in '
                                  f'{args.out}/replicates, and the same command goes on from them)', 130)
    print(f'wrote {args.out}/coverage.json and coverage.md ({len(table)} rows)')
    return 0


def _recovery(args):
    """``recovery``: does each mapping put first the model whose layer generated the responses?"""
    import json
    import os
    os.environ.setdefault('BS_INSTALL_DEPENDENCIES', 'no')
    os.environ.setdefault('RESULTCACHING_DISABLE', '1')
    from . import recovery
    nrp_config = None
    try:
        models, truths = recovery.check_request(args.models, args.truth, args.noise_scale, args.seeds, args.workers)
        if args.nrp_config:
            nrp_config = json.loads(args.nrp_config)
            if not isinstance(nrp_config, dict):
                raise ValueError(f'--nrp-config {args.nrp_config!r} is not a JSON object')
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f'--out {out} is a file; give a folder')
    except ValueError as error:  # RecoveryError and bad JSON
        return _fail('recovery', str(error))
    try:
        outcome = recovery.run_recovery(models, truths, args.noise_scale, args.seeds, nrp_config=nrp_config,
                                        workers=args.workers, reuse=not args.no_cache)
        written = recovery.write_outputs(outcome, out, _command_line(getattr(args, 'argv', ())))
    except KeyboardInterrupt:
        return _fail('recovery', 'interrupted (no result written)', 130)
    except Exception as error:  # noqa: BLE001 - one line, no traceback
        return _fail('recovery', f'{type(error).__name__}: {error}', 1)
    for table in outcome['tables']:
        rate = '-' if table['rate'] is None else f"{table['rate']:.2f}"
        print(f"{table['mapping']:>14} {table['truth']:>9} {table['region']:>3}: recovered {table['recovered']}, "
              f"ties {table['ties']}, failed {table['failed']}, rate {rate}, mean rank {table['mean_rank']:.2f}")
    print(f'wrote {out}/recovery.json, recovery.md and {len(written) - 2} figures ({outcome["seconds"]:.0f} s)')
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog='nrp-plugin', description=(
        'Score vision models on V4/IT with Brain-Score\'s PLS-Pearson and with NRP-error.'), epilog=EXIT_STATUS)
    commands = parser.add_subparsers(dest='command', required=True)
    inst = commands.add_parser('install', help='place the plugin folders into the installed brainscore_vision tree')
    mode = inst.add_mutually_exclusive_group()
    mode.add_argument('--link', action='store_true',
                      help='place symbolic links to this checkout\'s folders instead of copies (editable '
                           'installs: an edit is live without re-installing)')
    mode.add_argument('--copy', action='store_true', help='place copies (default for a first install; '
                      'without --link/--copy the previous mode is kept)')
    inst.set_defaults(run=_install)
    commands.add_parser('status', help='check that the installed plugin folders are present and current'
                        ).set_defaults(run=_status)
    pk = commands.add_parser('pack', help="write the zip Brain-Score's submission page takes (plugin folders only)")
    pk.add_argument('--out', default='submission.zip', help='zip to write (default: %(default)s)')
    pk.set_defaults(run=_pack)
    commands.add_parser('uninstall', help='remove exactly the folders `install` placed').set_defaults(run=_uninstall)

    from ..synthetic.config import REGIONS
    from .settings import DEFAULT_FAMILIES, DEFAULT_MODELS
    cmp = commands.add_parser('compare', help='score models on V4/IT under PLS and NRP; write tables and plots')
    cmp.add_argument('--models', nargs='+', default=list(DEFAULT_MODELS), metavar='M',
                     help='registered identifiers, specs (torchvision:<arch>, path/to/file.py:function), patterns '
                          '(torchvision:resnet*, torchvision:*) or files listing them one per line '
                          '(default: %(default)s)')
    cmp.add_argument('--benchmarks', nargs='+', default=list(DEFAULT_FAMILIES), metavar='FAMILY',
                     help='benchmark families, e.g. SyntheticMajajHong2015 MajajHong2015 MajajHong2015public; '
                          'each is scored as <family>.<region>-pls and -nrp (default: %(default)s)')
    cmp.add_argument('--regions', nargs='+', default=list(REGIONS), choices=list(REGIONS),
                     help='regions (default: V4 IT)')
    cmp.add_argument('--out', default='nrp_results', help='output folder (default: %(default)s)')
    cmp.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'])
    cmp.add_argument('--no-cache', action='store_true', help='recompute every score (results still cached)')
    cmp.add_argument('--cache-in-out', action='store_true',
                     help='keep the result cache in OUT/cache instead of the nrp_plugin cache')
    cmp.add_argument('--search', action='store_true',
                     help="NRP benchmarks score with NRPErrorMetric(search=SearchGrid.default())")
    cmp.add_argument('--grid', metavar='PATH.json', help='NRP benchmarks score with NRPErrorMetric(search='
                     'SearchGrid.from_json(PATH))')
    cmp.add_argument('--quiet', action='store_true', help='no progress bars')
    cmp.add_argument('--reference-pls', action='store_true',
                     help="score -pls benchmarks with Brain-Score's own (scikit-learn) pls instead of pls_torch, "
                          "which gives the same scores faster")
    cmp.add_argument('--nrp-config', metavar='JSON|paper',
                     help="NRP benchmarks score with NRPErrorMetric(config=...): 'paper', or a JSON object of "
                          "NRPConfig fields, e.g. '{\"max_epochs\": 50}'")
    cmp.add_argument('--references', metavar='all|none|NAMES', default=None,
                     help='the reference mappings fitted beside the NRP on the same splits: all (default), none, or '
                          'a comma-separated list of least_squares, ridge, banded_ridge, kernel_ridge, pls')
    cmp.add_argument('--factorial', action='store_true',
                     help='also fit PLS and every reference, and every mapping on the committed layer alone, so that '
                          "stats.md separates the mapping, the measure and the inputs in the ranking's change")
    cmp.add_argument('--threads', type=int, metavar='N',
                     help='torch threads per model (default: all cores in one process, 1 per Dask worker)')
    cmp.add_argument('--workers', type=int, metavar='N',
                     help='score the models on N Dask worker processes (a LocalCluster; with --cluster, N batch jobs)')
    cmp.add_argument('--scheduler', metavar='ADDRESS', help='score the models on a running Dask scheduler')
    cmp.add_argument('--cluster', choices=['slurm', 'pbs', 'sge', 'lsf'],
                     help='start Dask workers through the batch system (dask-jobqueue)')
    cmp.add_argument('--cluster-option', action='append', metavar='KEY=VALUE',
                     help='keyword argument of the dask-jobqueue cluster (e.g. cores=8, memory=32GB, walltime=04:00:00)')
    cmp.add_argument('--in-memory', action='store_true',
                     help="record activations with Brain-Score's own extractor, every layer in memory (the "
                          "reference path), instead of out of core with the on-disk activation store")
    cmp.set_defaults(run=_compare)

    rep = commands.add_parser('report', help='rebuild DIR/report.html, the interactive page of a comparison, from '
                              'DIR/table.json (nothing is scored)')
    rep.add_argument('dir', metavar='DIR', help='the --out folder of a `compare` run')
    rep.set_defaults(run=_report)

    one = commands.add_parser('score', help='score one model on one benchmark and print the main attrs')
    one.add_argument('model')
    one.add_argument('benchmark')
    one.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'])
    one.set_defaults(run=_score)

    cache = commands.add_parser('cache', help='show or empty the on-disk activation store (and result cache)')
    cache.add_argument('action', choices=['info', 'clear'])
    cache.add_argument('--results', action='store_true', help='clear: also remove the cached scores')
    cache.set_defaults(run=_cache)

    from ..brainscore.majajhong import REAL_FAMILIES
    data = commands.add_parser('data', help='check the MajajHong2015 files placed by hand under $BRAINIO_HOME')
    data.add_argument('action', choices=['check'],
                      help='check: print each file the families read as ok, missing or sha1 mismatch, with its '
                           'full path; exit 1 unless all are ok')
    data.add_argument('--benchmarks', nargs='+', default=list(REAL_FAMILIES), choices=list(REAL_FAMILIES),
                      metavar='FAMILY', help='benchmark families whose files to check (default: %(default)s; '
                                             'MajajHong2015 also reads the public files)')
    data.set_defaults(run=_data)

    cal = commands.add_parser('calibrate', help='measure the coverage of every interval kind on fresh worlds with '
                              'a known answer; write coverage.json and coverage.md')
    cal.add_argument('--seed', type=int, default=1, help='the population and worlds (default: %(default)s; the '
                     'calibration models were designed on seed 0)')
    cal.add_argument('--replicates', type=int, default=200, help='worlds drawn (default: %(default)s)')
    cal.add_argument('--out', default='calibration', help='output folder (default: %(default)s)')
    cal.add_argument('--region', default='IT', choices=list(REGIONS))
    cal.add_argument('--draws', type=int, default=1000, help='resamples per interval (default: %(default)s)')
    cal.add_argument('--workers', type=int, metavar='N', help='run the worlds on N local Dask workers')
    cal.add_argument('--threads', type=int, metavar='N', help='torch threads per process')
    cal.set_defaults(run=_calibrate)

    recov = commands.add_parser('recovery', help='generate responses from each model and see whether each mapping '
                                'puts that model first; write recovery.json, recovery.md and figures')
    recov.add_argument('--models', nargs='+', required=True, metavar='M',
                       help='at least 3 specs, registered identifiers, patterns or files, as for compare')
    recov.add_argument('--truth', default='both', metavar='linear|nonlinear|both',
                       help='the site model: linear (nonlinearity 0), nonlinear (the world\'s default) or both '
                            '(default: %(default)s)')
    recov.add_argument('--noise-scale', type=float, default=1.0, metavar='X',
                       help='trial noise as a multiple of the level of MajajHong2015\'s ceilings (0: noiseless; '
                            'default: %(default)s)')
    recov.add_argument('--seeds', type=int, default=1, metavar='K', help='readouts and noise draws per generator '
                       '(default: %(default)s)')
    recov.add_argument('--workers', type=int, metavar='N', help='run on N local Dask worker processes')
    recov.add_argument('--nrp-config', metavar='JSON', help='NRPConfig fields as a JSON object, e.g. '
                       '\'{"max_epochs": 50}\'')
    recov.add_argument('--no-cache', action='store_true',
                       help='recompute every candidate score (scores are still kept for later runs)')
    recov.add_argument('--out', default='recovery', help='output folder (default: %(default)s)')
    recov.set_defaults(run=_recovery)

    lst = commands.add_parser('list', help="list this package's registered models, benchmarks and metrics")
    lst.add_argument('--all', action='store_true', help='also list the in-tree identifiers')
    lst.set_defaults(run=_list)
    return parser


def main(argv=None):
    import warnings
    warnings.filterwarnings('ignore', message='xarray subclass', category=FutureWarning)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    for stream in (sys.stdout, sys.stderr):  # progress lines reach a log file as they are printed
        if hasattr(stream, 'reconfigure'):
            stream.reconfigure(line_buffering=True)
    return args.run(args)


if __name__ == '__main__':
    sys.exit(main())
