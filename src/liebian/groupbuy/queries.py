"""Reading groups: the group page, the open groups of a campaign (凑团), the console's lists, the invariants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers import service as customers
from liebian.groupbuy import campaigns, rules
from liebian.groupbuy.schemas import (
    ConsoleGroup,
    ConsoleGroupDetail,
    ConsoleGroupPage,
    ConsoleMember,
    GroupOut,
    GroupViewer,
    OpenGroupOut,
    PublicMember,
    TierOut,
)
from liebian.groupbuy.seats import campaign_refusal, group_not_found, join_refusal
from liebian.kit.checks import Violation
from liebian.kit.clock import clock
from liebian.kit.db import equal_filters
from liebian.kit.errors import Conflict
from liebian.kit.sql import text
from liebian.payments import service as payments

_GROUP_COLUMNS = ("id, campaign_id, status, size, min_size, slots_taken, paid_count, leader_customer_id, created_at, "
                  "opened_at, expires_at, closed_at, failure_reason, final_unit_price_fen, completed_by_shop, "
                  "shop_paid_slots")
CHECK_CHUNK = 20_000


def _seconds_left(expires_at: datetime | None, now: datetime) -> int | None:
    return None if expires_at is None else max(0, int((expires_at - now).total_seconds()))


async def _viewer(session: AsyncSession, shop_id: int, g: Any, campaign: campaigns.CampaignRow, viewer_id: int,
                  now: datetime) -> GroupViewer:
    """The viewer's own seat, else the refusal checkout would give them (the same functions decide)."""
    seat = (await session.execute(
        text("SELECT is_leader, status, order_no FROM groupbuy_members WHERE group_id = :g AND customer_id = :c "
             "AND status IN ('held', 'paid') LIMIT 1"), {"g": g.id, "c": viewer_id})).first()
    refusal = None
    if seat is None:
        refusal = campaign_refusal(campaign, now) or await join_refusal(session, shop_id, campaign, g.id, viewer_id,
                                                                        now)
        if refusal is None and g.status == "succeeded":
            refusal = Conflict("group_closed", "This group has already succeeded; open a new one or join another.")
        elif refusal is None and g.slots_taken >= g.size:
            refusal = Conflict("group_full", "This group is full.", group_id=g.id)
    return GroupViewer(is_member=seat is not None, is_leader=bool(seat and seat.is_leader),
                       member_status=seat.status if seat else None, order_no=seat.order_no if seat else None,
                       can_join=seat is None and refusal is None,
                       refusal=refusal.code if refusal else None, refusal_detail=refusal.detail if refusal else None)


async def group_page(session: AsyncSession, shop_id: int, group_id: int, viewer_id: int | None = None) -> GroupOut:
    """What a friend sees from a shared link: members who paid (nicknames masked), places left, countdown;
    a signed-in viewer also learns their own seat or why they cannot join."""
    g = (await session.execute(text(f"SELECT {_GROUP_COLUMNS} FROM groupbuy_groups WHERE id = :g AND shop_id = :s"),
                               {"g": group_id, "s": shop_id})).first()
    if g is None:
        raise group_not_found()
    campaign = await campaigns.get_row(session, shop_id, g.campaign_id)
    members = (await session.execute(
        text("SELECT customer_id, status FROM groupbuy_members WHERE group_id = :g AND (paid_at IS NOT NULL "
             "OR status = 'held') ORDER BY paid_at NULLS LAST, id"), {"g": group_id})).all()
    paid = [m for m in members if m.status != "held"]
    people = await customers.profiles(session, shop_id, [m.customer_id for m in paid])
    now = clock.now()
    running = g.status in ("pending", "open")
    return GroupOut(
        id=g.id, campaign_id=g.campaign_id, status=g.status, size=g.size,
        members=[PublicMember(nickname=rules.mask_nickname(people[m.customer_id].nickname if m.customer_id in people
                                                           else None),
                              avatar=people[m.customer_id].avatar_url if m.customer_id in people else None,
                              is_leader=m.customer_id == g.leader_customer_id) for m in paid],
        slots_left=g.size - g.slots_taken if running else 0, paying=len(members) - len(paid) if running else 0,
        expires_at=g.expires_at, seconds_left=_seconds_left(g.expires_at, now) if g.status == "open" else None,
        completed_by_shop=g.completed_by_shop, shop_paid_slots=g.shop_paid_slots,
        group_price_fen=campaign.group_price_fen, leader_price_fen=campaign.leader_price_fen,
        final_unit_price_fen=g.final_unit_price_fen,
        ladder=[TierOut(size=t.size, price_fen=t.price_fen) for t in campaign.tiers] if campaign.has_ladder else None,
        sku_id=campaign.sku_id, product_id=campaign.product_id,
        viewer=await _viewer(session, shop_id, g, campaign, viewer_id, now) if viewer_id is not None else None)


