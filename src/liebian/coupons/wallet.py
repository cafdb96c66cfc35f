"""Coupons in customers' hands: how they are stored and shown, and one's own list (GET coupons/mine)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.coupons import rules
from liebian.coupons.schemas import CouponOut, CouponPage, CouponState, ScopeOut
from liebian.kit.clock import clock
from liebian.kit.errors import NotFound
from liebian.kit.sql import text

COLUMNS = ("id, template_id, red_packet_id, name, kind, amount_fen, percent_bps, cap_fen, threshold_fen, scope_type, "
           "scope_ids, stackable, status, valid_from, valid_to, claimed_at, used_at, order_no")


def coupon_not_found() -> NotFound:
    return NotFound("coupon_not_found", "No such coupon.")


def scope_out(scope_type: str, scope_ids: list[Any]) -> ScopeOut:
    if scope_type == "category":
        return ScopeOut(type="category", categories=[int(i) for i in scope_ids])
    if scope_type == "product":
        return ScopeOut(type="product", product_ids=[int(i) for i in scope_ids])
    return ScopeOut(type="shop")


def coupon_out(r: Any, now: datetime) -> CouponOut:
    return CouponOut(
        id=r.id, template_id=r.template_id, red_packet_id=r.red_packet_id, name=r.name, kind=r.kind,
        amount_fen=r.amount_fen, percent_bps=r.percent_bps, cap_fen=r.cap_fen, threshold_fen=r.threshold_fen,
        scope=scope_out(r.scope_type, r.scope_ids), stackable=r.stackable,
        status=rules.coupon_state(r.status, r.valid_to, now), valid_from=r.valid_from, valid_to=r.valid_to,
        claimed_at=r.claimed_at, used_at=r.used_at, order_no=r.order_no)


@dataclass(frozen=True)
class NewCoupon:
    """A coupon about to be handed out: the terms it carries for good, and where it came from."""

    shop_id: int
    customer_id: int
    name: str
    terms: rules.Terms
    scope_type: str
    scope_ids: list[int]
    stackable: bool
    valid_from: datetime
    valid_to: datetime
    template_id: int | None = None
    red_packet_id: int | None = None
    part_no: int | None = None


INSERT = text(
    "INSERT INTO coupons (shop_id, customer_id, template_id, red_packet_id, part_no, name, kind, amount_fen, "
    "percent_bps, cap_fen, threshold_fen, scope_type, scope_ids, stackable, status, valid_from, valid_to, claimed_at) "
    "VALUES (:s, :c, :t, :rp, :part, :name, :kind, :amount, :bps, :cap, :threshold, :scope, CAST(:ids AS jsonb), "
    f":stackable, 'available', :vf, :vt, :now) RETURNING {COLUMNS}")


def insert_params(c: NewCoupon, now: datetime) -> dict[str, Any]:
    return {"s": c.shop_id, "c": c.customer_id, "t": c.template_id, "rp": c.red_packet_id, "part": c.part_no,
            "name": c.name, "kind": c.terms.kind, "amount": c.terms.amount_fen, "bps": c.terms.percent_bps,
            "cap": c.terms.cap_fen, "threshold": c.terms.threshold_fen, "scope": c.scope_type,
            "ids": json.dumps(c.scope_ids), "stackable": c.stackable, "vf": c.valid_from, "vt": c.valid_to,
            "now": now}


async def insert(session: AsyncSession, coupon: NewCoupon, now: datetime) -> CouponOut:
    row = (await session.execute(INSERT, insert_params(coupon, now))).one()
    return coupon_out(row, now)


_STATE_CLAUSES: dict[str, str] = {
    "available": "status = 'available' AND valid_to > :now",
    "expired": "status = 'available' AND valid_to <= :now",
    "used": "status = 'used'",
}


async def mine(session: AsyncSession, shop_id: int, customer_id: int, *, state: CouponState | None,
               limit: int, offset: int) -> CouponPage:
    """One's own coupons, usable ones first (the soonest to expire first), then used and expired ones."""
    now = clock.now()
    where = "shop_id = :s AND customer_id = :c" + (f" AND {_STATE_CLAUSES[state]}" if state else "")
    params = {"s": shop_id, "c": customer_id, "now": now, "limit": limit, "offset": offset}
    total = int((await session.execute(text(f"SELECT count(*) FROM coupons WHERE {where}"), params)).scalar_one())
    rows = await session.execute(text(
        f"SELECT {COLUMNS} FROM coupons WHERE {where} ORDER BY (status = 'available' AND valid_to > :now) DESC, "
        "CASE WHEN status = 'available' AND valid_to > :now THEN valid_to END, id DESC LIMIT :limit OFFSET :offset"),
        params)
    return CouponPage(items=[coupon_out(r, now) for r in rows], total=total, limit=limit, offset=offset)


async def get(session: AsyncSession, shop_id: int, customer_id: int, coupon_id: int) -> CouponOut:
    row = (await session.execute(
        text(f"SELECT {COLUMNS} FROM coupons WHERE id = :id AND shop_id = :s AND customer_id = :c"),
        {"id": coupon_id, "s": shop_id, "c": customer_id})).first()
    if row is None:
        raise coupon_not_found()
    return coupon_out(row, clock.now())
