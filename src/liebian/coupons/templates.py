"""Coupon templates: the console creates, lists and disables them; customers see what they can claim, and claim.

A claim never over-issues and never passes the per-customer limit, without any check-then-write:

- the customer's allowance: an upsert on their (template, customer) row whose UPDATE branch applies only below
  the limit — twenty taps at once by one customer queue on that row and at most ``limit`` pass;
- the template's stock: ``UPDATE coupon_templates SET issued = issued + 1 WHERE ... AND issued < total_quantity``
  — a hundred customers at once queue on the template row and at most ``total_quantity`` pass.

The customer's own row comes first, so the hot template row is locked only for the end of the transaction.
Either refusal raises, and the request's transaction rolls back whatever the other step did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.coupons import rules, wallet
from liebian.coupons.schemas import (
    AvailableTemplate,
    ConsoleTemplateOut,
    ConsoleTemplatePage,
    CouponOut,
    ScopeIn,
    TemplateIn,
    TemplateOut,
    TemplatePage,
    TemplatePatch,
    TemplateState,
)
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Invalid, NotFound
from liebian.kit.sql import text

COLUMNS = ("id, shop_id, name, kind, amount_fen, percent_bps, cap_fen, threshold_fen, scope_type, scope_ids, "
           "stackable, total_quantity, issued, per_customer_limit, valid_days, valid_from, valid_to, status, "
           "created_at, disabled_at")


def template_not_found() -> NotFound:
    return NotFound("coupon_template_not_found", "No such coupon template.")


def state(r: Any, now: datetime) -> TemplateState:
    if r.status == "disabled":
        return "disabled"
    if r.valid_to is not None and r.valid_to <= now:
        return "ended"
    return "exhausted" if r.issued >= r.total_quantity else "active"


def terms_of(r: Any) -> rules.Terms:
    return rules.Terms(kind=r.kind, amount_fen=r.amount_fen, percent_bps=r.percent_bps, cap_fen=r.cap_fen,
                       threshold_fen=r.threshold_fen)


def out(r: Any, now: datetime) -> TemplateOut:
    return TemplateOut(
        id=r.id, name=r.name, kind=r.kind, amount_fen=r.amount_fen, percent_bps=r.percent_bps, cap_fen=r.cap_fen,
        threshold_fen=r.threshold_fen, scope=wallet.scope_out(r.scope_type, r.scope_ids), stackable=r.stackable,
        total_quantity=r.total_quantity, issued=r.issued, remaining=r.total_quantity - r.issued,
        per_customer_limit=r.per_customer_limit, valid_days=r.valid_days, valid_from=r.valid_from,
        valid_to=r.valid_to, status=state(r, now), created_at=r.created_at, disabled_at=r.disabled_at)


# --- console ----------------------------------------------------------------------------------------

def _check_validity(body: TemplateIn, now: datetime) -> None:
    if (body.valid_days is None) == (body.valid_to is None):
        raise Invalid("validity_required", "Give either valid_days (N days after the claim) or valid_to.")
    if body.valid_days is not None and body.valid_from is not None:
        raise Invalid("invalid_validity", "valid_from goes with valid_to, not with valid_days.")
    if body.valid_to is not None:
        if body.valid_to <= now:
            raise Invalid("invalid_validity", "valid_to is in the past.")
        if body.valid_from is not None and body.valid_from >= body.valid_to:
            raise Invalid("invalid_validity", "valid_from must be before valid_to.")


async def _scope_ids(session: AsyncSession, shop_id: int, scope: ScopeIn) -> list[int]:
    """The ids a scope names, each checked to be this shop's; categories may be named by id or by name."""
    if scope.type == "shop":
        if scope.categories or scope.product_ids:
            raise Invalid("invalid_scope", "A shop-wide coupon names no categories or products.")
        return []
    if scope.type == "category":
        if not scope.categories or scope.product_ids:
            raise Invalid("invalid_scope", "A category coupon names its categories (ids or names), and only them.")
        known = await catalog.list_categories(session, shop_id)
        by_name, ids = {c.name: c.id for c in known}, {c.id for c in known}
        found: list[int] = []
        for item in scope.categories:
            cid = by_name.get(item) if isinstance(item, str) else (item if item in ids else None)
            if cid is None:
                raise Invalid("category_not_found", f"No category {item!r} in this shop.", category=item)
            found.append(cid)
        return sorted(set(found))
    if not scope.product_ids or scope.categories:
        raise Invalid("invalid_scope", "A product coupon names its product_ids, and only them.")
    for product_id in sorted(set(scope.product_ids)):
        try:
            await catalog.get_product(session, shop_id, product_id, public=False)
        except NotFound:
            raise Invalid("product_not_found", f"No product {product_id} in this shop.",
                          product_id=product_id) from None
    return sorted(set(scope.product_ids))


