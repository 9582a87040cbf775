"""``python -m schema``: run as a user would, in a subprocess, against the real local Postgres."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from schema import TABLES, cli, evolution
from tests.schema.golden import assert_matches_golden


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schema", *args], capture_output=True, text=True, check=False
    )


def test_postgres_ddl_applies_to_an_empty_database(pg_url: str) -> None:
    result = _run("ddl", "--dialect", "postgres")
    assert result.returncode == 0, result.stderr
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(result.stdout.encode())
        names = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'analytics'"
        )
        assert sorted(n for (n,) in names.fetchall()) == sorted(spec.name for spec in TABLES)


@pytest.mark.parametrize(
    ("args", "golden"),
    [
        (("--dialect", "postgres"), "postgres.sql"),
        (("--dialect", "duckdb", "--namespace", "reporting"), "duckdb_reporting.sql"),
        (("--dialect", "snowflake"), "snowflake.sql"),
        (("--dialect", "bigquery", "--sql"), "bigquery.sql"),
        (("--dialect", "bigquery"), "bigquery_tables.json"),
    ],
)
def test_ddl_prints_the_golden_text(args: tuple[str, ...], golden: str) -> None:
    result = _run("ddl", *args)
    assert result.returncode == 0, result.stderr
    assert_matches_golden(golden, result.stdout)


def test_hostile_namespace_is_an_error_not_sql() -> None:
    result = _run("ddl", "--dialect", "postgres", "--namespace", 'x"; drop table y; --')
    assert result.returncode != 0 and "not allowed" in result.stderr and "drop table" not in result.stdout


def test_export_check_and_diff_are_clean() -> None:
    assert _run("export", "--check").returncode == 0
    diff = _run("diff", "--dialect", "postgres")
    assert diff.returncode == 0 and "no schema changes" in diff.stdout


def test_lock_refuses_a_breaking_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "schema.lock.json"
    shutil.copy(evolution.lock_path(), lock)
    data = json.loads(lock.read_text())
    data["tables"]["analytics_driver_telemetry_events"]["columns"].append(
        {"name": "retired", "type": "text", "nullable": True}
    )
    lock.write_text(json.dumps(data))
    monkeypatch.setattr(evolution, "lock_path", lambda: lock)
    assert cli.main(["lock"]) == 1
    assert "drop_column" in capsys.readouterr().err
    assert cli.main(["diff"]) == 1
    assert cli.main(["lock", "--allow-breaking"]) == 0
    assert cli.main(["diff"]) == 0
