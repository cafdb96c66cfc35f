"""Typed failures of the WeChat clients; the domain maps them to its own problems."""

from __future__ import annotations


class WeChatError(Exception):
    """Base class."""


class SignatureError(WeChatError):
    """A response or notification whose signature, serial or timestamp cannot be trusted."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DecryptionError(WeChatError):
    """An AES-GCM resource or open-data blob that does not decrypt with our key."""


class WeChatPayError(WeChatError):
    """WeChat Pay answered with an error (``{"code", "message"}``), or could not be reached.

    ``outcome_unknown`` is set when the request may or may not have taken effect (network failure,
    timeout, 5xx): the caller must query before doing anything that could duplicate it.
    """

    def __init__(self, status: int, code: str, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.outcome_unknown = outcome_unknown

    @property
    def retryable(self) -> bool:
        return self.outcome_unknown or self.status == 429 or self.code in {"FREQUENCY_LIMITED", "SYSTEM_ERROR"}


class WeChatApiError(WeChatError):
    """A mini-program OpenAPI ``errcode`` other than 0."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatUnavailable(WeChatError):
    """The OpenAPI could not be reached or answered something that is not JSON."""


class InvalidArgument(WeChatError):
    """A parameter WeChat would reject, caught before calling (scene too long, bad out_trade_no...)."""
