"""Subscribe messages (wechat.md §4): the shop's templates, customers' one-time grants, and the sends.

Order-of-events: the mini-program calls ``wx.requestSubscribeMessage`` and reports what the customer
accepted; each accept is one send. When an order is paid, shipped or refunded, a customer with a grant
for the event's template has it taken by one guarded UPDATE, and the message — rendered within
WeChat's field limits now, so a bad field costs no grant — is sent by the outbox after commit.
WeChat's 43101 (no grant left at WeChat) zeroes our count; errors that may pass are retried.

Grants are never a reward and never required: no other module reads them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers import service as customers
from liebian.events import GroupFailed, GroupSucceeded, OrderPaid, OrderRefunded, OrderShipped
from liebian.integrations.wechat.errors import InvalidArgument, WeChatApiError
from liebian.integrations.wechat.miniprogram import (
    ERRCODE_FIELD_INVALID,
    ERRCODE_NO_SUBSCRIPTION,
    FieldValue,
    render_subscribe_data,
)
from liebian.kit import outbox
from liebian.kit.clock import clock
from liebian.kit.errors import Invalid, NotFound
from liebian.kit.sql import text
from liebian.miniapp import ports, rules
from liebian.miniapp.rules import EVENTS, Event, Source

log = logging.getLogger(__name__)

SEND_TOPIC = "miniapp.subscribe_send"
MAX_GRANTS = 50  # per template and customer: far more than anyone accepts; bounds a misbehaving client
# Refusals that will not change on a retry; WeChat did not use the customer's grant for them.
PERMANENT_ERRCODES = frozenset({40003, 40037, 41030, 47001, ERRCODE_FIELD_INVALID})


@dataclass(frozen=True)
class TemplateView:
    template_id: str
    fields: dict[str, Source]
    page: str | None


@dataclass(frozen=True)
class GrantView:
    template_id: str
    remaining: int


# --- the shop's templates -------------------------------------------------------------------------

async def templates(session: AsyncSession, shop_id: int) -> dict[Event, TemplateView | None]:
    found: dict[Event, TemplateView | None] = dict.fromkeys(EVENTS)
    rows = await session.execute(
        text("SELECT event, template_id, fields, page FROM subscribe_templates WHERE shop_id = :s"), {"s": shop_id})
    for r in rows:
        found[r.event] = TemplateView(r.template_id, rules.in_keyword_order(r.fields), r.page)
    return found


async def set_templates(session: AsyncSession, shop_id: int,
                        changes: Mapping[Event, TemplateView | None]) -> dict[Event, TemplateView | None]:
    """Set (or with ``None`` remove) the template of each event named; events not named keep theirs."""
    problems = [f"{event}: {p}" for event, change in changes.items() if change is not None
                for p in rules.field_problems(event, change.fields)]
    if problems:
        raise Invalid("invalid_template_fields", "; ".join(problems))
    now = clock.now()
    for event, change in changes.items():
        if change is None:
            await session.execute(text("DELETE FROM subscribe_templates WHERE shop_id = :s AND event = :e"),
                                  {"s": shop_id, "e": event})
            continue
        await session.execute(
            text("INSERT INTO subscribe_templates (shop_id, event, template_id, fields, page, updated_at) "
                 "VALUES (:s, :e, :t, CAST(:f AS jsonb), :p, :now) ON CONFLICT (shop_id, event) DO UPDATE SET "
                 "template_id = EXCLUDED.template_id, fields = EXCLUDED.fields, page = EXCLUDED.page, "
                 "updated_at = EXCLUDED.updated_at"),
            {"s": shop_id, "e": event, "t": change.template_id, "f": json.dumps(change.fields),
             "p": change.page, "now": now})
    return await templates(session, shop_id)


# --- grants ---------------------------------------------------------------------------------------

async def grants(session: AsyncSession, shop_id: int, customer_id: int) -> list[GrantView]:
    rows = await session.execute(
        text("SELECT template_id, remaining FROM subscribe_grants WHERE shop_id = :s AND customer_id = :c "
             "ORDER BY template_id"), {"s": shop_id, "c": customer_id})
    return [GrantView(r.template_id, r.remaining) for r in rows]


async def record_accepted(session: AsyncSession, shop_id: int, customer_id: int,
                          accepted: Iterable[str]) -> tuple[list[GrantView], list[str]]:
    """One more send per accepted template of this shop; returns the grants and the ids not counted.

    Ids the shop does not use (a stale mini-program, a typo) are not counted rather than refused, so
    the accepts that are valid are not lost with them.
    """
    wanted = list(dict.fromkeys(accepted))
    known = {t.template_id for t in (await templates(session, shop_id)).values() if t is not None}
    counted = [t for t in wanted if t in known]
    if counted:
        await session.execute(
            text("INSERT INTO subscribe_grants (shop_id, customer_id, template_id, remaining, updated_at) "
                 "SELECT :s, :c, t, 1, :now FROM unnest(CAST(:ids AS text[])) AS t "
                 "ON CONFLICT (shop_id, customer_id, template_id) DO UPDATE SET "
                 "remaining = LEAST(subscribe_grants.remaining + 1, :cap), updated_at = EXCLUDED.updated_at"),
            {"s": shop_id, "c": customer_id, "ids": counted, "now": clock.now(), "cap": MAX_GRANTS})
    return await grants(session, shop_id, customer_id), [t for t in wanted if t not in known]


# --- owing a message when something happens to an order -------------------------------------------

async def _claim_grant(session: AsyncSession, shop_id: int, customer_id: int, event: Event) -> TemplateView | None:
    """The event's template if the customer had a grant for it, which this takes (one statement)."""
    row = (await session.execute(
        text("UPDATE subscribe_grants g SET remaining = g.remaining - 1, updated_at = :now "
             "FROM subscribe_templates t WHERE t.shop_id = :s AND t.event = :e AND g.shop_id = t.shop_id "
             "AND g.customer_id = :c AND g.template_id = t.template_id AND g.remaining > 0 "
             "RETURNING t.template_id, t.fields, t.page"),
        {"now": clock.now(), "s": shop_id, "e": event, "c": customer_id})).first()
    return None if row is None else TemplateView(row.template_id, dict(row.fields), row.page)


