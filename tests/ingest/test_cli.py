"""The ``ingest`` command: replay, provision, check, configuration errors."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ingest.cli import main
from schema import DEAD_LETTER_TABLE, EVENT_TABLES, table_for
from schema.dialects import POSTGRES as postgres_dialect
from tests.ingest.support import count, encode, events, rows

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
