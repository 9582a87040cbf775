"""The pure step of the sink: raw input -> the row of its table, or the row of its dead letter.

No I/O, no locks, no shared state: a plain function of the inputs, so it runs the same in the
calling thread or in a decode worker process (``ingest.decoding``), which is fed the raw bytes and
origins of whole polled batches and sends back ``Step`` tuples (no ``Message``: the caller has it).

Rows leave the step encoded by the writer's ``row_encoder`` (Postgres: binary COPY bytes), so that
encoding happens next to validation and not on the writer thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from ingest.deadletters import dead_letter
from ingest.messages import Message
from ingest.writers.base import EncodedRow, RowEncoder
from schema import (
    DEAD_LETTER_TABLE,
    EVENT_TABLES,
    FAMILIES,
    EventValidationError,
    Issue,
    event_row,
    parse_event,
)
from schema.events import EventEnvelope
from schema.rows import dead_letter_row

log = logging.getLogger(__name__)

# Event model -> its table's name: the step routes by the model pydantic chose. Names, not
# TableSpecs, travel with the rows: a string hashes once (and pickles once per batch).
_TABLE_OF: dict[type, str] = {
    envelope: EVENT_TABLES[family.category].name
    for family in FAMILIES
    for envelope in family.envelopes.values()
}


class Step(NamedTuple):
    """What the step makes of one input: its table, its key there (the 16 bytes of its UUID), its
    row as the writer takes it, and the rule that rejected it (None for an event)."""

    table: str
    key: bytes
    row: EncodedRow
    rule: str | None


class Decoded(NamedTuple):
    """One input, decoded, with the message it came from (dead-lettered again if the warehouse
    refuses its row, and the size the batcher accounts)."""

    table: str
    key: bytes
    row: EncodedRow
    rule: str | None
    message: Message


def step(
    raw: bytes,
    origin: str,
    received_at: datetime,
    encode: RowEncoder | None,
    event: EventEnvelope | None = None,
    error: EventValidationError | None = None,
) -> Step:
    """Validate one input (unless ``event``/``error`` say how it went) and build its row."""
    if event is None and error is None:
        try:
            event = parse_event(raw)
        except EventValidationError as invalid:
            # Without its traceback: that holds this frame, which holds the error (and ``raw``), a
            # cycle only the cyclic GC frees, and the service makes it rare (``ingest.runtime``).
            error = invalid.with_traceback(None)
        except Exception as bug:  # a validator bug must not stop ingestion or lose input
            log.exception("unexpected error validating input from %s", origin)
            error = EventValidationError(
                [Issue("", "unexpected_validation_error", f"{type(bug).__name__}: {bug}", "")]
            )
    if event is not None:
        table = _TABLE_OF[type(event)]
        row = event_row(event, received_at)
        return Step(table, event.event_id.bytes, encode(table, row) if encode else row, None)
    assert error is not None
    return rejected_step(raw, origin, error, received_at, encode)


def rejected_step(
    raw: bytes, origin: str, error: EventValidationError, received_at: datetime, encode: RowEncoder | None
) -> Step:
    """The dead-letter row of an input rejected for ``error``."""
    record = dead_letter(raw, origin, error, received_at)
    table = DEAD_LETTER_TABLE.name
    row = dead_letter_row(record)
    return Step(table, record.dead_letter_id.bytes, encode(table, row) if encode else row, record.error_rule)


# Steps as four parallel lists (tables, keys, rows, rules): how a worker sends them back, because
# lists of strings and bytes pickle at a third of the cost of a list of named tuples.
Columns = tuple[list[str], list[bytes], list[EncodedRow], list[str | None]]


def decode_raw(
    raws: Sequence[bytes], origins: Sequence[str], received_at: datetime, encode: RowEncoder | None
) -> Columns:
    """The step over raw inputs: what a decode worker runs for a slice of a polled batch."""
    steps = [step(raw, origin, received_at, encode) for raw, origin in zip(raws, origins, strict=True)]
    return [s.table for s in steps], [s.key for s in steps], [s.row for s in steps], [s.rule for s in steps]


def decode(
    messages: Sequence[Message], received_at: datetime, encode: RowEncoder | None = None
) -> list[Decoded]:
    """The step over messages, in this thread (messages the HTTP intake already validated keep its
    verdict)."""
    return attach([step(m.raw, m.origin, received_at, encode, m.event, m.error) for m in messages], messages)


def rejected(
    message: Message, error: EventValidationError, received_at: datetime, encode: RowEncoder | None = None
) -> Decoded:
    """The dead-letter row of ``message``, rejected for ``error``."""
    return attach([rejected_step(message.raw, message.origin, error, received_at, encode)], [message])[0]


def attach(steps: Sequence[Step], messages: Sequence[Message]) -> list[Decoded]:
    """Steps joined to the messages they were made from, in order."""
    return [
        Decoded(table, key, row, rule, message)
        for (table, key, row, rule), message in zip(steps, messages, strict=True)
    ]


def attach_columns(columns: Columns, messages: Sequence[Message]) -> list[Decoded]:
    """Steps a worker made (as ``Columns``), joined to the messages they were made from, in order."""
    return list(map(Decoded, *columns, messages))
