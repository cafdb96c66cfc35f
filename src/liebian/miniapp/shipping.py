"""WeChat's order-shipping upload (wechat.md §2.12): until it is told, the payer's money stays frozen.

When an order paid through WeChat Pay ships, a ``shipping_reports`` row (one per order) records what
WeChat is to be told and the outbox tells it after commit. WeChat takes one upload and one correction:
``uploads`` counts the accepted ones, and new shipping details (a second shipment event, or the shop
correcting a tracking number) are taken while fewer than two were accepted. Details changed before
the first upload went out are simply sent instead; a job made for older details does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers import service as customers
from liebian.events import OrderShipped
from liebian.integrations.wechat.errors import InvalidArgument, WeChatApiError
from liebian.integrations.wechat.miniprogram import LogisticsType, Parcel
from liebian.kit import outbox
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, NotFound
from liebian.kit.sql import text
from liebian.miniapp import ports, rules
from liebian.miniapp.ports import OrderFacts
from liebian.miniapp.vault import mask

log = logging.getLogger(__name__)

UPLOAD_TOPIC = "miniapp.shipping_upload"
MAX_UPLOADS = 2  # the upload and its one correction
_COLUMNS = ("id, order_id, order_no, out_trade_no, carrier, express_company, tracking_no, status, uploads, version, "
            "errcode, last_error, uploaded_at")


def _is_business_refusal(errcode: int) -> bool:
    """WeChat's shipping errors (1006xxxx: no such payment, wrong state, correction used, bad field)
    do not pass by themselves; anything else (-1 busy, rate limits) is retried."""
    return 10060000 <= errcode < 10070000


@dataclass(frozen=True)
class ReportView:
    order_id: int
    order_no: str
    out_trade_no: str
    carrier: str
    express_company: str
    tracking_no: str
    status: str
    uploads: int
    errcode: int | None
    last_error: str | None
    uploaded_at: datetime | None

    @property
    def corrections_left(self) -> int:
        return max(0, MAX_UPLOADS - max(self.uploads, 1))


def _view(row: Row[Any]) -> ReportView:
    return ReportView(row.order_id, row.order_no, row.out_trade_no, row.carrier, row.express_company,
                      row.tracking_no, row.status, row.uploads, row.errcode, row.last_error, row.uploaded_at)


def paid_through_wechat(order: OrderFacts) -> bool:
    return (order.payment_provider == "wechat" and order.payment_status == "paid" and order.paid_at is not None
            and order.out_trade_no is not None)


async def _enqueue(session: AsyncSession, shop_id: int, report_id: int, version: int) -> None:
    await outbox.enqueue(session, UPLOAD_TOPIC, {"report_id": report_id, "version": version}, shop_id=shop_id,
                         dedupe_key=f"shipping:{report_id}:{version}")


async def report(session: AsyncSession, shop_id: int, order: OrderFacts, *, carrier: str,
                 tracking_no: str) -> ReportView | None:
    """Record what WeChat is to be told and queue the upload; ``None`` when WeChat has had its two."""
    assert order.out_trade_no is not None
    company = rules.express_company(carrier)
    phone = order.receiver_phone if rules.needs_receiver_contact(company) else None
    contact = mask(rules.national_number(phone)) if phone else None  # SF wants it, masked: 138****8000
    details = {"s": shop_id, "o": order.order_id, "c": carrier, "x": company, "t": tracking_no,
               "rc": contact, "now": clock.now()}
    created = (await session.execute(
        text("INSERT INTO shipping_reports (shop_id, order_id, order_no, customer_id, out_trade_no, carrier, "
             "express_company, tracking_no, item_desc, receiver_contact, version, status, created_at, updated_at) "
             "VALUES (:s, :o, :no, :cust, :otn, :c, :x, :t, :desc, :rc, 1, 'pending', :now, :now) "
             f"ON CONFLICT (order_id) DO NOTHING RETURNING {_COLUMNS}"),
        {**details, "no": order.order_no, "cust": order.customer_id, "otn": order.out_trade_no,
         "desc": rules.item_desc(order.titles)})).first()
    if created is not None:
        await _enqueue(session, shop_id, created.id, 1)
        return _view(created)
    # Shipped again with other details, or a failed upload to repeat: while WeChat allows one more.
    changed = (await session.execute(
        text("UPDATE shipping_reports SET carrier = :c, express_company = :x, tracking_no = :t, "
             "receiver_contact = :rc, version = version + 1, status = 'pending', errcode = NULL, last_error = NULL, "
             "updated_at = :now WHERE order_id = :o AND shop_id = :s AND uploads < :max "
             "AND (status = 'failed' OR (carrier, tracking_no) IS DISTINCT FROM (:c, :t)) "
             f"RETURNING {_COLUMNS}"),
        {**details, "max": MAX_UPLOADS})).first()
    if changed is not None:
        await _enqueue(session, shop_id, changed.id, changed.version)
        return _view(changed)
    current = await _find(session, shop_id, "order_id = :o", {"o": order.order_id})
    same = current is not None and (current.carrier, current.tracking_no) == (carrier, tracking_no)
    return current if same else None


async def on_order_shipped(session: AsyncSession, event: OrderShipped) -> None:
    order = await ports.orders.get()(session, event.shop_id, event.order_id)
    if not paid_through_wechat(order) or not order.carrier or not order.tracking_no:
        return  # cash on delivery, free orders: WeChat holds no money of theirs
    if await report(session, event.shop_id, order, carrier=order.carrier, tracking_no=order.tracking_no) is None:
        # Never fail the shipment itself: the shop sees the refusal on the report.
        log.warning("order %s shipped again after WeChat's one correction was used; not reported", event.order_no)


async def _find(session: AsyncSession, shop_id: int, where: str, params: dict[str, Any]) -> ReportView | None:
    row = (await session.execute(
        text(f"SELECT {_COLUMNS} FROM shipping_reports WHERE shop_id = :s AND {where}"),
        {"s": shop_id, **params})).first()
    return None if row is None else _view(row)


async def get(session: AsyncSession, shop_id: int, order_no: str) -> ReportView:
    found = await _find(session, shop_id, "order_no = :no", {"no": order_no})
    if found is None:
        raise NotFound("shipping_report_not_found",
                       "WeChat has not been told about this order's shipment (not shipped, or not paid by WeChat Pay).")
    return found


async def correct(session: AsyncSession, shop_id: int, order_no: str, *, carrier: str,
                  tracking_no: str) -> ReportView:
    """The shop fixes the carrier or tracking number WeChat was given: WeChat's single re-upload."""
    current = await get(session, shop_id, order_no)
    order = await ports.orders.get()(session, shop_id, current.order_id)
    corrected = await report(session, shop_id, order, carrier=carrier, tracking_no=tracking_no)
    if corrected is None:
        raise Conflict("shipping_correction_used",
                       f"WeChat was already told {current.uploads} times; it accepts no further correction.")
    return corrected


