"""What stores exchange with modules above them (``fission`` for QR codes, ``orders`` for pickups).

``stores`` sits low in the layers (checkout reads it), so it cannot import either; :mod:`liebian.wiring.stores`
installs adapters for these protocols.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.errors import ServiceUnavailable


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


P = TypeVar("P")


class _Holder(Generic[P]):
    def __init__(self, what: str) -> None:
        self._what = what
        self._port: P | None = None

    def install(self, port: P) -> None:
        self._port = port

    def get(self) -> P:
        if self._port is None:
            raise ServiceUnavailable(f"{self._what}_unavailable", f"Stores are not wired to {self._what} here.")
        return self._port


codes: _Holder[CodesPort] = _Holder("fission")
orders: _Holder[OrdersPort] = _Holder("orders")
