"""Tests of the ``SyntheticMajajHong2015`` data plugin: the embedded world, generated offline and
deterministically from its configuration (about 25 s on first use, then read from its cache).

The design values are the default preset's (docs/synthetic_world.md): 320 public images (variations
0 and 3), 640 private images (variation 6), 88 V4 + 168 IT sites, 30 repetitions, one time bin.
"""
import numpy as np
import pytest
from brainscore_vision import load_dataset, load_stimulus_set

N_PUBLIC, N_PRIVATE, N_V4, N_IT, N_REPETITIONS = 320, 640, 88, 168, 30


@pytest.fixture(scope='module')
def public():
    return load_dataset('SyntheticMajajHong2015.public')


def test_public_assembly_design(public):
    assert public.sizes['presentation'] == N_PUBLIC * N_REPETITIONS
    assert public.sizes['neuroid'] == N_V4 + N_IT
    assert public.sizes.get('time_bin', 1) == 1
    regions = public['region'].values
    assert (regions == 'V4').sum() == N_V4 and (regions == 'IT').sum() == N_IT
    assert set(np.unique(public['variation'].values)) == {0, 3}
    assert len(np.unique(public['stimulus_id'].values)) == N_PUBLIC
    assert np.isfinite(public.values).all()


def test_stimulus_sets_public_and_private_are_disjoint():
    public, private = load_stimulus_set('SyntheticMajajHong2015.public'), load_stimulus_set('SyntheticMajajHong2015.private')
    everything = load_stimulus_set('SyntheticMajajHong2015')
    assert len(public) == N_PUBLIC and len(private) == N_PRIVATE and len(everything) == N_PUBLIC + N_PRIVATE
    assert not set(public['stimulus_id']) & set(private['stimulus_id'])
    assert set(private['variation']) == {6}
    for stimulus_id in list(public['stimulus_id'])[:3]:
        assert str(public.get_stimulus(stimulus_id)).endswith('.png')


def test_repetitions_share_the_signal(public):
    """Averaging 30 noisy repetitions: each site's image means vary across images far more than the
    noise left in the mean (the world's ceiling is set near MajajHong2015's)."""
    values = public.squeeze('time_bin').values if 'time_bin' in public.dims else public.values
    reps = public['repetition'].values
    first, second = values[reps < N_REPETITIONS // 2], values[reps >= N_REPETITIONS // 2]
    # presentations are repetition-major, so halves line up image by image
    assert (public['stimulus_id'].values[reps < N_REPETITIONS // 2][:N_PUBLIC] ==
            public['stimulus_id'].values[reps >= N_REPETITIONS // 2][:N_PUBLIC]).all()
    half_a = first.reshape(-1, N_PUBLIC, values.shape[1]).mean(axis=0)
    half_b = second.reshape(-1, N_PUBLIC, values.shape[1]).mean(axis=0)
    r = [np.corrcoef(half_a[:, j], half_b[:, j])[0, 1] for j in range(values.shape[1])]
    assert np.median(r) > 0.6
