"""One world in two cache roots (``NRP_PLUGIN_HOME``) under one Brain-Score activation cache (``RESULTCACHING_HOME``).

Brain-Score stores a model's activations keyed by the model's and the stimulus set's identifiers and, reading them
back, asserts that their image paths are the requesting stimulus set's. Copies of one world in two homes hold the
same images at different paths; each home must score, and give the same score. Each run is its own process, as a
moved cache, a cluster's nodes or two test sessions would run it.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nrp_plugin.brainscore.synthetic_world import load_world
from nrp_plugin.synthetic import WorldConfig

# the smallest world Brain-Score's stratified splits accept: 10 private images for each of the 64 objects
CONFIG = dict(images_per_object=((6, 10),), image_size=32, n_v4=8, n_it=8, n_repetitions=4)

# Brain-Score's own recording path (look_at -> PytorchWrapper -> result_caching) and its own PLS metric
SCORE_ONE_HOME = f"""
import json
from brainscore_vision import load_metric
from nrp_plugin.brainscore.synthetic_world import load_world
from nrp_plugin.brainscore.teacher_model import teacher_brain_model
from nrp_plugin.synthetic import WorldConfig

world = load_world(WorldConfig(**{CONFIG!r}))
model = teacher_brain_model()
model.start_recording('IT', [(70, 170)])
activations = model.look_at(world.get_stimulus_set('private'))  # one time bin: presentation x neuroid
target = world.region_assembly('IT', 'private', average_repetitions=True)
score = load_metric('pls', crossvalidation_kwargs=dict(stratification_coord='object_name'))(activations, target)
print(json.dumps(dict(score=float(score.values), directory=str(world.directory))))
"""


def _score_in(home, result_caching_home):
    env = dict(os.environ, NRP_PLUGIN_HOME=str(home), RESULTCACHING_HOME=str(result_caching_home), TQDM_DISABLE='1')
    env.pop('RESULTCACHING_DISABLE', None)
    run = subprocess.run([sys.executable, '-c', SCORE_ONE_HOME], env=env, capture_output=True, text=True)
    assert run.returncode == 0, f"scoring in {home} failed:\n{run.stderr[-3000:]}"
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture
def world_in(monkeypatch):
    """``world_in(home)``: the world the benchmarks read (``synthetic_data.world()``, here of :data:`CONFIG`) with
    ``NRP_PLUGIN_HOME=home``."""
    from nrp_plugin.brainscore import synthetic_data
    monkeypatch.setattr(synthetic_data, 'preset_from_environment', lambda: WorldConfig(**CONFIG))
    synthetic_data._world.cache_clear()

    def world(home):
        monkeypatch.setenv('NRP_PLUGIN_HOME', str(home))
        return synthetic_data.world()

    yield world
    synthetic_data._world.cache_clear()


def test_two_homes_share_one_activation_cache_and_score_equal(tmp_path):
    result_caching_home, home_a, home_b = tmp_path / 'result_caching', tmp_path / 'home_a', tmp_path / 'home_b'
    first = _score_in(home_a, result_caching_home)  # generates the world into home_a
    assert list(result_caching_home.rglob('*_from_paths_stored/*.pkl')), \
        "the first run stored no activations: Brain-Score's activation cache was not in use"
    shutil.copytree(home_a, home_b)  # the same world in another home (generation is byte-identical, or a copied cache)
    second = _score_in(home_b, result_caching_home)
    assert Path(second['directory']).is_relative_to(home_b) and Path(first['directory']).is_relative_to(home_a)
    assert second['score'] == pytest.approx(first['score'], abs=1e-6)


def test_stimulus_set_identifiers_follow_the_images(tmp_path, world_in, installed_plugins):
    from brainscore_vision.benchmark_helpers.cache_contract import assert_stimulus_identifier_is_cacheable
    home_a, home_b = tmp_path / 'a', tmp_path / 'b'
    world_a = world_in(home_a)
    shutil.copytree(home_a, home_b)
    world_b = world_in(home_b)
    assert world_b.directory == home_b / 'synthetic' / WorldConfig(**CONFIG).config_hash()  # the data follow the home
    assert world_in(home_a) is world_a  # opened once per home
    for access in ('private', None):
        identifiers = [world.get_stimulus_set(access).identifier for world in (world_a, world_b)]
        assert identifiers[0] != identifiers[1]  # other image paths: another activation-cache key
        assert load_world(WorldConfig(**CONFIG), root=home_a).get_stimulus_set(access).identifier == identifiers[0]
        assert world_a.identifier(access) == world_b.identifier(access)  # the world's content: the same in each home
        assert world_a.get_assembly(access).attrs['stimulus_set_identifier'] == identifiers[0]
    # the part before the first '--' still names the registered stimulus set, whose revision Brain-Score can add
    assert_stimulus_identifier_is_cacheable(world_a.get_stimulus_set('private').identifier)
