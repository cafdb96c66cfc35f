"""What group buying exchanges with ``orders``, adapted by the composition root.

This module sits beside ``orders`` in the layers (``orders`` must not know promotions by name, and a
promotion must not reach into another module's tables), so it cannot import it: ``liebian.wiring``
registers the price source with checkout by translating :class:`SeatRequest` / :class:`SeatQuote` to
and from ``orders.pricing``, and installs an :class:`OrdersPort` over the orders service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.ports import Port


@dataclass(frozen=True)
class CartItem:
    sku_id: int
    product_id: int
    quantity: int
    list_price_fen: int


@dataclass(frozen=True)
class SeatRequest:
    """A checkout asking for a group-buy price (``orders.pricing.PricingContext``)."""

    shop_id: int
    customer_id: int
    now: datetime
    items: tuple[CartItem, ...]
    params: dict[str, Any]  # the request's ``promotion`` object


@dataclass(frozen=True)
class SeatQuote:
    """The answer (``orders.pricing.Quote``): one price per item, and the seat taken, named on the order."""

    prices: tuple[tuple[int, int], ...]  # (unit price, line discount) per item
    record: dict[str, Any] = field(default_factory=dict)
    payment_methods: frozenset[str] = frozenset({"wechat"})
    fulfilment_hold: str | None = None


class OrdersPort(Protocol):
    async def release_holds(self, session: AsyncSession, shop_id: int, order_ids: list[int]) -> int:
        """The group filled: these paid orders may ship."""
        ...

    async def refund(self, session: AsyncSession, shop_id: int, order_id: int, *, amount_fen: int | None,
                     reason: str) -> None:
        """Give money back through the payment provider now: all of it (``None``) or ``amount_fen``."""
        ...

    async def cancel_unpaid(self, session: AsyncSession, shop_id: int, order_id: int, *, reason: str) -> bool:
        """Cancel an order whose payment has not come (its seat was given up); False if it cannot be."""
        ...


orders: Port[OrdersPort] = Port("orders_unavailable", "Group buying is not wired to orders in this process.")
