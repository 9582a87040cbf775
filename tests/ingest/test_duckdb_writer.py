"""The DuckDB writer's reading of its own errors: which ones refuse rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.writers.duckdb import DuckDBWriter


def _raised(path: Path, statement: str, *, read_only: bool = False) -> duckdb.Error:
    with duckdb.connect(str(path), read_only=read_only) as conn, pytest.raises(duckdb.Error) as raised:
        conn.execute(statement)
    return raised.value


def test_a_read_only_database_is_retried_not_a_refusal_of_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
    writer = DuckDBWriter(f"duckdb:///{path}", "analytics")
    read_only = _raised(path, "INSERT INTO t VALUES (1)", read_only=True)
    assert isinstance(read_only, duckdb.InvalidInputException)  # the class a CSV row error shares
    assert not writer.refuses_rows(read_only)


def test_a_csv_row_duckdb_cannot_read_or_convert_is_a_refusal_of_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    staged = tmp_path / "rows.csv"
    writer = DuckDBWriter(f"duckdb:///{path}", "analytics")
    staged.write_text('1,"unterminated\r\n')
    unreadable = _raised(
        path,
        f"SELECT * FROM read_csv('{staged}', header=false, auto_detect=false, columns={{'a': 'BIGINT', 'b': 'VARCHAR'}})",
    )
    staged.write_text("99999999999999999999999,x\r\n")
    too_big = _raised(
        path,
        f"SELECT * FROM read_csv('{staged}', header=false, auto_detect=false, columns={{'a': 'BIGINT', 'b': 'VARCHAR'}})",
    )
    assert writer.refuses_rows(unreadable) and writer.refuses_rows(too_big)
