"""A group after its seats are taken: payments come in, unpaid orders go, refunds happen, the deadline.

Reactions to order events run in the order's transaction and lock the group row first (a member row
and the group's counters then move together); the deadline sweeper claims due groups with ``FOR UPDATE
SKIP LOCKED``. Every transition is a guarded UPDATE on ``status``, so a group succeeds or fails once;
a failed group's paid members move ``paid → refunded`` in one guarded UPDATE whose rows alone get
their refund started, so each is refunded once however many workers sweep or however often.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.events import GroupFailed, GroupSucceeded, OrderCancelled, OrderPaid, OrderRefunded
from liebian.groupbuy import campaigns, ports, rules, seats
from liebian.groupbuy.campaigns import CampaignRow
from liebian.groupbuy.rules import Outcome, Seat
from liebian.kit import outbox
from liebian.kit.clock import clock
from liebian.kit.events import bus
from liebian.kit.sql import text

log = logging.getLogger(__name__)

CANCEL_TOPIC = "groupbuy.cancel_unpaid"
RELEASE_TOPIC = "groupbuy.release_seat"
SWEEP_BATCH = 20
REFUND_FAILED = "group_failed"
REFUND_DIFFERENCE = "group_price_difference"
REFUND_LATE = "group_closed_before_payment"

_GROUP = ("g.id AS gid, g.status AS gstatus, g.size AS gsize, g.slots_taken AS gtaken, g.paid_count AS gpaid, "
          "g.expires_at AS gexpires, g.leader_customer_id AS gleader")
_CAMPAIGN = ", ".join(f"c.{c.strip()}" for c in campaigns.COLUMNS.split(","))


def _is_group_order(promotion: dict[str, object] | None) -> bool:
    return (promotion or {}).get("kind") == seats.KIND


async def _lock_group_of_order(session: AsyncSession, order_id: int, *, wait: bool = True
                               ) -> tuple[Row[Any], CampaignRow] | None:
    """The group of an order's seat, locked (the order every path takes: group first), with its campaign.
    ``wait=False``: None if another transaction holds the group."""
    lock = "FOR UPDATE OF g" if wait else "FOR UPDATE OF g SKIP LOCKED"
    row = (await session.execute(
        text(f"SELECT {_GROUP}, {_CAMPAIGN} FROM groupbuy_members m JOIN groupbuy_groups g ON g.id = m.group_id "
             f"JOIN groupbuy_campaigns c ON c.id = g.campaign_id WHERE m.order_id = :o {lock}"),
        {"o": order_id})).first()
    return None if row is None else (row, campaigns.row_of(row))


async def on_order_paid(session: AsyncSession, event: OrderPaid) -> None:
    """A seat is paid: the first payment opens the group and starts its countdown; the last one fills it."""
    if not _is_group_order(event.promotion):
        return
    locked = await _lock_group_of_order(session, event.order_id)
    if locked is None:
        return
    group, campaign = locked
    now = clock.now()
    paid = None
    outcome = rules.Outcome(group.gstatus)
    if group.gstatus not in rules.FINAL:
        before_deadline = group.gexpires is None or now < group.gexpires
        outcome = rules.after_payment(group.gstatus, group.gpaid + 1, group.gsize, before_deadline=before_deadline,
                                      group_tiers=campaign.tiers)
        paid = await _seat_paid(session, event, campaign, "open" if outcome.status == "succeeded" else outcome.status)
    if paid is None:
        # Not a held seat: given up (the order timed out, or the group closed) before the money came.
        status = (await session.execute(text("SELECT status FROM groupbuy_members WHERE order_id = :o"),
                                        {"o": event.order_id})).scalar()
        if status == "released":
            await ports.orders.get().refund(session, event.shop_id, event.order_id, amount_fen=None,
                                            reason=REFUND_LATE)
        return
    if outcome.status == "succeeded":
        await succeed(session, group.gid, campaign, outcome, now)


async def _seat_paid(session: AsyncSession, event: OrderPaid, campaign: CampaignRow, status: str) -> int | None:
    """held → paid and the group's count, in one statement; the first payment starts the countdown."""
    return (await session.execute(
        text("WITH m AS (UPDATE groupbuy_members SET status = 'paid', paid_at = :at WHERE order_id = :o "
             "AND status = 'held' RETURNING group_id) UPDATE groupbuy_groups g SET paid_count = g.paid_count + 1, "
             "status = :st, opened_at = coalesce(g.opened_at, :at), expires_at = coalesce(g.expires_at, :due) "
             "FROM m WHERE g.id = m.group_id RETURNING g.id"),
        {"at": event.paid_at, "o": event.order_id, "st": status,
         "due": rules.deadline(event.paid_at, campaign.duration_seconds, campaign.ends_at)})).scalar()


