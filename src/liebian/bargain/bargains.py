"""Starting a bargain and helping one: the hot path of bargaining.

A help is a handful of statements in the request's transaction, and never check-then-write:

1. one read of the bargain, its campaign's caps and the helper's own cut (friendly answers, and the
   idempotent answer to a second tap);
2. one guarded upsert of the helper's (and the device's) counter for the day: ``... DO UPDATE SET used =
   used + 1 WHERE used < cap``. It also locks the helper's row for the day, so two taps of one helper are
   taken one after the other;
3. one statement that takes the next cut and records it: ``UPDATE bargain_bargains SET help_count =
   help_count + 1, current_price_fen = current_price_fen - cuts[help_count + 2] WHERE ... AND help_count <
   helpers_needed AND NOT EXISTS (this helper's cut) RETURNING ...`` feeding ``INSERT INTO bargain_helps``
   (unique per bargain and helper, and per bargain and seq).

Fifty friends tapping at once queue on the bargain row; the first ``helpers_needed`` get the planned cuts
in order, the rest find ``help_count = helpers_needed`` and are refused (``bargain_complete``), and their
counters roll back with them. Locks are taken in one order everywhere: the helper's counter, the device's
counter, then the bargain.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.bargain import campaigns, rules
from liebian.bargain.schemas import HelpOut
from liebian.customers import links
from liebian.kit import audit
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, NotFound
from liebian.kit.sql import text

SWEEP_BATCH = 200
QUOTA_KEEP_DAYS = 2
_rng = random.SystemRandom()  # cuts nobody can predict from earlier bargains


def bargain_not_found() -> NotFound:
    return NotFound("bargain_not_found", "No such bargain.")


def expired() -> Conflict:
    return Conflict("bargain_expired", "This bargain has ended.")


async def start(session: AsyncSession, shop_id: int, customer_id: int, campaign_id: int,
                device_id: str | None) -> int:
    """Start a bargain and make the initiator's opening cut; the new bargain's id."""
    now = clock.now()
    campaign = await campaigns.get_row(session, shop_id, campaign_id)
    state = campaign.state(now)
    if state == "scheduled":
        raise Conflict("campaign_not_started", "This bargain campaign has not started yet.",
                       starts_at=campaign.starts_at.isoformat())
    if state != "active":
        raise Conflict("campaign_over", "This bargain campaign is over.")
    if campaign.own_stock and not campaign.stock_left:
        raise Conflict("stock_exhausted", "This bargain has sold out.", sku_id=campaign.sku_id)
    await _count_initiation(session, campaign, customer_id)
    plan = rules.cut_plan(campaign.start_price_fen - campaign.floor_price_fen,
                          rules.cuts_for(campaign.helpers_needed), _rng)
    bargain_id = await _insert(session, campaign, customer_id, device_id, plan, now)
    if bargain_id is None and await _expire_stale(session, campaign.id, customer_id, now):
        bargain_id = await _insert(session, campaign, customer_id, device_id, plan, now)
    if bargain_id is None:
        raise await _in_progress(session, campaign.id, customer_id) or RuntimeError("no live bargain in the way")
    return bargain_id


async def _in_progress(session: AsyncSession, campaign_id: int, customer_id: int) -> Conflict | None:
    """The customer's live bargain in this campaign, as the answer to starting another."""
    live = (await session.execute(
        text("SELECT id FROM bargain_bargains WHERE campaign_id = :c AND customer_id = :cust AND status IN "
             "('active', 'complete', 'ordered') AND (status = 'ordered' OR expires_at > :now)"),
        {"c": campaign_id, "cust": customer_id, "now": clock.now()})).scalar()
    if live is None:
        return None
    return Conflict("bargain_in_progress", "You already have a bargain running in this campaign.", bargain_id=live)


