"""Small SQL text helpers shared by the dialect modules."""

from __future__ import annotations


def string_literal(text: str) -> str:
    """A single-quoted SQL string literal (quotes doubled, backslashes kept literal)."""
    return "'" + text.replace("'", "''") + "'"


def join_script(statements: list[str]) -> str:
    return "".join(f"{statement};\n" for statement in statements)
