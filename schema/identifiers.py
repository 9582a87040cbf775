"""Identifier validation and quoting shared by the dialect renderers.

Names come from the schema module or from stack configuration; both are validated against a
conservative pattern *and* quoted on output, so that no configured name can inject SQL.
"""

from __future__ import annotations

import re

from schema.exceptions import IdentifierError, preview

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# BigQuery project ids may contain hyphens (and are quoted with backticks).
_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")


def identifier(name: str, kind: str = "identifier") -> str:
    """Return ``name`` unchanged if it is a plain SQL identifier, else raise IdentifierError."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise IdentifierError(
            f"{kind} {preview(name)} is not allowed: it must match {_IDENTIFIER.pattern} "
            "(letters, digits, underscore; at most 63 characters; not starting with a digit)"
        )
    return name


def project_id(name: str) -> str:
    """Validate a Google Cloud project id (6-30 chars, lowercase, digits, hyphens)."""
    if not isinstance(name, str) or not _PROJECT.fullmatch(name):
        raise IdentifierError(f"project id {preview(name)} is not a valid Google Cloud project id")
    return name


def double_quoted(name: str, kind: str = "identifier") -> str:
    """ANSI quoting (Postgres, DuckDB, Snowflake) of a validated identifier."""
    return '"' + identifier(name, kind).replace('"', '""') + '"'
