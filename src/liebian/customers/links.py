"""Accounts that are one person: the devices and phone numbers each customer of a shop was seen with.

A device (the mini-program's or the H5 page's device id) is remembered at login and whenever a help or a claim
names one; a phone number (its keyed lookup hash, never the number) when an address is saved, a phone is bound
or an order is paid. Two customers who share a device or a phone, directly or through one other account (A and
B on one phone, B and C on one device: A and C are linked), are treated as one person where it matters: nobody
earns a commission or a rebate on their own alt account's purchase, helps their own bargain or claims a second
part of one red packet. Each refusal is audited by the caller.

A household sharing one phone is linked too: that is the price of refusing phone farms, and the audit trail
(``GET /api/v1/console/audit``) shows the merchant every such refusal.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Index, LargeBinary, String, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from liebian.events import CustomerIdentified
from liebian.kit.clock import clock
from liebian.kit.db import Base

DEVICE, PHONE = "device", "phone"


class CustomerIdentifier(Base):
    __tablename__ = "customer_identifiers"
    __table_args__ = (Index("ix_customer_identifiers_customer", "shop_id", "customer_id"),)

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)  # sha256(device id) or the phone's HMAC
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(nullable=False)


def device_value(device_id: str) -> bytes:
    return hashlib.sha256(b"device:" + device_id.encode()).digest()


def _given(device_id: str | None, phone_hash: bytes | None) -> tuple[list[str], list[bytes]]:
    pairs = ([(DEVICE, device_value(device_id))] if device_id else []) + ([(PHONE, phone_hash)] if phone_hash else [])
    return [k for k, _ in pairs], [v for _, v in pairs]


_REMEMBER = (
    "INSERT INTO customer_identifiers (shop_id, kind, value, customer_id, first_seen_at, last_seen_at) "
    "SELECT :s, k, v, :c, :now, :now FROM unnest(CAST(:kinds AS text[]), CAST(:vals AS bytea[])) AS g(k, v) "
    "ON CONFLICT (shop_id, kind, value, customer_id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at")

# Remember what this request showed, then find which of :others share a device or phone with the customer,
# directly (hop 1) or through one other account (hop 2); what was just given counts at once.
_LINKED = text(
    f"WITH rec AS ({_REMEMBER}), "
    "given AS (SELECT k AS kind, v AS value FROM unnest(CAST(:kinds AS text[]), CAST(:vals AS bytea[])) AS g(k, v)), "
    "mine AS (SELECT kind, value FROM customer_identifiers WHERE shop_id = :s AND customer_id = :c "
    "UNION SELECT kind, value FROM given), "
    "hop1 AS (SELECT DISTINCT i.customer_id, m.kind FROM customer_identifiers i JOIN mine m "
    "ON i.kind = m.kind AND i.value = m.value WHERE i.shop_id = :s AND i.customer_id <> :c), "
    "hop2 AS (SELECT DISTINCT j.customer_id, h.kind FROM hop1 h JOIN customer_identifiers i "
    "ON i.shop_id = :s AND i.customer_id = h.customer_id JOIN customer_identifiers j ON j.shop_id = :s "
    "AND j.kind = i.kind AND j.value = i.value WHERE j.customer_id <> :c) "
    "SELECT customer_id, min(kind) AS kind FROM (SELECT * FROM hop1 UNION ALL SELECT * FROM hop2) x "
    "WHERE customer_id = ANY(CAST(:others AS bigint[])) GROUP BY customer_id")


async def remember(session: AsyncSession, shop_id: int, customer_id: int, *, device_id: str | None = None,
                   phone_hash: bytes | None = None) -> None:
    kinds, values = _given(device_id, phone_hash)
    if kinds:
        await session.execute(text(_REMEMBER), {"s": shop_id, "c": customer_id, "kinds": kinds, "vals": values,
                                                "now": clock.now()})


async def linked(session: AsyncSession, shop_id: int, customer_id: int, others: list[int], *,
                 device_id: str | None = None, phone_hash: bytes | None = None) -> dict[int, str]:
    """Which of ``others`` are linked to the customer, and how (``device`` or ``phone``); one statement that
    also remembers ``device_id`` and ``phone_hash`` for the customer."""
    others = sorted({o for o in others if o != customer_id})
    if not others:
        await remember(session, shop_id, customer_id, device_id=device_id, phone_hash=phone_hash)
        return {}
    kinds, values = _given(device_id, phone_hash)
    rows = await session.execute(_LINKED, {"s": shop_id, "c": customer_id, "kinds": kinds, "vals": values,
                                           "now": clock.now(), "others": others})
    return {int(r.customer_id): str(r.kind) for r in rows}


async def on_customer_identified(session: AsyncSession, event: CustomerIdentified) -> None:
    """The device a customer logged in on."""
    await remember(session, event.shop_id, event.customer_id, device_id=event.device_id)
