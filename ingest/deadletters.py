"""Dead letters: input that cannot become a row, kept whole with the reason and where it came from.

The id is a uuid5 over the origin and the SHA-256 of the raw bytes, so redelivering the same bad
input from the same place (a Kafka replay, a second backfill, a client retrying a POST) lands once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from schema import EventValidationError, Issue
from schema.exceptions import preview
from schema.tables import DeadLetterRecord

DEAD_LETTER_NAMESPACE = uuid.UUID("6f1d3c52-7e0b-5d7a-9c53-0e1b8f3a2d41")
# The error column holds every issue; bounded so that a body with thousands of issues stays a row.
MAX_ERROR_CHARS = 4000
CLAIM_CHARS = 256
# Rule of a row the warehouse refused although it passed validation (e.g. an integer beyond bigint).
WAREHOUSE_REJECTED = "warehouse_rejected"


def dead_letter_id(origin: str, raw: bytes) -> uuid.UUID:
    return uuid.uuid5(DEAD_LETTER_NAMESPACE, f"{origin}\n{hashlib.sha256(raw).hexdigest()}")


def claims(raw: bytes) -> tuple[str | None, str | None]:
    """The category and event_id the input claims, when it is a JSON object that has them."""
    try:
        data: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None

    def text(key: str) -> str | None:
        value = data.get(key)
        return value[:CLAIM_CHARS] if isinstance(value, str) else None

    return text("category"), text("event_id")


def warehouse_rejection(error: BaseException) -> EventValidationError:
    """An error the warehouse raised for one row, as a validation error naming the rule."""
    message = f"the warehouse refused the row: {type(error).__name__}: {error}"
    return EventValidationError([Issue("", WAREHOUSE_REJECTED, message, preview(str(error)))])


def storable(text: str) -> str:
    """``text`` as every warehouse's text column takes it: NUL (which Postgres refuses) and lone
    surrogates (which are not UTF-8) written as their JSON escapes. The raw body keeps the bytes."""
    if "\x00" in text:
        text = text.replace("\x00", "\\u0000")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _storable(text: str | None) -> str | None:
    return None if text is None else storable(text)


def dead_letter(
    raw: bytes, origin: str, error: EventValidationError, received_at: datetime
) -> DeadLetterRecord:
    """The dead letter of ``raw``; every text field storable, so that writing it cannot fail on
    its content (a dead letter that cannot be written would hold up its whole batch)."""
    category, event_id = claims(raw)
    first = error.first
    text = str(error)
    if len(text) > MAX_ERROR_CHARS:
        text = f"{text[:MAX_ERROR_CHARS]}... ({len(error.issues)} issues)"
    return DeadLetterRecord(
        dead_letter_id=dead_letter_id(storable(origin), raw),
        received_at=received_at,
        origin=storable(origin),
        category=_storable(category),
        event_id=_storable(event_id),
        error_field=_storable(first.field or None),
        error_rule=storable(first.rule),
        error=storable(text),
        raw_body=raw,
    )
