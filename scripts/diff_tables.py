"""Compare two ``table.json`` documents of ``nrp-plugin compare`` field by field.

Rows are matched on (family, model, region). Every numeric field (lists flattened) is compared by its largest
absolute difference; keys written under earlier names are mapped to today's (``linear_*`` to
``least_squares_*``, ``*_minus_linear*`` to ``*_minus_least_squares*``), so a table from before the renames compares
with one from after::

    python scripts/diff_tables.py before/table.json after/table.json
    python scripts/diff_tables.py before/table.json after/table.json --tolerance 1e-6

Prints the number of equal fields, the keys found on one side only, and each differing field with its largest
absolute difference, largest first. The exit status is 1 when a field differs by more than ``--tolerance`` or a
row is missing on one side.
"""
import argparse
import json
import math
import sys

LEGACY = (('split_linear', 'split_least_squares'), ('site_linear', 'site_least_squares'))


def current_name(key):
    """``key`` under today's names."""
    for old, new in LEGACY:
        if key.startswith(old):
            return new + key[len(old):]
    if key.startswith('linear_'):
        key = 'least_squares_' + key[len('linear_'):]
    return key.replace('_minus_linear', '_minus_least_squares')


def rows(document):
    return {(row['family'], row['model'], row['region']): {current_name(key): value for key, value in row.items()}
            for row in document['rows']}


def numbers(value):
    """``value`` as a flat list of floats, or None when it is not numeric."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, list):
        flat = [numbers(item) for item in value]
        return None if any(item is None for item in flat) else [x for item in flat for x in item]
    return None


def largest_difference(a, b):
    pairs = [(x, y) for x, y in zip(a, b) if not (math.isnan(x) and math.isnan(y))]
    return max((abs(x - y) if math.isfinite(x - y) else math.inf for x, y in pairs), default=0.0)


def compare(before, after):
    """(equal count, keys only before, keys only after, {key: largest difference}, rows on one side only)."""
    first, second = rows(before), rows(after)
    unmatched = sorted(set(first) ^ set(second))
    equal, only_before, only_after, differences = 0, set(), set(), {}
    for key in set(first) & set(second):
        x, y = first[key], second[key]
        only_before |= set(x) - set(y)
        only_after |= set(y) - set(x)
        for field in set(x) & set(y):
            a, b = numbers(x[field]), numbers(y[field])
            if a is None or b is None:
                difference = 0.0 if x[field] == y[field] else math.inf
            elif len(a) != len(b):
                difference = math.inf
            else:
                difference = largest_difference(a, b)
            if difference > 0:
                differences[field] = max(difference, differences.get(field, 0.0))
            else:
                equal += 1
    return equal, sorted(only_before), sorted(only_after), differences, unmatched


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('before')
    parser.add_argument('after')
    parser.add_argument('--tolerance', type=float, default=0.0)
    args = parser.parse_args(argv)
    with open(args.before) as handle:
        before = json.load(handle)
    with open(args.after) as handle:
        after = json.load(handle)
    equal, only_before, only_after, differences, unmatched = compare(before, after)
    print(f'equal fields: {equal}')
    print(f'rows on one side only: {unmatched or "none"}')
    print(f'keys only before: {", ".join(only_before) or "none"}')
    print(f'keys only after: {", ".join(only_after) or "none"}')
    print('differing fields (largest absolute difference):')
    for field, difference in sorted(differences.items(), key=lambda item: -item[1]):
        print(f'  {field}: {difference:.3g}')
    return int(bool(unmatched) or any(difference > args.tolerance for difference in differences.values()))


if __name__ == '__main__':
    sys.exit(main())