async def _count_initiation(session: AsyncSession, campaign: campaigns.CampaignRow, customer_id: int) -> None:
    row = (await session.execute(
        text("INSERT INTO bargain_initiations (campaign_id, customer_id, shop_id, started) VALUES (:c, :cust, :s, 1) "
             "ON CONFLICT (campaign_id, customer_id) DO UPDATE SET started = bargain_initiations.started + 1 "
             "WHERE bargain_initiations.started < :limit RETURNING started"),
        {"c": campaign.id, "cust": customer_id, "s": campaign.shop_id,
         "limit": campaign.initiations_per_customer})).first()
    if row is None:
        raise await _in_progress(session, campaign.id, customer_id) or Conflict("initiation_limit_reached",
                       f"At most {campaign.initiations_per_customer} bargain(s) per customer in this campaign.")


async def _insert(session: AsyncSession, campaign: campaigns.CampaignRow, customer_id: int, device_id: str | None,
                  plan: list[int], now: datetime) -> int | None:
    """The bargain and its opening cut in one statement; None if this customer has one running already
    (the partial unique index decides, even between two concurrent taps on "start")."""
    after = campaign.start_price_fen - plan[0]
    return (await session.execute(
        text("WITH b AS (INSERT INTO bargain_bargains (shop_id, campaign_id, customer_id, device_id, status, "
             "start_price_fen, floor_price_fen, current_price_fen, helpers_needed, help_count, cuts, buy_anytime, "
             "created_at, expires_at) VALUES (:s, :c, :cust, :dev, 'active', :start, :floor, :after, :helpers, 0, "
             "CAST(:cuts AS bigint[]), :anytime, :now, :expires) ON CONFLICT (campaign_id, customer_id) WHERE "
             "status IN ('active', 'complete', 'ordered') DO NOTHING RETURNING id) "
             "INSERT INTO bargain_helps (shop_id, bargain_id, helper_customer_id, device_id, seq, cut_fen, "
             "price_after_fen, created_at) SELECT :s, id, :cust, :dev, 0, :cut, :after, :now FROM b "
             "RETURNING bargain_id"),
        {"s": campaign.shop_id, "c": campaign.id, "cust": customer_id, "dev": device_id,
         "start": campaign.start_price_fen, "floor": campaign.floor_price_fen, "after": after,
         "helpers": campaign.helpers_needed, "cuts": plan, "anytime": campaign.buy_anytime, "now": now,
         "expires": rules.expiry(now, campaign.duration_seconds, campaign.ends_at), "cut": plan[0]})).scalar()


async def _expire_stale(session: AsyncSession, campaign_id: int, customer_id: int, now: datetime) -> bool:
    """The customer's previous bargain ran out but the sweeper has not marked it yet."""
    return (await session.execute(
        text("UPDATE bargain_bargains SET status = 'expired', closed_at = :now WHERE campaign_id = :c "
             "AND customer_id = :cust AND status IN ('active', 'complete') AND expires_at <= :now RETURNING id"),
        {"c": campaign_id, "cust": customer_id, "now": now})).first() is not None


@dataclass(frozen=True)
class _Target:
    row: Any  # the bargain, its campaign's caps and the helper's own cut if any

    def answer(self) -> HelpOut:
        r = self.row
        return HelpOut(bargain_id=r.id, seq=r.my_seq, cut_fen=r.my_cut, current_price_fen=r.my_price,
                       helpers_left=r.helpers_needed - r.my_seq, complete=r.my_seq == r.helpers_needed,
                       already_helped=True)


async def _target(session: AsyncSession, shop_id: int, bargain_id: int, helper_id: int) -> _Target:
    row = (await session.execute(
        text("SELECT b.id, b.customer_id, b.device_id, b.status, b.expires_at, b.help_count, b.helpers_needed, "
             "c.helps_per_helper_per_day AS hcap, c.helps_per_device_per_day AS dcap, h.seq AS my_seq, "
             "h.cut_fen AS my_cut, h.price_after_fen AS my_price FROM bargain_bargains b "
             "JOIN bargain_campaigns c ON c.id = b.campaign_id LEFT JOIN bargain_helps h ON h.bargain_id = b.id "
             "AND h.helper_customer_id = :h AND h.seq >= 1 WHERE b.id = :b AND b.shop_id = :s"),
        {"b": bargain_id, "s": shop_id, "h": helper_id})).first()
    if row is None:
        raise bargain_not_found()
    return _Target(row)


