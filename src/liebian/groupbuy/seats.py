"""The group-buy price source: checkout asks for a quote, and the buyer's seat is taken right then.

The seat is taken in ``quote`` rather than ``on_placed`` because where the buyer lands decides the price
(a buyer whose group filled may open a new group, at the leader's price) and the group must be named on
the order. Both run in the order's transaction, so a seat exists exactly when its order does.

Locks are always taken in one order — the group, then the campaign (or the SKU), then the customer's
units — here, in the reactions to payment and cancellation, and in the deadline sweeper; so two of them
can wait for each other but never deadlock. Every count moves by one guarded statement:

- a seat: ``UPDATE groupbuy_groups SET slots_taken = slots_taken + 1 WHERE ... AND slots_taken < size``;
- a unit: ``UPDATE groupbuy_campaigns SET stock_left = stock_left - q WHERE ... AND stock_left >= q``
  (or the SKU's own guarded UPDATE when the campaign has no stock of its own);
- the customer's limit: an upsert whose UPDATE branch only applies within the limit;
- once per person per group: a partial unique index on the members.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.customers import service as customers
from liebian.groupbuy import campaigns, rules
from liebian.groupbuy.campaigns import CampaignRow
from liebian.groupbuy.ports import SeatQuote, SeatRequest
from liebian.groupbuy.rules import Role
from liebian.kit.db import last_in_transaction
from liebian.kit.errors import Conflict, Invalid, NotFound, Problem
from liebian.kit.sql import text
from liebian.shops import service as shops

KIND = "groupbuy"
HOLD = "group_not_full"  # what the shop sees on a paid order that waits for its group


@dataclass(frozen=True)
class SeatTaken:
    group_id: int
    role: Role
    requested_group_id: int | None = None  # the group the buyer asked for, when they were seated elsewhere


def group_not_found() -> NotFound:
    return NotFound("group_not_found", "No such group in this campaign.")


async def quote(session: AsyncSession, req: SeatRequest) -> SeatQuote:
    """Price a group-buy order and take its seat, its units and the customer's allowance."""
    campaign_id = req.params.get("campaign_id")
    if campaign_id is None:
        raise Invalid("campaign_required", "A group-buy order names its campaign_id.")
    if req.params.get("bargain_id") is not None:
        raise Invalid("invalid_promotion", "A group-buy order takes campaign_id and group_id only.")
    if len(req.items) != 1:
        raise Invalid("groupbuy_one_line", "A group-buy order has exactly one line: the campaign's SKU.")
    item = req.items[0]
    campaign = await campaigns.get_row(session, req.shop_id, campaign_id)
    if item.sku_id != campaign.sku_id:
        raise Invalid("sku_not_in_campaign", f"This campaign sells SKU {campaign.sku_id}.", sku_id=item.sku_id)
    refusal = campaign_refusal(campaign, req.now)
    if refusal is not None:
        raise refusal
    if campaign.per_customer_limit is not None and item.quantity > campaign.per_customer_limit:
        raise Conflict("per_customer_limit_exceeded",
                       f"At most {campaign.per_customer_limit} per customer in this group buy.")
    seat = await _seat(session, req, campaign, req.params.get("group_id"))
    # The units come off the campaign's one SKU (or campaign) row, which every join of the campaign wants:
    # taken last, its lock is held for the order's last statements only.
    last_in_transaction(session, lambda: _take_units(session, campaign, item.quantity))
    await _count_units(session, campaign, req.customer_id, item.quantity)
    unit = rules.unit_price(seat.role, campaign.group_price_fen, campaign.leader_price_fen)
    # Shown as the list price less a discount, so the order says what the group saves.
    price = ((item.list_price_fen, (item.list_price_fen - unit) * item.quantity) if unit <= item.list_price_fen
             else (unit, 0))
    record: dict[str, object] = {"campaign_id": campaign.id, "group_id": seat.group_id, "role": seat.role,
                                 "unit_price_fen": unit}
    if seat.requested_group_id is not None:
        record["requested_group_id"] = seat.requested_group_id
    return SeatQuote(prices=(price,), record=record, payment_methods=frozenset({"wechat"}), fulfilment_hold=HOLD)