async def _give_back(session: AsyncSession, shop_id: int, customer_id: int, template_id: str) -> None:
    await session.execute(
        text("UPDATE subscribe_grants SET remaining = remaining + 1, updated_at = :now "
             "WHERE shop_id = :s AND customer_id = :c AND template_id = :t"),
        {"now": clock.now(), "s": shop_id, "c": customer_id, "t": template_id})


async def _owe(session: AsyncSession, *, shop_id: int, customer_id: int, event: Event, ref: str, order_id: int,
               facts: Mapping[Source, FieldValue | None]) -> None:
    template = await _claim_grant(session, shop_id, customer_id, event)
    if template is None:
        return  # no template for this event, or no grant: nothing is sent, nothing is owed
    order = await ports.orders.get()(session, shop_id, order_id)
    known: dict[Source, FieldValue | None] = {
        "product": rules.product_summary(order.titles), "amount": order.payable_fen, "order_no": order.order_no,
        "status": rules.STATUS_WORDS[event], "carrier": order.carrier, "tracking_no": order.tracking_no}
    try:
        data = render_subscribe_data(rules.field_values(template.fields, {**known, **facts}))
    except (InvalidArgument, ValueError) as exc:
        # Not sendable as configured (e.g. a tracking number over 32 characters): keep the grant for later.
        log.warning("subscribe message %s for order %s not rendered: %s", event, order_id, exc)
        await _give_back(session, shop_id, customer_id, template.template_id)
        return
    page = f"{template.page}?order_no={order.order_no}" if template.page else None
    message = (await session.execute(
        text("INSERT INTO subscribe_messages (shop_id, customer_id, event, ref, template_id, data, page, status, "
             "created_at) VALUES (:s, :c, :e, :ref, :t, CAST(:d AS jsonb), :p, 'pending', :now) "
             "ON CONFLICT (shop_id, event, ref) DO NOTHING RETURNING id"),
        {"s": shop_id, "c": customer_id, "e": event, "ref": ref, "t": template.template_id,
         "d": json.dumps(data, ensure_ascii=False), "p": page, "now": clock.now()})).first()
    if message is None:  # the same event again: its message is already owed
        await _give_back(session, shop_id, customer_id, template.template_id)
        return
    await outbox.enqueue(session, SEND_TOPIC, {"message_id": message.id}, shop_id=shop_id,
                         dedupe_key=f"subscribe:{message.id}")


