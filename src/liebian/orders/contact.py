"""The phone number in an order's address snapshot: sealed when the order is placed, masked in every answer
(the buyer's and the console's), read in clear only where delivery needs it: WeChat's shipping upload and the
console's "contact" view, each look by staff written to the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit import audit, crypto
from liebian.kit.errors import not_found
from liebian.kit.sql import text
from liebian.kit.web import DbSession, StaffClaims
from liebian.orders.schemas import OrderOut
from liebian.shops.deps import ConsoleShop

console = APIRouter(prefix="/api/v1/console", tags=["console: orders"])
OrderNo = Annotated[str, Path(min_length=1, max_length=32)]


def context(shop_id: int, customer_id: int) -> str:
    return f"order:{shop_id}:{customer_id}"


def seal(shop_id: int, customer_id: int, address: dict[str, Any]) -> dict[str, Any]:
    return crypto.vault().seal_contact(address, context(shop_id, customer_id))


def public(address: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if address is None else crypto.public_contact(address)


def phone_hash(order: OrderOut) -> bytes | None:
    """The keyed hash of the order's phone (alt-account checks), never the number."""
    found = (order._stored_address or {}).get("phone_hash")
    return bytes.fromhex(found) if isinstance(found, str) else None


def receiver_phone_of(shop_id: int, order: OrderOut) -> str | None:
    """The phone in clear, for the shipping upload (which masks it again before it leaves); no statement."""
    stored = order._stored_address
    if stored is None:
        return None
    try:
        phone = crypto.vault().open_contact(stored, context(shop_id, order._buyer_id)).get("phone")
    except ValueError:
        return None
    return phone if isinstance(phone, str) and "****" not in phone else None


async def _stored(session: AsyncSession, shop_id: int, order_no: str) -> Any:
    row = (await session.execute(text(
        "SELECT id, order_no, customer_id, address FROM orders WHERE shop_id = :s AND order_no = :no"),
        {"s": shop_id, "no": order_no})).first()
    if row is None:
        raise not_found("order")
    return row


def _opened(shop_id: int, row: Any) -> dict[str, Any] | None:
    if row.address is None:
        return None
    try:
        return crypto.vault().open_contact(row.address, context(shop_id, row.customer_id))
    except ValueError:  # sealed under a key this process no longer has: masked, never an error
        return crypto.public_contact(row.address)


class ContactOut(BaseModel):
    order_no: str
    address: dict[str, Any] | None


@console.get("/orders/{order_no}/contact", response_model=ContactOut)
async def order_contact(order_no: OrderNo, shop: ConsoleShop, claims: StaffClaims,
                        session: DbSession) -> ContactOut:
    """The order's address with the phone number in clear, to hand to a courier. Every call is audited
    (``pii_revealed``): order pages show the number masked."""
    row = await _stored(session, shop.id, order_no)
    await audit.record(session, audit.Event(shop_id=shop.id, kind=audit.PII_REVEALED, reason="order_contact",
                                            actor=f"staff:{claims.subject_id}", target=f"order:{row.order_no}"))
    return ContactOut(order_no=row.order_no, address=_opened(shop.id, row))