async def create(session: AsyncSession, shop_id: int, body: TemplateIn) -> TemplateOut:
    now = clock.now()
    terms = rules.Terms(kind=body.kind, amount_fen=body.amount_fen, percent_bps=body.percent_bps,
                        cap_fen=body.cap_fen, threshold_fen=body.threshold_fen or 0)
    problems = rules.terms_problems(terms)
    if problems:
        raise Invalid(*problems[0])
    _check_validity(body, now)
    scope = body.scope or ScopeIn()
    ids = await _scope_ids(session, shop_id, scope)
    row = (await session.execute(text(
        "INSERT INTO coupon_templates (shop_id, name, kind, amount_fen, percent_bps, cap_fen, threshold_fen, "
        "scope_type, scope_ids, stackable, total_quantity, issued, per_customer_limit, valid_days, valid_from, "
        "valid_to, status, created_at) VALUES (:s, :name, :kind, :amount, :bps, :cap, :threshold, :scope, "
        "CAST(:ids AS jsonb), :stackable, :total, 0, :limit, :days, :vf, :vt, 'active', :now) "
        f"RETURNING {COLUMNS}"),
        {"s": shop_id, "name": body.name, "kind": terms.kind, "amount": terms.amount_fen, "bps": terms.percent_bps,
         "cap": terms.cap_fen, "threshold": terms.threshold_fen, "scope": scope.type, "ids": json.dumps(ids),
         "stackable": body.stackable, "total": body.total_quantity, "limit": body.per_customer_limit,
         "days": body.valid_days, "vf": body.valid_from, "vt": body.valid_to, "now": now})).one()
    return out(row, now)


async def get_row(session: AsyncSession, shop_id: int, template_id: int) -> Any:
    row = (await session.execute(text(f"SELECT {COLUMNS} FROM coupon_templates WHERE id = :id AND shop_id = :s"),
                                 {"id": template_id, "s": shop_id})).first()
    if row is None:
        raise template_not_found()
    return row


async def get(session: AsyncSession, shop_id: int, template_id: int) -> TemplateOut:
    return out(await get_row(session, shop_id, template_id), clock.now())


_STATE_CLAUSES: dict[str, str] = {
    "disabled": "status = 'disabled'",
    "ended": "status = 'active' AND valid_to IS NOT NULL AND valid_to <= :now",
    "exhausted": "status = 'active' AND (valid_to IS NULL OR valid_to > :now) AND issued >= total_quantity",
    "active": "status = 'active' AND (valid_to IS NULL OR valid_to > :now) AND issued < total_quantity",
}


async def list_templates(session: AsyncSession, shop_id: int, *, status: TemplateState | None, limit: int,
                         offset: int) -> TemplatePage:
    now = clock.now()
    where = "shop_id = :s" + (f" AND {_STATE_CLAUSES[status]}" if status else "")
    params = {"s": shop_id, "now": now, "limit": limit, "offset": offset}
    total = int((await session.execute(text(f"SELECT count(*) FROM coupon_templates WHERE {where}"),
                                       params)).scalar_one())
    rows = await session.execute(text(f"SELECT {COLUMNS} FROM coupon_templates WHERE {where} ORDER BY id DESC "
                                      "LIMIT :limit OFFSET :offset"), params)
    return TemplatePage(items=[out(r, now) for r in rows], total=total, limit=limit, offset=offset)


