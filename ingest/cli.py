"""The ``ingest`` command: serve, replay FILE, provision, check.

Every command reads the same configuration (environment variables, or ``--contract outputs.json``
for the bus and namespace of a deployed stack); a configuration error, or a warehouse that
``provision`` / ``check`` cannot reach, exits with status 2 and a message naming the variable.
Nothing printed or logged carries a credential (``schema.contract.mask_secrets``).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, BinaryIO

from ingest import check
from ingest.config import ConfigError, Settings, load_settings
from ingest.decoding import worker_count
from ingest.messages import Message
from ingest.runtime import tune_for_throughput
from ingest.sink import Sink
from ingest.write_loop import describe
from ingest.writers import Writer, open_writer
from schema.contract import mask_secrets

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("ingest")


class _Unreachable(Exception):
    """The warehouse did not answer a command that needs it now."""


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from ingest.http import create_app
    from ingest.service import Service

    settings.check_serving()
    listener = _listen(settings)
    service = Service(settings)
    print(
        f"ingest: bus={settings.bus_driver} warehouse={settings.warehouse} "
        f"({_display_url(settings)}) namespace={settings.warehouse_namespace} "
        f"listening on http://{settings.host}:{listener.getsockname()[1]}",
        file=sys.stderr,
    )
    tune_for_throughput()
    config = uvicorn.Config(
        create_app(service),
        log_config=None,  # the root logger's masking handler, set up in main()
        lifespan="on",
        timeout_graceful_shutdown=max(1, int(settings.shutdown_timeout_s)),
    )
    _server(config).run(sockets=[listener])
    return 0


def _server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server, except that a second SIGTERM/SIGINT exits at once. Nothing acknowledged is
    lost by that: it is on the bus or in the spool, and the next start delivers it again."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if self.should_exit:
                os.write(2, b"ingest: second signal: exiting now; unwritten input stays unacknowledged\n")
                os._exit(128 + sig)
            super().handle_exit(sig, frame)

    return Server(config)


def _listen(settings: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        return socket.create_server((settings.host, settings.port), family=family)
    except OSError as error:
        raise ConfigError(
            f"INGEST_HOST={settings.host} INGEST_PORT={settings.port}: cannot listen there: {error.strerror}"
        ) from None


def _display_url(settings: Settings) -> str:
    """The warehouse URL as it may be printed: credentials masked."""
    return mask_secrets(settings.warehouse_url)


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
        decode_workers=worker_count(settings.decode_workers),
    ).start()
    chunk: list[Message] = []
    try:
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
    except KeyboardInterrupt:
        sink.decoder.close()  # the workers would leave with this process anyway; say goodbye first
        print(
            "ingest replay: interrupted; what is counted below is in the warehouse, and running the "
            "same replay again is safe (idempotent on event_id)",
            file=sys.stderr,
        )
        print(_replay_summary(sink), file=sys.stderr)
        return 130
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


def _reachable(settings: Settings) -> Writer:
    """The writer, once the warehouse answered: provision and check fail fast, not per statement."""
    writer = open_writer(settings)
    try:
        writer.ping()
    except Exception as error:
        writer.close()
        raise _Unreachable(
            f"cannot reach the warehouse {_display_url(settings)} (WAREHOUSE_DATABASE_URL): {describe(error)}"
        ) from None
    return writer


def _provision(settings: Settings, args: argparse.Namespace) -> int:
    writer = _reachable(settings)
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
    writer = _reachable(settings)
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


class _MaskingFormatter(logging.Formatter):
    """Every log line, traceback included, with credentials masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))


def _configure_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging()
    try:
        settings = load_settings(args.contract)
        code: int = args.run(settings, args)
    except ConfigError as error:
        print(f"ingest: {mask_secrets(str(error))}", file=sys.stderr)
        return 2
    except _Unreachable as error:
        print(f"ingest {args.command}: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
