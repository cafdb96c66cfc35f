"""FakeWeChat: a stateful, offline stand-in for WeChat Pay v3 and the mini-program OpenAPI.

It checks every Pay request as WeChat does (scheme, mchid, serial, ±300 s timestamp, RSA signature
over the exact bytes), signs every answer, keeps state with an injectable clock, and delivers real
notifications (AES-256-GCM with the APIv3 key, signed with WeChat Pay's key) to ``notify_url``,
retrying on WeChat's schedule. Test controls can drop, duplicate, delay or tamper callbacks, send
signature probes and fail the next call. Domain routes live in sibling modules (``pay``,
``openapi``, ``profitsharing``, ``transfers``) and register themselves on this core.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.errors import SignatureError
from liebian.integrations.wechat.fake.credentials import SandboxCredentials
from liebian.integrations.wechat.pay.transactions import rfc3339

log = logging.getLogger("liebian.wechat.fake")

# WeChat's notification retry schedule (wechat.md §2.6): 15 tries over 24 h 4 min.
RETRY_SCHEDULE = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
SignerMode = Literal["public_key", "certificate", "migration"]


Books = TypeVar("Books")


class FakeError(Exception):
    """An error answer of the fake, shaped like WeChat's ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def require(condition: bool, message: str, code: str = "PARAM_ERROR") -> None:
    """A Pay v3 parameter check: 400 with WeChat's ``{"code", "message"}`` when it fails."""
    if not condition:
        raise FakeError(400, code, message)


def check_notify_url(url: Any) -> str:
    """≤255 characters, https, no query; plain http only to this machine, so a laptop can run the fake."""
    require(isinstance(url, str) and 0 < len(url) <= 255, "notify_url 格式错误")
    parts = urlsplit(str(url))
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"} or (parts.hostname or "").endswith(".local")
    require(parts.scheme == "https" or (parts.scheme == "http" and loopback), "notify_url 必须为 https")
    require(not parts.query, "notify_url 不能携带参数")
    return str(url)


@dataclass
class Delivery:
    event_id: str
    url: str
    body: bytes
    next_at: float
    attempts: int = 0
    tamper: bool = False
    copies: int = 1
    done: bool = False
    sending: bool = False
    outcomes: list[int] = field(default_factory=list)


@dataclass
class Controls:
    """Test switches; each applies to the next matching action and then clears itself."""

    drop_callbacks: int = 0
    duplicate_callbacks: int = 0  # extra copies, delivered concurrently
    delay_callbacks_seconds: float = 0.0
    tamper_callbacks: int = 0
    fail_calls: list[tuple[int, bool]] = field(default_factory=list)  # (status, after_processing)


@dataclass
class VerifiedRequest:
    method: str
    url: str
    body_text: str
    data: dict[str, Any]
    wechatpay_serial: str | None


Handler = Callable[["FakeWeChat", VerifiedRequest, dict[str, str]], Awaitable[tuple[int, dict[str, Any] | None]]]


