"""dbt sources for the warehouse tables, written from the schema module so analysts stop hand-copying.

``sources_yaml`` renders one dbt ``sources.yml`` (properties version 2, dbt 1.11 syntax) for a
warehouse: where the tables live, every column with its description and the type as that warehouse
names it, freshness on ``received_at``, and the data tests the contract implies (the key is unique
and not null, required columns are not null, ``event_name`` is one of the family's event names).
When stack outputs are given, the database and schema come from them; everything else always comes
from the tables of this module, so a stack deployed from an older schema shows up as failing tests,
not as a quietly outdated file.

dbt 1.11 specifics: generic-test inputs sit under ``arguments:`` (top-level inputs raise
``MissingArgumentsPropertyInGenericTestDeprecation``), and ``loaded_at_field`` / ``freshness`` sit
under ``config:``. The YAML is written here (a handful of shapes) rather than through a YAML library,
which the schema module does not depend on.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schema.contract import StackOutputs
from schema.dialects import DIALECTS, Dialect, dialect
from schema.events import family_for
from schema.fingerprint import SCHEMA_VERSION, schema_fingerprint
from schema.tables import TABLES, TableSpec

# What analysts write in ``source('analytics_warehouse', '<table>')``: the Pulumi project's name.
SOURCE_NAME = "analytics_warehouse"
LOADED_AT_FIELD = "received_at"
# The ingest service flushes within seconds, and every family sees traffic each hour of a trading
# day; a day without rows means the pipeline is down, not that the business is quiet.
FRESHNESS: dict[str, Any] = {
    "warn_after": {"count": 6, "period": "hour"},
    "error_after": {"count": 24, "period": "hour"},
}
# A quiet dead-letter table is the good case: no freshness rule there.
NO_FRESHNESS_TABLES = frozenset({"analytics_dead_letter_events"})
EVENT_NAME_COLUMN = "event_name"


class DbtError(ValueError):
    """The warehouse and the stack outputs disagree, or the warehouse is unknown."""


def _column_tests(spec: TableSpec, column_name: str, nullable: bool) -> list[Any]:
    tests: list[Any] = []
    if spec.primary_key == (column_name,):
        tests.append("unique")
    if not nullable:
        tests.append("not_null")
    if column_name == EVENT_NAME_COLUMN and spec.category is not None:
        names = list(family_for(spec.category).event_names)
        tests.append({"accepted_values": {"arguments": {"values": names}}})
    return tests


def _table(spec: TableSpec, warehouse: Dialect) -> dict[str, Any]:
    columns = []
    for column in spec.columns:
        entry: dict[str, Any] = {"name": column.name}
        if column.description:
            entry["description"] = column.description
        entry["data_type"] = warehouse.type_of(column.type)
        tests = _column_tests(spec, column.name, column.nullable)
        if tests:
            entry["data_tests"] = tests
        columns.append(entry)
    table: dict[str, Any] = {"name": spec.name}
    if spec.description:
        table["description"] = spec.description
    if spec.name in NO_FRESHNESS_TABLES:
        table["config"] = {"freshness": None}
    table["columns"] = columns
    return table


def _location(warehouse: str, outputs: StackOutputs | None) -> tuple[str | None, str]:
    """(database, schema) of the tables: the stack's when given, else the dialect's default schema
    and no database (dbt then uses the profile target's database / project)."""
    if outputs is None:
        return None, dialect(warehouse).DEFAULT_NAMESPACE
    if outputs.provider != warehouse:
        raise DbtError(
            f"--warehouse {warehouse} does not match the stack outputs' provider {outputs.provider}"
        )
    # A fully qualified name is catalog.namespace.table when the stack knows its database/project.
    parts = next(iter(outputs.tables.values())).table.split(".")
    return (parts[0] if len(parts) == 3 else None), outputs.namespace


def sources(warehouse: str, outputs: StackOutputs | None = None) -> dict[str, Any]:
    """The sources document as plain data (what the YAML says)."""
    database, schema = _location(warehouse, outputs)
    source: dict[str, Any] = {
        "name": SOURCE_NAME,
        "description": "Validated analytics events written by the ingest service, exactly once per key.",
    }
    if database:
        source["database"] = database
    source["schema"] = schema
    source["meta"] = {"schema_version": SCHEMA_VERSION, "schema_fingerprint": schema_fingerprint()}
    source["config"] = {"loaded_at_field": LOADED_AT_FIELD, "freshness": FRESHNESS}
    source["tables"] = [_table(spec, dialect(warehouse)) for spec in TABLES]
    return {"version": 2, "sources": [source]}


def sources_yaml(warehouse: str, outputs: StackOutputs | None = None) -> str:
    header = (
        f"# dbt sources for the {warehouse} warehouse, generated from the schema module by\n"
        f"# `python -m schema dbt --warehouse {warehouse}`. Regenerate rather than edit.\n"
    )
    return header + _yaml(sources(warehouse, outputs))


def artifacts() -> dict[str, str]:
    """The committed copies, one per warehouse (default locations), for ``python -m schema export``."""
    return {f"dbt/sources.{name}.yml": sources_yaml(name) for name in sorted(DIALECTS)}


def print_sources(warehouse: str | None, contract: Path | None) -> int:
    """``python -m schema dbt``: the warehouse defaults to the stack's provider, else postgres."""
    outputs = None
    if contract is not None:
        try:
            outputs = StackOutputs.model_validate_json(contract.read_bytes())
        except (OSError, ValidationError) as error:
            print(f"--contract {contract}: {error}", file=sys.stderr)
            return 2
    try:
        sys.stdout.write(sources_yaml(warehouse or (outputs.provider if outputs else "postgres"), outputs))
    except DbtError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


# --- a small block-style YAML writer --------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED:
        return text
    # A JSON string is a valid YAML double-quoted scalar (same escapes).
    return json.dumps(text)


def _yaml(value: Any, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:\n{_yaml(item, indent + 2)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}\n")
        return "".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict | list) and item:
                body = _yaml(item, indent + 2)
                lines.append(f"{pad}- {body[indent + 2 :]}")
            else:
                lines.append(f"{pad}- {_scalar(item)}\n")
        return "".join(lines)
    return f"{pad}{_scalar(value)}\n"
