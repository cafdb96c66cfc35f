"""What the flash sale exchanges with ``orders``, adapted by the composition root (``liebian.wiring.flashsale``).

This module sits beside ``orders`` in the layers, so it cannot import it: the queue drain places its orders
through :class:`OrdersPort` (``orders.checkout.place_order`` underneath, so a queued entry becomes exactly the
order ``POST orders`` would make), and ``liebian check`` counts live flash-sale orders through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.ports import Port
from liebian.shops.service import ShopRef


@dataclass(frozen=True)
class LiveUnits:
    campaign_id: int
    customer_id: int
    units: int  # in orders not cancelled


class OrdersPort(Protocol):
    async def place(self, session: AsyncSession, shop: ShopRef, customer_id: int, *, campaign_id: int, sku_id: int,
                    quantity: int, address: dict[str, Any], payment_method: str) -> dict[str, Any]:
        """Place a flash-sale order (checkout's answer: order_no, status, payable_fen, payment ...). Refusals
        raise the same problems as ``POST orders``."""
        ...

    async def live_units(self, session: AsyncSession) -> list[LiveUnits]:
        """Units of flash-sale orders that are not cancelled, per campaign and customer (every shop)."""
        ...


orders: Port[OrdersPort] = Port("orders_unavailable", "The flash sale is not wired to orders in this process.")
