"""One comparison run's settings: built once from the command line, passed unchanged to the in-process run, each
Dask task and the report.
"""
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from ..mappings import DEFAULT_REFERENCES, resolve_references
from ..synthetic.config import REGIONS
from .checks import CompareError

__all__ = ['DEFAULT_FAMILIES', 'DEFAULT_MODELS', 'RunSettings', 'load_nrp_config', 'load_search_grid',
           'parse_references']

DEFAULT_FAMILIES = ('SyntheticMajajHong2015',)
# Offline-capable models covering each architecture and the pruning contrast (0 vs 80%); intermediate
# sparsities are opt-in (--models) to keep the default run short (docs/speed.md).
DEFAULT_MODELS = ('cornet_s_untrained', 'resnet50_untrained_pruned00', 'resnet50_untrained_pruned80',
                  'SyntheticMajajHong2015-teacher')


@dataclass(frozen=True)
class RunSettings:
    """What a comparison run scores and how.

    Attributes
    ----------
    models, families, regions : tuple of str
        The models (identifiers and specs, patterns already expanded), benchmark families and regions.
    out : str
        The output folder.
    cache_directory : str, optional
        The result cache (:func:`nrp_plugin.app.result_cache.result_cache_dir` when None).
    use_cache : bool
        False: recompute every score (the results are still written to the cache).
    device : {'auto', 'cpu', 'cuda'}
    search_grid : dict, optional
        :meth:`nrp_plugin.search.SearchGrid.to_dict` of the nested search the NRP benchmarks score with.
    nrp_config : dict or 'paper', optional
        The NRP's configuration (:func:`load_nrp_config`).
    references : tuple of str
        The reference mappings the NRP benchmarks fit beside the NRP (:func:`parse_references`).
    factorial : bool
        The NRP benchmarks also fit PLS and every reference, and fit each mapping on the committed layer alone
        besides the NRP's window (the ranking's mapping x measure x inputs analysis).
    reference_pls : bool
        Score ``-pls`` benchmarks with Brain-Score's own ``pls`` instead of ``pls_torch``.
    out_of_core : bool
        Record a network's layers out of core (False: Brain-Score's extractor, every layer in memory).
    threads : int, optional
        torch threads per model (all cores in one process, 1 per Dask worker when None).
    workers : int, optional
        Dask worker processes (or batch jobs with ``cluster``).
    scheduler : str, optional
        A running Dask scheduler's address.
    cluster : {'slurm', 'pbs', 'sge', 'lsf'}, optional
    cluster_options : dict, optional
        Keyword arguments of the dask-jobqueue cluster.
    progress : bool
        Progress bars.
    command : str, optional
        The command line the run came from (for the report's provenance).
    """
    models: tuple = DEFAULT_MODELS
    families: tuple = DEFAULT_FAMILIES
    regions: tuple = REGIONS
    out: str = 'nrp_results'
    cache_directory: str = None
    use_cache: bool = True
    device: str = 'auto'
    search_grid: dict = None
    nrp_config: object = None
    references: tuple = DEFAULT_REFERENCES
    factorial: bool = False
    reference_pls: bool = False
    out_of_core: bool = True
    threads: int = None
    workers: int = None
    scheduler: str = None
    cluster: str = None
    cluster_options: dict = field(default=None)
    progress: bool = True
    command: str = None

    def __post_init__(self):
        for name in ('models', 'families', 'regions', 'references'):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.cache_directory is not None:
            object.__setattr__(self, 'cache_directory', str(self.cache_directory))
        object.__setattr__(self, 'out', str(self.out))

    @property
    def distributed(self):
        """Whether the models are scored on Dask workers."""
        return bool(self.workers or self.scheduler or self.cluster)

    def replace(self, **changes):
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self):
        """The settings as JSON types (``table.json``'s ``run``)."""
        return json.loads(json.dumps(asdict(self), default=str))

    @classmethod
    def from_dict(cls, values):
        """Settings from :meth:`to_dict`'s output (unknown keys left out)."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})


def load_search_grid(search=False, grid_path=None):
    """The nested search asked for by ``--search``/``--grid`` as a dict (``SearchGrid.to_dict``), or None."""
    from ..search import SearchGrid
    if not search and grid_path is None:
        return None
    if grid_path is not None:
        path = Path(grid_path)
        if not path.is_file():
            raise CompareError(f"--grid {grid_path}: no such file")
        try:
            return SearchGrid.from_json(str(path)).to_dict()
        except Exception as error:  # noqa: BLE001 - one line for the user
            raise CompareError(f"--grid {grid_path}: cannot read a search grid ({error})") from None
    return SearchGrid.default().to_dict()


#: ``--nrp-config`` keys that are no NRPConfig field, kept working with a deprecation message: ``with_linear``
#: (true: every reference, false: none) is now ``--references``.
DEPRECATED_CONFIG_KEYS = {'with_linear': '--references all|none'}


def load_nrp_config(text, warn=print):
    """``--nrp-config``: ``'paper'`` or a JSON object of :class:`nrp_plugin.core.network.NRPConfig` fields; None when
    not given. CompareError naming the problem otherwise.

    Returns
    -------
    config : dict, 'paper' or None
    references : str or None
        What a deprecated ``with_linear`` key asks for (``'all'`` or ``'none'``), None without it; ``warn`` receives
        one line saying what to use instead.
    """
    if text is None:
        return None, None
    if text == 'paper':
        return text, None
    from ..core.network import NRPConfig
    try:
        fields_ = json.loads(text)
        if not isinstance(fields_, dict):
            raise ValueError('not a JSON object')
        references = None
        if 'with_linear' in fields_:
            with_linear = fields_.pop('with_linear')
            if not isinstance(with_linear, bool):
                raise ValueError('with_linear must be true or false')
            references = 'all' if with_linear else 'none'
            warn(f"warning: --nrp-config's \"with_linear\" is deprecated; use --references {references}")
        NRPConfig(**fields_)
    except (ValueError, TypeError) as error:
        raise CompareError(f"--nrp-config {text!r}: {error}; give 'paper' or a JSON object of NRPConfig fields, e.g. "
                           f"'{{\"max_epochs\": 50}}'") from None
    return (fields_ or None), references


def parse_references(text):
    """``--references``: ``all``, ``none`` or a comma-separated list of mapping names, as a tuple of names.
    CompareError naming the unknown names and the registered ones otherwise."""
    try:
        return resolve_references(text)
    except ValueError as error:
        raise CompareError(f'--references {text}: {error}') from None
