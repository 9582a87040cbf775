"""The ``ingest`` command: replay, provision, check, configuration errors."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from ingest.cli import _configure_logging, main
from schema import DEAD_LETTER_TABLE, EVENT_TABLES, table_for
from schema.contract import SECRET_MASK
from schema.dialects import POSTGRES as postgres_dialect
from tests.ingest.support import (
    count,
    encode,
    events,
    free_port,
    lock_event_tables,
    rows,
    wait_for,
    waiting_on_a_lock,
)

ORDERS = table_for("order.lifecycle")


def use(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("WAREHOUSE_DATABASE_URL", url)
    monkeypatch.setenv("EVENT_SINK_BATCH_SIZE", "100")


def test_replay_backfills_with_dead_letters_and_is_safe_to_run_twice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, warehouse_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, warehouse_url)
    assert main(["provision"]) == 0
    lines = [encode(body) for body in events(450)]
    lines[10:10] = [b"not json", b'{"category": "order.lifecycle"}', b"\xff\xfe", b""]
    path = tmp_path / "backfill.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    for _ in range(2):
        assert main(["replay", str(path), "--quiet"]) == 0
    assert sum(count(warehouse_url, spec) for spec in EVENT_TABLES.values()) == 450
    origins = sorted(origin for (origin,) in rows(warehouse_url, DEAD_LETTER_TABLE, "origin"))
    assert origins == [f"replay:{path}:{line}" for line in (11, 12, 13)]
    summary = capsys.readouterr().err
    assert "valid events: 450" in summary and "'json_invalid': 2" in summary


def test_provision_is_idempotent_and_check_passes(
    monkeypatch: pytest.MonkeyPatch, warehouse_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, warehouse_url)
    assert main(["check"]) == 1
    assert "MISSING" in capsys.readouterr().out
    assert main(["provision"]) == 0
    assert main(["provision"]) == 0
    assert main(["check"]) == 0
    output = capsys.readouterr().out
    assert output.count("ok ") >= len(EVENT_TABLES) + 1 and "DIFFERS" not in output


def test_check_shows_a_readable_diff_and_provision_restores_an_additive_column(
    monkeypatch: pytest.MonkeyPatch, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, pg_url)
    assert main(["provision"]) == 0
    table = postgres_dialect.qualified(ORDERS.name, postgres_dialect.DEFAULT_NAMESPACE)
    with psycopg.connect(pg_url) as conn:
        conn.execute(f"ALTER TABLE {table} DROP COLUMN branch_id".encode())
        conn.execute(f"ALTER TABLE {table} ALTER COLUMN source TYPE varchar(20)".encode())
        conn.execute(f"ALTER TABLE {table} ALTER COLUMN status TYPE bigint USING NULL".encode())
    capsys.readouterr()
    assert main(["check"]) == 1
    output = capsys.readouterr().out
    assert f"DIFFERS  analytics.{ORDERS.name}" in output
    assert f"{ORDERS.name}.branch_id: add_column" in output and "ingest provision" in output
    assert f"{ORDERS.name}.status: alter_type" in output
    assert (
        f"{ORDERS.name}.source: type character varying(20) is not one the schema uses (expected text)"
        in output
    )

    assert main(["provision"]) == 1  # adds branch_id in place; the retyped columns remain
    output = capsys.readouterr().out
    assert "applied: ALTER TABLE" in output and "branch_id" in output
    assert "branch_id: add_column" not in output.split("applied:")[-1]


def test_a_configuration_error_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVENT_SINK_BATCH_SIZE", "lots")
    assert main(["check"]) == 2
    assert "EVENT_SINK_BATCH_SIZE='lots'" in capsys.readouterr().err


def test_replay_of_a_missing_file_exits_2(
    monkeypatch: pytest.MonkeyPatch, duckdb_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    use(monkeypatch, duckdb_url)
    assert main(["replay", "/nonexistent/events.jsonl"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_provision_and_check_fail_fast_with_exit_code_2_on_config_errors_and_unreachable_warehouses(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12 (7): a bad schema name gave a traceback (rc 1); an unreachable warehouse must not
    look like a schema difference. Issue 12 (5): the password never shows."""
    monkeypatch.setenv("WAREHOUSE_SCHEMA", 'analytics"; drop table x; --')
    assert main(["provision"]) == 2
    assert "WAREHOUSE_SCHEMA=" in capsys.readouterr().err
    monkeypatch.delenv("WAREHOUSE_SCHEMA")
    monkeypatch.setenv("WAREHOUSE_DATABASE_URL", f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/db")
    for command in ("provision", "check"):
        assert main([command]) == 2
        captured = capsys.readouterr()
        assert (
            f"ingest {command}: cannot reach the warehouse postgresql://postgres:{SECRET_MASK}@127.0.0.1"
            in captured.err
        )
        assert "hunter2" not in captured.err + captured.out


def test_replay_counts_a_dead_letter_only_once_it_is_stored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 12 (2): a line with a NUL in its claims was counted although Postgres refused it."""
    use(monkeypatch, pg_url)
    assert main(["provision"]) == 0
    path = tmp_path / "nul.jsonl"
    path.write_bytes(b'{"category": "order\\u0000", "event_id": "e\\u0000"}\n' + encode(events(1)[0]) + b"\n")
    capsys.readouterr()
    assert main(["replay", str(path), "--quiet"]) == 0
    summary = capsys.readouterr().err
    assert "dead letters stored, by rule: {'unknown_category': 1}" in summary
    assert rows(pg_url, DEAD_LETTER_TABLE, "category, event_id") == [("order\\u0000", "e\\u0000")]


def _sigint_as_from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_sigint_during_replay_stops_without_a_traceback(tmp_path: Path, pg_url: str) -> None:
    """Issue 12 (8): Ctrl-C printed a traceback. The replay is held on a locked table, so the
    signal arrives mid-replay whatever the machine's speed."""
    # PYTHONFAULTHANDLER: if the replay ever hangs, SIGABRT below makes it print every thread's stack.
    env = {
        **os.environ,
        "WAREHOUSE_DATABASE_URL": pg_url,
        "EVENT_SINK_BATCH_SIZE": "10",
        "PYTHONFAULTHANDLER": "1",
    }
    assert (
        subprocess.run(
            [sys.executable, "-m", "ingest.cli", "provision"], env=env, capture_output=True
        ).returncode
        == 0
    )
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(encode(body) for body in events(200)) + b"\n")
    with psycopg.connect(pg_url) as blocker:
        lock_event_tables(blocker)
        replay = subprocess.Popen(
            [sys.executable, "-m", "ingest.cli", "replay", str(path), "--quiet"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            # As from a terminal: a shell without job control starts background commands with
            # SIGINT ignored, children inherit that (and a blocked mask), and Python then never
            # raises KeyboardInterrupt (seen when CI itself was started in the background: the
            # replay sat in queue.put with the signal delivered).
            preexec_fn=_sigint_as_from_a_terminal,
        )
        wait_for(lambda: waiting_on_a_lock(pg_url), timeout=60, what="the replay to wait on the lock")
        replay.send_signal(signal.SIGINT)
        try:
            _, errors = replay.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            replay.send_signal(signal.SIGABRT)
            _, stacks = replay.communicate(timeout=30)
            raise AssertionError(
                f"the replay did not stop on SIGINT; its threads:\n{stacks[-8000:]}"
            ) from None
    assert replay.returncode == 130
    assert "Traceback" not in errors and "interrupted" in errors


def test_every_log_line_is_masked_whatever_logs_it(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12 (5): a library that logs a URL or a password (psycopg, uvicorn, librdkafka) must not
    print it: the handler masks every formatted line, arguments and tracebacks included."""
    root = logging.getLogger()
    kept = root.handlers[:], root.level
    try:
        _configure_logging()
        try:
            raise RuntimeError("connect failed: postgresql://app:hunter2@db/warehouse")
        except RuntimeError:
            logging.getLogger("some.library").exception("retrying with password=%s", "hunter2")
    finally:
        root.handlers[:], level = kept
        root.setLevel(level)
    printed = capsys.readouterr().err
    assert "hunter2" not in printed
    assert f"password={SECRET_MASK}" in printed and f"app:{SECRET_MASK}@db" in printed
