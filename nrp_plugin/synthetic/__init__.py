"""An offline benchmark world shaped like MajajHong2015, generated from a known teacher.

``open_world(WorldConfig.preset('default'))`` renders 8 categories x 8 procedural objects at three
variation levels (:mod:`.images`), runs them through a fixed random network (:mod:`.teacher`) and
simulates 88 V4 and 168 IT sites with a known nonlinearity and trial noise calibrated to
MajajHong2015's ceilings (:mod:`.generate`), caches the files (:mod:`.store`) and reads them back as
plain data. :mod:`.config` holds :class:`WorldConfig` and its presets. The world's Brain-Score views
are in :mod:`nrp_plugin.brainscore.synthetic_world`.
"""
from .config import IDENTIFIER, REGIONS, TARGET_CEILINGS, WorldConfig, noise_for_ceiling, preset_from_environment
from .store import StoredWorld, ensure_world, open_world, world_directory

__all__ = ['IDENTIFIER', 'REGIONS', 'TARGET_CEILINGS', 'StoredWorld', 'WorldConfig', 'ensure_world',
           'noise_for_ceiling', 'open_world', 'preset_from_environment', 'world_directory']