async def open_groups(session: AsyncSession, shop_id: int, campaign_id: int, *, limit: int = 20) -> list[OpenGroupOut]:
    """Groups a buyer can join now, the closest to full first (凑团)."""
    await campaigns.get_row(session, shop_id, campaign_id)
    now = clock.now()
    rows = (await session.execute(
        text("SELECT id, size, slots_taken, expires_at, leader_customer_id FROM groupbuy_groups "
             "WHERE campaign_id = :c AND shop_id = :s AND status = 'open' AND expires_at > :now "
             "AND slots_taken < size ORDER BY size - slots_taken, expires_at, id LIMIT :n"),
        {"c": campaign_id, "s": shop_id, "now": now, "n": limit})).all()
    people = await customers.profiles(session, shop_id, sorted({r.leader_customer_id for r in rows}))
    out = []
    for r in rows:
        leader = people.get(r.leader_customer_id)
        out.append(OpenGroupOut(
            id=r.id, size=r.size, slots_left=r.size - r.slots_taken, expires_at=r.expires_at,
            seconds_left=_seconds_left(r.expires_at, now) or 0,
            leader=PublicMember(nickname=rules.mask_nickname(leader.nickname if leader else None),
                                avatar=leader.avatar_url if leader else None, is_leader=True)))
    return out


def _console_group(r: Any) -> ConsoleGroup:
    return ConsoleGroup(**{k: getattr(r, k) for k in ConsoleGroup.model_fields})


async def list_groups(session: AsyncSession, shop_id: int, *, campaign_id: int | None = None,
                      status: str | None = None, completed_by_shop: bool | None = None, limit: int = 20,
                      offset: int = 0) -> ConsoleGroupPage:
    clauses = ["shop_id = :s"]
    params: dict[str, Any] = {"s": shop_id, "limit": limit, "offset": offset}
    equal_filters(clauses, params, {"campaign_id": campaign_id, "status": status,
                                     "completed_by_shop": completed_by_shop})
    where = " AND ".join(clauses)
    total = int((await session.execute(text(f"SELECT count(*) FROM groupbuy_groups WHERE {where}"),
                                       params)).scalar_one())
    rows = await session.execute(
        text(f"SELECT {_GROUP_COLUMNS}, (SELECT count(*) FROM groupbuy_members m WHERE m.group_id = g.id "
             "AND m.status = 'refunded') AS refunded_members "
             f"FROM groupbuy_groups g WHERE {where} ORDER BY id DESC LIMIT :limit OFFSET :offset"), params)
    return ConsoleGroupPage(items=[_console_group(r) for r in rows], total=total, limit=limit, offset=offset)


async def console_group(session: AsyncSession, shop_id: int, group_id: int) -> ConsoleGroupDetail:
    """Everything the shop sees of one group, refunded members included (the group keeps its history)."""
    g = (await session.execute(
        text(f"SELECT {_GROUP_COLUMNS}, (SELECT count(*) FROM groupbuy_members m WHERE m.group_id = g.id "
             "AND m.status = 'refunded') AS refunded_members FROM groupbuy_groups g WHERE id = :g AND shop_id = :s"),
        {"g": group_id, "s": shop_id})).first()
    if g is None:
        raise group_not_found()
    members = (await session.execute(
        text("SELECT customer_id, order_no, is_leader, status, quantity, unit_price_fen, paid_fen, refunded_fen, "
             "joined_at, paid_at, left_at FROM groupbuy_members WHERE group_id = :g ORDER BY id"),
        {"g": group_id})).all()
    people = await customers.profiles(session, shop_id, sorted({m.customer_id for m in members}))
    return ConsoleGroupDetail(**_console_group(g).model_dump(), members=[
        ConsoleMember(nickname=people[m.customer_id].nickname if m.customer_id in people else "",
                      **{k: getattr(m, k) for k in ConsoleMember.model_fields if k != "nickname"})
        for m in members])


