"""Command line of the Pulumi program: ``python -m infra render --stack NAME [--json]``.

The Pulumi CLI runs ``infra/program.py`` (Pulumi.yaml's ``main``), never this file, so the two
entry points cannot be confused.
"""

from __future__ import annotations

import argparse
import sys

from infra.stackfiles import stack_names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="print what a stack declares, offline, under Pulumi's mocks")
    render.add_argument(
        "--stack", required=True, choices=stack_names(), help="stack file Pulumi.<stack>.yaml"
    )
    render.add_argument("--json", action="store_true", help="print the render as JSON")
    args = parser.parse_args(argv)
    from infra.render import render as render_stack

    sys.stdout.write(render_stack(args.stack, as_json=args.json))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