async def on_order_paid(session: AsyncSession, event: OrderPaid) -> None:
    await _owe(session, shop_id=event.shop_id, customer_id=event.customer_id, event="order_paid",
               ref=event.order_no, order_id=event.order_id,
               facts={"amount": event.payable_fen, "time": event.paid_at})


async def on_order_shipped(session: AsyncSession, event: OrderShipped) -> None:
    await _owe(session, shop_id=event.shop_id, customer_id=event.customer_id, event="order_shipped",
               ref=event.order_no, order_id=event.order_id, facts={"time": clock.now()})


async def on_order_refunded(session: AsyncSession, event: OrderRefunded) -> None:
    status = rules.STATUS_WORDS["order_refunded"] if event.fully_refunded else rules.PARTIAL_REFUND_WORDS
    # Each refund of an order raises its refunded total, which makes the message key unique per refund.
    await _owe(session, shop_id=event.shop_id, customer_id=event.customer_id, event="order_refunded",
               ref=f"{event.order_no}:{event.refunded_total_fen}", order_id=event.order_id,
               facts={"amount": event.amount_fen, "time": clock.now(), "status": status})


async def on_group_succeeded(session: AsyncSession, event: GroupSucceeded) -> None:
    await _owe(session, shop_id=event.shop_id, customer_id=event.customer_id, event="group_succeeded",
               ref=f"{event.order_no}:{event.group_id}", order_id=event.order_id, facts={"time": clock.now()})


async def on_group_failed(session: AsyncSession, event: GroupFailed) -> None:
    await _owe(session, shop_id=event.shop_id, customer_id=event.customer_id, event="group_failed",
               ref=f"{event.order_no}:{event.group_id}", order_id=event.order_id, facts={"time": clock.now()})


# --- the send (outbox) ----------------------------------------------------------------------------

async def _finish(session: AsyncSession, message_id: int, status: str, errcode: int | None = None) -> None:
    await session.execute(
        text("UPDATE subscribe_messages SET status = :st, errcode = :e, finished_at = :now WHERE id = :id"),
        {"st": status, "e": errcode, "now": clock.now(), "id": message_id})


async def send_message(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Outbox handler. Raises only for what a retry may fix (WeChat busy or unreachable, rate limits)."""
    m = (await session.execute(
        text("SELECT id, shop_id, customer_id, template_id, data, page, status FROM subscribe_messages "
             "WHERE id = :id FOR UPDATE"), {"id": payload["message_id"]})).first()
    if m is None or m.status != "pending":
        return
    try:
        openid = (await customers.payer(session, m.shop_id, m.customer_id)).openid
        await ports.wechat.get().client.send_subscribe_message(openid, m.template_id, m.data, page=m.page)
    except NotFound:
        await _finish(session, m.id, "failed")  # the customer is gone
    except InvalidArgument:
        await _give_back(session, m.shop_id, m.customer_id, m.template_id)
        await _finish(session, m.id, "failed")
    except WeChatApiError as exc:
        if exc.errcode == ERRCODE_NO_SUBSCRIPTION:
            # WeChat holds no grant (revoked, or spent elsewhere): ours was wrong, and retrying cannot help.
            await session.execute(
                text("UPDATE subscribe_grants SET remaining = 0, updated_at = :now "
                     "WHERE shop_id = :s AND customer_id = :c AND template_id = :t"),
                {"now": clock.now(), "s": m.shop_id, "c": m.customer_id, "t": m.template_id})
            await _finish(session, m.id, "refused", exc.errcode)
        elif exc.errcode in PERMANENT_ERRCODES:
            log.warning("subscribe message %s refused by WeChat (errcode %s)", m.id, exc.errcode)
            await _give_back(session, m.shop_id, m.customer_id, m.template_id)
            await _finish(session, m.id, "failed", exc.errcode)
        else:
            raise
    else:
        await _finish(session, m.id, "sent")