class FakeWeChat:
    def __init__(self, credentials: SandboxCredentials | None = None, *, now: Callable[[], float] = time.time,
                 notify_http: httpx.AsyncClient | None = None, signer_mode: SignerMode = "public_key") -> None:
        self.credentials = credentials or SandboxCredentials.generate()
        self.now = now
        self.notify_http = notify_http
        self.signer_mode: SignerMode = signer_mode
        self.controls = Controls()
        self.deliveries: list[Delivery] = []
        self.calls: list[VerifiedRequest] = []  # every verified Pay request, for differential tests
        self.state: dict[str, dict[str, Any]] = {}  # per-domain tables, keyed by the domain module
        self._tick_hooks: list[Callable[[], Awaitable[None]]] = []
        self._lock = asyncio.Lock()
        self._routes: list[BaseRoute] = []
        from liebian.integrations.wechat.fake import controls, openapi, pay, profitsharing, transfers

        for module in (pay, profitsharing, transfers, openapi, controls):
            module.install(self)
        self.app = Starlette(routes=self._routes)

    # --- composition ---
    def add_routes(self, routes: list[BaseRoute]) -> None:
        self._routes.extend(routes)

    def on_tick(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._tick_hooks.append(hook)

    def table(self, name: str) -> dict[str, Any]:
        return self.state.setdefault(name, {})

    def books(self, name: str, kind: type[Books]) -> Books:
        """A domain module's state object, made on first use."""
        table = self.table(name)
        found = table.get("books")
        if not isinstance(found, kind):
            found = kind()
            table["books"] = found
        return found

    def pay_endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a Pay v3 handler: verify the request, apply fail-next, serialise and sign the answer."""

        async def endpoint(request: Request) -> Response:
            try:
                verified = await self.verify_request(request)
            except FakeError as exc:
                return self.error(exc)
            failure = self.controls.fail_calls.pop(0) if self.controls.fail_calls else None
            if failure is not None and not failure[1]:
                return self.error(FakeError(failure[0], "SYSTEM_ERROR", "系统错误 (injected)"))
            self.calls.append(verified)
            try:
                async with self._lock:
                    status, data = await handler(self, verified, dict(request.path_params))
            except FakeError as exc:
                return self.error(exc)
            if failure is not None:  # processed, then the answer is lost: the caller must query
                return self.error(FakeError(failure[0], "SYSTEM_ERROR", "系统错误 (injected, after processing)"))
            return self.signed(status, data, verified.wechatpay_serial)

        return endpoint

    # --- request verification (wechat.md §2.2) ---
    async def verify_request(self, request: Request) -> VerifiedRequest:
        raw = await request.body()
        url = request.scope["raw_path"].decode()
        if request.scope.get("query_string"):
            url += "?" + request.scope["query_string"].decode()
        header = request.headers.get("authorization", "")
        try:
            auth = crypto.parse_authorization(header)
            crypto.check_timestamp(auth.timestamp, self.now())
        except SignatureError as exc:
            raise FakeError(401, "SIGN_ERROR", f"签名错误: {exc.reason}") from exc
        creds = self.credentials
        if auth.mchid != creds.mchid:
            raise FakeError(401, "SIGN_ERROR", "商户号与签名不匹配 (mchid)")
        if auth.serial_no != creds.merchant_serial:
            raise FakeError(401, "SIGN_ERROR", "商户证书序列号有误 (serial_no)")
        try:
            body_text = raw.decode()
        except UnicodeDecodeError as exc:
            raise FakeError(400, "PARAM_ERROR", "body is not UTF-8") from exc
        message = crypto.request_message(request.method, url, auth.timestamp, auth.nonce_str, body_text)
        if not crypto.rsa_verify(creds.merchant_public_key, message, auth.signature):
            raise FakeError(401, "SIGN_ERROR", "签名错误 (signature does not verify)")
        data: dict[str, Any] = {}
        if body_text:
            try:
                parsed = json.loads(body_text)
            except ValueError as exc:
                raise FakeError(400, "PARAM_ERROR", "body is not JSON") from exc
            if not isinstance(parsed, dict):
                raise FakeError(400, "PARAM_ERROR", "body is not a JSON object")
            data = parsed
        return VerifiedRequest(request.method, url, body_text, data, request.headers.get("wechatpay-serial"))

    # --- answers ---
    def _signer(self, requested_serial: str | None) -> tuple[str, Any]:
        creds = self.credentials
        if self.signer_mode == "certificate":
            serial = creds.certificate_serial
        elif self.signer_mode == "migration":
            serial = random.choice([creds.public_key_id, creds.certificate_serial])
        else:
            serial = creds.public_key_id
        if requested_serial in (creds.public_key_id, creds.certificate_serial) and self.signer_mode != "migration":
            serial = requested_serial  # responses follow the serial the caller asked for
        return serial, creds.signing_key(serial)

    def sign_headers(self, body: bytes, requested_serial: str | None = None) -> dict[str, str]:
        serial, key = self._signer(requested_serial)
        return crypto.sign_response(key, serial, body, str(int(self.now())), crypto.nonce_str())

    def signed(self, status: int, data: dict[str, Any] | None, requested_serial: str | None = None) -> Response:
        body = b"" if data is None else json.dumps(data, ensure_ascii=False).encode()
        headers = self.sign_headers(body, requested_serial)
        headers["Request-ID"] = uuid.uuid4().hex
        return Response(body, status_code=status, headers=headers,
                        media_type=None if data is None else "application/json")

    def error(self, exc: FakeError) -> Response:
        body = json.dumps({"code": exc.code, "message": exc.message}, ensure_ascii=False).encode()
        return Response(body, status_code=exc.status, media_type="application/json",
                        headers=self.sign_headers(body) if exc.status < 500 else {})

    # --- notifications (wechat.md §2.6) ---
    def envelope(self, event_type: str, original_type: str, summary: str,
                 resource: dict[str, Any]) -> tuple[str, bytes]:
        """A notification (its event id, its body): the resource sealed with AES-256-GCM under the APIv3 key."""
        nonce = secrets.token_urlsafe(9)[:12]
        plaintext = json.dumps(resource, ensure_ascii=False)
        event_id = "EV-" + uuid.uuid4().hex[:24]
        return event_id, json.dumps({
            "id": event_id, "create_time": rfc3339_at(self.now()),
            "resource_type": "encrypt-resource", "event_type": event_type, "summary": summary,
            "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": crypto.aes_gcm_encrypt(self.credentials.apiv3_key, plaintext, nonce,
                                                              original_type),
                         "associated_data": original_type, "nonce": nonce},
        }, ensure_ascii=False).encode()

    def signed_notification(self, event_type: str, original_type: str, summary: str,
                            resource: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """Headers and body of one delivery, signed now (for tests that post it themselves)."""
        _, body = self.envelope(event_type, original_type, summary, resource)
        return {**self.sign_headers(body), "Content-Type": "application/json"}, body

    def notify(self, url: str, event_type: str, original_type: str, summary: str, resource: dict[str, Any]) -> str:
        """Queue a notification; it goes out on the next ``tick()``/``deliver_due()`` (or later, per controls)."""
        event_id, body = self.envelope(event_type, original_type, summary, resource)
        if self.controls.drop_callbacks:
            self.controls.drop_callbacks -= 1
            log.info("fake wechat: dropped notification %s", event_type)
            return event_id
        delivery = Delivery(event_id, url, body, self.now() + self.controls.delay_callbacks_seconds)
        self.controls.delay_callbacks_seconds = 0.0
        if self.controls.tamper_callbacks:
            self.controls.tamper_callbacks -= 1
            delivery.tamper = True
        if self.controls.duplicate_callbacks:
            delivery.copies += self.controls.duplicate_callbacks
            self.controls.duplicate_callbacks = 0
        self.deliveries.append(delivery)
        return event_id

    async def deliver_due(self) -> int:
        """Send every notification whose time has come; failed ones wait for their next retry."""
        due = [d for d in self.deliveries if not (d.done or d.sending) and d.next_at <= self.now()]
        for delivery in due:
            delivery.sending = True  # concurrent tickers must not send the same attempt twice
            try:
                await self._attempt(delivery)
            finally:
                delivery.sending = False
        return len(due)

    async def _attempt(self, delivery: Delivery) -> None:
        headers = self.sign_headers(delivery.body)
        body = delivery.body
        if delivery.tamper:  # altered after signing, as by someone on the path; the retry is genuine
            body = body.replace(b'"summary": "', b'"summary": "tampered ', 1)
            delivery.tamper = False
        headers["Content-Type"] = "application/json"
        copies, delivery.copies = delivery.copies, 1
        statuses = await asyncio.gather(*(self._post(delivery.url, headers, body) for _ in range(copies)))
        delivery.outcomes.extend(statuses)
        delivery.attempts += 1
        if any(200 <= s < 300 for s in statuses):
            delivery.done = True
        elif delivery.attempts > len(RETRY_SCHEDULE):
            delivery.done = True  # WeChat gives up; the merchant must query
        else:
            delivery.next_at = self.now() + RETRY_SCHEDULE[delivery.attempts - 1]

    async def _post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        if self.notify_http is None:  # one client for every delivery (a fake run as its own server)
            self.notify_http = httpx.AsyncClient(timeout=5.0)
        return await self._send(self.notify_http, url, headers, body)

    @staticmethod
    async def _send(client: httpx.AsyncClient, url: str, headers: dict[str, str], body: bytes) -> int:
        try:
            return (await client.post(url, headers=headers, content=body)).status_code
        except httpx.HTTPError:
            return 0

    async def send_probe(self, url: str) -> int:
        """A signature probe (``WECHATPAY/SIGNTEST/``) that a correct merchant must reject."""
        body = json.dumps({"id": "EV-PROBE-" + uuid.uuid4().hex[:8], "event_type": "TRANSACTION.SUCCESS",
                           "resource": {}}).encode()
        headers = self.sign_headers(body)
        headers["Wechatpay-Signature"] = crypto.PROBE_PREFIX + headers["Wechatpay-Signature"]
        headers["Content-Type"] = "application/json"
        return await self._post(url, headers, body)

    async def tick(self) -> int:
        """Advance background work to ``now``: state machines first, then notifications."""
        async with self._lock:
            for hook in self._tick_hooks:
                await hook()
        return await self.deliver_due()

    def inject_failure(self, status: int = 500, *, after_processing: bool = False, count: int = 1) -> None:
        self.controls.fail_calls.extend([(status, after_processing)] * count)


def rfc3339_at(seconds: float) -> str:
    return rfc3339(dt.datetime.fromtimestamp(seconds, dt.UTC))
