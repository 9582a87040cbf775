"""Command line of the Pulumi program: ``python -m infra render --stack NAME [--json]`` and
``python -m infra diff --stack NAME [--base REF] [--markdown]``.

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
    diff = commands.add_parser("diff", help="what the working tree changes in a stack, against a git ref")
    diff.add_argument("--stack", required=True, help="stack file Pulumi.<stack>.yaml")
    diff.add_argument("--base", help="git ref to compare with (default: the merge base with main)")
    diff.add_argument("--markdown", action="store_true", help="print a PR comment")
    args = parser.parse_args(argv)
    if args.command == "diff":
        return _diff(args.stack, args.base, args.markdown)
    from infra.render import render as render_stack

    sys.stdout.write(render_stack(args.stack, as_json=args.json))
    return 0


def _diff(stack: str, base: str | None, as_markdown: bool) -> int:
    """Exit 1 on a breaking change, 2 when the diff cannot run."""
    from infra.diff import diff
    from infra.diff_report import markdown, text
    from infra.diff_sources import DiffError

    try:
        result = diff(stack, base)
    except DiffError as error:
        print(f"infra diff: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(result) if as_markdown else text(result))
    return 1 if result.breaking else 0


if __name__ == "__main__":
    raise SystemExit(main())