async def violations(session: AsyncSession) -> list[Violation]:
    """Groups never over-filled, counters equal to their members; closed groups settled; every paid
    member of a failed group refunded in full, exactly once."""
    found = [Violation("group_counts", f"shop {r.shop_id} group {r.id}: size {r.size}, seats taken {r.slots_taken} "
                       f"({r.taken} members), paid {r.paid_count} ({r.paid} members)")
             for r in await session.execute(text(
                 "SELECT g.id, g.shop_id, g.size, g.slots_taken, g.paid_count, "
                 "count(m.id) FILTER (WHERE m.status IN ('held', 'paid', 'refunded')) AS taken, "
                 "count(m.id) FILTER (WHERE m.paid_at IS NOT NULL) AS paid FROM groupbuy_groups g "
                 "LEFT JOIN groupbuy_members m ON m.group_id = g.id GROUP BY g.id HAVING g.slots_taken > g.size "
                 "OR g.paid_count > g.slots_taken OR g.slots_taken <> count(m.id) FILTER (WHERE m.status IN "
                 "('held', 'paid', 'refunded')) OR g.paid_count <> count(m.id) FILTER (WHERE m.paid_at IS NOT NULL) "
                 "LIMIT 50"))]
    found += [Violation("closed_group_settled", f"shop {r.shop_id} group {r.id} is {r.status} with a {r.m} member")
              for r in await session.execute(text(
                  "SELECT DISTINCT ON (g.id) g.id, g.shop_id, g.status, m.status AS m FROM groupbuy_groups g "
                  "JOIN groupbuy_members m ON m.group_id = g.id WHERE (g.status = 'failed' AND m.status IN "
                  "('held', 'paid')) OR (g.status = 'succeeded' AND m.status = 'held') LIMIT 50"))]
    found += [Violation("succeeded_group_reached_its_size", f"shop {r.shop_id} group {r.id}: {r.paid_count} paid, "
                        f"{r.shop_paid_slots} paid by the shop, needs {r.min_size}")
              for r in await session.execute(text(
                  "SELECT id, shop_id, paid_count, shop_paid_slots, min_size FROM groupbuy_groups WHERE status = "
                  "'succeeded' AND ((NOT completed_by_shop AND paid_count < min_size) OR (completed_by_shop AND "
                  "paid_count + shop_paid_slots <> min_size)) LIMIT 50"))]
    return found + await _failed_groups_refunded_once(session)


async def _failed_groups_refunded_once(session: AsyncSession) -> list[Violation]:
    found: list[Violation] = []
    last = 0
    while len(found) < 50:
        members = (await session.execute(
            text("SELECT m.id, m.shop_id, m.group_id, m.order_id, m.order_no, m.paid_fen, m.status "
                 "FROM groupbuy_members m JOIN groupbuy_groups g ON g.id = m.group_id WHERE g.status = 'failed' "
                 "AND m.paid_at IS NOT NULL AND m.paid_fen > 0 AND m.id > :last ORDER BY m.id LIMIT :n"),
            {"last": last, "n": CHECK_CHUNK})).all()
        if not members:
            break
        last = members[-1].id
        totals = await payments.refund_totals(session, [m.order_id for m in members])
        for m in members:
            reserved, refunds = totals.get(m.order_id, (0, 0))
            if m.status != "refunded" or reserved != m.paid_fen or refunds != 1:
                found.append(Violation("failed_group_refunded_once", (
                    f"shop {m.shop_id} group {m.group_id} order {m.order_no}: member {m.status}, paid {m.paid_fen}, "
                    f"refunded {reserved} in {refunds} refund(s)")))
    return found[:50]
