"""MajajHong2015 without network or credentials: one clear message naming every file to place, and
``nrp-plugin data check`` for the placed files.

Brain-Score's S3 fetch (``s3.fetch_file``, what ``s3.get_path`` calls) is replaced by one that raises what
botocore raises offline, and ``BRAINIO_HOME`` points at a fresh folder; no model is built or scored.
"""
import hashlib
import os

import pytest

from nrp_plugin.app import cli, compare
from nrp_plugin.brainscore import majajhong

MODEL = 'SyntheticMajajHong2015-teacher'


def _paths(home, *accesses):
    return [str(home / sha1 / name) for access in accesses for name, sha1 in majajhong.FILES[access]]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty ``BRAINIO_HOME`` that Brain-Score reads too (it caches the folder on first use)."""
    from brainscore_core.supported_data_standards.brainio import fetch
    folder = tmp_path / 'brainio'
    monkeypatch.setenv('BRAINIO_HOME', str(folder))
    monkeypatch.setattr(fetch, '_local_data_path', None)
    return folder


@pytest.fixture
def offline(home, monkeypatch, installed_plugins):
    """S3 unreachable as botocore reports it; the locations Brain-Score tried to fetch are recorded."""
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError
    from brainscore_core.supported_data_standards.brainio import s3
    tried = []

    def unreachable(location_type, location, sha1=None, version_id=None):
        tried.append(location)
        # what BotoFetcher raises after its signed and unsigned attempts both failed
        raise Exception([NoCredentialsError(), EndpointConnectionError(endpoint_url=location)])

    def must_not_build(identifier):
        raise AssertionError(f'built {identifier} although the data is unavailable')

    monkeypatch.setattr(s3, 'fetch_file', unreachable)
    monkeypatch.setattr(compare, 'load_model', must_not_build)
    return tried


def _assert_clear(err, command, home, families, accesses):
    """One message: data + cause, a line per missing file, the check command, the offline hint."""
    lines = err.strip().splitlines()
    assert lines[0].startswith(f'nrp-plugin {command}: MajajHong2015.')
    assert 'could not be loaded (Unable to locate credentials; Could not connect to the endpoint URL' in lines[0]
    assert [line.strip() for line in lines[1:-2]] == _paths(home, *accesses)
    assert f"nrp-plugin data check --benchmarks {' '.join(families)}" in lines[-2]
    assert 'SyntheticMajajHong2015' in lines[-1] and 'offline' in lines[-1]
    assert 'Traceback' not in err and 'NoCredentialsError' not in err and 'Exception' not in err


@pytest.mark.parametrize('family, accesses', [('MajajHong2015', ('private', 'public')),
                                              ('MajajHong2015public', ('public',))])
def test_compare_names_every_missing_file(offline, home, tmp_path, capsys, family, accesses):
    code = cli.main(['compare', '--benchmarks', family, '--models', MODEL, '--out', str(tmp_path / 'out'),
                     '--quiet', '--cache-in-out'])
    err = capsys.readouterr().err
    assert code == 2
    _assert_clear(err, 'compare', home, [family], accesses)
    assert offline  # Brain-Score was let try (a user with network would have had the files downloaded)
    assert not list((tmp_path / 'out').glob('table.*'))


@pytest.mark.parametrize('identifier, family, accesses', [
    ('MajajHong2015.IT-pls', 'MajajHong2015', ('private', 'public')),
    ('MajajHong2015public.V4-nrp', 'MajajHong2015public', ('public',))])
def test_score_names_every_missing_file(offline, home, capsys, identifier, family, accesses):
    code = cli.main(['score', MODEL, identifier])
    err = capsys.readouterr().err
    assert code == 2
    _assert_clear(err, 'score', home, [family], accesses)


@pytest.mark.parametrize('argv, accesses', [
    (['score', MODEL, 'MajajHong2015.V4-pls'], ('private', 'public')),
    (['score', MODEL, 'MajajHong2015public.IT-nrp'], ('public',)),
    (['compare', '--benchmarks', 'MajajHong2015public', '--models', MODEL, '--quiet', '--cache-in-out'], ('public',))])
def test_failure_after_the_preflight_gives_the_same_message(offline, home, tmp_path, capsys, monkeypatch, argv,
                                                            accesses):
    """Brain-Score's raw exception from a benchmark factory (its own -pls, our -nrp) becomes the same message."""
    import brainscore_vision
    monkeypatch.setattr(majajhong, 'ensure_data', lambda names, load=None: [])
    monkeypatch.setattr(compare, 'load_model', lambda identifier: object())
    # Brain-Score's own loader, whatever compare.load_benchmark adds around it
    monkeypatch.setattr(compare, 'load_benchmark', brainscore_vision.load_benchmark)
    code = cli.main(argv + (['--out', str(tmp_path / 'out')] if argv[0] == 'compare' else []))
    err = capsys.readouterr().err
    assert code == 2
    family = 'MajajHong2015' if 'private' in accesses else 'MajajHong2015public'
    _assert_clear(err, argv[0], home, [family], accesses)
    assert offline


