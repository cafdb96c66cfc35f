"""Reading bargains: the bargain page, a customer's own bargains, the console's lists, the invariants."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.bargain import campaigns, rules
from liebian.bargain.bargains import bargain_not_found
from liebian.bargain.schemas import (
    BargainOut,
    BargainState,
    BargainSummary,
    ConsoleBargain,
    ConsoleBargainDetail,
    ConsoleBargainPage,
    ConsoleCut,
    CutOut,
    MyHelp,
    PublicPerson,
)
from liebian.customers import service as customers
from liebian.kit.checks import Violation
from liebian.kit.clock import clock
from liebian.kit.db import equal_filters
from liebian.kit.sql import text

_COLUMNS = ("id, campaign_id, customer_id, status, start_price_fen, floor_price_fen, current_price_fen, "
            "helpers_needed, help_count, buy_anytime, created_at, expires_at, completed_at, ordered_at, closed_at, "
            "order_no, orders_cancelled")


def _state(r: Any, now: datetime) -> BargainState:
    return rules.effective_status(cast(rules.BargainStatus, r.status), r.expires_at, now)


async def exists(session: AsyncSession, shop_id: int, bargain_id: int) -> bool:
    """For shares: a bargain of this shop (anyone may share it; helping is what is limited)."""
    return (await session.execute(text("SELECT 1 FROM bargain_bargains WHERE id = :b AND shop_id = :s"),
                                  {"b": bargain_id, "s": shop_id})).first() is not None


async def bargain_page(session: AsyncSession, shop_id: int, bargain_id: int, viewer_id: int | None) -> BargainOut:
    """What a friend sees from a shared link: the price, the countdown and who cut (nicknames masked)."""
    b = (await session.execute(text(f"SELECT {_COLUMNS} FROM bargain_bargains WHERE id = :b AND shop_id = :s"),
                               {"b": bargain_id, "s": shop_id})).first()
    if b is None:
        raise bargain_not_found()
    campaign = await campaigns.get_row(session, shop_id, b.campaign_id)
    helps = (await session.execute(
        text("SELECT seq, helper_customer_id, cut_fen, price_after_fen, created_at FROM bargain_helps "
             "WHERE bargain_id = :b ORDER BY seq"), {"b": bargain_id})).all()
    people = await customers.profiles(session, shop_id, sorted({h.helper_customer_id for h in helps}))
    now = clock.now()
    state = _state(b, now)
    mine = viewer_id == b.customer_id
    own = next((h for h in helps if h.helper_customer_id == viewer_id), None) if viewer_id is not None else None

    def person(customer_id: int) -> PublicPerson:
        p = people.get(customer_id)
        return PublicPerson(nickname=rules.mask_nickname(p.nickname if p else None), avatar=p.avatar_url if p else None)

    return BargainOut(
        id=b.id, campaign_id=b.campaign_id, sku_id=campaign.sku_id, product_id=campaign.product_id,
        title=campaign.title, status=state, start_price_fen=b.start_price_fen, floor_price_fen=b.floor_price_fen,
        current_price_fen=b.current_price_fen, helpers_needed=b.helpers_needed, help_count=b.help_count,
        helpers_left=b.helpers_needed - b.help_count, buy_anytime=b.buy_anytime, initiator=person(b.customer_id),
        helps=[CutOut(seq=h.seq, is_initiator=h.seq == 0, **person(h.helper_customer_id).model_dump(),
                      cut_fen=h.cut_fen, price_after_fen=h.price_after_fen, helped_at=h.created_at) for h in helps],
        created_at=b.created_at, expires_at=b.expires_at,
        seconds_left=max(0, int((b.expires_at - now).total_seconds())) if state in ("active", "complete") else 0,
        completed_at=b.completed_at, mine=mine, can_buy=mine and rules.can_buy(state, b.buy_anytime),
        order_no=b.order_no if mine else None,
        my_help=MyHelp(cut_fen=own.cut_fen, price_after_fen=own.price_after_fen, seq=own.seq)
        if own is not None and not mine else None)


async def my_bargains(session: AsyncSession, shop_id: int, customer_id: int, *, limit: int = 20,
                      offset: int = 0) -> list[BargainSummary]:
    now = clock.now()
    rows = await session.execute(
        text(f"SELECT {_COLUMNS} FROM bargain_bargains WHERE shop_id = :s AND customer_id = :c "
             "ORDER BY id DESC LIMIT :limit OFFSET :offset"),
        {"s": shop_id, "c": customer_id, "limit": limit, "offset": offset})
    return [BargainSummary(id=r.id, campaign_id=r.campaign_id, status=_state(r, now),
                           current_price_fen=r.current_price_fen, floor_price_fen=r.floor_price_fen,
                           helpers_needed=r.helpers_needed, help_count=r.help_count, expires_at=r.expires_at,
                           order_no=r.order_no) for r in rows]


def _console(r: Any, now: datetime) -> ConsoleBargain:
    return ConsoleBargain(**{k: getattr(r, k) for k in ConsoleBargain.model_fields if k != "status"},
                          status=_state(r, now))


async def list_bargains(session: AsyncSession, shop_id: int, *, campaign_id: int | None = None,
                        customer_id: int | None = None, status: BargainState | None = None, limit: int = 20,
                        offset: int = 0) -> ConsoleBargainPage:
    now = clock.now()
    clauses = ["shop_id = :s"]
    params: dict[str, Any] = {"s": shop_id, "limit": limit, "offset": offset, "now": now}
    equal_filters(clauses, params, {"campaign_id": campaign_id, "customer_id": customer_id})
    if status == "expired":
        clauses.append("(status = 'expired' OR (status IN ('active', 'complete') AND expires_at <= :now))")
    elif status in ("active", "complete"):
        clauses.append("status = :status AND expires_at > :now")
        params["status"] = status
    elif status == "ordered":
        clauses.append("status = 'ordered'")
    where = " AND ".join(clauses)
    total = int((await session.execute(text(f"SELECT count(*) FROM bargain_bargains WHERE {where}"),
                                       params)).scalar_one())
    rows = await session.execute(
        text(f"SELECT {_COLUMNS} FROM bargain_bargains WHERE {where} ORDER BY id DESC LIMIT :limit OFFSET :offset"),
        params)
    return ConsoleBargainPage(items=[_console(r, now) for r in rows], total=total, limit=limit, offset=offset)


async def console_bargain(session: AsyncSession, shop_id: int, bargain_id: int) -> ConsoleBargainDetail:
    """Everything the shop sees of one bargain: the whole plan and who cut, by customer id."""
    b = (await session.execute(text(f"SELECT {_COLUMNS}, cuts FROM bargain_bargains WHERE id = :b AND shop_id = :s"),
                               {"b": bargain_id, "s": shop_id})).first()
    if b is None:
        raise bargain_not_found()
    helps = (await session.execute(
        text("SELECT seq, helper_customer_id, cut_fen, price_after_fen, created_at FROM bargain_helps "
             "WHERE bargain_id = :b ORDER BY seq"), {"b": bargain_id})).all()
    people = await customers.profiles(session, shop_id, sorted({h.helper_customer_id for h in helps}))
    return ConsoleBargainDetail(**_console(b, clock.now()).model_dump(), plan=list(b.cuts), helps=[
        ConsoleCut(seq=h.seq, customer_id=h.helper_customer_id, cut_fen=h.cut_fen, price_after_fen=h.price_after_fen,
                   helped_at=h.created_at, nickname=people[h.helper_customer_id].nickname
                   if h.helper_customer_id in people else "") for h in helps])


async def violations(session: AsyncSession) -> list[Violation]:
    """No bargain below its floor or over-helped; the cuts taken are the plan's, in order, and sum to
    start − current; help_count equals the helpers' cuts; the plan sums to start − floor; a complete
    bargain is at its floor; an ordered one names its order (outside a checkout in flight)."""
    rows = await session.execute(text(
        "SELECT b.id, b.shop_id, b.status, b.start_price_fen, b.floor_price_fen, b.current_price_fen, b.help_count, "
        "b.helpers_needed, b.order_id, (SELECT sum(x) FROM unnest(b.cuts) AS x) AS planned, "
        "coalesce(sum(h.cut_fen), 0) AS cut, count(h.id) FILTER (WHERE h.seq >= 1) AS helps, "
        "count(h.id) FILTER (WHERE h.seq = 0) AS openings, "
        "count(h.id) FILTER (WHERE h.cut_fen <> b.cuts[h.seq + 1] OR h.seq > b.help_count) AS off_plan "
        "FROM bargain_bargains b LEFT JOIN bargain_helps h ON h.bargain_id = b.id GROUP BY b.id "
        "HAVING b.current_price_fen < b.floor_price_fen OR b.help_count > b.helpers_needed "
        "OR coalesce(sum(h.cut_fen), 0) <> b.start_price_fen - b.current_price_fen "
        "OR b.help_count <> count(h.id) FILTER (WHERE h.seq >= 1) OR count(h.id) FILTER (WHERE h.seq = 0) <> 1 "
        "OR count(h.id) FILTER (WHERE h.cut_fen <> b.cuts[h.seq + 1] OR h.seq > b.help_count) > 0 "
        "OR (SELECT sum(x) FROM unnest(b.cuts) AS x) <> b.start_price_fen - b.floor_price_fen "
        "OR (b.status = 'complete' AND b.current_price_fen <> b.floor_price_fen) "
        "OR (b.status = 'ordered' AND b.order_id IS NULL) LIMIT 50"))
    return [Violation("bargain_cuts", (
        f"shop {r.shop_id} bargain {r.id} ({r.status}): start {r.start_price_fen}, floor {r.floor_price_fen}, "
        f"current {r.current_price_fen}, planned {r.planned}, cut {r.cut}; helps {r.help_count} counted, "
        f"{r.helps} recorded, {r.helpers_needed} needed; {r.openings} opening cut(s), {r.off_plan} off the plan; "
        f"order {r.order_id}")) for r in rows]