async def on_order_cancelled(session: AsyncSession, event: OrderCancelled) -> None:
    """An unpaid seat is given up: its units go back and the place is free again. A pending group whose
    every seat went is over; a leader who leaves hands the group to the first member who paid."""
    if not _is_group_order(event.promotion):
        return
    # The sweeper of unpaid orders cancels many in one transaction, and another worker others: waiting here
    # for a group that transaction holds could close a cycle. A group held elsewhere gets its seat back
    # after commit instead, in a transaction of its own.
    locked = await _lock_group_of_order(session, event.order_id, wait=False)
    if locked is None:
        held = (await session.execute(text("SELECT 1 FROM groupbuy_members WHERE order_id = :o AND status = 'held'"),
                                      {"o": event.order_id})).first()
        if held is not None:
            await outbox.enqueue(session, RELEASE_TOPIC, {"order_id": event.order_id}, shop_id=event.shop_id,
                                 dedupe_key=f"order:{event.order_id}")
        return
    await _release_seat(session, event.order_id, *locked)


async def release_seat_later(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Outbox: the seat of a cancelled order whose group was busy when it was cancelled."""
    locked = await _lock_group_of_order(session, int(payload["order_id"]))
    if locked is not None:
        await _release_seat(session, int(payload["order_id"]), *locked)


async def _release_seat(session: AsyncSession, order_id: int, group: Row[Any], campaign: CampaignRow) -> None:
    row = (await session.execute(
        text("WITH m AS (UPDATE groupbuy_members SET status = 'released', left_at = :now WHERE order_id = :o "
             "AND status = 'held' RETURNING group_id, customer_id, quantity) "
             "UPDATE groupbuy_groups g SET slots_taken = g.slots_taken - 1 FROM m WHERE g.id = m.group_id "
             "RETURNING g.status, g.slots_taken, m.customer_id, m.quantity"),
        {"now": clock.now(), "o": order_id})).first()
    if row is None:
        return  # released when its group closed, or paid after all
    await seats.give_back(session, campaign, [(row.customer_id, row.quantity)])
    if rules.after_release(row.status, row.slots_taken) == "failed":
        await session.execute(
            text("UPDATE groupbuy_groups SET status = 'failed', failure_reason = 'unpaid', closed_at = :now "
                 "WHERE id = :g AND status = 'pending'"), {"now": clock.now(), "g": group.gid})
    elif row.customer_id == group.gleader:
        await session.execute(
            text("UPDATE groupbuy_groups g SET leader_customer_id = n.customer_id FROM (SELECT customer_id "
                 "FROM groupbuy_members WHERE group_id = :g AND status IN ('paid', 'held') "
                 "ORDER BY paid_at NULLS LAST, id LIMIT 1) n WHERE g.id = :g"), {"g": group.gid})


async def on_order_refunded(session: AsyncSession, event: OrderRefunded) -> None:
    """Money went back to a member (a failed group, a ladder difference, or after-sales after success).

    The group keeps its history: a member refunded in full after success stays listed, as refunded.
    """
    if not _is_group_order(event.promotion):
        return
    await session.execute(
        text("UPDATE groupbuy_members SET refunded_fen = refunded_fen + :a, "
             "left_at = CASE WHEN status = 'paid' AND refunded_fen + :a >= paid_fen THEN :now ELSE left_at END, "
             "status = CASE WHEN status = 'paid' AND refunded_fen + :a >= paid_fen THEN 'refunded' ELSE status END "
             "WHERE order_id = :o"), {"a": event.amount_fen, "o": event.order_id, "now": clock.now()})


async def succeed(session: AsyncSession, group_id: int, campaign: CampaignRow, outcome: Outcome,
                  now: datetime) -> bool:
    """open → succeeded once: every paid member's order may ship; a lower ladder tier refunds the difference."""
    done = (await session.execute(
        text("UPDATE groupbuy_groups SET status = 'succeeded', closed_at = :now, final_unit_price_fen = :price, "
             "completed_by_shop = :cbs, shop_paid_slots = :sps WHERE id = :g AND status = 'open' RETURNING id"),
        {"now": now, "price": outcome.unit_price_fen, "cbs": outcome.completed_by_shop,
         "sps": outcome.shop_paid_slots, "g": group_id})).first()
    if done is None:
        return False
    members = (await session.execute(
        text("SELECT customer_id, order_id, order_no, quantity, unit_price_fen FROM groupbuy_members "
             "WHERE group_id = :g AND status = 'paid' ORDER BY id"), {"g": group_id})).all()
    orders = ports.orders.get()
    await orders.release_holds(session, campaign.shop_id, [m.order_id for m in members])
    if outcome.unit_price_fen is not None:
        refunds = rules.price_difference_refunds([Seat(m.unit_price_fen, m.quantity) for m in members],
                                                 outcome.unit_price_fen)
        for m, amount in zip(members, refunds, strict=True):
            if amount > 0:
                await orders.refund(session, campaign.shop_id, m.order_id, amount_fen=amount, reason=REFUND_DIFFERENCE)
    for m in members:
        await bus.publish(session, GroupSucceeded(
            shop_id=campaign.shop_id, group_id=group_id, campaign_id=campaign.id, order_id=m.order_id,
            order_no=m.order_no, customer_id=m.customer_id, completed_by_shop=outcome.completed_by_shop))
    return True


async def fail(session: AsyncSession, group_id: int, campaign: CampaignRow, now: datetime) -> bool:
    """open → failed once; each paid member moves paid → refunded once and is refunded in full."""
    done = (await session.execute(
        text("UPDATE groupbuy_groups SET status = 'failed', closed_at = :now, failure_reason = 'expired' "
             "WHERE id = :g AND status = 'open' RETURNING id"), {"now": now, "g": group_id})).first()
    if done is None:
        return False
    members = (await session.execute(
        text("UPDATE groupbuy_members SET status = 'refunded', left_at = :now WHERE group_id = :g AND status = 'paid' "
             "RETURNING customer_id, order_id, order_no, quantity"), {"now": now, "g": group_id})).all()
    orders = ports.orders.get()
    for m in sorted(members, key=lambda m: m.order_id):
        await orders.refund(session, campaign.shop_id, m.order_id, amount_fen=None, reason=REFUND_FAILED)
    await seats.give_back(session, campaign, [(m.customer_id, m.quantity) for m in members])
    for m in members:
        await bus.publish(session, GroupFailed(shop_id=campaign.shop_id, group_id=group_id, campaign_id=campaign.id,
                                               order_id=m.order_id, order_no=m.order_no, customer_id=m.customer_id))
    return True


async def _release_unpaid(session: AsyncSession, group_id: int, campaign: CampaignRow, now: datetime) -> None:
    """At the deadline, seats still unpaid are given up; their orders are cancelled after commit.

    Not cancelled here: that would lock their order rows after the group row, while a payment arriving for
    one of them locks the order first and the group next. A payment that beats the cancellation finds the
    seat released and is refunded in full.
    """
    held = (await session.execute(
        text("UPDATE groupbuy_members SET status = 'released', left_at = :now WHERE group_id = :g AND status = 'held' "
             "RETURNING customer_id, quantity, order_id"), {"now": now, "g": group_id})).all()
    if not held:
        return
    await session.execute(text("UPDATE groupbuy_groups SET slots_taken = slots_taken - :n WHERE id = :g"),
                          {"n": len(held), "g": group_id})
    await seats.give_back(session, campaign, [(m.customer_id, m.quantity) for m in held])
    for m in held:
        await outbox.enqueue(session, CANCEL_TOPIC, {"shop_id": campaign.shop_id, "order_id": m.order_id},
                             shop_id=campaign.shop_id, dedupe_key=f"order:{m.order_id}")


async def close_at_deadline(session: AsyncSession, group: Row[Any], campaign: CampaignRow, now: datetime) -> Outcome:
    await _release_unpaid(session, group.id, campaign, now)
    outcome = rules.at_deadline(group.paid_count, campaign.tiers, campaign.auto_complete_percent)
    if outcome.status == "succeeded":
        await succeed(session, group.id, campaign, outcome, now)
    else:
        await fail(session, group.id, campaign, now)
    return outcome


async def sweep_due(session: AsyncSession, now: datetime) -> int:
    """Open groups whose deadline has come; ``SKIP LOCKED`` lets any number of workers share them."""
    due = (await session.execute(
        text("SELECT id, campaign_id, paid_count FROM groupbuy_groups WHERE status = 'open' AND expires_at <= :now "
             "ORDER BY expires_at LIMIT :n FOR UPDATE SKIP LOCKED"), {"now": now, "n": SWEEP_BATCH})).all()
    if not due:
        return 0
    by_id = await campaigns.rows_by_id(session, sorted({g.campaign_id for g in due}))
    # Units go back to SKU and campaign rows: in one order for every worker, or two batches could deadlock.
    for group in sorted(due, key=lambda g: (by_id[g.campaign_id].sku_id, g.campaign_id, g.id)):
        await close_at_deadline(session, group, by_id[group.campaign_id], now)
    return len(due)


async def cancel_released_order(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Outbox: the order of a seat given up at the deadline is cancelled (and its payment closed)."""
    await ports.orders.get().cancel_unpaid(session, int(payload["shop_id"]), int(payload["order_id"]),
                                           reason="group_closed")
