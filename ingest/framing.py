"""Splitting a request body into event items: one JSON event, a JSON array of events, or NDJSON.

Each item keeps its exact bytes: a rejected item is dead-lettered as it was sent, and a valid one
is published as it was sent. A part of the body that cannot be split (a malformed array, a line
that is not UTF-8) becomes one item of its own, which then fails validation with a reason, so the
items before it still count.
"""

from __future__ import annotations

import json

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"


def split_body(body: bytes, content_type: str = "") -> list[bytes]:
    """The items of a body, in order; an empty or blank body has none."""
    stripped = body.strip()
    if not stripped:
        return []
    if content_type.split(";")[0].strip().lower() in NDJSON_TYPES:
        return _lines(stripped)
    if stripped.startswith(b"["):
        return _array(stripped)
    lines = _lines(stripped)
    if len(lines) > 1 and not _single_document(stripped):
        return lines
    return [stripped]


def _lines(body: bytes) -> list[bytes]:
    return [line.strip() for line in body.split(b"\n") if line.strip()]


def _single_document(body: bytes) -> bool:
    """A pretty-printed event spans lines but is one document (unlike NDJSON)."""
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def _array(body: bytes) -> list[bytes]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [body]
    items: list[bytes] = []
    position = _skip(text, 1)
    if text[position : position + 1] == "]" and not text[position + 1 :].strip(_WHITESPACE):
        return []
    while position < len(text):
        start = position
        try:
            _, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            items.append(_rest(text, start))
            return items
        items.append(text[start:end].encode("utf-8"))
        position = _skip(text, end)
        separator = text[position : position + 1]
        if separator == ",":
            position = _skip(text, position + 1)
        elif separator == "]" and not text[position + 1 :].strip(_WHITESPACE):
            return items
        else:
            items.append(_rest(text, position))
            return items
    return items


def _rest(text: str, start: int) -> bytes:
    """What is left of a malformed array, minus a final ``]``: one item that fails validation."""
    rest = text[start:].rstrip(_WHITESPACE)
    return (rest.removesuffix("]").rstrip(_WHITESPACE) or rest).encode("utf-8")


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position
