"""Settings, promoters (how one becomes one, ranks by sales volume, invitation codes) and the team tree.

Becoming a promoter never costs money and never requires a purchase (DESIGN §7): the shop picks
``everyone`` (every customer earns, no application), ``apply`` (the console approves) or ``threshold``
(approved at once when the customer's completed spending reaches the threshold, which is a choice the
customer already made, never a condition to buy). Ranks rise with the sales volume a promoter brought
in, never with how many people they recruited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers import service as customers
from liebian.distribution.rules import DistributionSettings, level_for_sales
from liebian.fission import binding, team
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Invalid, NotFound, not_found
from liebian.kit.ids import token
from liebian.kit.sql import text
from liebian.orders import queries as orders
from liebian.shops import service as shops

_SHOP_KEYS = ("binding_policy", "binding_days", "protection_days")  # fission's, kept in the shop's settings


# --- settings ------------------------------------------------------------------------------------------

async def settings_of(session: AsyncSession, shop_id: int) -> DistributionSettings:
    """Read once per transaction: an order event's reactions share it."""
    known: dict[int, DistributionSettings] = session.info.setdefault("distribution_settings", {})
    if shop_id not in known:
        stored = (await session.execute(text("SELECT settings FROM distribution_settings WHERE shop_id = :s"),
                                        {"s": shop_id})).scalar()
        known[shop_id] = DistributionSettings(**stored) if stored is not None else DistributionSettings()
    return known[shop_id]


def _refusal(exc: ValidationError) -> Invalid:
    errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
    if any("at most 2 levels" in e["msg"] for e in errors):
        return Invalid("commission_depth_exceeded", "Commissions go at most 2 levels deep.", errors=errors)
    return Invalid("invalid_distribution_settings", "Some distribution settings are out of bounds.", errors=errors)


