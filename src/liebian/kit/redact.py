"""Logs carry no openid, phone number, token or key (DESIGN.md §7).

:func:`install` wraps the process's log record factory, so every record is scrubbed as it is made, whatever
handler, formatter or level configuration writes it afterwards (uvicorn's access log, SQLAlchemy's echoed
parameters, httpx's request lines, tracebacks). A record whose text has nothing to hide is left as it was;
one that has is rewritten with its values replaced: ``[openid]``, ``138****8000``, ``[token]``, ``[key]``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_SESSION_COOKIE = re.compile(r"\b(lb_ct|lb_st|lb_csrf_c|lb_csrf_s)=[^;\s'\"]+")
_OPENID_FIELD = re.compile(r"(?i)([\"']?(?:openid|unionid|session_key|js_code)[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9_-]{6,}")
_SANDBOX_OPENID = re.compile(r"\bsbx_[0-9a-f]{24}\b")
_WECHAT_OPENID = re.compile(r"(?<![A-Za-z0-9_-])o[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])")  # WeChat's: 28, from "o"
_QUERY_SECRET = re.compile(r"(?i)\b(secret|app_secret|access_token|token|password|apiv3_key|key|sign|paysign)"
                           r"=[^&\s\"']+")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-(\d{3,4})(\d{4})(?!\d)")


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        known = set(self._secrets) | {s for s in secrets if s and len(s) >= 8}
        self._secrets = sorted(known, key=len, reverse=True)  # longest first: a key never half-replaced

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "[key]")
        text = _JWT.sub("[token]", text)
        text = _BEARER.sub(r"\1 [token]", text)
        text = _SESSION_COOKIE.sub(r"\1=[token]", text)
        text = _QUERY_SECRET.sub(r"\1=[key]", text)
        text = _OPENID_FIELD.sub(r"\1[openid]", text)
        text = _SANDBOX_OPENID.sub("[openid]", text)
        text = _WECHAT_OPENID.sub("[openid]", text)
        text = _MOBILE.sub(r"\1****\3", text)
        return _LANDLINE.sub(r"\1-****\3", text)


redactor = Redactor()
_wrapped: list[Callable[..., logging.LogRecord]] = []  # the factory we wrapped, once


def _scrub_args(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(redactor.scrub(a) if isinstance(a, str) else a for a in args)
    return args


def _scrubbed(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it itself later
        return record
    clean = redactor.scrub(message)
    if clean != message:
        plain_args = isinstance(record.args, tuple) and all(
            isinstance(a, str | int | float | bool) or a is None for a in record.args)
        if plain_args and redactor.scrub(record.msg if isinstance(record.msg, str) else "") == record.msg:
            record.args = _scrub_args(record.args)  # keep the shape (uvicorn's access formatter unpacks it)
        else:
            record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redactor.scrub(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redactor.scrub(record.stack_info)
    return record


def install(secrets: Iterable[str] = ()) -> None:
    """Scrub every log record of this process from now on (idempotent; ``secrets`` are added)."""
    redactor.add_secrets(secrets)
    if _wrapped:
        return
    original = logging.getLogRecordFactory()
    _wrapped.append(original)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _scrubbed(original(*args, **kwargs))

    logging.setLogRecordFactory(factory)
