"""Splitting a request body into event items: one JSON event, a JSON array of events, or NDJSON.

Each item keeps its exact bytes: a rejected item is dead-lettered as it was sent, and a valid one
is published as it was sent. What follows the point where an array stops being well-formed (a
missing comma, an element nested too deep to parse, a missing ``]``) becomes one ``Malformed``
item, rejected with the reason, so the items before it still count and nothing is guessed. Bytes
that are not UTF-8 stay inside the element that holds them (which is then rejected alone).

Splitting stops as soon as a body holds more than ``limit`` items (``TooManyItems``): a small body
of a million tiny items must not cost a million objects before it is refused.
"""

from __future__ import annotations

import json

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines")
_DECODER = json.JSONDecoder()


class TooManyItems(ValueError):
    """The body holds more items than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body holds more than {limit} events")
        self.limit = limit


class Malformed(bytes):
    """The rest of a body that could not be split into items; ``reason`` says why."""

    reason: str

    def __new__(cls, raw: bytes, reason: str) -> Malformed:
        item = super().__new__(cls, raw)
        item.reason = reason
        return item


_WHITESPACE = " \t\r\n"


def split_body(body: bytes, content_type: str = "", limit: int | None = None) -> list[bytes]:
    """The items of a body, in order; an empty or blank body has none. TooManyItems past ``limit``."""
    stripped = body.strip()
    if not stripped:
        return []
    bound = limit if limit is not None else len(stripped)
    if content_type.split(";")[0].strip().lower() in NDJSON_TYPES:
        return _lines(stripped, bound)
    if stripped.startswith(b"["):
        return _array(stripped, bound)
    return [stripped] if _single_document(stripped) else _lines(stripped, bound)


def _lines(body: bytes, limit: int) -> list[bytes]:
    items: list[bytes] = []
    start = 0
    while start <= len(body):
        end = body.find(b"\n", start)
        if end < 0:
            end = len(body)
        line = body[start:end].strip()
        if line:
            if len(items) == limit:
                raise TooManyItems(limit)
            items.append(line)
        start = end + 1
    return items


def _single_document(body: bytes) -> bool:
    """A pretty-printed event spans lines but is one document (unlike NDJSON)."""
    if b"\n" not in body:
        return True
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True


def _array(body: bytes, limit: int) -> list[bytes]:
    # surrogateescape keeps bytes that are not UTF-8 in their element, and gives them back exactly.
    text = body.decode("utf-8", "surrogateescape")
    items: list[bytes] = []
    position = _skip(text, 1)
    if text[position : position + 1] == "]" and not text[position + 1 :].strip(_WHITESPACE):
        return []
    while position < len(text):
        start = position
        try:
            _, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            items.append(_rest(text, start, f"array element {len(items)} cannot be parsed: {reason}"))
            return items
        if len(items) == limit:
            raise TooManyItems(limit)
        items.append(text[start:end].encode("utf-8", "surrogateescape"))
        position = _skip(text, end)
        separator = text[position : position + 1]
        if separator == ",":
            position = _skip(text, position + 1)
        elif separator == "]" and not text[position + 1 :].strip(_WHITESPACE):
            return items
        else:
            found = repr(separator) if separator else "the end of the body"
            items.append(
                _rest(
                    text, position, f"expected ',' or ']' after array element {len(items) - 1}, found {found}"
                )
            )
            return items
    items.append(_rest(text, position, f"the array ends after element {len(items) - 1} without ']'"))
    return items


def _rest(text: str, start: int, reason: str) -> Malformed:
    """What is left of a malformed array, minus a final ``]``."""
    rest = text[start:].rstrip(_WHITESPACE)
    raw = (rest.removesuffix("]").rstrip(_WHITESPACE) or rest).encode("utf-8", "surrogateescape")
    return Malformed(raw, reason)


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in _WHITESPACE:
        position += 1
    return position
