"""The coverage each interval kind reached on worlds with a known answer, and what a report may print.

``measured_coverage.json`` (beside this module) is the table ``nrp-plugin calibrate`` wrote
(:func:`nrp_plugin.validity.calibration.coverage_table`) for the run named in its ``command``. A report prints an
interval of a kind of quantity only by a method whose coverage was measured there and reached at least
``ACCEPTED[0]`` for every group of quantities of that kind (an interval that covers less than it claims is never
printed); one that covers more than ``ACCEPTED[1]`` is printed and called conservative.
"""
import json
from functools import lru_cache
from pathlib import Path

__all__ = ['ACCEPTED', 'KINDS', 'NOMINAL', 'assessment', 'measured']

NOMINAL = 0.95
#: A 95% interval is printed when its measured coverage reaches the first figure in every group of its kind, and is
#: called conservative above the second
ACCEPTED = (0.93, 0.97)
#: The kinds of quantity a report prints, and the calibration's groups of quantities that stand for each
KINDS = {
    'score (MAE)': ('score: ridge MAE', 'score: NRP MAE'),
    'score (r)': ('score: PLS r',),
    'mapping difference (MAE)': ('difference: ridge − LSQ MAE', 'difference: NRP − ridge MAE'),
    'model difference (MAE)': ('difference: two models, ridge MAE',),
    'model difference (r)': ('difference: two models, PLS r',),
    'rank correlation': ('rank (spearman): ridge MAE vs PLS r', 'rank (spearman): LSQ MAE vs PLS r',
                         'rank (kendall): ridge MAE vs PLS r', 'rank (kendall): LSQ MAE vs PLS r'),
    'rank correlation difference': ('rank difference (spearman)', 'rank difference (kendall)'),
}
_FILE = Path(__file__).with_name('measured_coverage.json')


@lru_cache(maxsize=None)
def _table(path=_FILE):
    if not Path(path).is_file():
        return None
    return json.loads(Path(path).read_text(encoding='utf-8'))


def measured(kind, method, path=_FILE):
    """The measured coverage of ``method`` for a kind of quantity (:data:`KINDS`).

    Returns
    -------
    dict or None
        ``low`` and ``high`` (the lowest and highest coverage over the kind's groups), ``replicates`` (the fewest
        worlds), ``command`` (the calibration run); None when not measured.
    """
    table = _table(str(path))
    if table is None:
        return None
    found = [entry for entry in table['coverage'] if entry['kind'] == 'group' and entry['method'] == method
             and entry['quantity'] in KINDS[kind]]
    if len(found) != len(KINDS[kind]):
        return None
    return {'low': min(entry['coverage'] for entry in found), 'high': max(entry['coverage'] for entry in found),
            'replicates': min(entry['replicates'] for entry in found), 'command': table.get('command')}


def assessment(kind, method, path=_FILE):
    """Whether a report prints ``method``'s intervals for ``kind``, and the words that say how well they cover.

    Returns
    -------
    printed : bool
        True when the coverage was measured and reached ``ACCEPTED[0]`` for every group of the kind.
    text : str
        E.g. ``'coverage of its 95% interval measured 94.1-95.6% over 400 worlds'`` (with ``conservative`` above
        ``ACCEPTED[1]``), or why none is printed.
    """
    found = measured(kind, method, path)
    if found is None:
        return False, f'no interval: the coverage of {method} intervals for a {kind} was not measured'
    span = (f"{100 * found['low']:.1f}%" if round(found['low'], 3) == round(found['high'], 3)
            else f"{100 * found['low']:.1f}-{100 * found['high']:.1f}%")
    words = f"coverage of its 95% interval measured {span} over {found['replicates']} worlds"
    if found['low'] < ACCEPTED[0]:
        return False, f'no interval printed: {words}, below {100 * ACCEPTED[0]:.0f}%'
    if found['low'] > ACCEPTED[1]:
        words += ' (conservative: wider than it needs to be)'
    return True, words
