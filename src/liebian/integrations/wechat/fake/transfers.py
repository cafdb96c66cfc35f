"""Fake WeChat Pay: 商家转账 transfer bills (user-confirmation mode) and the merchant's operating balance.

Rules enforced as WeChat does (wechat.md §2.11, §6.2): ``out_bill_no`` of 1-32 letters and digits,
the same number with the same content is the same bill (a changed one is refused), at least 10 fen,
the payee's real name (RSA-OAEP, decrypted here with WeChat Pay's key) from 2,000 CNY, a remark of at
most 32 characters, a known scene with its report infos, and enough operating balance — debited at
creation, given back when a bill ends CANCELLED or FAIL.

Bills wait in WAIT_USER_CONFIRM with a ``package_info``. ``confirm_transfer`` plays the user accepting
in ``wx.requestMerchantTransfer`` (→ SUCCESS); 24 hours without that, ``tick()`` cancels the bill;
``expire_transfer`` and ``fail_transfer`` force those endings; the cancel API goes CANCELING →
CANCELLED on the next tick. Every final state is notified as ``MCHTRANSFER.BILL.FINISHED``.
The controls are also HTTP routes under ``/_fake/transfers``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from liebian.integrations.wechat.fake.core import FakeError, VerifiedRequest, check_notify_url, require, rfc3339_at
from liebian.integrations.wechat.fake.profitsharing import sensitive_field
from liebian.integrations.wechat.pay.transfers import (
    MAX_REMARK,
    MAX_REPORT_INFO,
    MIN_TRANSFER_FEN,
    NAME_REQUIRED_FROM_FEN,
    OUT_BILL_NO,
)

if TYPE_CHECKING:
    from liebian.integrations.wechat.fake.core import FakeWeChat

CONFIRM_WINDOW_SECONDS = 24 * 3600
# Scenes and the report lines WeChat requires for them (1000 现金营销, 1005 佣金报酬).
SCENES: dict[str, frozenset[str]] = {"1000": frozenset({"活动名称", "奖励说明"}),
                                     "1005": frozenset({"岗位类型", "报酬说明"})}


@dataclass
class Bill:
    out_bill_no: str
    transfer_bill_no: str
    fingerprint: str
    openid: str
    amount: int
    remark: str
    user_name: str | None
    scene_id: str
    notify_url: str
    package_info: str
    created_at: float
    state: str = "WAIT_USER_CONFIRM"
    updated_at: float = 0.0
    fail_reason: str | None = None


class TransferState:
    """The fake's bills and the merchant's operating balance (in fen; tests may set it)."""

    def __init__(self) -> None:
        self.bills: dict[str, Bill] = {}
        self.balance_fen = 100_000_000
        self.scenes = dict(SCENES)


def state(fake: FakeWeChat) -> TransferState:
    return fake.books("transfers", TransferState)


def _report_infos(data: dict[str, Any], scene_id: str, scenes: dict[str, frozenset[str]]) -> list[tuple[str, str]]:
    infos = data.get("transfer_scene_report_infos")
    require(isinstance(infos, list) and bool(infos), "transfer_scene_report_infos 必填")
    assert isinstance(infos, list)
    pairs = []
    for info in infos:
        require(isinstance(info, dict), "transfer_scene_report_infos 格式错误")
        kind, content = info.get("info_type"), info.get("info_content")
        require(isinstance(kind, str) and isinstance(content, str) and 0 < len(content) <= MAX_REPORT_INFO,
                 f"info_content 须为 1-{MAX_REPORT_INFO} 个字符")
        pairs.append((str(kind), str(content)))
    missing = scenes[scene_id] - {kind for kind, _ in pairs}
    require(not missing, f"转账场景 {scene_id} 须报备: {', '.join(sorted(missing))}")
    return pairs


def _validated(fake: FakeWeChat, req: VerifiedRequest) -> Bill:
    """The bill a create request describes (not yet stored); its user name decrypted."""
    d, books, creds = req.data, state(fake), fake.credentials
    require(d.get("appid") == creds.appid, "appid 与商户号不匹配", "APPID_MCHID_NOT_MATCH")
    out_bill_no = d.get("out_bill_no")
    require(isinstance(out_bill_no, str) and bool(OUT_BILL_NO.match(out_bill_no)),
             "out_bill_no 须为 1-32 位数字和字母")
    amount = d.get("transfer_amount")
    require(isinstance(amount, int) and not isinstance(amount, bool), "transfer_amount 须为整数(分)")
    require(int(amount or 0) >= MIN_TRANSFER_FEN, "转账金额不能低于 0.1 元", "INVALID_REQUEST")
    scene_id = str(d.get("transfer_scene_id", ""))
    require(scene_id in books.scenes, "transfer_scene_id 未开通或不存在", "NO_AUTH")
    openid = d.get("openid")
    require(isinstance(openid, str) and 0 < len(openid) <= 128, "openid 必填")
    remark = d.get("transfer_remark")
    require(isinstance(remark, str) and 0 < len(remark) <= MAX_REMARK, f"transfer_remark 须为 1-{MAX_REMARK} 个字符")
    name = sensitive_field(fake, req, d["user_name"], "user_name") if d.get("user_name") else None
    require(name is not None or int(amount or 0) < NAME_REQUIRED_FROM_FEN,
             "转账金额 >= 2000 元时, 收款用户姓名 user_name 必填")
    infos = _report_infos(d, scene_id, books.scenes)
    notify_url = check_notify_url(d["notify_url"]) if "notify_url" in d else ""
    fingerprint = repr((openid, amount, remark, name, scene_id, infos, d.get("user_recv_perception")))
    bill = Bill(out_bill_no=str(out_bill_no), transfer_bill_no="1330" + secrets.token_hex(14), fingerprint=fingerprint,
                openid=str(openid), amount=int(amount or 0), remark=str(remark), user_name=name, scene_id=scene_id,
                notify_url=notify_url, package_info="ABBQO+oYAAABAAAAAAAk" + secrets.token_urlsafe(48),
                created_at=fake.now(), updated_at=fake.now())
    return bill


async def create_bill(fake: FakeWeChat, req: VerifiedRequest, _: dict[str, str]) -> tuple[int, dict[str, Any]]:
    books = state(fake)
    bill = _validated(fake, req)
    existing = books.bills.get(bill.out_bill_no)
    if existing is not None:  # the same out_bill_no is the same bill
        require(existing.fingerprint == bill.fingerprint, "商户单号重复 (参数与首次请求不一致)", "INVALID_REQUEST")
        return 200, create_view(existing)
    if bill.amount > books.balance_fen:
        raise FakeError(403, "NOT_ENOUGH", "商户运营账户资金不足")
    books.balance_fen -= bill.amount
    books.bills[bill.out_bill_no] = bill
    return 200, create_view(bill)


def create_view(bill: Bill) -> dict[str, Any]:
    view: dict[str, Any] = {"out_bill_no": bill.out_bill_no, "transfer_bill_no": bill.transfer_bill_no,
                            "create_time": rfc3339_at(bill.created_at), "state": bill.state}
    if bill.state == "WAIT_USER_CONFIRM":
        view["package_info"] = bill.package_info
    if bill.fail_reason:
        view["fail_reason"] = bill.fail_reason
    return view


def bill_view(fake: FakeWeChat, bill: Bill) -> dict[str, Any]:
    """What the query API answers (no ``package_info``); the real name is never echoed in clear."""
    view: dict[str, Any] = {
        "mch_id": fake.credentials.mchid, "out_bill_no": bill.out_bill_no, "transfer_bill_no": bill.transfer_bill_no,
        "appid": fake.credentials.appid, "state": bill.state, "transfer_amount": bill.amount,
        "transfer_remark": bill.remark, "openid": bill.openid, "create_time": rfc3339_at(bill.created_at),
        "update_time": rfc3339_at(bill.updated_at)}
    if bill.fail_reason:
        view["fail_reason"] = bill.fail_reason
    return view


def _find(fake: FakeWeChat, out_bill_no: str) -> Bill:
    bill = state(fake).bills.get(out_bill_no)
    if bill is None:
        raise FakeError(404, "NOT_FOUND", "记录不存在")
    return bill


async def query_bill(fake: FakeWeChat, _: VerifiedRequest, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    return 200, bill_view(fake, _find(fake, params["out_bill_no"]))


async def query_by_transfer_bill_no(fake: FakeWeChat, _: VerifiedRequest,
                                    params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    for bill in state(fake).bills.values():
        if bill.transfer_bill_no == params["transfer_bill_no"]:
            return 200, bill_view(fake, bill)
    raise FakeError(404, "NOT_FOUND", "记录不存在")


async def cancel_bill(fake: FakeWeChat, _: VerifiedRequest, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    bill = _find(fake, params["out_bill_no"])
    if bill.state in ("WAIT_USER_CONFIRM", "ACCEPTED"):
        bill.state, bill.updated_at = "CANCELING", fake.now()
    elif bill.state not in ("CANCELING", "CANCELLED"):
        raise FakeError(400, "INVALID_REQUEST", f"转账单状态为 {bill.state}, 不可撤销")
    return 200, {"out_bill_no": bill.out_bill_no, "transfer_bill_no": bill.transfer_bill_no, "state": bill.state,
                 "update_time": rfc3339_at(bill.updated_at)}


# --- endings -----------------------------------------------------------------------------------------

def _finish(fake: FakeWeChat, bill: Bill, final: str, reason: str | None = None) -> Bill:
    """Move a bill to SUCCESS, FAIL or CANCELLED once, give money back if it did not go out, notify."""
    if bill.state in ("SUCCESS", "FAIL", "CANCELLED"):
        return bill
    bill.state, bill.updated_at, bill.fail_reason = final, fake.now(), reason
    if final != "SUCCESS":
        state(fake).balance_fen += bill.amount
    resource = {"out_bill_no": bill.out_bill_no, "transfer_bill_no": bill.transfer_bill_no, "state": final,
                "mch_id": fake.credentials.mchid, "transfer_amount": bill.amount, "openid": bill.openid,
                "create_time": rfc3339_at(bill.created_at), "update_time": rfc3339_at(bill.updated_at)}
    if reason:
        resource["fail_reason"] = reason
    if bill.notify_url:
        fake.notify(bill.notify_url, "MCHTRANSFER.BILL.FINISHED", "mch_payment", "商家转账单据终态通知", resource)
    return bill


def confirm_transfer(fake: FakeWeChat, out_bill_no: str, client_params: dict[str, Any] | None = None) -> Bill:
    """The user accepts in ``wx.requestMerchantTransfer``; its parameters are checked when given."""
    bill = _find(fake, out_bill_no)
    if bill.state == "SUCCESS":
        return bill
    if bill.state != "WAIT_USER_CONFIRM" or fake.now() >= bill.created_at + CONFIRM_WINDOW_SECONDS:
        raise FakeError(400, "INVALID_REQUEST", f"转账单状态为 {bill.state}, 无法确认收款")
    if client_params is not None:
        creds = fake.credentials
        expected = {"mchId": creds.mchid, "appId": creds.appid, "package": bill.package_info, "openId": bill.openid}
        wrong = sorted(k for k, v in expected.items() if client_params.get(k) != v)
        require(not wrong, f"requestMerchantTransfer 参数错误: {', '.join(wrong)}")
    return _finish(fake, bill, "SUCCESS")


def expire_transfer(fake: FakeWeChat, out_bill_no: str) -> Bill:
    """24 hours pass without the user: CANCELLED, the money returns to the operating balance."""
    bill = _find(fake, out_bill_no)
    if bill.state not in ("WAIT_USER_CONFIRM", "CANCELING", "CANCELLED"):
        raise FakeError(400, "INVALID_REQUEST", f"转账单状态为 {bill.state}, 无法过期")
    return _finish(fake, bill, "CANCELLED", "TRANSFER_EXPIRED" if bill.state == "WAIT_USER_CONFIRM" else None)


def fail_transfer(fake: FakeWeChat, out_bill_no: str, reason: str = "ACCOUNT_FROZEN") -> Bill:
    """WeChat cannot pay the user (account frozen, real name mismatch...): FAIL, money returns."""
    bill = _find(fake, out_bill_no)
    if bill.state in ("SUCCESS", "CANCELLED"):
        raise FakeError(400, "INVALID_REQUEST", f"转账单状态为 {bill.state}, 无法置为失败")
    return _finish(fake, bill, "FAIL", reason)


async def _advance(fake: FakeWeChat) -> None:
    for bill in list(state(fake).bills.values()):
        if bill.state == "CANCELING":
            _finish(fake, bill, "CANCELLED")
        elif bill.state == "WAIT_USER_CONFIRM" and fake.now() >= bill.created_at + CONFIRM_WINDOW_SECONDS:
            _finish(fake, bill, "CANCELLED", "TRANSFER_EXPIRED")


# --- HTTP controls -----------------------------------------------------------------------------------

def _control_routes(fake: FakeWeChat) -> list[Route]:
    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        data = json.loads(raw) if raw else {}
        return data if isinstance(data, dict) else {}

    def acting(action: str) -> Any:
        async def endpoint(request: Request) -> Response:
            body, no = await body_of(request), request.path_params["out_bill_no"]
            try:
                if action == "confirm":
                    bill = confirm_transfer(fake, no, body.get("client_params"))
                elif action == "expire":
                    bill = expire_transfer(fake, no)
                else:
                    bill = fail_transfer(fake, no, str(body.get("reason", "ACCOUNT_FROZEN")))
            except FakeError as exc:
                return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)
            delivered = await fake.deliver_due()
            return JSONResponse({**bill_view(fake, bill), "delivered": delivered})
        return endpoint

    async def balance(request: Request) -> Response:
        books = state(fake)
        if request.method == "POST":
            value = (await body_of(request)).get("balance_fen")
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return JSONResponse({"code": "PARAM_ERROR", "message": "balance_fen"}, status_code=400)
            books.balance_fen = value
        return JSONResponse({"balance_fen": books.balance_fen})

    return [
        Route("/_fake/transfers/balance", balance, methods=["GET", "POST"]),
        Route("/_fake/transfers/{out_bill_no}/confirm", acting("confirm"), methods=["POST"]),
        Route("/_fake/transfers/{out_bill_no}/expire", acting("expire"), methods=["POST"]),
        Route("/_fake/transfers/{out_bill_no}/fail", acting("fail"), methods=["POST"]),
    ]


_BILLS = "/v3/fund-app/mch-transfer/transfer-bills"


def install(fake: FakeWeChat) -> None:
    async def tick() -> None:
        await _advance(fake)

    fake.on_tick(tick)
    endpoint = fake.pay_endpoint
    fake.add_routes([
        Route(_BILLS, endpoint(create_bill), methods=["POST"]),
        Route(_BILLS + "/out-bill-no/{out_bill_no}", endpoint(query_bill), methods=["GET"]),
        Route(_BILLS + "/out-bill-no/{out_bill_no}/cancel", endpoint(cancel_bill), methods=["POST"]),
        Route(_BILLS + "/transfer-bill-no/{transfer_bill_no}", endpoint(query_by_transfer_bill_no), methods=["GET"]),
        *_control_routes(fake),
    ])


__all__ = ["Bill", "TransferState", "confirm_transfer", "expire_transfer", "fail_transfer", "install", "state"]
