"""Small SQL text helpers shared by the dialect modules."""

from __future__ import annotations


def string_literal(text: str) -> str:
    """ANSI string literal (Postgres with standard_conforming_strings): quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def backslash_string_literal(text: str) -> str:
    """String literal for dialects where backslash escapes (BigQuery, Snowflake)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def join_script(statements: list[str]) -> str:
    return "".join(f"{statement};\n" for statement in statements)
