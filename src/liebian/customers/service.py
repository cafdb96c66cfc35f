"""Customers: login (one upsert statement), profile, and becoming a returning customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.events import OrderCompleted
from liebian.kit.clock import clock
from liebian.kit.errors import not_found
from liebian.kit.sql import text


@dataclass(frozen=True)
class CustomerView:
    id: int
    nickname: str
    avatar_url: str | None
    is_new: bool


@dataclass(frozen=True)
class Payer:
    id: int
    openid: str


async def login(
    session: AsyncSession, *, shop_id: int, openid: str, unionid: str | None, nickname: str | None
) -> CustomerView:
    """Create or refresh the customer for (shop, openid) in one race-safe statement."""
    now = clock.now()
    row = (
        await session.execute(
            text(
                "INSERT INTO customers (shop_id, openid, unionid, nickname, is_new, created_at, last_login_at) "
                "VALUES (:shop, :openid, :unionid, :nickname, true, :now, :now) "
                "ON CONFLICT (shop_id, openid) DO UPDATE SET last_login_at = :now, "
                "unionid = COALESCE(EXCLUDED.unionid, customers.unionid) "
                "RETURNING id, nickname, avatar_url, is_new"
            ),
            {"shop": shop_id, "openid": openid, "unionid": unionid,
             "nickname": (nickname or "微信用户")[:64], "now": now},
        )
    ).one()
    return CustomerView(id=row.id, nickname=row.nickname, avatar_url=row.avatar_url, is_new=row.is_new)


async def get(session: AsyncSession, shop_id: int, customer_id: int) -> CustomerView:
    row = (
        await session.execute(
            text("SELECT id, nickname, avatar_url, is_new FROM customers WHERE id = :id AND shop_id = :shop"),
            {"id": customer_id, "shop": shop_id},
        )
    ).first()
    if row is None:
        raise not_found("customer")
    return CustomerView(id=row.id, nickname=row.nickname, avatar_url=row.avatar_url, is_new=row.is_new)


async def profiles(session: AsyncSession, shop_id: int, customer_ids: list[int]) -> dict[int, CustomerView]:
    """Several customers of one shop in one statement (a group page shows its members)."""
    if not customer_ids:
        return {}
    rows = await session.execute(
        text("SELECT id, nickname, avatar_url, is_new FROM customers WHERE shop_id = :shop AND id = ANY(:ids)"),
        {"shop": shop_id, "ids": customer_ids})
    return {r.id: CustomerView(id=r.id, nickname=r.nickname, avatar_url=r.avatar_url, is_new=r.is_new) for r in rows}


async def payer(session: AsyncSession, shop_id: int, customer_id: int) -> Payer:
    """The openid a payment is made with: always from our record, never from the client."""
    row = (
        await session.execute(
            text("SELECT id, openid FROM customers WHERE id = :id AND shop_id = :shop"),
            {"id": customer_id, "shop": shop_id},
        )
    ).first()
    if row is None:
        raise not_found("customer")
    return Payer(id=row.id, openid=row.openid)


async def update_profile(
    session: AsyncSession, shop_id: int, customer_id: int, *, nickname: str | None, avatar_url: str | None
) -> CustomerView:
    await session.execute(
        text(
            "UPDATE customers SET nickname = COALESCE(:n, nickname), avatar_url = COALESCE(:a, avatar_url) "
            "WHERE id = :id AND shop_id = :shop"
        ),
        {"n": nickname, "a": avatar_url, "id": customer_id, "shop": shop_id},
    )
    return await get(session, shop_id, customer_id)


async def on_order_completed(session: AsyncSession, event: OrderCompleted) -> None:
    """A customer stops being new with their first completed order."""
    await session.execute(
        text(
            "UPDATE customers SET is_new = false, first_completed_order_at = :at "
            "WHERE id = :id AND shop_id = :shop AND is_new"
        ),
        {"at": event.completed_at, "id": event.customer_id, "shop": event.shop_id},
    )


async def first_completed_order_at(session: AsyncSession, shop_id: int, customer_id: int) -> datetime | None:
    """When the customer's first order completed (None before that): a rebate is earned on that one only."""
    at: datetime | None = (await session.execute(
        text("SELECT first_completed_order_at FROM customers WHERE id = :id AND shop_id = :shop"),
        {"id": customer_id, "shop": shop_id})).scalar()
    return at
