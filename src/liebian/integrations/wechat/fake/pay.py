"""Fake WeChat Pay: JSAPI orders, query, close, refunds, and the payer's side (``pay``).

Rules enforced as WeChat does (wechat.md §2.4-2.9, §6.2): out_trade_no charset and length, integer fen,
appid bound to mchid, identical re-order returns the same prepay_id and a changed one is refused,
ORDERPAID on close, refunds idempotent by out_refund_no, ≤ the remaining amount, ≤50 per order,
≥1 minute apart, within a year of payment.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.routing import Route

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.fake.core import FakeError, VerifiedRequest, check_notify_url, require, rfc3339_at
from liebian.integrations.wechat.pay.transactions import OUT_REFUND_NO, OUT_TRADE_NO

if TYPE_CHECKING:
    from liebian.integrations.wechat.fake.core import FakeWeChat

MIN_EXPIRE_SECONDS = 60
DEFAULT_PAYABLE_SECONDS = 7 * 24 * 3600
REFUND_WINDOW_SECONDS = 365 * 24 * 3600
MAX_REFUNDS = 50
REFUND_SPACING_SECONDS = 60


@dataclass
class Transaction:
    out_trade_no: str
    fingerprint: str
    description: str
    total: int
    openid: str
    notify_url: str
    attach: str
    expires_at: float
    created_at: float
    prepay_id: str
    profit_sharing: bool
    state: str = "NOTPAY"
    transaction_id: str | None = None
    success_at: float | None = None
    refunds: list[str] = field(default_factory=list)

    def refunded(self, refunds: dict[str, Refund]) -> int:
        return sum(refunds[r].refund for r in self.refunds if refunds[r].status != "CLOSED")


@dataclass
class Refund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    reason: str
    notify_url: str
    created_at: float
    fingerprint: str
    status: str = "PROCESSING"
    success_at: float | None = None


class PayState:
    """The fake's WeChat Pay books; ``complete_refunds_after`` is how long refunds stay PROCESSING."""

    def __init__(self) -> None:
        self.transactions: dict[str, Transaction] = {}
        self.refunds: dict[str, Refund] = {}
        self.complete_refunds_after: float | None = 0.0  # None: refunds wait for ``complete_refund``


def state(fake: FakeWeChat) -> PayState:
    return fake.books("pay", PayState)


