"""JSAPI (mini-program) orders, query, close and refunds (wechat.md §2.4-2.9).

Arguments WeChat would reject are refused here first (``InvalidArgument``), so a typo never costs a
round trip and never shows up as a confusing WeChat error.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from liebian.integrations.wechat.errors import InvalidArgument
from liebian.integrations.wechat.pay.client import PayClient, path_segment

OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*]{6,32}$")
OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
CHINA = dt.timezone(dt.timedelta(hours=8))
MAX_FEN = 10**11


def rfc3339(moment: dt.datetime) -> str:
    """WeChat's format: ``2015-05-20T13:29:35+08:00`` (seconds, explicit offset)."""
    return moment.astimezone(CHINA).replace(microsecond=0).isoformat()


def check_out_trade_no(value: str) -> str:
    if not OUT_TRADE_NO.match(value):
        raise InvalidArgument("out_trade_no must be 6-32 characters of [0-9A-Za-z_-|*]")
    return value


def _check_amount(amount_fen: int, name: str) -> None:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or not 0 < amount_fen <= MAX_FEN:
        raise InvalidArgument(f"{name} must be a positive whole number of fen")


@dataclass(frozen=True)
class JsapiOrder:
    out_trade_no: str
    description: str
    amount_fen: int
    payer_openid: str
    time_expire: dt.datetime | None = None
    attach: str = ""
    profit_sharing: bool = False

    def body(self, appid: str, mchid: str, notify_url: str) -> dict[str, Any]:
        check_out_trade_no(self.out_trade_no)
        _check_amount(self.amount_fen, "amount")
        if not 0 < len(self.description) <= 127:
            raise InvalidArgument("description must be 1-127 characters")
        if len(self.attach) > 128:
            raise InvalidArgument("attach must be at most 128 characters")
        if not 0 < len(self.payer_openid) <= 128:
            raise InvalidArgument("payer openid is required")
        body: dict[str, Any] = {
            "appid": appid, "mchid": mchid, "description": self.description, "out_trade_no": self.out_trade_no,
            "notify_url": notify_url, "amount": {"total": self.amount_fen, "currency": "CNY"},
            "payer": {"openid": self.payer_openid},
        }
        if self.time_expire is not None:
            body["time_expire"] = rfc3339(self.time_expire)
        if self.attach:
            body["attach"] = self.attach
        if self.profit_sharing:
            body["settle_info"] = {"profit_sharing": True}
        return body


async def jsapi_prepay(client: PayClient, order: JsapiOrder) -> str:
    """``POST /v3/pay/transactions/jsapi`` → ``prepay_id``; identical retries return the same one."""
    cfg = client.config
    answer = await client.request("POST", "/v3/pay/transactions/jsapi",
                                  body=order.body(cfg.appid, cfg.mchid, cfg.notify_url))
    return client.field(answer.data, "prepay_id", str)


async def query_by_out_trade_no(client: PayClient, out_trade_no: str) -> dict[str, Any]:
    """The transaction: ``trade_state`` is SUCCESS, REFUND, NOTPAY, CLOSED, REVOKED, USERPAYING or PAYERROR."""
    check_out_trade_no(out_trade_no)
    answer = await client.request("GET", f"/v3/pay/transactions/out-trade-no/{path_segment(out_trade_no)}",
                                  query={"mchid": client.config.mchid})
    return answer.data


async def close(client: PayClient, out_trade_no: str) -> None:
    """``204`` when closed; ``ORDERPAID`` (a ``WeChatPayError``) when the payer got there first."""
    check_out_trade_no(out_trade_no)
    await client.request("POST", f"/v3/pay/transactions/out-trade-no/{path_segment(out_trade_no)}/close",
                         body={"mchid": client.config.mchid})


@dataclass(frozen=True)
class RefundOrder:
    out_trade_no: str
    out_refund_no: str
    refund_fen: int
    total_fen: int
    reason: str = ""

    def body(self, notify_url: str) -> dict[str, Any]:
        check_out_trade_no(self.out_trade_no)
        if not OUT_REFUND_NO.match(self.out_refund_no):
            raise InvalidArgument("out_refund_no must be 1-64 characters of [0-9A-Za-z_-|*@]")
        _check_amount(self.refund_fen, "refund")
        _check_amount(self.total_fen, "total")
        if self.refund_fen > self.total_fen:
            raise InvalidArgument("a refund cannot exceed the order total")
        body: dict[str, Any] = {
            "out_trade_no": self.out_trade_no, "out_refund_no": self.out_refund_no, "notify_url": notify_url,
            "amount": {"refund": self.refund_fen, "total": self.total_fen, "currency": "CNY"},
        }
        if self.reason:
            body["reason"] = self.reason[:80]
        return body


async def refund(client: PayClient, order: RefundOrder) -> dict[str, Any]:
    """Ask for a refund; the same ``out_refund_no`` is the same refund, so retries are safe.

    The answer only accepts it (``status`` PROCESSING usually); the outcome comes by notification
    or ``query_refund``.
    """
    answer = await client.request("POST", "/v3/refund/domestic/refunds", body=order.body(client.config.notify_url))
    return answer.data


async def query_refund(client: PayClient, out_refund_no: str) -> dict[str, Any]:
    if not OUT_REFUND_NO.match(out_refund_no):
        raise InvalidArgument("out_refund_no must be 1-64 characters of [0-9A-Za-z_-|*@]")
    answer = await client.request("GET", f"/v3/refund/domestic/refunds/{path_segment(out_refund_no)}")
    return answer.data
