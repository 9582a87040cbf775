"""The shared schema module: the one source of truth for events, tables, dialects and the contract.

Everything else in the project (the Pulumi program, the ingest service, the producer artifacts)
derives its names, columns and types from here. This package imports nothing of the project.
"""

from schema.contract import BusContract, ColumnContract, StackOutputs, TableContract, build_contract
from schema.events import (
    FAMILIES,
    Actor,
    Category,
    Event,
    EventFamily,
    family_for,
)
from schema.exceptions import EventValidationError, IdentifierError, Issue, SchemaEvolutionError
from schema.fingerprint import SCHEMA_VERSION, schema_fingerprint
from schema.parsing import parse_event, validate_event
from schema.rows import event_row
from schema.tables import DEAD_LETTER_TABLE, EVENT_TABLES, TABLES, Column, TableSpec, table_for
from schema.types import LogicalType

__all__ = [
    "DEAD_LETTER_TABLE",
    "EVENT_TABLES",
    "FAMILIES",
    "SCHEMA_VERSION",
    "TABLES",
    "Actor",
    "BusContract",
    "Category",
    "Column",
    "ColumnContract",
    "Event",
    "EventFamily",
    "EventValidationError",
    "IdentifierError",
    "Issue",
    "LogicalType",
    "SchemaEvolutionError",
    "StackOutputs",
    "TableContract",
    "TableSpec",
    "build_contract",
    "event_row",
    "family_for",
    "parse_event",
    "schema_fingerprint",
    "table_for",
    "validate_event",
]
