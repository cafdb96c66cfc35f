"""Visits and binding (锁客): who arrived through which share, and which promoter keeps the customer.

Binding changes in a shop are serialised by one advisory lock: a cycle (A→B→C→A) can only be seen,
and refused, if the chain being checked cannot change under the check. The common case, a customer
already bound for good, decides without the lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.events import CustomerIdentified
from liebian.fission import facts, rules
from liebian.fission.shares import ShareRow, by_code, by_code_on, share_by_id
from liebian.kit.auth import Claims
from liebian.kit.clock import clock
from liebian.kit.db import DriverConnection
from liebian.kit.sql import text
from liebian.shops import service as shops
from liebian.shops.rules import ShopSettings

DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
BINDING_LOCK = 0x46_49_53  # "FIS": the advisory-lock class of binding changes; the shop id is the key
MAX_CHAIN = 1000


def is_device_id(value: str) -> bool:
    return bool(DEVICE_ID.match(value))


def binding_rules(settings: ShopSettings) -> rules.BindingRules:
    return rules.BindingRules(policy=rules.BindingPolicy(settings.binding_policy), binding_days=settings.binding_days,
                              protection_days=settings.protection_days,
                              new_customers_only=settings.bind_new_customers_only)


# The visit and its analytics fact in one statement: this is the hottest write of the engine. The ``$n``
# texts serve both the session paths (``exec_driver_sql``) and the hot path's driver connection.
_RECORD_VISIT = (
    "WITH v AS (INSERT INTO fission_visits (shop_id, share_id, sharer_id, customer_id, device_id, channel, scene, "
    "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id), "
    "f AS (INSERT INTO fission_facts (shop_id, at, kind, customer_id, sharer_id, share_id, root_share_id, channel, "
    "target_type, target_id) VALUES ($1, $8, 'visit', $4, $3, $2, $9, $6, $10, $11)) "
    "SELECT id FROM v")
_CURRENT = ("SELECT promoter_id, bound_at, expires_at, protected_until FROM fission_bindings "
            "WHERE shop_id = $1 AND customer_id = $2")


@dataclass(frozen=True)
class VisitResult:
    visit_id: int
    share: ShareRow
    bound_promoter_id: int | None


def _visit_args(shop_id: int, share: ShareRow, customer_id: int | None, device_id: str | None, scene: int | None,
                now: datetime) -> tuple[object, ...]:
    return (shop_id, share.id, share.sharer_id, customer_id, None if customer_id else device_id, share.channel,
            scene, now, share.root, share.target_type, share.target_id)


async def record_visit(session: AsyncSession, *, shop_id: int, settings: ShopSettings, code: str,
                       customer_id: int | None, device_id: str | None, scene: int | None) -> VisitResult:
    share = await by_code(session, shop_id, code)
    now = clock.now()
    conn = await session.connection()
    visit_id = (await conn.exec_driver_sql(
        _RECORD_VISIT, _visit_args(shop_id, share, customer_id, device_id, scene, now))).scalar_one()
    bound = None
    if customer_id is not None:
        bound = (await bind(session, shop_id=shop_id, rules_=binding_rules(settings), customer_id=customer_id,
                            promoter_id=share.sharer_id, share=share, now=now)
                 if share.sharer_id is not None else await current_promoter(session, shop_id, customer_id, now))
    return VisitResult(visit_id=visit_id, share=share, bound_promoter_id=bound)


async def record_settled_visit(conn: DriverConnection, *, slug: str, code: str, claims: Claims | None,
                               device_id: str | None, scene: int | None) -> VisitResult | None:
    """The hot path of :func:`record_visit`, on a driver connection: shop, share, binding, the visit.

    Returns None, having written nothing, when the touch may change the customer's binding; the caller
    then runs :func:`record_visit` in a session (the advisory lock, the cycle check, the history row).
    """
    shop = await shops.shop_by_slug_on(conn, slug)
    customer_id = None if claims is None else shops.shop_customer(shop, claims).subject_id
    share = await by_code_on(conn, shop.id, code)
    now = clock.now()
    bound = None
    if customer_id is not None:
        row = await conn.fetchrow(_CURRENT, shop.id, customer_id)
        current = rules.Binding(**row) if row is not None else None
        if share.sharer_id is not None and not rules.settled_without_lock(
                binding_rules(shop.settings), customer_id=customer_id, promoter_id=share.sharer_id,
                current=current, now=now):
            return None
        bound = current.promoter_id if current is not None and current.active(now) else None
    visit_id = await conn.fetchval(_RECORD_VISIT, *_visit_args(shop.id, share, customer_id, device_id, scene, now))
    return VisitResult(visit_id=visit_id, share=share, bound_promoter_id=bound)


async def _current(session: AsyncSession, shop_id: int, customer_id: int) -> rules.Binding | None:
    row = (await (await session.connection()).exec_driver_sql(_CURRENT, (shop_id, customer_id))).first()
    return rules.Binding(**row._mapping) if row is not None else None


async def current_promoter(session: AsyncSession, shop_id: int, customer_id: int, now: datetime) -> int | None:
    current = await _current(session, shop_id, customer_id)
    return current.promoter_id if current is not None and current.active(now) else None


async def _ancestors(session: AsyncSession, shop_id: int, promoter_id: int, now: datetime) -> frozenset[int]:
    """The promoter's chain upward by active bindings (itself excluded)."""
    rows = await session.execute(text(
        "WITH RECURSIVE chain(customer_id, depth) AS (SELECT CAST(:p AS bigint), 0 UNION "
        "SELECT b.promoter_id, chain.depth + 1 FROM fission_bindings b JOIN chain ON b.customer_id = chain.customer_id "
        "WHERE b.shop_id = :s AND (b.expires_at IS NULL OR b.expires_at > :now) AND chain.depth < :max) "
        "SELECT customer_id FROM chain WHERE depth > 0"),
        {"p": promoter_id, "s": shop_id, "now": now, "max": MAX_CHAIN})
    return frozenset(r.customer_id for r in rows)


