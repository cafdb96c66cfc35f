"""The payment-provider interface and the providers that need no outside service.

The WeChat Pay v3 provider implements the same protocol (``../shared/reference/wechat.md`` §8).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from liebian.kit.clock import clock
from liebian.kit.errors import ServiceUnavailable, Unauthorized

NOTIFICATION_MAX_SKEW_SECONDS = 300


class Capability(StrEnum):
    ONLINE = "online"
    REFUND = "refund"
    ASYNC_NOTIFY = "async_notify"
    PROFIT_SHARING = "profit_sharing"


@dataclass(frozen=True)
class CreatePayment:
    out_trade_no: str
    amount_fen: int
    description: str
    payer_openid: str | None
    expires_at: datetime | None
    attach: str = ""


@dataclass(frozen=True)
class PaymentIntent:
    provider: str
    out_trade_no: str
    client_params: dict[str, Any]


@dataclass(frozen=True)
class RefundCommand:
    out_trade_no: str
    out_refund_no: str
    refund_fen: int
    total_fen: int
    reason: str


@dataclass(frozen=True)
class RefundSnapshot:
    out_refund_no: str
    status: Literal["processing", "succeeded", "failed"]
    provider_refund_id: str | None = None


EventKind = Literal["payment.succeeded", "refund.succeeded", "refund.closed", "refund.abnormal"]


@dataclass(frozen=True)
class ProviderEvent:
    kind: EventKind
    event_id: str
    business_key: str  # out_trade_no for payments, out_refund_no for refunds
    amount_fen: int
    merchant_id: str
    provider_txn_id: str | None
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(Protocol):
    name: str
    merchant_id: str
    capabilities: frozenset[Capability]

    async def create(self, req: CreatePayment) -> PaymentIntent: ...
    async def close(self, out_trade_no: str) -> None: ...
    async def refund(self, req: RefundCommand) -> RefundSnapshot: ...
    def parse_notification(self, headers: Mapping[str, str], raw: bytes) -> ProviderEvent: ...


class SandboxProvider:
    """Online payment in sandbox mode: the payer "pays" through ``sandbox/wechat/payments/{no}/succeed``.

    Notifications are signed (HMAC-SHA256 over timestamp, nonce and body) and checked for freshness
    like WeChat's, so the callback path is exercised for real.
    """

    name = "sandbox"
    capabilities = frozenset({Capability.ONLINE, Capability.REFUND, Capability.ASYNC_NOTIFY})

    def __init__(self, secret: str, merchant_id: str = "sandbox-mch") -> None:
        self._key = hashlib.sha256(("sandbox-pay:" + secret).encode()).digest()
        self.merchant_id = merchant_id

    async def create(self, req: CreatePayment) -> PaymentIntent:
        nonce = secrets.token_hex(16)
        timestamp = str(int(clock.now().timestamp()))
        package = f"prepay_id=sbx{secrets.token_hex(12)}"
        return PaymentIntent(
            provider=self.name,
            out_trade_no=req.out_trade_no,
            client_params={
                "timeStamp": timestamp,
                "nonceStr": nonce,
                "package": package,
                "signType": "HMAC-SHA256",
                "paySign": self._sign(f"{timestamp}\n{nonce}\n{package}\n"),
                "sandbox_pay_url": f"/api/v1/sandbox/wechat/payments/{req.out_trade_no}/succeed",
            },
        )

    async def close(self, out_trade_no: str) -> None:
        return None

    async def refund(self, req: RefundCommand) -> RefundSnapshot:
        return RefundSnapshot(out_refund_no=req.out_refund_no, status="succeeded",
                              provider_refund_id=f"sbxr{secrets.token_hex(10)}")

    def notification(self, kind: EventKind, business_key: str, amount_fen: int,
                     provider_txn_id: str | None = None) -> tuple[dict[str, str], bytes]:
        """A signed notification as the provider would deliver it (headers, raw body)."""
        body = json.dumps({
            "id": secrets.token_hex(16), "event_type": kind, "business_key": business_key,
            "amount_fen": amount_fen, "mchid": self.merchant_id,
            "transaction_id": provider_txn_id or f"sbxt{secrets.token_hex(12)}",
            "success_time": clock.now().isoformat(),
        }).encode()
        timestamp, nonce = str(int(clock.now().timestamp())), secrets.token_hex(16)
        headers = {"Liebian-Sandbox-Timestamp": timestamp, "Liebian-Sandbox-Nonce": nonce,
                   "Liebian-Sandbox-Signature": self._sign(f"{timestamp}\n{nonce}\n{body.decode()}\n")}
        return headers, body

    def parse_notification(self, headers: Mapping[str, str], raw: bytes) -> ProviderEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        timestamp = lowered.get("liebian-sandbox-timestamp", "")
        nonce = lowered.get("liebian-sandbox-nonce", "")
        signature = lowered.get("liebian-sandbox-signature", "")
        try:
            expected = self._sign(f"{timestamp}\n{nonce}\n{raw.decode()}\n")
            fresh = abs(clock.now().timestamp() - int(timestamp)) <= NOTIFICATION_MAX_SKEW_SECONDS
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unauthorized("invalid_notification", "The notification could not be verified.") from exc
        if not hmac.compare_digest(expected, signature) or not fresh:
            raise Unauthorized("invalid_notification_signature", "The notification signature is not valid.")
        return ProviderEvent(
            kind=data["event_type"], event_id=data["id"], business_key=data["business_key"],
            amount_fen=int(data["amount_fen"]), merchant_id=data["mchid"],
            provider_txn_id=data.get("transaction_id"),
            occurred_at=datetime.fromisoformat(data["success_time"]), payload=data,
        )

    def _sign(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()


class CashOnDeliveryProvider:
    """Cash on delivery: confirmed unpaid; the shop marks the cash collected; refunds are paid offline."""

    name = "cod"
    merchant_id = "offline"
    capabilities = frozenset({Capability.REFUND})

    async def create(self, req: CreatePayment) -> PaymentIntent:
        return PaymentIntent(provider=self.name, out_trade_no=req.out_trade_no,
                             client_params={"method": "cod", "amount_fen": req.amount_fen})

    async def close(self, out_trade_no: str) -> None:
        return None

    async def refund(self, req: RefundCommand) -> RefundSnapshot:
        return RefundSnapshot(out_refund_no=req.out_refund_no, status="succeeded",
                              provider_refund_id=f"offline-{req.out_refund_no}")

    def parse_notification(self, headers: Mapping[str, str], raw: bytes) -> ProviderEvent:
        raise Unauthorized("notifications_not_supported", "Cash on delivery sends no notifications.")


class ProviderRegistry:
    """Payment method (``wechat``, ``cod``) → provider; provider name → provider for callbacks."""

    def __init__(self) -> None:
        self._by_method: dict[str, PaymentProvider] = {}
        self._by_name: dict[str, PaymentProvider] = {}

    def install(self, method: str, provider: PaymentProvider) -> None:
        self._by_method[method] = provider
        self._by_name[provider.name] = provider

    def for_method(self, method: str) -> PaymentProvider:
        provider = self._by_method.get(method)
        if provider is None:
            raise ServiceUnavailable("payment_method_unavailable",
                                     f"Payment by '{method}' is not configured on this deployment.")
        return provider

    def by_name(self, name: str) -> PaymentProvider | None:
        return self._by_name.get(name)


registry = ProviderRegistry()
