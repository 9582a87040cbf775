"""Errors of the schema module, each precise enough to act on without reading code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VALUE_PREVIEW_CHARS = 80


def preview(value: Any, limit: int = VALUE_PREVIEW_CHARS) -> str:
    """A bounded repr of an offending value: errors must name it without echoing megabytes."""
    text = repr(value)
    if len(text) > limit:
        return f"{text[:limit]}... ({len(text)} chars)"
    return text


@dataclass(frozen=True)
class Issue:
    """One reason an event was rejected: which field, which rule, and the value (truncated)."""

    field: str
    rule: str
    message: str
    value: str

    def __str__(self) -> str:
        return f"{self.field or '<body>'}: {self.message} [rule={self.rule}, value={self.value}]"


class EventValidationError(ValueError):
    """An event body that is not a valid event; carries every issue found, first one first."""

    def __init__(self, issues: list[Issue]) -> None:
        if not issues:
            raise ValueError("EventValidationError needs at least one issue")
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))

    @property
    def first(self) -> Issue:
        return self.issues[0]


class IdentifierError(ValueError):
    """A table, column or namespace name that could not be safely rendered as an identifier."""


class SchemaEvolutionError(RuntimeError):
    """A schema change that would break a deployed table; the message says how to ship it instead."""
