"""Where a mini-program login code becomes an openid: the seam for WeChat's ``jscode2session``.

``MiniProgramIdentity`` runs the real client in both modes. In sandbox mode a ``sandbox:<name>`` code
is first swapped for a genuine one-time code that the embedded fake issues for ``<name>``'s stable
openid, so even the sandbox login picker goes through ``jscode2session``. ``session_key`` is dropped
here: nothing in Liebian decrypts open data yet, and a key we do not keep cannot leak.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from liebian.integrations.wechat.errors import InvalidArgument, WeChatApiError, WeChatUnavailable
from liebian.integrations.wechat.miniprogram import InvalidCode, MiniProgramClient, RateLimited
from liebian.kit.errors import BadGateway, TooManyRequests, Unauthorized

SANDBOX_PREFIX = "sandbox:"


@dataclass(frozen=True)
class WeChatIdentity:
    openid: str
    unionid: str | None
    nickname: str | None = None


class IdentityProvider(Protocol):
    async def code2session(self, code: str) -> WeChatIdentity: ...


def sandbox_openid(name: str) -> str:
    """The stable openid of sandbox customer ``name`` (the same across restarts and shops)."""
    return "sbx_" + hashlib.sha256(name.encode()).hexdigest()[:24]


def sandbox_name(code: str) -> str:
    prefix, _, name = code.partition(":")
    if prefix != "sandbox" or not name or len(name) > 32 or not name.isprintable():
        raise Unauthorized(
            "invalid_login_code", "In sandbox mode the login code is 'sandbox:<name>' (1-32 characters)."
        )
    return name


class SandboxIdentity:
    """``sandbox:<name>`` always logs in the same customer ``<name>``, without any WeChat round trip."""

    async def code2session(self, code: str) -> WeChatIdentity:
        name = sandbox_name(code)
        return WeChatIdentity(openid=sandbox_openid(name), unionid=None, nickname=name)


class MiniProgramIdentity:
    """Login through ``jscode2session``; the openid is never taken from the client.

    ``sandbox_codes`` (sandbox mode only) turns an openid into a fresh one-time login code at the fake.
    """

    def __init__(self, client: MiniProgramClient,
                 sandbox_codes: Callable[[str], Awaitable[str]] | None = None) -> None:
        self._client = client
        self._sandbox_codes = sandbox_codes

    async def code2session(self, code: str) -> WeChatIdentity:
        nickname = None
        if self._sandbox_codes is not None and code.startswith(SANDBOX_PREFIX):
            nickname = sandbox_name(code)
            code = await self._sandbox_codes(sandbox_openid(nickname))
        try:
            session = await self._client.code2session(code)
        except (InvalidCode, InvalidArgument) as exc:
            raise Unauthorized("invalid_login_code", "The login code is invalid, expired or already used.") from exc
        except RateLimited as exc:
            raise TooManyRequests("login_rate_limited", "Too many logins; wait a minute.") from exc
        except WeChatUnavailable as exc:
            raise BadGateway("wechat_unavailable", "WeChat login is unavailable; try again.") from exc
        except WeChatApiError as exc:
            raise BadGateway("wechat_login_failed", f"WeChat refused the login (errcode {exc.errcode}).") from exc
        return WeChatIdentity(openid=session.openid, unionid=session.unionid, nickname=nickname)
