"""Fake WeChat Pay: profit sharing (分账) — receivers, split orders, results, unfreezing, returns.

Rules enforced as WeChat does (wechat.md §2.10, §6.2): a split needs a paid transaction made with
``settle_info.profit_sharing=true`` and some settling time after payment; receivers must be registered
first; names are RSA-OAEP ciphertexts that must decrypt with WeChat Pay's private key (chosen by the
request's ``Wechatpay-Serial``) and match the registered name; at most 50 receivers per request and
50 split requests per transaction; everything split to others stays within the merchant's ratio cap
(30 % by default) of the transaction; the same ``out_order_no`` is the same request; once unfrozen a
transaction is finished; returns are possible only from MERCHANT_ID receivers. Splits answer PENDING
and become SUCCESS on ``fake.tick()`` (or CLOSED through ``close_split``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.routing import Route

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.errors import DecryptionError
from liebian.integrations.wechat.fake import pay
from liebian.integrations.wechat.fake.core import FakeError, VerifiedRequest, require, rfc3339_at
from liebian.integrations.wechat.pay.profitsharing import (
    MAX_DESCRIPTION,
    MAX_RECEIVERS_PER_REQUEST,
    OUT_ORDER_NO,
    RECEIVER_TYPES,
    RELATION_TYPES,
)

if TYPE_CHECKING:
    from liebian.integrations.wechat.fake.core import FakeWeChat

MAX_RECEIVERS = 20_000
MAX_ORDERS_PER_TRANSACTION = 50
RETURN_WINDOW_SECONDS = 180 * 24 * 3600


@dataclass
class Registered:
    type: str
    account: str
    relation_type: str
    name: str | None
    custom_relation: str | None


@dataclass
class SplitLine:
    type: str
    account: str
    amount: int
    description: str
    detail_id: str
    created_at: float
    result: str = "PENDING"
    fail_reason: str | None = None
    finished_at: float | None = None
    returned: int = 0


@dataclass
class SplitOrder:
    out_order_no: str
    order_id: str
    transaction_id: str
    fingerprint: str
    lines: list[SplitLine]
    created_at: float
    is_unfreeze: bool = False

    @property
    def state(self) -> str:
        return "PROCESSING" if any(line.result == "PENDING" for line in self.lines) else "FINISHED"


@dataclass
class ReturnOrder:
    out_return_no: str
    return_id: str
    out_order_no: str
    order_id: str
    return_mchid: str
    amount: int
    description: str
    fingerprint: str
    created_at: float
    result: str = "PROCESSING"
    finished_at: float | None = None


@dataclass
class SharingState:
    """The fake's profit-sharing books and its merchant-level settings (controllable by tests)."""

    receivers: dict[tuple[str, str], Registered] = field(default_factory=dict)
    orders: dict[str, SplitOrder] = field(default_factory=dict)
    returns: dict[str, ReturnOrder] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)  # transaction ids whose sharing has ended
    max_ratio_percent: int = 30  # the most that may go to others, per transaction
    ready_after_seconds: float = 60.0  # "订单处理中": a fresh payment cannot be split yet
    complete_after_seconds: float | None = 0.0  # None: splits stay PENDING until ``complete_splits``


def state(fake: FakeWeChat) -> SharingState:
    return fake.books("profitsharing", SharingState)


def sensitive_field(fake: FakeWeChat, req: VerifiedRequest, ciphertext: Any, name: str) -> str:
    """Decrypt an RSA-OAEP field with WeChat Pay's private key for the request's ``Wechatpay-Serial``."""
    require(bool(req.wechatpay_serial), f"{name} 为加密字段, 请求头 Wechatpay-Serial 必填")
    key = fake.credentials.signing_key(str(req.wechatpay_serial))
    require(key is not None, "Wechatpay-Serial 无效 (未知的平台公钥或证书)")
    assert key is not None
    try:
        return crypto.rsa_oaep_decrypt(key, str(ciphertext))
    except DecryptionError as exc:
        raise FakeError(400, "PARAM_ERROR", f"{name} 解密失败 (须用微信支付公钥 RSA-OAEP 加密)") from exc


