"""Events and dead letters as rows, in the column order of their table spec.

Writers of every warehouse build their rows here so that the column order and the JSON encoding
of ``context`` / ``payload`` are decided once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pydantic_core

from schema.events import FAMILIES, EventEnvelope
from schema.tables import COMMON_COLUMNS, DeadLetterRecord, fact_columns

_READERS = tuple(reader for _, reader in COMMON_COLUMNS)
_RECEIVED_AT = [column.name for column, _ in COMMON_COLUMNS].index("received_at")
_CONTEXT = [column.name for column, _ in COMMON_COLUMNS].index("context")
_PAYLOAD = [column.name for column, _ in COMMON_COLUMNS].index("payload")
_FACTS = {family.category: tuple(column.name for column in fact_columns(family)) for family in FAMILIES}


def json_text(value: Any) -> str:
    """Compact JSON text, as every warehouse's JSON column receives it."""
    return pydantic_core.to_json(value).decode("utf-8")


def event_row(event: EventEnvelope, received_at: datetime) -> tuple[Any, ...]:
    """The row of ``event`` for its family table: Python values (UUID, datetime, str, int, float).

    JSON columns are JSON text. ``payload`` keeps exactly the fields the producer sent (unknown
    ones included, absent optional ones left absent) so the raw body can be rehydrated.
    """
    row: list[Any] = [reader(event) if reader is not None else None for reader in _READERS]
    row[_RECEIVED_AT] = received_at
    row[_CONTEXT] = json_text(event.context)
    row[_PAYLOAD] = event.payload.model_dump_json(exclude_unset=True)
    payload = event.payload
    row.extend(getattr(payload, name) for name in _FACTS[event.category])
    return tuple(row)


def dead_letter_row(record: DeadLetterRecord) -> tuple[Any, ...]:
    """The row of a dead letter, in the dead-letter table's column order."""
    return tuple(getattr(record, name) for name in DeadLetterRecord.model_fields)