def _refuse(status: str, expires_at: datetime, now: datetime) -> Conflict:
    state = rules.effective_status(cast(rules.BargainStatus, status), expires_at, now)
    if state == "expired":
        return expired()
    if state == "ordered":
        return Conflict("bargain_ordered", "The initiator has already ordered at this price; no more cuts.")
    return Conflict("bargain_complete", "This bargain has reached its floor price; no more cuts are needed.")


async def help_bargain(session: AsyncSession, shop_id: int, bargain_id: int, helper_id: int,
                       device_id: str | None) -> HelpOut:
    """A friend's cut: once per friend and bargain; the same answer again on a second tap."""
    now = clock.now()
    target = await _target(session, shop_id, bargain_id, helper_id)
    r = target.row
    if r.customer_id == helper_id or (device_id is not None and device_id == r.device_id):
        raise Conflict("cannot_help_own_bargain", "You cannot cut your own bargain; share it with friends.")
    if r.my_seq is not None:
        return target.answer()
    await _refuse_alt_account(session, shop_id, bargain_id, r.customer_id, helper_id, device_id)
    if r.status not in ("active",) or r.expires_at <= now or r.help_count >= r.helpers_needed:
        raise _refuse(r.status, r.expires_at, now)
    day = rules.help_day(now)
    counted = await _count_help(session, shop_id, day, helper_id, device_id, r.hcap, r.dcap)
    refused = [kind for kind in ("helper", "device") if kind in counted and not counted[kind]]
    cut = None if refused else await _cut(session, shop_id, bargain_id, helper_id, device_id, now, r.helpers_needed)
    if cut is not None:
        return cut
    # Refused, or the bargain moved since the read: a twin tap of this helper may have cut meanwhile.
    again = await _target(session, shop_id, bargain_id, helper_id)
    if again.row.my_seq is not None:
        await _uncount(session, shop_id, day, {k: s for k, s in _subjects(helper_id, device_id).items()
                                               if counted.get(k)})
        return again.answer()
    if "helper" in refused:
        raise Conflict("daily_help_limit_reached", f"You can cut at most {r.hcap} bargain(s) a day in this shop.",
                       limit=r.hcap)
    if "device" in refused:
        raise Conflict("device_help_limit_reached", f"This device can cut at most {r.dcap} bargain(s) a day.",
                       limit=r.dcap)
    raise _refuse(again.row.status, again.row.expires_at, now)


async def _refuse_alt_account(session: AsyncSession, shop_id: int, bargain_id: int, owner_id: int, helper_id: int,
                              device_id: str | None) -> None:
    """The owner's other account (the same device or phone, directly or through one more account) is the owner."""
    link = (await links.linked(session, shop_id, helper_id, [owner_id], device_id=device_id)).get(owner_id)
    if link is None:
        return
    audit.refusal(session, audit.Event(shop_id=shop_id, kind=audit.RING_BLOCKED, reason=f"alt_account_{link}",
                                       actor=f"customer:{helper_id}", target=f"bargain:{bargain_id}",
                                       details={"owner_id": owner_id, "linked_by": link}))
    raise Conflict("linked_account", "This account is linked to the bargain's owner (the same device or phone); "
                   "share it with friends instead.", linked_by=link)


def _subjects(helper_id: int, device_id: str | None) -> dict[str, str]:
    return {"helper": str(helper_id)} | ({"device": device_id} if device_id is not None else {})


async def _count_help(session: AsyncSession, shop_id: int, day: date, helper_id: int, device_id: str | None,
                      helper_cap: int | None, device_cap: int | None) -> dict[str, bool]:
    """Both daily counters in one guarded upsert (helper row first, then device): kind → counted.
    A counter at its cap is left as it is and missing from the answer; uncapped ones still count."""
    subjects = _subjects(helper_id, device_id)
    values = ", ".join(f"(:s, :day, '{kind}', :{kind}, 1)" for kind in subjects)
    rows = (await session.execute(
        text(f"INSERT INTO bargain_help_quotas AS q (shop_id, day, kind, subject, used) VALUES {values} "
             "ON CONFLICT (shop_id, day, kind, subject) DO UPDATE SET used = q.used + 1 WHERE "
             "(CASE q.kind WHEN 'helper' THEN CAST(:hcap AS integer) ELSE CAST(:dcap AS integer) END) IS NULL "
             "OR q.used < (CASE q.kind WHEN 'helper' THEN CAST(:hcap AS integer) ELSE CAST(:dcap AS integer) END) "
             "RETURNING q.kind"),
        {"s": shop_id, "day": day, "hcap": helper_cap, "dcap": device_cap, **subjects})).scalars().all()
    return {kind: kind in rows for kind in subjects}


