"""Identifiers people see: order numbers and payment numbers that do not reveal volumes."""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def order_number(now: datetime) -> str:
    """``YYMMDD`` in Shanghai time + 10 random digits: readable on the phone, unguessable in sequence."""
    day = now.astimezone(SHANGHAI)
    return f"{day.year % 100:02d}{day.month:02d}{day.day:02d}{secrets.randbelow(10**10):010d}"


def token(length: int = 16) -> str:
    """A random code of unambiguous characters (no 0/O, 1/I)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
