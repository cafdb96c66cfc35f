"""Where a mini-program login code becomes an openid: the seam for WeChat's ``jscode2session``.

Sandbox mode answers ``sandbox:<name>`` with a stable openid for ``<name>``; live mode calls WeChat.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

import httpx

from liebian.kit.errors import BadGateway, Unauthorized


@dataclass(frozen=True)
class WeChatIdentity:
    openid: str
    unionid: str | None
    nickname: str | None = None


class IdentityProvider(Protocol):
    async def code2session(self, code: str) -> WeChatIdentity: ...


class SandboxIdentity:
    """``sandbox:<name>`` always logs in the same customer ``<name>`` (the sandbox login picker)."""

    async def code2session(self, code: str) -> WeChatIdentity:
        prefix, _, name = code.partition(":")
        if prefix != "sandbox" or not name or len(name) > 32 or not name.isprintable():
            raise Unauthorized(
                "invalid_login_code", "In sandbox mode the login code is 'sandbox:<name>' (1-32 characters)."
            )
        digest = hashlib.sha256(name.encode()).hexdigest()[:24]
        return WeChatIdentity(openid=f"sbx_{digest}", unionid=None, nickname=name)


class WeChatCode2Session:
    """Live login: ``GET /sns/jscode2session``; the openid is never taken from the client."""

    def __init__(self, base_url: str, appid: str, secret: str, client: httpx.AsyncClient | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._appid = appid
        self._secret = secret
        self._client = client or httpx.AsyncClient(timeout=5.0)

    async def code2session(self, code: str) -> WeChatIdentity:
        try:
            response = await self._client.get(
                f"{self._base_url}/sns/jscode2session",
                params={"appid": self._appid, "secret": self._secret, "js_code": code,
                        "grant_type": "authorization_code"},
            )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BadGateway("wechat_unavailable", "WeChat login is unavailable; try again.") from exc
        errcode = data.get("errcode", 0)
        if errcode in (40029, 40163):
            raise Unauthorized("invalid_login_code", "The login code is invalid or already used.")
        if errcode == 45011:
            raise Unauthorized("login_rate_limited", "Too many logins; wait a minute.")
        if errcode or "openid" not in data:
            raise BadGateway("wechat_login_failed", f"WeChat refused the login (errcode {errcode}).")
        return WeChatIdentity(openid=data["openid"], unionid=data.get("unionid"))