def _str(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    require(isinstance(value, str) and 0 < len(value) <= limit, f"{key} 格式错误")
    return str(value)


def _paid_transaction(fake: FakeWeChat, transaction_id: str) -> pay.Transaction:
    for txn in pay.state(fake).transactions.values():
        if txn.transaction_id == transaction_id:
            if not txn.profit_sharing:
                raise FakeError(400, "INVALID_REQUEST", "该笔订单不支持分账 (下单时未设置 profit_sharing)")
            if fake.now() - (txn.success_at or 0) < state(fake).ready_after_seconds:
                raise FakeError(400, "INVALID_REQUEST", "订单处理中，暂时无法分账，请稍后再试")
            return txn
    raise FakeError(404, "RESOURCE_NOT_EXISTS", "微信订单不存在")


def _shared_to_others(books: SharingState, transaction_id: str) -> int:
    return sum(line.amount for order in books.orders.values() if order.transaction_id == transaction_id
               and not order.is_unfreeze for line in order.lines if line.result != "CLOSED")


def unsplit(fake: FakeWeChat, txn: pay.Transaction) -> int:
    """Fen still frozen: the total less refunds and splits (0 once sharing has ended)."""
    books = state(fake)
    if txn.transaction_id in books.finished:
        return 0
    refunded = txn.refunded(pay.state(fake).refunds)
    return max(0, txn.total - refunded - _shared_to_others(books, txn.transaction_id or ""))


def shared_to_others(fake: FakeWeChat, transaction_id: str) -> int:
    """Fen split away to receivers (not refundable by the merchant any more)."""
    return _shared_to_others(state(fake), transaction_id)


# --- receivers ---------------------------------------------------------------------------------------

async def add_receiver(fake: FakeWeChat, req: VerifiedRequest, _: dict[str, str]) -> tuple[int, dict[str, Any]]:
    d, books, creds = req.data, state(fake), fake.credentials
    require(d.get("appid") == creds.appid, "appid 与商户号不匹配", "APPID_MCHID_NOT_MATCH")
    type_ = d.get("type")
    require(type_ in RECEIVER_TYPES, "type 须为 MERCHANT_ID 或 PERSONAL_OPENID")
    account = _str(d, "account", 64)
    require(not (type_ == "MERCHANT_ID" and account == creds.mchid), "不能添加自己为分账接收方", "INVALID_REQUEST")
    relation = d.get("relation_type")
    require(relation in RELATION_TYPES, "relation_type 取值错误")
    custom = d.get("custom_relation")
    require((relation == "CUSTOM") == bool(custom), "relation_type 为 CUSTOM 时 custom_relation 必填")
    name = sensitive_field(fake, req, d["name"], "name") if d.get("name") else None
    require(type_ != "MERCHANT_ID" or bool(name), "MERCHANT_ID 类型的接收方须提供商户全称 name")
    key = (str(type_), account)
    if key not in books.receivers and len(books.receivers) >= MAX_RECEIVERS:
        raise FakeError(400, "INVALID_REQUEST", f"分账接收方数量已达上限 ({MAX_RECEIVERS})")
    books.receivers[key] = Registered(str(type_), account, str(relation), name, str(custom) if custom else None)
    view: dict[str, Any] = {"type": type_, "account": account, "relation_type": relation}
    if custom:
        view["custom_relation"] = custom
    return 200, view


async def delete_receiver(fake: FakeWeChat, req: VerifiedRequest, _: dict[str, str]) -> tuple[int, dict[str, Any]]:
    d = req.data
    require(d.get("appid") == fake.credentials.appid, "appid 与商户号不匹配", "APPID_MCHID_NOT_MATCH")
    state(fake).receivers.pop((str(d.get("type")), str(d.get("account"))), None)
    return 200, {"type": d.get("type"), "account": d.get("account")}


# --- split orders ------------------------------------------------------------------------------------

def _split_lines(fake: FakeWeChat, req: VerifiedRequest) -> list[SplitLine]:
    receivers = req.data.get("receivers")
    require(isinstance(receivers, list) and 0 < len(receivers) <= MAX_RECEIVERS_PER_REQUEST,
             f"receivers 须为 1-{MAX_RECEIVERS_PER_REQUEST} 个分账接收方")
    assert isinstance(receivers, list)
    books, lines = state(fake), []
    for r in receivers:
        require(isinstance(r, dict), "receivers 格式错误")
        registered = books.receivers.get((str(r.get("type")), str(r.get("account"))))
        if registered is None:
            raise FakeError(400, "INVALID_REQUEST", "分账接收方未添加或已删除")
        if r.get("name"):
            name = sensitive_field(fake, req, r["name"], "name")
            require(registered.name is None or name == registered.name, "分账接收方全称与添加时不一致")
        amount = r.get("amount")
        require(isinstance(amount, int) and not isinstance(amount, bool) and amount > 0, "amount 须为正整数(分)")
        lines.append(SplitLine(type=registered.type, account=registered.account, amount=int(amount or 0),
                               description=_str(r, "description", MAX_DESCRIPTION),
                               detail_id="3600" + secrets.token_hex(12), created_at=fake.now()))
    return lines


def _fingerprint(lines: list[SplitLine], *extra: Any) -> str:
    return repr(([(x.type, x.account, x.amount, x.description) for x in lines], extra))


async def create_order(fake: FakeWeChat, req: VerifiedRequest, _: dict[str, str]) -> tuple[int, dict[str, Any]]:
    d, books = req.data, state(fake)
    out_order_no = _str(d, "out_order_no", 64)
    require(bool(OUT_ORDER_NO.match(out_order_no)), "out_order_no 格式错误")
    require(isinstance(d.get("unfreeze_unsplit"), bool), "unfreeze_unsplit 必填")
    lines = _split_lines(fake, req)
    if any(line.type == "PERSONAL_OPENID" for line in lines) or "appid" in d:
        require(d.get("appid") == fake.credentials.appid, "appid 与商户号不匹配", "APPID_MCHID_NOT_MATCH")
    transaction_id = _str(d, "transaction_id", 32)
    fingerprint = _fingerprint(lines, transaction_id, d["unfreeze_unsplit"])
    existing = books.orders.get(out_order_no)
    if existing is not None:  # the same out_order_no is the same request
        require(existing.fingerprint == fingerprint, "商户分账单号重复 (参数与首次请求不一致)", "INVALID_REQUEST")
        return 200, order_view(existing)
    txn = _paid_transaction(fake, transaction_id)
    if transaction_id in books.finished:
        raise FakeError(400, "INVALID_REQUEST", "该笔订单分账已完结 (已解冻剩余资金)")
    count = sum(1 for o in books.orders.values() if o.transaction_id == transaction_id and not o.is_unfreeze)
    if count >= MAX_ORDERS_PER_TRANSACTION:
        raise FakeError(400, "INVALID_REQUEST", f"该笔订单分账次数已达上限 ({MAX_ORDERS_PER_TRANSACTION})")
    wanted = sum(line.amount for line in lines)
    if _shared_to_others(books, transaction_id) + wanted > txn.total * books.max_ratio_percent // 100:
        raise FakeError(400, "INVALID_REQUEST", f"分账金额超出最大分账比例 ({books.max_ratio_percent}%)")
    if wanted > unsplit(fake, txn):
        raise FakeError(400, "NOT_ENOUGH", "分账金额不足 (超过订单待分账金额)")
    order = SplitOrder(out_order_no=out_order_no, order_id="3008" + secrets.token_hex(12),
                       transaction_id=transaction_id, fingerprint=fingerprint, lines=lines, created_at=fake.now())
    books.orders[out_order_no] = order
    if d["unfreeze_unsplit"]:
        books.finished.add(transaction_id)
    return 200, order_view(order)


def order_view(order: SplitOrder) -> dict[str, Any]:
    receivers = []
    for line in order.lines:
        view: dict[str, Any] = {"amount": line.amount, "description": line.description, "type": line.type,
                                "account": line.account, "result": line.result, "detail_id": line.detail_id,
                                "create_time": rfc3339_at(line.created_at)}
        if line.finished_at is not None:
            view["finish_time"] = rfc3339_at(line.finished_at)
        if line.fail_reason:
            view["fail_reason"] = line.fail_reason
        receivers.append(view)
    return {"transaction_id": order.transaction_id, "out_order_no": order.out_order_no, "order_id": order.order_id,
            "state": order.state, "receivers": receivers}


def _query_param(req: VerifiedRequest, name: str) -> str:
    values = parse_qs(req.url.partition("?")[2]).get(name)
    require(bool(values), f"{name} 必填")
    return str(values[0]) if values else ""


async def query_order(fake: FakeWeChat, req: VerifiedRequest, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    transaction_id = _query_param(req, "transaction_id")
    order = state(fake).orders.get(params["out_order_no"])
    if order is None or order.transaction_id != transaction_id:
        raise FakeError(404, "RESOURCE_NOT_EXISTS", "分账单不存在")
    return 200, order_view(order)


async def unfreeze(fake: FakeWeChat, req: VerifiedRequest, _: dict[str, str]) -> tuple[int, dict[str, Any]]:
    d, books, creds = req.data, state(fake), fake.credentials
    transaction_id = _str(d, "transaction_id", 32)
    out_order_no = _str(d, "out_order_no", 64)
    require(bool(OUT_ORDER_NO.match(out_order_no)), "out_order_no 格式错误")
    description = _str(d, "description", MAX_DESCRIPTION)
    fingerprint = repr(("unfreeze", transaction_id, description))
    existing = books.orders.get(out_order_no)
    if existing is not None:
        require(existing.fingerprint == fingerprint, "商户分账单号重复 (参数与首次请求不一致)", "INVALID_REQUEST")
        return 200, order_view(existing)
    txn = _paid_transaction(fake, transaction_id)
    if transaction_id in books.finished:
        raise FakeError(400, "INVALID_REQUEST", "该笔订单分账已完结 (已解冻剩余资金)")
    remaining = unsplit(fake, txn)
    lines = [SplitLine(type="MERCHANT_ID", account=creds.mchid, amount=remaining, description="解冻给分账方",
                       detail_id="3600" + secrets.token_hex(12), created_at=fake.now())] if remaining else []
    order = SplitOrder(out_order_no=out_order_no, order_id="3008" + secrets.token_hex(12),
                       transaction_id=transaction_id, fingerprint=fingerprint, lines=lines, created_at=fake.now(),
                       is_unfreeze=True)
    books.orders[out_order_no] = order
    books.finished.add(transaction_id)
    return 200, order_view(order)


async def amounts(fake: FakeWeChat, _: VerifiedRequest, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    transaction_id = params["transaction_id"]
    for txn in pay.state(fake).transactions.values():
        if txn.transaction_id == transaction_id:
            return 200, {"transaction_id": transaction_id, "unsplit_amount": unsplit(fake, txn)}
    raise FakeError(404, "RESOURCE_NOT_EXISTS", "微信订单不存在")


# --- returns -----------------------------------------------------------------------------------------

async def create_return(fake: FakeWeChat, req: VerifiedRequest, _: dict[str, str]) -> tuple[int, dict[str, Any]]:
    d, books = req.data, state(fake)
    out_return_no = _str(d, "out_return_no", 64)
    require(bool(OUT_ORDER_NO.match(out_return_no)), "out_return_no 格式错误")
    order = books.orders.get(str(d.get("out_order_no", "")))
    if order is None:
        order = next((o for o in books.orders.values() if o.order_id == d.get("order_id")), None)
    if order is None:
        raise FakeError(404, "RESOURCE_NOT_EXISTS", "分账单不存在")
    mchid = _str(d, "return_mchid", 32)
    amount = d.get("amount")
    require(isinstance(amount, int) and not isinstance(amount, bool) and amount > 0, "amount 须为正整数(分)")
    fingerprint = repr((order.out_order_no, mchid, amount))
    existing = books.returns.get(out_return_no)
    if existing is not None:
        require(existing.fingerprint == fingerprint, "商户回退单号重复 (参数与首次请求不一致)", "INVALID_REQUEST")
        return 200, return_view(existing)
    line = next((x for x in order.lines if x.type == "MERCHANT_ID" and x.account == mchid and not order.is_unfreeze),
                None)
    if line is None:
        raise FakeError(400, "INVALID_REQUEST", "回退方不是该分账单的商户接收方 (不支持对分账给个人的分账单发起回退)")
    if line.result != "SUCCESS":
        raise FakeError(400, "INVALID_REQUEST", "分账未成功, 无法回退")
    if fake.now() - order.created_at > RETURN_WINDOW_SECONDS:
        raise FakeError(400, "INVALID_REQUEST", "分账单已超过180天, 无法回退")
    if int(amount or 0) > line.amount - line.returned:
        raise FakeError(400, "NOT_ENOUGH", "回退金额超过可回退金额")
    line.returned += int(amount or 0)
    ret = ReturnOrder(out_return_no=out_return_no, return_id="3008" + secrets.token_hex(12),
                      out_order_no=order.out_order_no, order_id=order.order_id, return_mchid=mchid,
                      amount=int(amount or 0), description=_str(d, "description", MAX_DESCRIPTION),
                      fingerprint=fingerprint, created_at=fake.now())
    books.returns[out_return_no] = ret
    return 200, return_view(ret)


def return_view(ret: ReturnOrder) -> dict[str, Any]:
    view: dict[str, Any] = {
        "order_id": ret.order_id, "out_order_no": ret.out_order_no, "out_return_no": ret.out_return_no,
        "return_id": ret.return_id, "return_mchid": ret.return_mchid, "amount": ret.amount,
        "description": ret.description, "result": ret.result, "create_time": rfc3339_at(ret.created_at)}
    if ret.finished_at is not None:
        view["finish_time"] = rfc3339_at(ret.finished_at)
    return view


async def query_return(fake: FakeWeChat, req: VerifiedRequest, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    out_order_no = _query_param(req, "out_order_no")
    ret = state(fake).returns.get(params["out_return_no"])
    if ret is None or ret.out_order_no != out_order_no:
        raise FakeError(404, "RESOURCE_NOT_EXISTS", "回退单不存在")
    return 200, return_view(ret)


# --- controls and the clock --------------------------------------------------------------------------

def complete_splits(fake: FakeWeChat, *, force: bool = False) -> int:
    """Settle PENDING splits (and PROCESSING returns) that are due; ``force`` settles all of them."""
    books, now, done = state(fake), fake.now(), 0
    delay = books.complete_after_seconds
    for order in books.orders.values():
        for line in order.lines:
            if line.result == "PENDING" and (force or (delay is not None and now - line.created_at >= delay)):
                line.result, line.finished_at = "SUCCESS", now
                done += 1
    for ret in books.returns.values():
        if ret.result == "PROCESSING" and (force or delay is not None):
            ret.result, ret.finished_at = "SUCCESS", now
            done += 1
    return done


def close_split(fake: FakeWeChat, out_order_no: str, account: str, reason: str = "ACCOUNT_ABNORMAL") -> SplitLine:
    """A receiver's split fails (account frozen, real name mismatch...): CLOSED, its money stays unsplit."""
    order = state(fake).orders.get(out_order_no)
    line = next((x for x in order.lines if x.account == account), None) if order else None
    if line is None:
        raise FakeError(404, "RESOURCE_NOT_EXISTS", "分账单或接收方不存在")
    if line.result == "PENDING":
        line.result, line.fail_reason, line.finished_at = "CLOSED", reason, fake.now()
    return line


def install(fake: FakeWeChat) -> None:
    async def tick() -> None:
        complete_splits(fake)

    fake.on_tick(tick)
    endpoint = fake.pay_endpoint
    fake.add_routes([
        Route("/v3/profitsharing/receivers/add", endpoint(add_receiver), methods=["POST"]),
        Route("/v3/profitsharing/receivers/delete", endpoint(delete_receiver), methods=["POST"]),
        Route("/v3/profitsharing/orders", endpoint(create_order), methods=["POST"]),
        Route("/v3/profitsharing/orders/unfreeze", endpoint(unfreeze), methods=["POST"]),
        Route("/v3/profitsharing/orders/{out_order_no}", endpoint(query_order), methods=["GET"]),
        Route("/v3/profitsharing/transactions/{transaction_id}/amounts", endpoint(amounts), methods=["GET"]),
        Route("/v3/profitsharing/return-orders", endpoint(create_return), methods=["POST"]),
        Route("/v3/profitsharing/return-orders/{out_return_no}", endpoint(query_return), methods=["GET"]),
    ])


__all__ = ["SharingState", "close_split", "complete_splits", "install", "sensitive_field", "state", "unsplit"]