async def _uncount(session: AsyncSession, shop_id: int, day: date, subjects: dict[str, str]) -> None:
    """Give back what a repeated tap counted before it found its own earlier cut."""
    for kind, subject in subjects.items():
        await session.execute(
            text("UPDATE bargain_help_quotas SET used = used - 1 WHERE shop_id = :s AND day = :day AND kind = :k "
                 "AND subject = :subj AND used > 0"), {"s": shop_id, "day": day, "k": kind, "subj": subject})


async def _cut(session: AsyncSession, shop_id: int, bargain_id: int, helper_id: int, device_id: str | None,
               now: datetime, needed: int) -> HelpOut | None:
    """The next planned cut, taken and recorded in one statement; None if none can be taken now."""
    row = (await session.execute(
        text("WITH b AS (UPDATE bargain_bargains SET help_count = help_count + 1, "
             "current_price_fen = current_price_fen - cuts[help_count + 2], "
             "status = CASE WHEN help_count + 1 = helpers_needed THEN 'complete' ELSE status END, "
             "completed_at = CASE WHEN help_count + 1 = helpers_needed THEN :now ELSE completed_at END "
             "WHERE id = :b AND shop_id = :s AND status = 'active' AND help_count < helpers_needed "
             "AND expires_at > :now AND customer_id <> :h AND NOT EXISTS (SELECT 1 FROM bargain_helps "
             "WHERE bargain_id = :b AND helper_customer_id = :h) "
             "RETURNING id, help_count, cuts[help_count + 1] AS cut, current_price_fen) "
             "INSERT INTO bargain_helps (shop_id, bargain_id, helper_customer_id, device_id, seq, cut_fen, "
             "price_after_fen, created_at) SELECT :s, id, :h, :dev, help_count, cut, current_price_fen, :now FROM b "
             "RETURNING seq, cut_fen, price_after_fen"),
        {"b": bargain_id, "s": shop_id, "h": helper_id, "dev": device_id, "now": now})).first()
    if row is None:
        return None
    return HelpOut(bargain_id=bargain_id, seq=row.seq, cut_fen=row.cut_fen, current_price_fen=row.price_after_fen,
                   helpers_left=needed - row.seq, complete=row.seq == needed, already_helped=False)


async def sweep_expired(session: AsyncSession, now: datetime) -> int:
    """Bargains past their time without an order end (``SKIP LOCKED``: a bargain being ordered is left)."""
    rows = (await session.execute(
        text("UPDATE bargain_bargains SET status = 'expired', closed_at = :now WHERE id IN (SELECT id FROM "
             "bargain_bargains WHERE status IN ('active', 'complete') AND expires_at <= :now ORDER BY expires_at "
             "LIMIT :n FOR UPDATE SKIP LOCKED) AND status IN ('active', 'complete') RETURNING id"),
        {"now": now, "n": SWEEP_BATCH})).all()
    return len(rows)


async def sweep_old_quotas(session: AsyncSession, now: datetime) -> int:
    """Daily counters of past days are no longer read."""
    rows = (await session.execute(
        text("DELETE FROM bargain_help_quotas WHERE ctid = ANY(ARRAY(SELECT ctid FROM bargain_help_quotas "
             "WHERE day < :before LIMIT :n FOR UPDATE SKIP LOCKED)) RETURNING 1"),
        {"before": rules.help_day(now) - timedelta(days=QUOTA_KEEP_DAYS), "n": SWEEP_BATCH * 5})).all()
    return len(rows)
