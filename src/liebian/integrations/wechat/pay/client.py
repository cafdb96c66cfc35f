"""The WeChat Pay v3 transport: sign each request, verify each response (wechat.md §2.2, §2.3).

The body is serialised once and those exact bytes are both signed and sent; the URL is signed exactly
as sent. A 2xx answer without a valid signature is treated as forged. Log lines name the method, path
template and status only: never a body, an openid, the Authorization header or a key.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.config import PayConfig
from liebian.integrations.wechat.errors import SignatureError, WeChatPayError

log = logging.getLogger("liebian.wechat.pay")
_WORD = re.compile(r"v3|[a-z][a-z_-]*")

Clock = Callable[[], float]
T = TypeVar("T")


@dataclass(frozen=True)
class PayResponse:
    status: int
    data: dict[str, Any]


def path_segment(value: str) -> str:
    return quote(value, safe="")


class PayClient:
    def __init__(self, config: PayConfig, http: httpx.AsyncClient, now: Clock = time.time) -> None:
        self.config = config
        self._http = http
        self._now = now

    def now(self) -> float:
        return self._now()

    async def request(self, method: str, path: str, *, query: Mapping[str, str] | None = None,
                      body: Mapping[str, Any] | None = None) -> PayResponse:
        """One signed call; raises ``WeChatPayError`` for error answers and unreachable WeChat."""
        url = path + ("?" + urlencode(query) if query else "")
        payload = "" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        timestamp, nonce = str(int(self._now())), crypto.nonce_str()
        headers = {
            "Authorization": crypto.build_authorization(
                mchid=self.config.mchid, serial_no=self.config.merchant_serial, key=self.config.merchant_key,
                method=method, url=url, body=payload, timestamp=timestamp, nonce=nonce),
            "Accept": "application/json",
            "Wechatpay-Serial": self.config.wechatpay_serial,
            "User-Agent": "liebian-wechatpay/1",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(method, self.config.base_url + url, headers=headers,
                                                content=payload.encode() if body is not None else None)
        except httpx.HTTPError as exc:
            log.warning("wechat pay %s %s unreachable: %s", method, _template(path), type(exc).__name__)
            raise WeChatPayError(0, "NETWORK_ERROR", "WeChat Pay could not be reached",
                                 outcome_unknown=True) from exc
        log.info("wechat pay %s %s -> %s", method, _template(path), response.status_code)
        return self._checked(response)

    def _checked(self, response: httpx.Response) -> PayResponse:
        raw = response.content
        if response.status_code >= 500:
            code, message = _error(raw)
            raise WeChatPayError(response.status_code, code or "SYSTEM_ERROR", message, outcome_unknown=True)
        if response.status_code >= 400:
            code, message = _error(raw)
            raise WeChatPayError(response.status_code, code or "UNKNOWN", message)
        try:
            crypto.verify_response(response.headers, raw, self.config.verifiers, self._now())
        except SignatureError as exc:
            log.error("wechat pay answer rejected: %s", exc.reason)
            # The call may have been carried out at WeChat: treat the outcome as unknown.
            raise WeChatPayError(response.status_code, "INVALID_SIGNATURE",
                                 f"the answer's signature was rejected ({exc.reason})", outcome_unknown=True) from exc
        if not raw:
            return PayResponse(response.status_code, {})
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise WeChatPayError(response.status_code, "INVALID_RESPONSE", "the answer is not JSON",
                                 outcome_unknown=True) from exc
        if not isinstance(data, dict):
            raise WeChatPayError(response.status_code, "INVALID_RESPONSE", "the answer is not a JSON object",
                                 outcome_unknown=True)
        return PayResponse(response.status_code, data)

    @staticmethod
    def field(data: Mapping[str, Any], key: str, kind: type[T]) -> T:
        """A field of a verified answer, of the type WeChat documents; anything else is a malformed answer."""
        value = data.get(key)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise WeChatPayError(200, "INVALID_RESPONSE", f"the answer's {key!r} is missing or malformed",
                                 outcome_unknown=True)
        return value


def _error(raw: bytes) -> tuple[str, str]:
    try:
        data = json.loads(raw)
    except ValueError:
        return "", raw[:200].decode(errors="replace")
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("code", "")), str(data.get("message", ""))


def _template(path: str) -> str:
    """The path with identifiers cut, so logs carry no order or bill numbers tied to a person."""
    return "/".join(p if _WORD.fullmatch(p) else "…" for p in path.split("/"))