async def bind(session: AsyncSession, *, shop_id: int, rules_: rules.BindingRules, customer_id: int,
               promoter_id: int, share: ShareRow | None, now: datetime) -> int | None:
    """Apply the shop's policy to one touch; returns the promoter the customer is bound to afterwards."""
    current = await _current(session, shop_id, customer_id)
    if rules.settled_without_lock(rules_, customer_id=customer_id, promoter_id=promoter_id, current=current,
                                  now=now):
        return current.promoter_id if current is not None and current.active(now) else None
    await session.execute(text("SELECT pg_advisory_xact_lock(:k, :s)"), {"k": BINDING_LOCK, "s": shop_id})
    current = await _current(session, shop_id, customer_id)  # what the lock holder before us may have done
    is_new = bool((await session.execute(text("SELECT is_new FROM customers WHERE id = :c AND shop_id = :s"),
                                         {"c": customer_id, "s": shop_id})).scalar())
    decision = rules.decide(rules_, customer_id=customer_id, promoter_id=promoter_id, current=current,
                            promoter_ancestors=await _ancestors(session, shop_id, promoter_id, now),
                            customer_is_new=is_new, now=now)
    if decision.outcome == "keep":
        if decision.reason == "cycle":
            await _history(session, shop_id, customer_id, promoter_id, current, "refuse", decision.reason, share,
                           rules_, now)
        return current.promoter_id if current is not None and current.active(now) else None
    new = rules.new_binding(rules_, promoter_id, now)
    await session.execute(
        text("INSERT INTO fission_bindings (shop_id, customer_id, promoter_id, share_id, bound_at, expires_at, "
             "protected_until) VALUES (:s, :c, :p, :share, :at, :exp, :prot) ON CONFLICT (shop_id, customer_id) "
             "DO UPDATE SET promoter_id = :p, share_id = :share, bound_at = :at, expires_at = :exp, "
             "protected_until = :prot"),
        {"s": shop_id, "c": customer_id, "p": promoter_id, "share": share.id if share else None, "at": now,
         "exp": new.expires_at, "prot": new.protected_until})
    await _history(session, shop_id, customer_id, promoter_id, current, decision.outcome, decision.reason, share,
                   rules_, now)
    await facts.record(session, shop_id=shop_id, kind="bind", at=now, share=share, customer_id=customer_id,
                       sharer_id=promoter_id)
    return promoter_id


async def _history(session: AsyncSession, shop_id: int, customer_id: int, promoter_id: int,
                   current: rules.Binding | None, action: str, reason: str, share: ShareRow | None,
                   rules_: rules.BindingRules, now: datetime) -> None:
    await session.execute(
        text("INSERT INTO fission_binding_events (shop_id, customer_id, promoter_id, previous_promoter_id, action, "
             "reason, share_id, policy, at) VALUES (:s, :c, :p, :prev, :a, :r, :share, :policy, :at)"),
        {"s": shop_id, "c": customer_id, "p": promoter_id,
         "prev": current.promoter_id if current is not None else None, "a": action, "r": reason,
         "share": share.id if share else None, "policy": rules_.policy.value, "at": now})


async def merge_device(session: AsyncSession, *, shop_id: int, settings: ShopSettings, customer_id: int,
                       device_id: str) -> int | None:
    """At login: the device's anonymous visits become the customer's, and bind as if made logged in.

    First-touch policies bind to the earliest of those visits; last touch to the latest.
    """
    rows = (await session.execute(
        text("UPDATE fission_visits SET customer_id = :c WHERE shop_id = :s AND device_id = :d "
             "AND customer_id IS NULL RETURNING share_id, sharer_id, created_at"),
        {"c": customer_id, "s": shop_id, "d": device_id})).all()
    touches = sorted((r for r in rows if r.sharer_id is not None and r.sharer_id != customer_id),
                     key=lambda r: r.created_at)
    if not touches:
        return None
    rules_ = binding_rules(settings)
    touch = touches[-1] if rules_.policy is rules.BindingPolicy.LAST_TOUCH else touches[0]
    share = await share_by_id(session, touch.share_id)
    return await bind(session, shop_id=shop_id, rules_=rules_, customer_id=customer_id, promoter_id=touch.sharer_id,
                      share=share, now=clock.now())


async def history(session: AsyncSession, shop_id: int, customer_id: int) -> list[dict[str, object]]:
    rows = await session.execute(
        text("SELECT promoter_id, previous_promoter_id, action, reason, policy, share_id, at "
             "FROM fission_binding_events WHERE shop_id = :s AND customer_id = :c ORDER BY at, id"),
        {"s": shop_id, "c": customer_id})
    return [dict(r._mapping) for r in rows]


async def on_customer_identified(session: AsyncSession, event: CustomerIdentified) -> None:
    settings = (await shops.shop_by_id(session, event.shop_id)).settings
    await merge_device(session, shop_id=event.shop_id, settings=settings, customer_id=event.customer_id,
                       device_id=event.device_id)