async def disable(session: AsyncSession, shop_id: int, template_id: int) -> TemplateOut:
    """No more claims; coupons already claimed stay usable on their own terms. Disabling twice is harmless."""
    now = clock.now()
    row = (await session.execute(text(
        "UPDATE coupon_templates SET status = 'disabled', disabled_at = coalesce(disabled_at, :now) "
        f"WHERE id = :id AND shop_id = :s RETURNING {COLUMNS}"), {"id": template_id, "s": shop_id, "now": now})).first()
    if row is None:
        raise template_not_found()
    return out(row, now)


# --- customers --------------------------------------------------------------------------------------

async def available(session: AsyncSession, shop_id: int, customer_id: int | None, *, limit: int,
                    offset: int) -> list[AvailableTemplate]:
    """Templates one can still claim: active, not sold out, not ended, below one's own limit."""
    now = clock.now()
    rows = await session.execute(text(
        f"SELECT {', '.join('t.' + c for c in COLUMNS.split(', '))}, coalesce(h.claimed, 0) AS claimed "
        "FROM coupon_templates t LEFT JOIN coupon_holdings h ON h.template_id = t.id AND h.customer_id = :c "
        "WHERE t.shop_id = :s AND t.status = 'active' AND t.issued < t.total_quantity "
        "AND (t.valid_to IS NULL OR t.valid_to > :now) AND coalesce(h.claimed, 0) < t.per_customer_limit "
        "ORDER BY t.id DESC LIMIT :limit OFFSET :offset"),
        {"s": shop_id, "c": customer_id or 0, "now": now, "limit": limit, "offset": offset})
    return [AvailableTemplate(
        id=r.id, name=r.name, kind=r.kind, amount_fen=r.amount_fen, percent_bps=r.percent_bps, cap_fen=r.cap_fen,
        threshold_fen=r.threshold_fen, scope=wallet.scope_out(r.scope_type, r.scope_ids), stackable=r.stackable,
        remaining=r.total_quantity - r.issued, per_customer_limit=r.per_customer_limit, claimed=r.claimed,
        valid_days=r.valid_days, valid_from=r.valid_from, valid_to=r.valid_to) for r in rows]


@dataclass(frozen=True)
class _Refusal:
    code: str
    detail: str


async def _why_not(session: AsyncSession, shop_id: int, template_id: int, now: datetime) -> Conflict:
    r = await get_row(session, shop_id, template_id)
    refusal = {
        "disabled": _Refusal("coupon_template_disabled", "This coupon is no longer offered."),
        "ended": _Refusal("coupon_template_ended", "This coupon's time is over."),
        "exhausted": _Refusal("coupon_exhausted", "All of these coupons have been claimed."),
    }.get(state(r, now), _Refusal("coupon_limit_reached", f"You can hold at most {r.per_customer_limit} of these."))
    return Conflict(refusal.code, refusal.detail)