async def update_settings(session: AsyncSession, shop_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into the shop's settings; the binding fields go to the shop's fission settings."""
    shop_changes = {k: changes.pop(k) for k in _SHOP_KEYS if k in changes}
    current = await settings_of(session, shop_id)
    try:
        merged = DistributionSettings(**(current.model_dump() | changes))
    except ValidationError as exc:
        raise _refusal(exc) from exc
    if shop_changes:
        try:
            await shops.update_settings(session, shop_id, shop_changes)
        except ValidationError as exc:
            raise _refusal(exc) from exc
    await session.execute(
        text("INSERT INTO distribution_settings (shop_id, settings, updated_at) VALUES (:s, CAST(:j AS jsonb), :now) "
             "ON CONFLICT (shop_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = EXCLUDED.updated_at"),
        {"s": shop_id, "j": merged.model_dump_json(), "now": clock.now()})
    session.info.setdefault("distribution_settings", {})[shop_id] = merged
    return await settings_view(session, shop_id)


async def settings_view(session: AsyncSession, shop_id: int) -> dict[str, Any]:
    shop = await shops.shop_by_id(session, shop_id)
    return (await settings_of(session, shop_id)).model_dump() | {k: getattr(shop.settings, k) for k in _SHOP_KEYS}


# --- promoters -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromoterRow:
    customer_id: int
    status: str
    level: int
    sales_fen: int
    invite_code: str
    applied_at: datetime
    decided_at: datetime | None


_COLUMNS = "customer_id, status, level, sales_fen, invite_code, applied_at, decided_at"


async def get(session: AsyncSession, shop_id: int, customer_id: int) -> PromoterRow | None:
    row = (await session.execute(
        text(f"SELECT {_COLUMNS} FROM distribution_promoters WHERE shop_id = :s AND customer_id = :c"),
        {"s": shop_id, "c": customer_id})).first()
    return PromoterRow(**row._mapping) if row is not None else None


async def statuses(session: AsyncSession, shop_id: int, customer_ids: list[int]) -> dict[int, PromoterRow]:
    rows = await session.execute(
        text(f"SELECT {_COLUMNS} FROM distribution_promoters WHERE shop_id = :s AND customer_id = ANY(:ids)"),
        {"s": shop_id, "ids": customer_ids})
    return {r.customer_id: PromoterRow(**r._mapping) for r in rows}


async def _insert(session: AsyncSession, shop_id: int, customer_id: int, status: str) -> PromoterRow:
    """Create the row once; a concurrent apply of the same customer finds the first one."""
    now = clock.now()
    for _ in range(5):  # an invite code collision (32^8 space) is retried with a new code
        try:
            async with session.begin_nested():
                await session.execute(
                    text("INSERT INTO distribution_promoters (shop_id, customer_id, status, level, sales_fen, "
                         "invite_code, applied_at, decided_at) VALUES (:s, :c, :st, 0, 0, :code, :now, :dec) "
                         "ON CONFLICT (shop_id, customer_id) DO NOTHING"),
                    {"s": shop_id, "c": customer_id, "st": status, "code": token(8), "now": now,
                     "dec": now if status == "active" else None})
            break
        except IntegrityError:
            continue
    found = await get(session, shop_id, customer_id)
    assert found is not None
    return found


async def _spent_fen(session: AsyncSession, shop_id: int, customer_id: int, enough: int) -> int:
    """What the customer paid for completed orders (net of refunds), read until ``enough`` is reached."""
    spent, offset = 0, 0
    while spent < enough:
        page = await orders.list_orders(session, shop_id, customer_id=customer_id, status="completed",
                                        limit=100, offset=offset)
        spent += sum(o.payable_fen - o.refunded_fen for o in page.items)
        offset += len(page.items)
        if offset >= page.total or not page.items:
            break
    return spent


async def apply(session: AsyncSession, shop_id: int, customer_id: int) -> PromoterRow:
    """Become a promoter under the shop's mode; free, and idempotent for one already active or waiting."""
    settings = await settings_of(session, shop_id)
    if not settings.enabled:
        raise Conflict("distribution_disabled", "This shop does not run a distribution programme.")
    current = await get(session, shop_id, customer_id)
    if current is not None and current.status in ("active", "pending"):
        return current
    if current is not None and current.status == "disabled":
        raise Conflict("promoter_disabled", "This promoter account was disabled by the shop.")
    status = "pending"
    if settings.promoter_qualification == "everyone":
        status = "active"
    elif settings.promoter_qualification == "threshold":
        spent = await _spent_fen(session, shop_id, customer_id, settings.qualification_threshold_fen)
        if spent < settings.qualification_threshold_fen:
            raise Conflict("qualification_threshold_not_reached",
                           "Completed orders have not reached the shop's threshold yet.",
                           spent_fen=spent, threshold_fen=settings.qualification_threshold_fen)
        status = "active"
    if current is None:
        return await _insert(session, shop_id, customer_id, status)
    # A rejected applicant may apply again.
    await session.execute(
        text("UPDATE distribution_promoters SET status = :st, applied_at = :now, decided_at = :dec "
             "WHERE shop_id = :s AND customer_id = :c AND status = 'rejected'"),
        {"st": status, "now": clock.now(), "dec": clock.now() if status == "active" else None, "s": shop_id,
         "c": customer_id})
    found = await get(session, shop_id, customer_id)
    assert found is not None
    return found


async def ensure_code(session: AsyncSession, shop_id: int, customer_id: int) -> PromoterRow | None:
    """Under ``everyone`` a customer is a promoter without applying; their row (and code) is made on demand."""
    current = await get(session, shop_id, customer_id)
    settings = await settings_of(session, shop_id)
    if current is None and settings.enabled and settings.promoter_qualification == "everyone":
        return await _insert(session, shop_id, customer_id, "active")
    return current


_DECISIONS = {"approve": ("pending", "active"), "reject": ("pending", "rejected"),
              "disable": ("active", "disabled"), "enable": ("disabled", "active")}


async def decide(session: AsyncSession, shop_id: int, customer_id: int, action: str) -> PromoterRow:
    before, after = _DECISIONS[action]
    row = (await session.execute(
        text("UPDATE distribution_promoters SET status = :after, decided_at = :now "
             "WHERE shop_id = :s AND customer_id = :c AND status = :before RETURNING customer_id"),
        {"after": after, "before": before, "now": clock.now(), "s": shop_id, "c": customer_id})).first()
    current = await get(session, shop_id, customer_id)
    if current is None:
        raise not_found("promoter")
    if row is None:
        raise Conflict("promoter_state", f"A promoter in status '{current.status}' cannot be {action}d.",
                       promoter_status=current.status)
    return current


async def list_promoters(session: AsyncSession, shop_id: int, *, status: str | None, limit: int,
                         offset: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(f"SELECT {_COLUMNS} FROM distribution_promoters WHERE shop_id = :s "
             "AND (CAST(:st AS text) IS NULL OR status = :st) ORDER BY applied_at DESC, customer_id "
             "LIMIT :n OFFSET :o"), {"s": shop_id, "st": status, "n": limit, "o": offset})
    return [dict(r._mapping) for r in rows]


async def add_sales(session: AsyncSession, shop_id: int, customer_id: int, delta_fen: int) -> None:
    """Settled (or reversed) sales move a promoter's volume, and with it their rank."""
    settings = await settings_of(session, shop_id)
    await ensure_code(session, shop_id, customer_id)  # under ``everyone`` the row may not exist yet
    row = (await session.execute(
        text("UPDATE distribution_promoters SET sales_fen = greatest(sales_fen + :d, 0) "
             "WHERE shop_id = :s AND customer_id = :c RETURNING sales_fen"),
        {"d": delta_fen, "s": shop_id, "c": customer_id})).first()
    if row is not None:
        await session.execute(
            text("UPDATE distribution_promoters SET level = :lv WHERE shop_id = :s AND customer_id = :c"),
            {"lv": level_for_sales(settings.promoter_levels, row.sales_fen), "s": shop_id, "c": customer_id})


async def accept_invitation(session: AsyncSession, shop_id: int, customer_id: int, code: str) -> int | None:
    """Bind the customer to the promoter whose invitation code this is, under the shop's binding policy.

    Returns the promoter the customer is bound to afterwards (maybe an earlier one: first touch keeps it).
    """
    row = (await session.execute(
        text("SELECT customer_id, status FROM distribution_promoters WHERE shop_id = :s AND invite_code = :code"),
        {"s": shop_id, "code": code.strip().upper()})).first()
    if row is None or row.status != "active":
        raise NotFound("invite_code_not_found", "No promoter has this invitation code.")
    if row.customer_id == customer_id:
        raise Invalid("own_invite_code", "One's own invitation code brings nobody.")
    shop = await shops.shop_by_id(session, shop_id)
    return await binding.bind(session, shop_id=shop_id, rules_=binding.binding_rules(shop.settings),
                              customer_id=customer_id, promoter_id=row.customer_id, share=None, now=clock.now())


# --- the team -------------------------------------------------------------------------------------------

async def team_of(session: AsyncSession, shop_id: int, promoter_id: int, *, level: int, limit: int,
                  offset: int) -> dict[str, Any]:
    """Direct (level 1) or second-level members from fission's bindings, with what each brought in."""
    members = await team.members(session, shop_id, promoter_id, level=level, limit=limit, offset=offset,
                                 now=clock.now())
    ids = [m.customer_id for m in members]
    names = await customers.profiles(session, shop_id, ids)
    earned = {r.buyer_id: int(r.fen) for r in await session.execute(
        text("SELECT buyer_id, sum(amount_fen - cancelled_fen - reversed_fen) AS fen FROM distribution_commissions "
             "WHERE shop_id = :s AND beneficiary_id = :p AND buyer_id = ANY(:ids) AND kind = 'commission' "
             "GROUP BY buyer_id"), {"s": shop_id, "p": promoter_id, "ids": ids})}
    promoters = await statuses(session, shop_id, ids)
    items = [{"customer_id": m.customer_id, "nickname": names[m.customer_id].nickname if m.customer_id in names
              else None, "bound_at": m.bound_at, "via_customer_id": m.via_customer_id,
              "is_promoter": m.customer_id in promoters and promoters[m.customer_id].status == "active",
              "commission_fen": earned.get(m.customer_id, 0)} for m in members]
    return {"level": level, "total": await team.count(session, shop_id, promoter_id, level=level, now=clock.now()),
            "items": items}
