"""Compare two `nrp-plugin compare` outputs score by score: the largest absolute difference of every figure.

    python scripts/compare_tables.py RUN_A/table.json RUN_B/table.json [--tolerance 1e-4]

Exits 1 when a figure differs by more than the tolerance (e.g. the out-of-core path against
``--in-memory``, or a code change that must not move the scores).
"""
import argparse
import json
import math
import sys


def rows_by_key(path):
    with open(path) as handle:
        rows = json.load(handle)['rows']
    return {(row.get('family'), row['model'], row['region']): row for row in rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('first')
    parser.add_argument('second')
    parser.add_argument('--tolerance', type=float, default=1e-4)
    args = parser.parse_args(argv)
    first, second = rows_by_key(args.first), rows_by_key(args.second)
    shared = sorted(set(first) & set(second), key=str)
    if not shared:
        print('no (family, model, region) row in both tables')
        return 1
    worst = {}
    for key in shared:
        for name, value in first[key].items():
            other = second[key].get(name)
            if isinstance(value, float) and isinstance(other, float) and math.isfinite(value) and math.isfinite(other):
                difference = abs(value - other)
                if difference >= worst.get(name, (-1.0, None))[0]:
                    worst[name] = (difference, key)
    print(f'{len(shared)} rows in both tables; largest absolute difference per figure:')
    for name, (difference, key) in sorted(worst.items(), key=lambda item: -item[1][0]):
        print(f'  {name:32s} {difference:.2e}  ({key[1]} {key[2]})')
    largest = max(difference for difference, _ in worst.values())
    print(f'largest: {largest:.2e} (tolerance {args.tolerance:g})')
    return 0 if largest <= args.tolerance else 1


if __name__ == '__main__':
    sys.exit(main())
