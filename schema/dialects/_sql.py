"""String literals: the one part of SQL text whose escaping differs between the dialects."""

from __future__ import annotations


def string_literal(text: str) -> str:
    """ANSI string literal (Postgres with standard_conforming_strings, DuckDB): quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def backslash_string_literal(text: str) -> str:
    """String literal for dialects where backslash escapes (BigQuery, Snowflake)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
