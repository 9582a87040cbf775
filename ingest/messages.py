"""What crosses between the buses and the sink: one input, and the inputs of one poll.

Its own module so that the bus drivers and the sink can both import it without the bus depending
on the sink (or the other way round).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schema import EventValidationError
from schema.events import EventEnvelope


@dataclass(slots=True)
class Message:
    """One input as the bus or HTTP delivered it; ``event`` / ``error`` when already validated."""

    raw: bytes
    origin: str
    event: EventEnvelope | None = None
    error: EventValidationError | None = None


@dataclass
class Polled:
    """Messages from one poll, and the position to acknowledge once all of them are committed."""

    messages: list[Message] = field(default_factory=list)
    position: Any = None
