"""The pure step of the sink: raw input -> the row of its table, or the row of its dead letter.

No I/O, no locks, no shared state: a plain function of the inputs, so it can later run in worker
processes fed whole polled batches.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ingest.deadletters import dead_letter
from ingest.messages import Message
from ingest.writers.base import Row
from schema import (
    DEAD_LETTER_TABLE,
    EVENT_TABLES,
    FAMILIES,
    EventValidationError,
    Issue,
    event_row,
    parse_event,
)
from schema.rows import dead_letter_row

log = logging.getLogger(__name__)

# Event model -> its table's name: the step routes by the model pydantic chose. Names, not
# TableSpecs, travel with the rows: a string hashes once, a TableSpec hashes all of its columns.
_TABLE_OF: dict[type, str] = {
    envelope: EVENT_TABLES[family.category].name
    for family in FAMILIES
    for envelope in family.envelopes.values()
}


class Decoded(NamedTuple):
    """One input, decoded: its table's name, its key there, its row; ``rule`` is set for a dead letter."""

    table: str
    key: Any
    row: Row
    message: Message
    rule: str | None


def decode(messages: Sequence[Message], received_at: datetime) -> list[Decoded]:
    """Validate each input and build its row; invalid input becomes a dead-letter row."""
    decoded: list[Decoded] = []
    append = decoded.append
    for message in messages:
        event = message.event
        if event is None and message.error is None:
            try:
                event = parse_event(message.raw)
            except EventValidationError as error:
                message.error = error
            except Exception as error:  # a validator bug must not stop ingestion or lose input
                log.exception("unexpected error validating input from %s", message.origin)
                message.error = EventValidationError(
                    [Issue("", "unexpected_validation_error", f"{type(error).__name__}: {error}", "")]
                )
        if event is not None:
            append(
                Decoded(_TABLE_OF[type(event)], event.event_id, event_row(event, received_at), message, None)
            )
            continue
        assert message.error is not None
        append(rejected(message, message.error, received_at))
    return decoded


def rejected(message: Message, error: EventValidationError, received_at: datetime) -> Decoded:
    """The dead-letter row of ``message``, rejected for ``error``."""
    record = dead_letter(message.raw, message.origin, error, received_at)
    return Decoded(
        DEAD_LETTER_TABLE.name, record.dead_letter_id, dead_letter_row(record), message, record.error_rule
    )
