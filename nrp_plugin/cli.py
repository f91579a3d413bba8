"""The ``nrp-plugin`` command: a thin layer over the library's functions."""
import argparse
import sys


def _install(args):
    from . import installer
    try:
        placed = installer.install()
    except installer.InstallError as error:
        print(f'nrp-plugin install: {error}', file=sys.stderr)
        return 1
    print(f'placed {len(placed)} plugin folders into {installer.brainscore_root()}:')
    for rel in placed:
        print(f'  {rel}')
    return 0


def _uninstall(args):
    from . import installer
    removed = installer.uninstall()
    print(f'removed {len(removed)} plugin folders from {installer.brainscore_root()}')
    for rel in removed:
        print(f'  {rel}')
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog='nrp-plugin', description=(
        'Score vision models on V4/IT with Brain-Score\'s PLS-Pearson and with NRP-error.'))
    commands = parser.add_subparsers(dest='command', required=True)
    commands.add_parser('install', help='place the plugin folders into the installed brainscore_vision tree'
                        ).set_defaults(run=_install)
    commands.add_parser('uninstall', help='remove exactly the folders `install` placed').set_defaults(run=_uninstall)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == '__main__':
    sys.exit(main())