async def on_placed(session: AsyncSession, req: SeatRequest, record: dict[str, object], *, order_id: int,
                    order_no: str, payable_fen: int) -> None:
    """The seat gets its order: one insert, refused by the unique index if this customer is already in."""
    row = (await session.execute(
        text("INSERT INTO groupbuy_members (shop_id, group_id, campaign_id, customer_id, order_id, order_no, "
             "is_leader, quantity, unit_price_fen, paid_fen, status, joined_at) VALUES (:s, :g, :c, :cust, :o, "
             ":no, :leader, :q, :unit, :paid, 'held', :now) ON CONFLICT (group_id, customer_id) "
             "WHERE status IN ('held', 'paid') DO NOTHING RETURNING id"),
        {"s": req.shop_id, "g": record["group_id"], "c": record["campaign_id"], "cust": req.customer_id,
         "o": order_id, "no": order_no, "leader": record["role"] == "leader", "q": req.items[0].quantity,
         "unit": record["unit_price_fen"], "paid": payable_fen, "now": req.now})).first()
    if row is None:
        raise Conflict("already_in_group", "You are already in this group.")


async def _seat(session: AsyncSession, req: SeatRequest, campaign: CampaignRow, group_id: int | None) -> SeatTaken:
    if group_id is None:
        return SeatTaken(await _open_group(session, req, campaign), "leader")
    await _check_joinable(session, req, campaign, group_id)
    if await _take_seat(session, req, group_id):
        return SeatTaken(group_id, "member")
    # Full: it filled while this buyer was deciding or paying. Never over the size: somewhere else, or no.
    settings = (await shops.shop_by_id(session, req.shop_id)).settings
    target = rules.overflow_target(settings.groupbuy_overflow)
    if target == "other_group":
        other = await _take_seat_elsewhere(session, req, campaign, exclude=group_id)
        if other is not None:
            return SeatTaken(other, "member", group_id)
    elif target == "new_group":
        return SeatTaken(await _open_group(session, req, campaign), "leader", group_id)
    raise Conflict("group_full", "This group is full.", group_id=group_id)


def campaign_refusal(campaign: CampaignRow, now: datetime) -> Problem | None:
    """Why nobody can open or join a group of this campaign now; None while it runs."""
    state = campaign.state(now)
    if state == "scheduled":
        return Conflict("campaign_not_started", "This group buy has not started yet.",
                        starts_at=campaign.starts_at.isoformat())
    if state != "active":
        return Conflict("campaign_over", "This group buy is over.")
    return None


async def join_refusal(session: AsyncSession, shop_id: int, campaign: CampaignRow, group_id: int, customer_id: int,
                       now: datetime) -> Problem | None:
    """Why this customer cannot join this group (checkout raises it; the group page shows it); None: they may
    try, and the guarded UPDATE that takes the seat decides."""
    group = (await session.execute(
        text("SELECT g.campaign_id, g.status, g.expires_at, EXISTS (SELECT 1 FROM groupbuy_members m "
             "WHERE m.group_id = g.id AND m.customer_id = :c AND m.status IN ('held', 'paid')) AS member "
             "FROM groupbuy_groups g WHERE g.id = :g AND g.shop_id = :s"),
        {"g": group_id, "s": shop_id, "c": customer_id})).first()
    if group is None or group.campaign_id != campaign.id:
        return group_not_found()
    if group.member:
        return Conflict("already_in_group", "You are already in this group.")
    if group.status == "failed" or (group.status == "open" and group.expires_at <= now):
        return Conflict("group_closed", "This group has ended; open a new one or join another.")
    if campaign.new_customers_only and not (await customers.get(session, shop_id, customer_id)).is_new:
        return Conflict("new_customers_only", "Only new customers can join groups of this campaign; you can open one.")
    return None


async def _check_joinable(session: AsyncSession, req: SeatRequest, campaign: CampaignRow, group_id: int) -> None:
    """Friendly answers before any row is touched; the guarded UPDATE that follows is what decides."""
    refusal = await join_refusal(session, req.shop_id, campaign, group_id, req.customer_id, req.now)
    if refusal is not None:
        raise refusal


async def _take_seat(session: AsyncSession, req: SeatRequest, group_id: int) -> bool:
    row = (await session.execute(
        text("UPDATE groupbuy_groups SET slots_taken = slots_taken + 1 WHERE id = :g AND shop_id = :s "
             "AND status IN ('pending', 'open') AND slots_taken < size AND (expires_at IS NULL OR expires_at > :now) "
             "RETURNING id"), {"g": group_id, "s": req.shop_id, "now": req.now})).first()
    return row is not None


