"""An offline benchmark world shaped like MajajHong2015, generated from a known teacher.

``load_world(WorldConfig.preset('default'))`` renders 8 categories x 8 procedural objects at three
variation levels, runs them through a fixed random network (:mod:`.teacher`) and simulates 88 V4 and
168 IT sites with a known nonlinearity and trial noise calibrated to MajajHong2015's ceilings.
"""
from .world import (IDENTIFIER, REGIONS, TARGET_CEILINGS, SyntheticWorld, WorldConfig, ensure_world,
                    expected_ceiling, load_world, noise_for_ceiling, world_directory)

__all__ = ['IDENTIFIER', 'REGIONS', 'TARGET_CEILINGS', 'SyntheticWorld', 'WorldConfig', 'ensure_world',
           'expected_ceiling', 'load_world', 'noise_for_ceiling', 'world_directory']
