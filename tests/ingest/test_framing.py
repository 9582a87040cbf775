"""Splitting request bodies into items, keeping each item's exact bytes."""

from __future__ import annotations

import pytest

from ingest.framing import Malformed, TooManyItems, split_body


def test_one_object_is_one_item_even_pretty_printed() -> None:
    assert split_body(b' {"a": 1} \n') == [b'{"a": 1}']
    assert split_body(b'{\n  "a": 1,\n  "b": [1,\n 2]\n}') == [b'{\n  "a": 1,\n  "b": [1,\n 2]\n}']


def test_an_array_is_split_into_its_elements_byte_for_byte() -> None:
    body = '[ {"a": "é"} ,{"b":[1, {"c": "]"}]},\n  "x" ]'.encode()
    assert split_body(body) == ['{"a": "é"}'.encode(), b'{"b":[1, {"c": "]"}]}', b'"x"']
    assert split_body(b"[]") == []
    assert split_body(b"[NaN]") == [b"NaN"]


def test_ndjson_by_content_type_or_by_shape() -> None:
    body = b'{"a": 1}\n\n{"b": 2}\r\n'
    assert split_body(body, "application/x-ndjson; charset=utf-8") == [b'{"a": 1}', b'{"b": 2}']
    assert split_body(body) == [b'{"a": 1}', b'{"b": 2}']
    assert split_body(b'{"a": 1}\nnot json\n\xff\xfe') == [b'{"a": 1}', b"not json", b"\xff\xfe"]


def test_what_cannot_be_split_becomes_one_malformed_item_after_the_good_ones() -> None:
    cases = {
        b'[{"a": 1}, {oops}, {"b": 2}]': (b'{oops}, {"b": 2}', "array element 1 cannot be parsed"),
        b'[{"a": 1} {"b": 2}]': (b'{"b": 2}', "expected ',' or ']' after array element 0, found '{'"),
        b'[{"a": 1}, ': (b"", "the array ends after element 0 without ']'"),
        b'[{"a": 1}, [[[[' + b"[" * 5000 + b"]" * 5005: (None, "nested too deeply"),
    }
    for body, (rest, reason) in cases.items():
        first, malformed = split_body(body)
        assert first == b'{"a": 1}' and not isinstance(first, Malformed)
        assert isinstance(malformed, Malformed)
        assert reason in malformed.reason, malformed.reason
        if rest is not None:
            assert malformed == rest
    [invalid] = split_body(b"[\xff]")
    assert isinstance(invalid, Malformed) and invalid == b"\xff"


def test_bytes_that_are_not_utf8_stay_in_their_element_and_the_elements_around_them_count() -> None:
    """Issue 12 (8): an invalid-UTF-8 element used to turn the whole array into one bad item."""
    body = b'[{"a": 1}, {"b": "\xff\xfe"}, {"c": 3}]'
    assert split_body(body) == [b'{"a": 1}', b'{"b": "\xff\xfe"}', b'{"c": 3}']


def test_splitting_stops_past_the_item_limit() -> None:
    with pytest.raises(TooManyItems, match="more than 3 events"):
        split_body(b"{}\n" * 4, "application/x-ndjson", limit=3)
    with pytest.raises(TooManyItems):
        split_body(b"[" + b",".join([b"{}"] * 4) + b"]", limit=3)
    with pytest.raises(TooManyItems):
        split_body(b"{}\n{}\n\n{}\n{}", limit=3)  # NDJSON without its content type
    assert len(split_body(b"{}\n" * 3, limit=3)) == 3
    assert split_body(b"") == [] and split_body(b"  \n ") == []
