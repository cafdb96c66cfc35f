"""JSON in C (orjson) where a request's CPU is counted: the hot routes' answers, the documents they write, and
every ``json`` / ``jsonb`` value read back from PostgreSQL.

The output is what ``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))`` gives for the values a
service builds (strings, integers, booleans, None, lists, dicts), byte for byte; a value orjson refuses
(an integer beyond 64 bits) is handed to the standard library, so nothing that worked before fails now. One
difference: a float that is not a number (NaN, infinity) is written as ``null`` where the standard library
(as Starlette calls it) refuses it; money is integer fen and no answer carries such a float.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps_bytes(obj: Any) -> bytes:
    """UTF-8 JSON, compact, non-ASCII as is (an answer's body)."""
    try:
        return orjson.dumps(obj, option=_OPTIONS)
    except TypeError:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def dumps(obj: Any) -> str:
    """The same as text (a document sent to a ``jsonb`` parameter)."""
    return dumps_bytes(obj).decode()


# orjson reads an integer beyond 64 bits as a float, silently: a document with a run of 19 digits or more (in a
# number, or harmlessly in a string) is read by the standard library, which keeps every digit.
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LONG_DIGITS_BYTES = re.compile(rb"[0-9]{19}")


def loads(data: str | bytes) -> Any:
    """A document PostgreSQL sent back (always valid JSON), read as ``json.loads`` reads it."""
    long_digits = _LONG_DIGITS_BYTES if isinstance(data, bytes) else _LONG_DIGITS
    if long_digits.search(data) is not None:  # type: ignore[arg-type]
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # what orjson is stricter about (a lone surrogate escape in a json column)
        return json.loads(data)
