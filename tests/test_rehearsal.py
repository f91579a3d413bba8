"""The real MajajHong2015 path end to end, reduced: ``scripts/rehearse_majajhong.py --reduced`` on a small stand-in
in the real files' format, both families, a model with a region-layer map (``cornet_s_untrained``) and one without
(``examples/my_net.py:build``), scored in a separate process on the real benchmark identifiers."""
import importlib.util
import json
from pathlib import Path

import pytest

from nrp_plugin.brainscore.majajhong import PUBLIC_SELECTION
from nrp_plugin.synthetic import WorldConfig

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ('MajajHong2015', 'MajajHong2015public')
MODELS = ('cornet_s_untrained', 'examples/my_net.py:build')
# the fewest images the real splits take (64 objects; a test split holds one image of each at least): 640 public
# (2 at variation 0, 8 at 3), 640 private (10 at variation 6); 32 px, fewer sites and trials than the real data
SMALL = WorldConfig(images_per_object=((0, 2), (3, 8), (6, 10)), image_size=32, n_repetitions=8,
                    min_repetitions=4, n_v4=24, n_it=32, seed=11)


def _script():
    spec = importlib.util.spec_from_file_location('rehearse_majajhong', ROOT / 'scripts' / 'rehearse_majajhong.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_reduced_rehearsal_scores_both_families_and_chooses_no_layer_on_scored_images(installed_plugins, tmp_path,
                                                                                        monkeypatch, capsys):
    script = _script()
    monkeypatch.setattr(script, 'reduced_world_config', lambda: SMALL)
    code = script.main(['--reduced', '--home', str(tmp_path / 'home'), '--models', *MODELS,
                        '--nrp-config', '{"max_epochs": 30, "patience": 10}', '--references', 'none'])
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert 'PROBLEM' not in out
    records = json.loads((tmp_path / 'home' / 'results' / 'table.json').read_text())['scores']
    assert {(r['family'], r['model'], r['region'], r['kind']) for r in records} == {
        (family, model, region, kind) for family in FAMILIES for model in MODELS for region in ('V4', 'IT')
        for kind in ('pls', 'nrp')}
    for record in records:
        choice = record.get('layer_choice') or {}
        if record['model'] == 'cornet_s_untrained':  # its map: no choice made on any data
            assert choice.get('method') in (None, 'region-layer map'), record
        elif record['family'] == 'MajajHong2015':  # chosen on the public images, which this family never scores
            assert choice.get('method') == 'selection set' and choice.get('images') == PUBLIC_SELECTION, record
        else:  # the public images are scored: chosen inside each split, on its training images
            assert choice.get('method') == 'inside each split', record
