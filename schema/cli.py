"""Command line of the schema module: ddl, export, diff, lock, dbt."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from schema import artifacts, dbt, evolution
from schema.dialects import BIGQUERY, DIALECTS, dialect


def _ddl(args: argparse.Namespace) -> int:
    namespace = args.namespace or dialect(args.dialect).DEFAULT_NAMESPACE
    if args.dialect == BIGQUERY.NAME and not args.sql:
        sys.stdout.write(BIGQUERY.schema_json(namespace))
    else:
        sys.stdout.write(dialect(args.dialect).script(namespace))
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.check:
        stale = artifacts.stale_artifacts()
        if stale:
            print(
                f"stale generated artifacts: {', '.join(stale)}; run `python -m schema export`",
                file=sys.stderr,
            )
            return 1
        print("generated artifacts are up to date")
        return 0
    for path in artifacts.write_artifacts():
        print(f"wrote {path}")
    return 0


def _diff(args: argparse.Namespace) -> int:
    diff = evolution.diff_against_lock()
    print(diff.report())
    for name in args.dialect or []:
        statements = diff.statements(name, args.namespace or dialect(name).DEFAULT_NAMESPACE)
        if statements:
            print(f"\n-- {name}")
            print("".join(f"{statement};\n" for statement in statements), end="")
    return 1 if diff.breaking else 0


def _lock(args: argparse.Namespace) -> int:
    diff = evolution.diff_against_lock()
    if diff.breaking and not args.allow_breaking:
        print(diff.report(), file=sys.stderr)
        print(
            "refusing to lock a breaking change (pass --allow-breaking with a new schema version)",
            file=sys.stderr,
        )
        return 1
    path = evolution.write_lock()
    print(f"{diff.report()}\nwrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m schema", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    ddl = commands.add_parser("ddl", help="print the DDL of all tables (BigQuery: the schema JSON)")
    ddl.add_argument("--dialect", choices=sorted(DIALECTS), default="postgres")
    ddl.add_argument("--namespace", help="schema / dataset name (default: the dialect's)")
    ddl.add_argument("--sql", action="store_true", help="BigQuery: print DDL instead of schema JSON")
    ddl.set_defaults(run=_ddl)

    export = commands.add_parser("export", help="write the JSON Schema, Avro and dbt artifacts")
    export.add_argument("--check", action="store_true", help="fail if the committed artifacts are stale")
    export.set_defaults(run=_export)

    diff = commands.add_parser("diff", help="report schema changes against the committed lock")
    diff.add_argument("--dialect", action="append", choices=sorted(DIALECTS), help="print ALTERs for it")
    diff.add_argument("--namespace")
    diff.set_defaults(run=_diff)

    lock = commands.add_parser("lock", help="record the current schema in the lock after an intended change")
    lock.add_argument("--allow-breaking", action="store_true")
    lock.set_defaults(run=_lock)

    sources = commands.add_parser("dbt", help="print dbt sources.yml for the tables, with their data tests")
    sources.add_argument("--warehouse", choices=sorted(DIALECTS), help="default: the stack's, else postgres")
    sources.add_argument("--contract", type=Path, help="stack outputs JSON: database and schema")
    sources.set_defaults(run=lambda args: dbt.print_sources(args.warehouse, args.contract))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code