async def _take_seat_elsewhere(session: AsyncSession, req: SeatRequest, campaign: CampaignRow,
                               exclude: int) -> int | None:
    """The open group of the campaign closest to full that this customer is not in.

    ``FOR UPDATE`` without ``SKIP LOCKED``: a group another buyer is joining right now is waited for, not
    passed over, so nobody is refused while a seat is free; a group found full after the wait is skipped
    and the next one locked.
    """
    row = (await session.execute(
        text("UPDATE groupbuy_groups SET slots_taken = slots_taken + 1 WHERE id = (SELECT g.id FROM groupbuy_groups g "
             "WHERE g.campaign_id = :c AND g.status = 'open' AND g.slots_taken < g.size AND g.expires_at > :now "
             "AND g.id <> :x AND NOT EXISTS (SELECT 1 FROM groupbuy_members m WHERE m.group_id = g.id "
             "AND m.customer_id = :cust AND m.status IN ('held', 'paid')) "
             "ORDER BY g.size - g.slots_taken, g.expires_at, g.id LIMIT 1 FOR UPDATE) "
             "AND slots_taken < size RETURNING id"),
        {"c": campaign.id, "now": req.now, "x": exclude, "cust": req.customer_id})).first()
    return None if row is None else int(row.id)


async def _open_group(session: AsyncSession, req: SeatRequest, campaign: CampaignRow) -> int:
    """A new group, pending until its first payment; the opener holds its first seat."""
    return int((await session.execute(
        text("INSERT INTO groupbuy_groups (shop_id, campaign_id, size, min_size, status, slots_taken, paid_count, "
             "leader_customer_id, created_at) VALUES (:s, :c, :size, :min, 'pending', 1, 0, :cust, :now) RETURNING id"),
        {"s": req.shop_id, "c": campaign.id, "size": campaign.group_size, "min": campaign.min_size,
         "cust": req.customer_id, "now": req.now})).scalar_one())


async def _take_units(session: AsyncSession, campaign: CampaignRow, quantity: int) -> None:
    if campaign.own_stock:
        taken = (await session.execute(
            text("UPDATE groupbuy_campaigns SET stock_left = stock_left - :q WHERE id = :c AND status = 'active' "
                 "AND stock_left >= :q RETURNING id"), {"q": quantity, "c": campaign.id})).first() is not None
    else:
        taken = await catalog.take_stock(session, campaign.shop_id, campaign.sku_id, quantity)
    if not taken:
        raise Conflict("stock_exhausted", "This group buy has sold out.", sku_id=campaign.sku_id)


async def _count_units(session: AsyncSession, campaign: CampaignRow, customer_id: int, quantity: int) -> None:
    row = (await session.execute(
        text("INSERT INTO groupbuy_usage (campaign_id, customer_id, shop_id, units) VALUES (:c, :cust, :s, :q) "
             "ON CONFLICT (campaign_id, customer_id) DO UPDATE SET units = groupbuy_usage.units + EXCLUDED.units "
             "WHERE CAST(:limit AS integer) IS NULL OR groupbuy_usage.units + EXCLUDED.units <= :limit "
             "RETURNING units"),
        {"c": campaign.id, "cust": customer_id, "s": campaign.shop_id, "q": quantity,
         "limit": campaign.per_customer_limit})).first()
    if row is None:
        raise Conflict("per_customer_limit_exceeded",
                       f"At most {campaign.per_customer_limit} per customer in this group buy.")


async def give_back(session: AsyncSession, campaign: CampaignRow, seats: Iterable[tuple[int, int]]) -> None:
    """Seats that ended unpaid or refunded return their units, to the campaign while it runs, else to the
    SKU, and free the customers' limits. ``seats``: (customer id, quantity)."""
    per_customer: defaultdict[int, int] = defaultdict(int)
    for customer_id, quantity in seats:
        per_customer[customer_id] += quantity
    units = sum(per_customer.values())
    if units == 0:
        return
    back_to_campaign = campaign.own_stock and (await session.execute(
        text("UPDATE groupbuy_campaigns SET stock_left = stock_left + :q WHERE id = :c AND status = 'active' "
             "RETURNING id"), {"q": units, "c": campaign.id})).first() is not None
    if not back_to_campaign:
        await catalog.return_stock(session, campaign.shop_id, [(campaign.sku_id, units)])
    ids = sorted(per_customer)
    await session.execute(
        text("UPDATE groupbuy_usage u SET units = u.units - d.q FROM unnest(CAST(:ids AS bigint[]), "
             "CAST(:qs AS integer[])) AS d(customer, q) WHERE u.campaign_id = :c AND u.customer_id = d.customer"),
        {"ids": ids, "qs": [per_customer[i] for i in ids], "c": campaign.id})
