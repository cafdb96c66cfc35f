"""``kit.jsonx``: orjson where it is as the standard library would be, the standard library where it is not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liebian.kit import jsonx

# What services put in answers and documents: text (any Unicode but lone surrogates), integers, flags, nulls.
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | _text
_documents = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4), max_leaves=20)


def _standard(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


@given(_documents)
def test_answers_are_byte_for_byte_what_the_standard_library_writes(document: Any) -> None:
    assert jsonx.dumps_bytes(document) == _standard(document)
    assert jsonx.dumps(document) == _standard(document).decode()


@given(_documents)
def test_reading_back_gives_what_json_loads_gives(document: Any) -> None:
    for written in (json.dumps(document), json.dumps(document, ensure_ascii=False)):
        assert jsonx.loads(written) == json.loads(written)
        assert jsonx.loads(written.encode()) == json.loads(written)


def test_integers_beyond_64_bits_keep_every_digit() -> None:
    big = 123456789012345678901234567890
    assert jsonx.dumps({"n": big}) == '{"n":123456789012345678901234567890}'
    assert jsonx.loads('{"n": 123456789012345678901234567890}') == {"n": big}  # orjson alone gives a float
    assert isinstance(jsonx.loads(b"[18446744073709551616]")[0], int)


def test_integer_keys_are_written_as_json_dumps_writes_them() -> None:
    assert jsonx.dumps({1: "a", "b": 2}) == json.dumps({1: "a", "b": 2}, separators=(",", ":"))


def test_what_orjson_is_stricter_about_is_read_by_the_standard_library() -> None:
    assert jsonx.loads('["\\ud800"]') == json.loads('["\\ud800"]')


def test_a_value_neither_can_write_is_refused() -> None:
    with pytest.raises(TypeError):
        jsonx.dumps({"when": object()})
