"""Splitting request bodies into items, keeping each item's exact bytes."""

from __future__ import annotations

from ingest.framing import Malformed, split_body


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
    assert split_body(b"[\xff]") == [b"[\xff]"]
    assert split_body(b"") == [] and split_body(b"  \n ") == []
