"""The payment-provider interface, cash on delivery, and the registry.

The WeChat Pay v3 provider (``payments/wechat.py``) implements the same protocol (wechat.md §8).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from liebian.kit.errors import ServiceUnavailable, Unauthorized


class AlreadyPaid(Exception):
    """Closing failed because the payer paid first (WeChat's ORDERPAID): query and record the payment."""


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
    """``abnormal``: WeChat could not pay the refund into the payer's account; not final, money is held."""

    out_refund_no: str
    status: Literal["processing", "succeeded", "failed", "abnormal"]
    provider_refund_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class PaymentSnapshot:
    out_trade_no: str
    paid: bool
    state: str
    amount_fen: int
    provider_txn_id: str | None
    paid_at: datetime | None


EventKind = Literal["payment.succeeded", "refund.succeeded", "refund.closed", "refund.abnormal", "transfer.finished"]


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
    async def query(self, out_trade_no: str) -> PaymentSnapshot | None: ...
    async def refund(self, req: RefundCommand) -> RefundSnapshot: ...
    async def query_refund(self, out_refund_no: str) -> RefundSnapshot: ...
    def parse_notification(self, headers: Mapping[str, str], raw: bytes) -> ProviderEvent: ...


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

    async def query(self, out_trade_no: str) -> PaymentSnapshot | None:
        return None

    async def refund(self, req: RefundCommand) -> RefundSnapshot:
        return RefundSnapshot(out_refund_no=req.out_refund_no, status="succeeded",
                              provider_refund_id=f"offline-{req.out_refund_no}")

    async def query_refund(self, out_refund_no: str) -> RefundSnapshot:
        return RefundSnapshot(out_refund_no=out_refund_no, status="succeeded",
                              provider_refund_id=f"offline-{out_refund_no}")

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

    @contextmanager
    def preserved(self) -> Iterator[None]:
        """For tests that build a second app in one process: the first app's providers come back after."""
        saved = dict(self._by_method), dict(self._by_name)
        try:
            yield
        finally:
            self._by_method, self._by_name = saved


registry = ProviderRegistry()