async def claim(session: AsyncSession, shop_id: int, customer_id: int, template_id: int) -> CouponOut:
    now = clock.now()
    allowed = (await session.execute(text(
        "INSERT INTO coupon_holdings (template_id, customer_id, shop_id, claimed) SELECT t.id, :c, t.shop_id, 1 "
        "FROM coupon_templates t WHERE t.id = :t AND t.shop_id = :s ON CONFLICT (template_id, customer_id) DO UPDATE "
        "SET claimed = coupon_holdings.claimed + 1 WHERE coupon_holdings.claimed < (SELECT per_customer_limit "
        "FROM coupon_templates WHERE id = EXCLUDED.template_id) RETURNING claimed"),
        {"t": template_id, "s": shop_id, "c": customer_id})).first()
    if allowed is None:
        raise await _why_not(session, shop_id, template_id, now)
    t = (await session.execute(text(
        "UPDATE coupon_templates SET issued = issued + 1 WHERE id = :t AND shop_id = :s AND status = 'active' "
        f"AND issued < total_quantity AND (valid_to IS NULL OR valid_to > :now) RETURNING {COLUMNS}"),
        {"t": template_id, "s": shop_id, "now": now})).first()
    if t is None:
        raise await _why_not(session, shop_id, template_id, now)
    if t.valid_days is not None:
        valid_from, valid_to = now, now + timedelta(days=t.valid_days)
    else:  # fixed dates: a coupon claimed early becomes usable at valid_from
        valid_from, valid_to = t.valid_from or now, t.valid_to
    return await wallet.insert(session, wallet.NewCoupon(
        shop_id=shop_id, customer_id=customer_id, name=t.name, terms=terms_of(t), scope_type=t.scope_type,
        scope_ids=[int(i) for i in t.scope_ids], stackable=t.stackable, valid_from=valid_from, valid_to=valid_to,
        template_id=t.id), now)


# --- console: changes and the live list (console-marketing) -----------------------------------------------

async def update(session: AsyncSession, shop_id: int, template_id: int, body: TemplatePatch) -> TemplateOut:
    """Name, quantity (never below what was issued), per-customer limit, and a fixed-date template's end."""
    now = clock.now()
    current = await get_row(session, shop_id, template_id)
    if current.status == "disabled":
        raise Conflict("coupon_template_disabled", "This coupon is no longer offered and cannot change.")
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise Invalid("invalid_field", "Leave a field out to keep it; none can be null.")
    if "total_quantity" in changes and changes["total_quantity"] < current.issued:
        raise Invalid("total_below_issued", f"{current.issued} coupons were already issued; the quantity cannot be "
                      "lower.", issued=current.issued)
    if "valid_to" in changes:
        if current.valid_to is None:
            raise Invalid("invalid_validity", "This template's coupons are valid N days after the claim; it has no "
                          "end date to change.")
        if changes["valid_to"] <= now or (current.valid_from is not None and changes["valid_to"] <= current.valid_from):
            raise Invalid("invalid_validity", "valid_to must be in the future and after valid_from.")
    if not changes:
        return out(current, now)
    assignments = ", ".join(f"{name} = :{name}" for name in changes)  # names come from the schema only
    row = (await session.execute(text(
        f"UPDATE coupon_templates SET {assignments} WHERE id = :id AND shop_id = :s "
        f"AND issued <= coalesce(CAST(:floor AS integer), issued) RETURNING {COLUMNS}"),
        {**changes, "id": template_id, "s": shop_id, "floor": changes.get("total_quantity")})).first()
    if row is None:  # claims went past the new quantity meanwhile
        raise Conflict("total_below_issued", "More coupons were issued meanwhile; reload and try again.")
    return out(row, now)


async def console_list(session: AsyncSession, shop_id: int, *, status: TemplateState | None, limit: int,
                       offset: int) -> ConsoleTemplatePage:
    """:func:`list_templates` with each template's used coupons, counted in one grouped statement."""
    page = await list_templates(session, shop_id, status=status, limit=limit, offset=offset)
    ids = [t.id for t in page.items]
    used = {r.template_id: int(r.used) for r in await session.execute(text(
        "SELECT template_id, count(*) AS used FROM coupons WHERE template_id = ANY(:ids) AND shop_id = :s "
        "AND status = 'used' GROUP BY template_id"), {"ids": ids, "s": shop_id})} if ids else {}
    return ConsoleTemplatePage(items=[ConsoleTemplateOut(**t.model_dump(), used=used.get(t.id, 0))
                                      for t in page.items], total=page.total, limit=page.limit, offset=page.offset)
