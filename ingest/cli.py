"""The ``ingest`` command: serve, replay FILE, provision, check.

Every command reads the same configuration (environment variables, or ``--contract outputs.json``
for the bus and namespace of a deployed stack); a configuration error exits with status 2 and a
message naming the variable.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from ingest import check
from ingest.config import ConfigError, Settings, load_settings
from ingest.messages import Message
from ingest.runtime import tune_for_throughput
from ingest.sink import Sink
from ingest.writers import Writer, open_writer
from schema.contract import mask_secrets

log = logging.getLogger("ingest")


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from ingest.http import create_app
    from ingest.service import Service

    service = Service(settings)
    print(
        f"ingest: bus={settings.bus_driver} warehouse={settings.warehouse} "
        f"({_display_url(settings)}) namespace={settings.warehouse_namespace} "
        f"listening on http://{settings.host}:{settings.port}",
        file=sys.stderr,
    )
    uvicorn.run(create_app(service), host=settings.host, port=settings.port, log_level="info", lifespan="on")
    return 0


def _display_url(settings: Settings) -> str:
    """The warehouse URL without its credentials (it is printed), nor secrets in its query."""
    url = settings.warehouse_url
    scheme, sep, rest = url.partition("://")
    return mask_secrets(f"{scheme}{sep}{rest.rpartition('@')[2]}" if "@" in rest else url)


def _lines(handle: BinaryIO, origin: str) -> Iterator[Message]:
    for number, line in enumerate(handle, start=1):
        raw = line.rstrip(b"\r\n")
        if raw.strip():
            yield Message(raw, f"{origin}:{number}")


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    path = Path(args.file).resolve()
    if not path.is_file():
        print(f"ingest replay: {args.file}: no such file", file=sys.stderr)
        return 2
    tune_for_throughput()
    writer = _open(settings)
    sink = Sink(
        writer,
        batch_size=settings.batch_size,
        flush_interval_s=settings.flush_interval_ms / 1000,
        max_buffer_bytes=settings.max_buffer_bytes,
    ).start()
    chunk: list[Message] = []
    with (
        path.open("rb") as handle,
        tqdm(
            total=path.stat().st_size, unit="B", unit_scale=True, desc=path.name, disable=args.quiet
        ) as progress,
    ):
        for message in _lines(handle, f"replay:{path}"):
            chunk.append(message)
            if len(chunk) >= settings.batch_size:
                sink.add(chunk)
                progress.update(sum(len(m.raw) + 1 for m in chunk))
                chunk = []
        sink.add(chunk)
        progress.update(sum(len(m.raw) + 1 for m in chunk))
        sink.close()
    writer.close()
    print(_replay_summary(sink), file=sys.stderr)
    return 0


def _replay_summary(sink: Sink) -> str:
    """What the warehouse took: counted on commit, so a line is counted only once it is stored."""
    metrics = sink.metrics
    return (
        f"valid events: {metrics.total('ingest_events_accepted')}\n"
        f"dead letters stored, by rule: {metrics.counts('ingest_events_rejected', 'rule') or 'none'}\n"
        f"rows newly written (duplicates skipped): {metrics.counts('ingest_rows_written', 'table') or 'none'}"
    )


def _open(settings: Settings) -> Writer:
    writer = open_writer(settings)
    if settings.warehouse == "duckdb":
        writer.provision()
    return writer


def _provision(settings: Settings, args: argparse.Namespace) -> int:
    writer = open_writer(settings)
    try:
        # New nullable columns first: the tables' index statements may name them.
        statements = check.additive_statements(writer, check.compare(writer))
        if statements:
            writer.execute(statements)
        writer.provision()
        reports = check.compare(writer)
    finally:
        writer.close()
    where = f"{settings.warehouse} ({_display_url(settings)}), namespace {settings.warehouse_namespace}"
    print(f"provisioned {where}")
    for statement in statements:
        print(f"applied: {statement}")
    print(check.render(reports, settings.warehouse_namespace))
    return 0 if all(report.ok for report in reports) else 1


def _check(settings: Settings, args: argparse.Namespace) -> int:
    writer = open_writer(settings)
    try:
        reports = check.compare(writer)
    finally:
        writer.close()
    print(check.render(reports, settings.warehouse_namespace))
    if all(report.ok for report in reports):
        return 0
    print("the warehouse's tables do not match the schema module", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ingest", description="The analytics warehouse's ingest service.")
    parser.add_argument(
        "--contract", type=Path, help="stack outputs JSON (`pulumi stack output --json`): bus and namespace"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the HTTP API and the bus consumer").set_defaults(run=_serve)
    replay = commands.add_parser("replay", help="backfill a JSONL file (safe to run twice)")
    replay.add_argument("file", help="one JSON event per line")
    replay.add_argument("--quiet", action="store_true", help="no progress bar")
    replay.set_defaults(run=_replay)
    commands.add_parser("provision", help="create the tables in the warehouse (idempotent)").set_defaults(
        run=_provision
    )
    commands.add_parser("check", help="do the warehouse's tables match the schema?").set_defaults(run=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.contract)
        code: int = args.run(settings, args)
    except ConfigError as error:
        print(f"ingest: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
