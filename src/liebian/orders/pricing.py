"""The price-source seam: how group buy, bargain, flash sale and coupons plug into checkout.

``orders`` knows no promotion by name. A promotion module registers a :class:`PriceSource` under its
``kind``; checkout asks it for a :class:`Quote` (per-line prices and discounts, allowed payment
methods, whether it holds its own stock) and tells it once the order row exists, in the same
transaction, so that a slot or a campaign unit is taken together with the order or not at all.

A coupon (``coupon_id`` on the order) is one more source, registered under :data:`COUPON`, asked after
the promotion: its context carries the promotion's prices in ``base`` (or the list prices) and the
promotion's kind, and its quote's ``discount_fen`` is the coupon's own discount on each line, on top of
the promotion's. Its ``record`` joins the order's ``promotion`` (``coupon_id``, ``coupon_discount_fen``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class CartLine:
    sku_id: int
    product_id: int
    quantity: int
    list_price_fen: int


@dataclass(frozen=True)
class LinePrice:
    unit_price_fen: int
    discount_fen: int = 0


@dataclass(frozen=True)
class PricingContext:
    shop_id: int
    customer_id: int
    now: datetime
    lines: tuple[CartLine, ...]
    params: dict[str, Any]  # the request's ``promotion`` object (or ``{"coupon_id": ...}``)
    # For the coupon source only: the prices the promotion quoted (empty: list prices) and its kind.
    base: tuple[LinePrice, ...] = ()
    promotion_kind: str | None = None


@dataclass(frozen=True)
class Quote:
    lines: tuple[LinePrice, ...]
    # Stored on the order and shown back (``promotion`` in API.md); kind is added by checkout.
    record: dict[str, Any] = field(default_factory=dict)
    payment_methods: frozenset[str] | None = None
    takes_sku_stock: bool = True
    # Not to be shipped until the promotion says so (a group that is not full yet): why, shown to the shop.
    # The promotion lifts it through ``orders``' ``release_holds``; refunds wait for it too.
    fulfilment_hold: str | None = None


@dataclass(frozen=True)
class PlacedOrder:
    order_id: int
    order_no: str
    payable_fen: int


class PriceSource(Protocol):
    kind: str

    async def quote(self, session: AsyncSession, ctx: PricingContext) -> Quote: ...

    async def on_placed(self, session: AsyncSession, ctx: PricingContext, quote: Quote, order: PlacedOrder) -> None:
        ...


COUPON = "coupon"  # the kind the coupon source registers under (``coupon_id`` on the order, not ``promotion``)
_sources: dict[str, PriceSource] = {}


def register_price_source(source: PriceSource) -> None:
    _sources[source.kind] = source


def unregister_price_source(kind: str) -> None:
    _sources.pop(kind, None)


def price_source(kind: str) -> PriceSource | None:
    return _sources.get(kind)