def _amount(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    require(isinstance(value, int) and not isinstance(value, bool) and value > 0, f"amount.{key} 必须为正整数(分)")
    return int(value or 0)


def _obj(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _parse_expire(value: Any, now: float) -> float:
    if value is None:
        return now + DEFAULT_PAYABLE_SECONDS
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise FakeError(400, "PARAM_ERROR", "time_expire 格式错误 (RFC3339)") from exc
    require(moment.tzinfo is not None, "time_expire 需要时区")
    return max(moment.timestamp(), now + MIN_EXPIRE_SECONDS)


async def create_jsapi(fake: FakeWeChat, req: VerifiedRequest, _: dict[str, str]) -> tuple[int, dict[str, Any]]:
    d, creds, books = req.data, fake.credentials, state(fake)
    require(d.get("mchid") == creds.mchid, "mchid 与请求商户不一致", "MCH_NOT_EXISTS")
    require(d.get("appid") == creds.appid, "appid和mch_id不匹配", "APPID_MCHID_NOT_MATCH")
    otn = d.get("out_trade_no")
    require(isinstance(otn, str) and bool(OUT_TRADE_NO.match(otn)), "out_trade_no 格式错误")
    description = d.get("description")
    require(isinstance(description, str) and 0 < len(description) <= 127, "description 长度须为 1-127")
    amount = _obj(d, "amount")
    total = _amount(amount, "total")
    require(amount.get("currency", "CNY") == "CNY", "currency 仅支持 CNY")
    payer = _obj(d, "payer")
    openid = payer.get("openid")
    require(isinstance(openid, str) and 0 < len(openid) <= 128, "payer.openid 必填")
    attach = d.get("attach", "")
    require(isinstance(attach, str) and len(attach) <= 128, "attach 过长")
    notify_url = check_notify_url(d.get("notify_url"))
    fingerprint = repr(sorted((k, repr(v)) for k, v in d.items()))
    now = fake.now()
    existing = books.transactions.get(str(otn))
    if existing is not None:
        if existing.state in {"SUCCESS", "REFUND"}:
            raise FakeError(400, "ORDERPAID", "该订单已支付")
        if existing.state == "CLOSED" or now > existing.expires_at:
            raise FakeError(400, "ORDERCLOSED", "该订单已关闭")
        if existing.fingerprint != fingerprint:
            raise FakeError(400, "INVALID_REQUEST", "201 商户订单号重复 (参数与首次请求不一致)")
        return 200, {"prepay_id": existing.prepay_id}
    settle = _obj(d, "settle_info")
    txn = Transaction(
        out_trade_no=str(otn), fingerprint=fingerprint, description=str(description), total=total,
        openid=str(openid), notify_url=notify_url, attach=str(attach),
        expires_at=_parse_expire(d.get("time_expire"), now), created_at=now,
        prepay_id="wx" + secrets.token_hex(16), profit_sharing=bool(settle.get("profit_sharing")),
    )
    books.transactions[txn.out_trade_no] = txn
    return 200, {"prepay_id": txn.prepay_id}


def transaction_view(fake: FakeWeChat, txn: Transaction) -> dict[str, Any]:
    creds = fake.credentials
    view: dict[str, Any] = {
        "appid": creds.appid, "mchid": creds.mchid, "out_trade_no": txn.out_trade_no, "trade_type": "JSAPI",
        "trade_state": txn.state, "trade_state_desc": _STATE_DESC[txn.state], "attach": "",
        "payer": {"openid": txn.openid},
        "amount": {"total": txn.total, "currency": "CNY"},
    }
    if txn.transaction_id:
        view.update({
            "transaction_id": txn.transaction_id, "bank_type": "OTHERS", "attach": txn.attach,
            "success_time": rfc3339_at(txn.success_at or 0),
            "amount": {"total": txn.total, "payer_total": txn.total, "currency": "CNY", "payer_currency": "CNY"},
        })
    return view


_STATE_DESC = {"NOTPAY": "未支付", "SUCCESS": "支付成功", "CLOSED": "已关闭", "REFUND": "转入退款"}


def _find(fake: FakeWeChat, out_trade_no: str) -> Transaction:
    txn = state(fake).transactions.get(out_trade_no)
    if txn is None:
        raise FakeError(404, "ORDER_NOT_EXIST", "订单不存在")
    return txn


async def query(fake: FakeWeChat, req: VerifiedRequest, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    require(f"mchid={fake.credentials.mchid}" in req.url.partition("?")[2], "mchid 必填")
    return 200, transaction_view(fake, _find(fake, params["out_trade_no"]))


async def close(fake: FakeWeChat, req: VerifiedRequest, params: dict[str, str]) -> tuple[int, None]:
    require(req.data.get("mchid") == fake.credentials.mchid, "mchid 与请求商户不一致", "MCH_NOT_EXISTS")
    txn = _find(fake, params["out_trade_no"])
    if txn.state in ("SUCCESS", "REFUND"):
        raise FakeError(400, "ORDERPAID", "订单已支付")
    txn.state = "CLOSED"
    return 204, None


# --- the payer ---------------------------------------------------------------------------------

def pay(fake: FakeWeChat, out_trade_no: str, client_params: dict[str, Any] | None, *,
        notify: bool = True) -> Transaction:
    """The payer confirms in WeChat: ``wx.requestPayment``'s paySign is checked with the merchant key.

    Queues ``TRANSACTION.SUCCESS`` to the order's notify_url (unless ``notify`` is False: a test that
    delivers the notification itself).
    """
    txn = _find(fake, out_trade_no)
    if txn.state in ("SUCCESS", "REFUND"):
        return txn
    if txn.state == "CLOSED":
        raise FakeError(400, "ORDERCLOSED", "订单已关闭")
    if fake.now() > txn.expires_at:
        raise FakeError(400, "ORDER_EXPIRED", "订单已过支付截止时间")
    if client_params is not None:
        check_request_payment(fake, txn, client_params)
    txn.state, txn.success_at = "SUCCESS", fake.now()
    txn.transaction_id = "42" + dt.datetime.fromtimestamp(fake.now(), dt.UTC).strftime("%Y%m%d") + secrets.token_hex(
        8).upper()
    if notify:
        fake.notify(txn.notify_url, "TRANSACTION.SUCCESS", "transaction", "支付成功", transaction_view(fake, txn))
    return txn


def check_request_payment(fake: FakeWeChat, txn: Transaction, params: dict[str, Any]) -> None:
    """What the WeChat client checks before showing the cashier (wechat.md §2.5)."""
    creds = fake.credentials
    if params.get("signType") != "RSA":
        raise FakeError(400, "SIGN_ERROR", "signType 必须为 RSA")
    timestamp = str(params.get("timeStamp", ""))
    if not (timestamp.isdigit() and len(timestamp) == 10):
        raise FakeError(400, "SIGN_ERROR", "timeStamp 必须为秒级时间戳字符串")
    if params.get("package") != f"prepay_id={txn.prepay_id}":
        raise FakeError(400, "SIGN_ERROR", "package 与订单不符")
    message = crypto.pay_sign_message(str(params.get("appId", creds.appid)), timestamp,
                                      str(params.get("nonceStr", "")), str(params.get("package")))
    if params.get("appId", creds.appid) != creds.appid or not crypto.rsa_verify(
            creds.merchant_public_key, message, str(params.get("paySign", ""))):
        raise FakeError(400, "SIGN_ERROR", "paySign 校验失败")


# --- refunds -----------------------------------------------------------------------------------

async def create_refund(fake: FakeWeChat, req: VerifiedRequest, _: dict[str, str]) -> tuple[int, dict[str, Any]]:
    d, books, now = req.data, state(fake), fake.now()
    out_refund_no = d.get("out_refund_no")
    require(isinstance(out_refund_no, str) and bool(OUT_REFUND_NO.match(out_refund_no)), "out_refund_no 格式错误")
    amount = _obj(d, "amount")
    refund_fen, total = _amount(amount, "refund"), _amount(amount, "total")
    reason = d.get("reason", "")
    require(isinstance(reason, str) and len(reason) <= 80, "reason 过长")
    notify_url = check_notify_url(d.get("notify_url")) if "notify_url" in d else ""
    txn = _find(fake, str(d.get("out_trade_no", ""))) if "out_trade_no" in d else _by_transaction_id(
        fake, str(d.get("transaction_id", "")))
    fingerprint = repr((txn.out_trade_no, refund_fen, total))
    existing = books.refunds.get(str(out_refund_no))
    if existing is not None:  # the same out_refund_no is the same refund
        if existing.fingerprint != fingerprint:
            raise FakeError(400, "INVALID_REQUEST", "退款单号重复 (参数不一致)")
        return 200, refund_view(fake, existing)
    if txn.state not in ("SUCCESS", "REFUND"):
        raise FakeError(400, "INVALID_REQUEST", "订单未支付")
    require(total == txn.total, "订单金额与原订单不一致")
    if now - (txn.success_at or now) > REFUND_WINDOW_SECONDS:
        raise FakeError(400, "INVALID_REQUEST", "订单已超过退款期限 (1年)")
    if len(txn.refunds) >= MAX_REFUNDS:
        raise FakeError(400, "INVALID_REQUEST", "部分退款次数超过上限 (50)")
    if txn.refunds and now - books.refunds[txn.refunds[-1]].created_at < REFUND_SPACING_SECONDS:
        raise FakeError(429, "FREQUENCY_LIMITED", "同一订单退款间隔须大于1分钟")
    if refund_fen > _refundable(fake, txn):
        raise FakeError(400, "NOT_ENOUGH", "申请退款金额超过订单可退金额")
    refund = Refund(out_refund_no=str(out_refund_no), refund_id="50" + secrets.token_hex(12),
                    out_trade_no=txn.out_trade_no, transaction_id=txn.transaction_id or "", refund=refund_fen,
                    total=total, reason=str(reason), notify_url=notify_url or txn.notify_url, created_at=now,
                    fingerprint=fingerprint)
    books.refunds[refund.out_refund_no] = refund
    txn.refunds.append(refund.out_refund_no)
    txn.state = "REFUND"
    return 200, refund_view(fake, refund)


def _refundable(fake: FakeWeChat, txn: Transaction) -> int:
    """What is left to refund; money already split to receivers is gone (wechat.md §2.10 item 7)."""
    left = txn.total - txn.refunded(state(fake).refunds)
    if txn.profit_sharing and txn.transaction_id:
        from liebian.integrations.wechat.fake import profitsharing  # it builds on this module

        left -= profitsharing.shared_to_others(fake, txn.transaction_id)
    return left


def _by_transaction_id(fake: FakeWeChat, transaction_id: str) -> Transaction:
    for txn in state(fake).transactions.values():
        if txn.transaction_id and txn.transaction_id == transaction_id:
            return txn
    raise FakeError(404, "RESOURCE_NOT_EXISTS", "订单不存在")


def refund_view(fake: FakeWeChat, refund: Refund) -> dict[str, Any]:
    view: dict[str, Any] = {
        "refund_id": refund.refund_id, "out_refund_no": refund.out_refund_no,
        "transaction_id": refund.transaction_id, "out_trade_no": refund.out_trade_no, "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱", "create_time": rfc3339_at(refund.created_at),
        "status": refund.status, "funds_account": "AVAILABLE",
        "amount": {"total": refund.total, "refund": refund.refund, "payer_total": refund.total,
                   "payer_refund": refund.refund, "settlement_refund": refund.refund,
                   "settlement_total": refund.total, "discount_refund": 0, "currency": "CNY"},
    }
    if refund.success_at is not None:
        view["success_time"] = rfc3339_at(refund.success_at)
    return view


async def query_refund(fake: FakeWeChat, _: VerifiedRequest, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    refund = state(fake).refunds.get(params["out_refund_no"])
    if refund is None:
        raise FakeError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    return 200, refund_view(fake, refund)


def complete_refund(fake: FakeWeChat, out_refund_no: str, status: str = "SUCCESS") -> Refund:
    """The bank settles a refund: SUCCESS, ABNORMAL (card closed; not final) or CLOSED; notifies."""
    refund = state(fake).refunds.get(out_refund_no)
    if refund is None:
        raise FakeError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    if status not in ("SUCCESS", "ABNORMAL", "CLOSED"):
        raise FakeError(400, "PARAM_ERROR", "status 须为 SUCCESS, ABNORMAL 或 CLOSED")
    if refund.status in ("SUCCESS", "CLOSED"):
        return refund
    refund.status = status
    refund.success_at = fake.now() if status == "SUCCESS" else None
    resource = {k: v for k, v in refund_view(fake, refund).items() if k not in ("channel", "funds_account")}
    resource["mchid"] = fake.credentials.mchid
    resource["refund_status"] = resource.pop("status")
    resource["amount"] = {k: resource["amount"][k] for k in ("total", "refund", "payer_total", "payer_refund")}
    fake.notify(refund.notify_url, f"REFUND.{status}", "refund", "退款成功" if status == "SUCCESS" else "退款异常",
                resource)
    return refund


async def _complete_due_refunds(fake: FakeWeChat) -> None:
    books = state(fake)
    if books.complete_refunds_after is None:
        return
    for refund in list(books.refunds.values()):
        if refund.status == "PROCESSING" and fake.now() - refund.created_at >= books.complete_refunds_after:
            complete_refund(fake, refund.out_refund_no)


_OTN = "{out_trade_no}"


def install(fake: FakeWeChat) -> None:
    async def tick() -> None:
        await _complete_due_refunds(fake)

    fake.on_tick(tick)
    fake.add_routes([
        Route("/v3/pay/transactions/jsapi", fake.pay_endpoint(create_jsapi), methods=["POST"]),
        Route(f"/v3/pay/transactions/out-trade-no/{_OTN}", fake.pay_endpoint(query), methods=["GET"]),
        Route(f"/v3/pay/transactions/out-trade-no/{_OTN}/close", fake.pay_endpoint(close), methods=["POST"]),
        Route("/v3/refund/domestic/refunds", fake.pay_endpoint(create_refund), methods=["POST"]),
        Route("/v3/refund/domestic/refunds/{out_refund_no}", fake.pay_endpoint(query_refund), methods=["GET"]),
    ])


__all__ = ["PayState", "Refund", "Transaction", "complete_refund", "install", "pay", "state"]