def test_explain_data_errors_around_brainscores_load_benchmark(offline, home):
    """What compare.load_benchmark can wrap Brain-Score's load_benchmark in."""
    import brainscore_vision
    with pytest.raises(majajhong.DataUnavailableError) as error:
        with majajhong.explain_data_errors('MajajHong2015public.IT-pls'):
            brainscore_vision.load_benchmark('MajajHong2015public.IT-pls')
    message = str(error.value)
    assert message.startswith('MajajHong2015.public could not be loaded (Unable to locate credentials')
    assert all(path in message for path in _paths(home, 'public'))
    with pytest.raises(KeyError, match='not a data problem'):  # other errors pass through unchanged
        with majajhong.explain_data_errors('MajajHong2015public.IT-pls'):
            raise KeyError('not a data problem') from None
    with pytest.raises(RuntimeError, match='synthetic'):  # so do errors of benchmarks that read no file
        with majajhong.explain_data_errors('SyntheticMajajHong2015.IT-pls'):
            raise RuntimeError('synthetic')


def test_only_fetch_errors_are_data_problems(home):
    """While files are missing, an error that does not come from fetching them keeps its own message."""
    from botocore.exceptions import EndpointConnectionError
    assert majajhong.data_error(ImportError('cannot import name x'), ['MajajHong2015']) is None
    assert majajhong.data_error(ValueError('bad layer'), ['MajajHong2015.IT-pls']) is None
    assert majajhong.data_error(ConnectionError('refused'), ['SyntheticMajajHong2015']) is None
    for error in (ConnectionError('refused'), Exception([EndpointConnectionError(endpoint_url='https://s3')])):
        assert isinstance(majajhong.data_error(error, ['MajajHong2015']), majajhong.DataUnavailableError)
    try:  # raised while handling a fetch error
        try:
            raise EndpointConnectionError(endpoint_url='https://s3')
        except Exception:
            raise RuntimeError('load failed')
    except RuntimeError as error:
        assert 'load failed' in str(majajhong.data_error(error, ['MajajHong2015public']))


def test_wrong_bytes_placed_give_a_clear_sha1_message(home, installed_plugins, capsys, monkeypatch):
    """Files present: the pre-flight reads nothing; Brain-Score's sha1 check then fails, and is explained."""
    import brainscore_vision
    for path in _paths(home, 'public'):
        os.makedirs(os.path.dirname(path))
        with open(path, 'wb') as stream:
            stream.write(b'not the real bytes')
    monkeypatch.setattr(compare, 'load_model', lambda identifier: object())
    monkeypatch.setattr(compare, 'load_benchmark', brainscore_vision.load_benchmark)  # Brain-Score's own loader
    assert cli.main(['score', MODEL, 'MajajHong2015public.V4-pls']) == 2
    err = capsys.readouterr().err
    wrong = hashlib.sha1(b'not the real bytes').hexdigest()
    lines = err.strip().splitlines()
    assert lines[0].startswith('nrp-plugin score: MajajHong2015.public could not be loaded')
    assert wrong in lines[0] and lines[1].strip() == _paths(home, 'public')[0]
    assert 'nrp-plugin data check --benchmarks MajajHong2015public' in err
    assert 'Traceback' not in err and 'ValueError' not in err


def test_present_files_are_not_read(home, monkeypatch):
    """With every file in place the pre-flight only looks up paths: no load, no hash."""
    for path in _paths(home, 'private', 'public'):
        os.makedirs(os.path.dirname(path))
        open(path, 'wb').close()

    def must_not_load(identifier):
        raise AssertionError(f'loaded {identifier} although its files are present')

    monkeypatch.setattr(majajhong, 'file_sha1', must_not_load)
    assert majajhong.ensure_data(['MajajHong2015', 'MajajHong2015public'], load=must_not_load) == []


def test_preflight_loads_what_is_missing_and_reports_what_stays_missing(home):
    """Each access with a missing file is loaded (Brain-Score downloads then); only what stays missing is named."""
    loaded = []

    def public_downloads_private_needs_credentials(identifier):
        loaded.append(identifier)
        if identifier == 'MajajHong2015.private':
            from botocore.exceptions import NoCredentialsError
            raise Exception([NoCredentialsError(), NoCredentialsError()])
        for path in _paths(home, 'public'):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, 'wb').close()

    with pytest.raises(majajhong.DataUnavailableError) as error:
        majajhong.ensure_data('MajajHong2015.IT-nrp', load=public_downloads_private_needs_credentials)
    assert loaded == ['MajajHong2015.private', 'MajajHong2015.public']
    lines = str(error.value).splitlines()
    assert lines[0].startswith('MajajHong2015.private could not be loaded (Unable to locate credentials);')
    assert [line.strip() for line in lines[1:-2]] == _paths(home, 'private')
    loaded.clear()
    assert majajhong.ensure_data('MajajHong2015public', load=public_downloads_private_needs_credentials) == []
    assert loaded == []


