"""What stores exchange with modules above them (``fission`` for QR codes, ``orders`` for pickups).

``stores`` sits low in the layers (checkout reads it), so it cannot import either; :mod:`liebian.wiring.stores`
installs adapters for these protocols.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.ports import Port


class CodesPort(Protocol):
    async def create_code(self, session: AsyncSession, shop_id: int, store_id: int, *, table: str | None) -> str:
        """A new share code for the store (or one of its tables) on channel ``offline_qr``."""
        ...


@dataclass(frozen=True)
class PickedUp:
    order_no: str
    status: str
    store_id: int
    pickup_no: int | None
    completed_at: datetime | None


class OrdersPort(Protocol):
    async def picked_up(self, session: AsyncSession, shop_id: int, order_no: str) -> PickedUp:
        """The customer collected this pickup order at its store: it is complete."""
        ...


codes: Port[CodesPort] = Port("fission_unavailable", "Stores are not wired to fission here.")
orders: Port[OrdersPort] = Port("orders_unavailable", "Stores are not wired to orders here.")
