"""Rendering a world's files from its :class:`~.config.WorldConfig`.

:func:`generate_into` writes, into an empty directory:

    world.json        configuration, hash, shapes, generation time
    stimuli.csv       one row per image (Brain-Score's StimulusSet CSV layout, ``filename`` column)
    images/*.png      the stimuli
    neuroids.csv      one row per site: ids, region, animal, arr and its hidden parameters
    responses.npy     (n_images, n_repetitions, n_sites) float32 trial responses
    expected.npy      (n_images, n_sites) float32 noise-free mean responses
    features_V4.npy   (n_images, 64) float32 teacher ``v4`` features
    features_IT.npy   (n_images, 32) float32 teacher ``it`` features
    subunits.csv      one row per hidden subunit: region, index, threshold, exponent
    subunit_weights_V4.npy, subunit_weights_IT.npy   (n_subunits, n_features) subunit readouts
    mixing_V4.npy, mixing_IT.npy   (n_sites, n_subunits) how each site sums the subunits

Every file but ``world.json`` (which records the generation time) is a pure function of the configuration.
"""
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..storage.cache import atomic_path, atomic_write_text
from . import images as stimuli
from . import teacher
from . import config as world_config
from .config import ACCESS_VARIATIONS, IDENTIFIER, REGIONS, TIME_BIN

ANIMALS = {'V4': ('synthA', 'synthB'), 'IT': ('synthA', 'synthB')}
ARRAYS = {'V4': ('P',), 'IT': ('M', 'A')}


def _stimulus_table(config):
    """One row per image, category-major; the order fixes every image's seed."""
    rows = []
    counts = dict(config.images_per_object)
    objects = stimuli.make_objects(config.seed)
    for spec in objects:
        for variation in sorted(counts):
            for k in range(counts[variation]):
                stimulus_id = f'{spec.name}_v{variation}_{k:02d}'
                rows.append(dict(stimulus_id=stimulus_id, object_name=spec.name, category_name=spec.category,
                                 variation=variation, image_file_name=f'{stimulus_id}.png',
                                 filename=f'{stimulus_id}.png'))
    return pd.DataFrame(rows), {spec.name: spec for spec in objects}


def _render_images(config, table, objects, directory):
    poses = []
    for index, row in enumerate(table.itertuples()):
        image, pose = stimuli.render_stimulus(objects[row.object_name], row.variation, config.seed, index,
                                              config.image_size)
        stimuli.save_png(image, directory / row.filename)
        poses.append(pose)
    poses = pd.DataFrame(poses)
    return pd.concat([table, poses], axis=1)


def _neuroid_table(config, readouts, noise_sd):
    rows = []
    for region in REGIONS:
        readout = readouts[region]
        animals, arrays = ANIMALS[region], ARRAYS[region]
        for site in range(config.n_sites(region)):
            animal = animals[site % len(animals)]
            arr = arrays[(site // len(animals)) % len(arrays)]
            rows.append(dict(neuroid_id=f'{region}_{animal}_{arr}_{site:03d}', region=region, animal=animal, arr=arr,
                             subunits=';'.join(str(k) for k in readout.subunits_of(site)),
                             baseline=readout.baseline[site], gain=readout.gain[site],
                             noise_sd=noise_sd[region][site], rf_x=readout.rf_x[site], rf_y=readout.rf_y[site]))
    return pd.DataFrame(rows)


def _save_array(path, array):
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as handle:
            np.save(handle, array)


def _subunit_table(readouts):
    return pd.DataFrame([dict(region=region, subunit=k, threshold=readouts[region].threshold[k],
                              exponent=readouts[region].exponent[k])
                         for region in REGIONS for k in range(len(readouts[region].threshold))])


def generate_into(config, directory):
    """Generate a whole world into ``directory`` (which must exist and be empty).

    Parameters
    ----------
    config : WorldConfig
    directory : path

    Returns
    -------
    dict
        The manifest also written to ``world.json``.
    """
    start = time.time()
    directory = Path(directory)
    image_dir = directory / 'images'
    image_dir.mkdir()
    table, objects = _stimulus_table(config)
    table = _render_images(config, table, objects, image_dir)
    table.to_csv(directory / 'stimuli.csv', index=False)
    layers = [teacher.REGION_LAYERS[region] for region in REGIONS]
    features = teacher.teacher_features([image_dir / name for name in table['filename']], seed=config.teacher_seed,
                                        layers=layers)
    private = table['variation'].isin(ACCESS_VARIATIONS['private']).values
    readouts, expected, responses, noise_sd = {}, [], [], {}
    for index, region in enumerate(REGIONS):
        readout = teacher.draw_readout(region, config.n_sites(region), teacher.seeded_rng(config.seed, 4, index),
                                       config.noise_spread)
        region_features = features[teacher.REGION_LAYERS[region]]
        mean = teacher.site_responses(region_features, readout, config.nonlinearity)
        noise_sd[region] = config.noise(region) * readout.noise_factor * mean[private].std(axis=0)
        trials = teacher.trial_responses(mean, noise_sd[region], config.n_repetitions,
                                         teacher.seeded_rng(config.seed, 5, index))
        readouts[region] = readout
        expected.append(mean.astype(np.float32))
        responses.append(trials)
        _save_array(directory / f'features_{region}.npy', region_features)
        _save_array(directory / f'subunit_weights_{region}.npy', readout.subunit_weights.astype(np.float32))
        _save_array(directory / f'mixing_{region}.npy', readout.mixing.astype(np.float32))
    _save_array(directory / 'expected.npy', np.concatenate(expected, axis=1))
    _save_array(directory / 'responses.npy', np.concatenate(responses, axis=2))
    _neuroid_table(config, readouts, noise_sd).to_csv(directory / 'neuroids.csv', index=False)
    _subunit_table(readouts).to_csv(directory / 'subunits.csv', index=False)
    manifest = dict(identifier=IDENTIFIER, config=config.to_dict(), config_hash=config.config_hash(),
                    generator_version=world_config.GENERATOR_VERSION, n_images=len(table),
                    n_sites={region: config.n_sites(region) for region in REGIONS},
                    teacher_layers={region: teacher.REGION_LAYERS[region] for region in REGIONS},
                    teacher_image_size=teacher.TEACHER_IMAGE_SIZE, time_bin=list(TIME_BIN),
                    generation_seconds=round(time.time() - start, 2))
    atomic_write_text(directory / 'world.json', json.dumps(manifest, indent=2, sort_keys=True))
    return manifest