@pytest.mark.parametrize('names, accesses', [
    (['MajajHong2015'], ('private', 'public')), (['MajajHong2015public'], ('public',)),
    (['MajajHong2015.V4-pls'], ('private', 'public')), (['MajajHong2015public.IT-nrp'], ('public',)),
    (['SyntheticMajajHong2015', 'SyntheticMajajHong2015.IT-pls', 'FakeFamily'], ()),
    (['MajajHong2015public.IT-temporal-pls'], ())])  # Brain-Score's temporal benchmarks read other files
def test_which_files_a_family_or_benchmark_reads(home, names, accesses):
    files = majajhong.data_files(names)
    assert [file.path for file in files] == _paths(home, *accesses)
    assert all(file.path == os.path.join(file.folder, file.name) and file.folder.endswith(file.sha1) for file in files)
    assert majajhong.missing_files(names) == files


def test_data_check_missing_mismatch_ok(home, tmp_path, capsys, monkeypatch):
    assert cli.main(['data', 'check']) == 1
    out, err = capsys.readouterr()
    for path in _paths(home, 'private', 'public'):
        assert f'missing        {path}\n' in out
    assert err.startswith('nrp-plugin data check: 6 missing of 6 files')

    for path in _paths(home, 'public'):
        os.makedirs(os.path.dirname(path))
        with open(path, 'wb') as stream:
            stream.write(b'wrong bytes')
    assert cli.main(['data', 'check', '--benchmarks', 'MajajHong2015public']) == 1
    out, err = capsys.readouterr()
    for path in _paths(home, 'public'):
        assert f'sha1 mismatch  {path}  (sha1 {hashlib.sha1(b"wrong bytes").hexdigest()}' in out
    assert 'private' not in out and '3 sha1 mismatch of 3 files' in err

    # files whose sha1 is right: FILES pointed at small files' sha1s
    contents = {name: f'{name} bytes'.encode() * 1000 for access in majajhong.FILES
                for name, _ in majajhong.FILES[access]}
    sha1s = {name: hashlib.sha1(data).hexdigest() for name, data in contents.items()}
    monkeypatch.setattr(majajhong, 'FILES', {access: [(name, sha1s[name]) for name, _ in files]
                                             for access, files in majajhong.FILES.items()})
    for access in ('private', 'public'):
        for path in _paths(home, access):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'wb') as stream:
                stream.write(contents[os.path.basename(path)])
    assert cli.main(['data', 'check', '--benchmarks', 'MajajHong2015']) == 0
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[1:]] == ['ok'] * 6
    assert all(f'ok             {path}\n' in out for path in _paths(home, 'private', 'public')) and err == ''

    os.remove(_paths(home, 'private')[0])
    assert cli.main(['data', 'check', '--benchmarks', 'MajajHong2015']) == 1
    out, err = capsys.readouterr()
    assert f'missing        {_paths(home, "private")[0]}' in out and '1 missing of 6 files' in err


def test_file_sha1_reads_in_chunks(tmp_path):
    path = tmp_path / 'data.bin'
    data = bytes(range(256)) * 41 + b'tail'
    path.write_bytes(data)
    assert majajhong.file_sha1(path, chunk_size=7) == majajhong.file_sha1(path) == hashlib.sha1(data).hexdigest()


def test_data_check_rejects_unknown_families(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(['data', 'check', '--benchmarks', 'SyntheticMajajHong2015'])
    assert exit_.value.code == 2 and "invalid choice: 'SyntheticMajajHong2015'" in capsys.readouterr().err


def test_data_missing_inside_a_dask_task_ends_the_run_as_in_one_process(offline, home, tmp_path):
    """A worker that finds the data missing after the preflight (say, a machine without the files) ends the
    distributed run with the same message as the in-process run, not a failed row per model."""
    from distributed import Client, LocalCluster

    from nrp_plugin.app import cluster
    from nrp_plugin.app.settings import RunSettings
    settings = dict(families=['MajajHong2015public'], regions=['IT'])
    with pytest.raises(majajhong.DataUnavailableError) as in_process:
        compare.run_compare(models=[MODEL], cache_directory=tmp_path / 'one', progress=False, **settings)
    # worker threads in this process, so that they meet the same unreachable S3
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as local, \
            Client(local) as client:
        with pytest.raises(majajhong.DataUnavailableError) as distributed:
            cluster.run_distributed([MODEL, MODEL + '-copy'], client,
                                    RunSettings(models=(MODEL, MODEL + '-copy'), cache_directory=str(tmp_path / 'many'),
                                                threads=1, progress=False, **settings),
                                    log=lambda line: None)
    assert str(distributed.value) == str(in_process.value)
    assert all(path in str(distributed.value) for path in _paths(home, 'public'))
