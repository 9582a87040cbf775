"""Rows in Postgres's binary COPY form, built where the events are decoded (a worker process).

Encoding a row is most of what the Postgres writer spends per event; done next to validation, in
the decode workers, it leaves the writer thread nothing but joining bytes into one COPY. It needs
no connection: the column types are built-in types, whose oids are fixed by Postgres itself.

Uses psycopg's own row formatter (its C implementation with the binary package), the one
``Copy.write_row`` calls, so the bytes are exactly what psycopg would send.
"""

from __future__ import annotations

from typing import Any

from psycopg import adapters
from psycopg._copy_base import format_row_binary  # the formatter Copy.write_row uses; psycopg is pinned
from psycopg.adapt import AdaptersMap, Dumper, Transformer
from psycopg.postgres import types as postgres_types
from psycopg.pq import Format

from schema import TABLES, TableSpec
from schema.dialects import POSTGRES as dialect
from schema.rows import json_text

# The binary COPY stream's header (signature, flags, header extension length) and trailer.
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"


class JsonbTextDumper(Dumper):
    """jsonb for binary COPY from JSON text, which is how ``schema.rows`` gives JSON columns.

    psycopg's own jsonb dumper serialises a Python object, so it would encode the text again (as a
    JSON string); this one only adds the jsonb binary format's version byte.
    """

    format = Format.BINARY
    oid = postgres_types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        text = obj if isinstance(obj, str) else json_text(obj)
        return b"\x01" + text.encode()


def column_oids(spec: TableSpec) -> list[int]:
    """The type oid of each column of ``spec``, from the dialect's (built-in) type names."""
    return [postgres_types[dialect.TYPES[column.type]].oid for column in spec.columns]


class _Context:
    """An adaptation context without a connection: psycopg's adapters plus the jsonb text dumper."""

    connection = None

    def __init__(self) -> None:
        self.adapters = AdaptersMap(adapters)
        self.adapters.register_dumper(None, JsonbTextDumper)


def _transformer(spec: TableSpec, context: _Context) -> Any:
    transformer = Transformer(context)
    transformer.set_dumper_types(column_oids(spec), Format.BINARY)
    return transformer


_CONTEXT = _Context()
_TRANSFORMERS = {spec.name: _transformer(spec, _CONTEXT) for spec in TABLES}


def encode_row(table: str, row: tuple[Any, ...]) -> bytes:
    """One row of ``table`` as one tuple of the binary COPY stream (between SIGNATURE and TRAILER)."""
    out = bytearray()
    format_row_binary(row, _TRANSFORMERS[table], out)
    return bytes(out)
