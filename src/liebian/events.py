"""Domain events: the shared language between modules. Publishers and subscribers import only this."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from liebian.kit.events import Event


@dataclass(frozen=True, kw_only=True)
class PaymentSucceeded(Event):
    payment_id: int
    order_id: int
    out_trade_no: str
    provider: str
    amount_fen: int
    paid_at: datetime


@dataclass(frozen=True, kw_only=True)
class RefundSucceeded(Event):
    refund_id: int
    order_id: int
    out_refund_no: str
    amount_fen: int
    refund_request_id: int | None


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(Event):
    order_id: int
    order_no: str
    customer_id: int
    payable_fen: int
    promotion: dict[str, object] | None = None
    share_code: str | None = None


@dataclass(frozen=True, kw_only=True)
class CustomerIdentified(Event):
    """A customer logged in from a device that may have visited shares anonymously before."""

    customer_id: int
    device_id: str
    is_new: bool


@dataclass(frozen=True, kw_only=True)
class ProductsSearched(Event):
    """The first page of a product search by someone identified: a customer of the shop, or a device."""

    query: str
    customer_id: int | None
    device_id: str | None


@dataclass(frozen=True, kw_only=True)
class OrderPaid(Event):
    order_id: int
    order_no: str
    customer_id: int
    payable_fen: int
    paid_at: datetime
    promotion: dict[str, object] | None = None


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(Event):
    order_id: int
    order_no: str
    customer_id: int
    reason: str
    promotion: dict[str, object] | None = None


@dataclass(frozen=True, kw_only=True)
class OrderShipped(Event):
    order_id: int
    order_no: str
    customer_id: int


@dataclass(frozen=True, kw_only=True)
class OrderRefunded(Event):
    order_id: int
    order_no: str
    customer_id: int
    amount_fen: int
    refunded_total_fen: int
    fully_refunded: bool
    # (order line id, fen refunded from that line by this refund)
    line_amounts: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    promotion: dict[str, object] | None = None


@dataclass(frozen=True, kw_only=True)
class OrderCompleted(Event):
    order_id: int
    order_no: str
    customer_id: int
    completed_at: datetime


@dataclass(frozen=True, kw_only=True)
class GroupSucceeded(Event):
    """A member's group closed successfully: their order moves on to fulfilment (one event per member)."""

    group_id: int
    campaign_id: int
    order_id: int
    order_no: str
    customer_id: int
    completed_by_shop: bool = False


@dataclass(frozen=True, kw_only=True)
class GroupFailed(Event):
    """A member's group did not fill in time: their order is refunded in full (one event per member)."""

    group_id: int
    campaign_id: int
    order_id: int
    order_no: str
    customer_id: int


@dataclass(frozen=True, kw_only=True)
class TransferEnded(Event):
    """A withdrawal's transfer bill reached its final state: ``succeeded`` (paid out) or ``failed`` /
    ``cancelled`` (its amount is back in the customer's balance)."""

    customer_id: int
    out_bill_no: str
    amount_fen: int
    state: str