# --- the upload (outbox) --------------------------------------------------------------------------

async def upload(session: AsyncSession, payload: dict[str, Any]) -> None:
    """Outbox handler. Raises only for what a retry may fix; WeChat's refusals are kept on the report."""
    r = (await session.execute(
        text("SELECT id, shop_id, customer_id, out_trade_no, express_company, tracking_no, item_desc, "
             "receiver_contact, version, status, uploads FROM shipping_reports WHERE id = :id FOR UPDATE"),
        {"id": payload["report_id"]})).first()
    if r is None or r.status != "pending" or r.version != payload["version"]:
        return  # done already, or superseded by newer details with their own job
    gateway = ports.wechat.get()
    parcel = Parcel(item_desc=r.item_desc, tracking_no=r.tracking_no, express_company=r.express_company,
                    receiver_contact=r.receiver_contact)
    try:
        openid = (await customers.payer(session, r.shop_id, r.customer_id)).openid  # the payer of the order
        await gateway.client.upload_shipping_info(mchid=gateway.mchid, out_trade_no=r.out_trade_no,
                                                  payer_openid=openid, logistics_type=LogisticsType.EXPRESS,
                                                  parcels=[parcel])
    except (InvalidArgument, NotFound) as exc:
        await _failed(session, r.id, None, str(exc))
    except WeChatApiError as exc:
        if not _is_business_refusal(exc.errcode):
            raise
        log.warning("shipping upload for report %s refused by WeChat (errcode %s)", r.id, exc.errcode)
        await _failed(session, r.id, exc.errcode, exc.errmsg)
    else:
        await session.execute(
            text("UPDATE shipping_reports SET status = 'uploaded', uploads = uploads + 1, uploaded_at = :now, "
                 "updated_at = :now WHERE id = :id"), {"now": clock.now(), "id": r.id})


async def _failed(session: AsyncSession, report_id: int, errcode: int | None, error: str) -> None:
    await session.execute(
        text("UPDATE shipping_reports SET status = 'failed', errcode = :e, last_error = :err, updated_at = :now "
             "WHERE id = :id"), {"e": errcode, "err": error[:500], "now": clock.now(), "id": report_id})
