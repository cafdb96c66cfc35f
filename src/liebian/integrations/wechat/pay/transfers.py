"""商家转账 (transfer to a user's WeChat balance, user-confirmation mode): create, query, cancel (wechat.md §2.11).

A bill is created WAIT_USER_CONFIRM with a ``package_info`` the mini-program hands to
``wx.requestMerchantTransfer``; the user's confirmation makes it SUCCESS, 24 hours without one make it
CANCELLED, and each final state (SUCCESS, FAIL, CANCELLED) is notified as ``MCHTRANSFER.BILL.FINISHED``.

The rule that keeps money from going out twice (WeChat's own warning on the create page): after an
answer that leaves the outcome unknown, never create under a new ``out_bill_no`` — ask about the same
number first. ``ensure_transfer`` does exactly that; choosing a new number is left to the caller, and
is only right after a definite FAIL, or a definite refusal of a bill WeChat does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.errors import InvalidArgument, WeChatPayError
from liebian.integrations.wechat.pay.client import PayClient, path_segment

OUT_BILL_NO = re.compile(r"^[0-9A-Za-z]{1,32}$")
SCENE_ID = re.compile(r"^\d{1,8}$")
MIN_TRANSFER_FEN = 10  # 0.1 CNY
NAME_REQUIRED_FROM_FEN = 200_000  # 2,000 CNY: from here on the payee's real name is mandatory
MAX_REMARK = 32
MAX_REPORT_INFO = 32
MAX_FEN = 10**11
FINAL_STATES = frozenset({"SUCCESS", "FAIL", "CANCELLED"})
BASE = "/v3/fund-app/mch-transfer/transfer-bills"


def check_out_bill_no(value: str) -> str:
    if not OUT_BILL_NO.match(value):
        raise InvalidArgument("out_bill_no must be 1-32 letters and digits")
    return value


@dataclass(frozen=True)
class ReportInfo:
    """A scene report line, e.g. scene 1005 (佣金报酬): 岗位类型 and 报酬说明."""

    info_type: str
    info_content: str


@dataclass(frozen=True)
class TransferBill:
    out_bill_no: str
    openid: str
    amount_fen: int
    remark: str
    scene_id: str
    report_infos: tuple[ReportInfo, ...]
    user_name: str | None = None
    user_recv_perception: str | None = None
    notify_url: str | None = None  # the client's configured notify_url when None

    def body(self, client: PayClient) -> dict[str, Any]:
        check_out_bill_no(self.out_bill_no)
        amount = self.amount_fen
        if isinstance(amount, bool) or not isinstance(amount, int) or not MIN_TRANSFER_FEN <= amount <= MAX_FEN:
            raise InvalidArgument(f"a transfer is a whole number of fen, at least {MIN_TRANSFER_FEN} (0.1 CNY)")
        if amount >= NAME_REQUIRED_FROM_FEN and not self.user_name:
            raise InvalidArgument("transfers of 2,000 CNY or more need the payee's real name")
        if not 0 < len(self.openid) <= 128:
            raise InvalidArgument("the payee's openid is required")
        if not 0 < len(self.remark) <= MAX_REMARK:
            raise InvalidArgument(f"transfer_remark must be 1-{MAX_REMARK} characters (the user sees it)")
        if not SCENE_ID.match(self.scene_id):
            raise InvalidArgument("transfer_scene_id is the number of a scene enabled for the merchant")
        if not self.report_infos or any(not i.info_type or not 0 < len(i.info_content) <= MAX_REPORT_INFO
                                        for i in self.report_infos):
            raise InvalidArgument(f"the scene's report infos are required, each 1-{MAX_REPORT_INFO} characters")
        body: dict[str, Any] = {
            "appid": client.config.appid, "out_bill_no": self.out_bill_no, "transfer_scene_id": self.scene_id,
            "openid": self.openid, "transfer_amount": amount, "transfer_remark": self.remark,
            "notify_url": self.notify_url or client.config.notify_url,
            "transfer_scene_report_infos": [{"info_type": i.info_type, "info_content": i.info_content}
                                            for i in self.report_infos],
        }
        if self.user_name:
            body["user_name"] = crypto.rsa_oaep_encrypt(client.config.encryption_key, self.user_name)
        if self.user_recv_perception:
            body["user_recv_perception"] = self.user_recv_perception
        return body


@dataclass(frozen=True)
class TransferSnapshot:
    """A bill as WeChat reports it. ``package_info`` comes only from create (state WAIT_USER_CONFIRM)."""

    out_bill_no: str
    state: str  # ACCEPTED, PROCESSING, WAIT_USER_CONFIRM, TRANSFERING, SUCCESS, FAIL, CANCELING, CANCELLED
    transfer_bill_no: str | None = None
    package_info: str | None = None
    amount_fen: int | None = None
    fail_reason: str | None = None
    create_time: str | None = None
    update_time: str | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def awaiting_package(self) -> bool:
        """Known to wait for the user, but we hold no ``package_info`` to let them confirm."""
        return self.state == "WAIT_USER_CONFIRM" and not self.package_info

    @classmethod
    def parse(cls, data: dict[str, Any]) -> TransferSnapshot:
        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value not in (None, "") else None

        amount = data.get("transfer_amount")
        return cls(out_bill_no=str(data.get("out_bill_no", "")), state=str(data.get("state", "")),
                   transfer_bill_no=text("transfer_bill_no"), package_info=text("package_info"),
                   amount_fen=amount if isinstance(amount, int) else None, fail_reason=text("fail_reason"),
                   create_time=text("create_time"), update_time=text("update_time"))


async def create_transfer(client: PayClient, bill: TransferBill) -> TransferSnapshot:
    """``POST .../transfer-bills``; the same ``out_bill_no`` with the same content is the same bill."""
    answer = await client.request("POST", BASE, body=bill.body(client))
    return TransferSnapshot.parse(answer.data)


async def query_transfer(client: PayClient, out_bill_no: str) -> TransferSnapshot:
    """Raises ``WeChatPayError`` with code ``NOT_FOUND`` for a bill WeChat does not know (or >30 days old)."""
    answer = await client.request("GET", f"{BASE}/out-bill-no/{path_segment(check_out_bill_no(out_bill_no))}")
    return TransferSnapshot.parse(answer.data)


async def query_by_transfer_bill_no(client: PayClient, transfer_bill_no: str) -> TransferSnapshot:
    if not 0 < len(transfer_bill_no) <= 64:
        raise InvalidArgument("transfer_bill_no is WeChat's bill number")
    answer = await client.request("GET", f"{BASE}/transfer-bill-no/{path_segment(transfer_bill_no)}")
    return TransferSnapshot.parse(answer.data)


async def cancel_transfer(client: PayClient, out_bill_no: str) -> TransferSnapshot:
    """Withdraw a bill the user has not confirmed: CANCELING now, CANCELLED (and notified) shortly after."""
    answer = await client.request("POST", f"{BASE}/out-bill-no/{path_segment(check_out_bill_no(out_bill_no))}/cancel")
    return TransferSnapshot.parse(answer.data)


async def find_transfer(client: PayClient, out_bill_no: str) -> TransferSnapshot | None:
    """The bill, or None when WeChat definitely has none under this number."""
    try:
        return await query_transfer(client, out_bill_no)
    except WeChatPayError as exc:
        if exc.code == "NOT_FOUND" and not exc.outcome_unknown:
            return None
        raise


async def ensure_transfer(client: PayClient, bill: TransferBill, *, attempted_before: bool = False) -> TransferSnapshot:
    """Make sure the bill exists at WeChat, under this ``out_bill_no`` only, and return its state.

    ``attempted_before``: an earlier call may have reached WeChat (its answer was lost), so ask first.
    An unknown outcome here is followed by a query of the same number, never by a new number; when
    WeChat still knows nothing, or the bill waits for the user and we lack its ``package_info``, the
    create is repeated with the same number, which at worst returns the bill the lost call made.

    Raises ``WeChatPayError``: ``outcome_unknown`` → call again later with ``attempted_before=True``;
    otherwise a definite refusal, after which the caller alone may decide on a new number.
    """
    check_out_bill_no(bill.out_bill_no)
    for round_ in range(2):
        if attempted_before or round_ > 0:
            found = await _learn(client, bill.out_bill_no)
            if found is not None and not found.awaiting_package:
                return found
        try:
            return await create_transfer(client, bill)
        except WeChatPayError as exc:
            if not exc.outcome_unknown or round_ > 0:
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


async def _learn(client: PayClient, out_bill_no: str) -> TransferSnapshot | None:
    """``find_transfer`` for ``ensure_transfer``: a refused query (signature, rate limit...) proves nothing
    about the bill, so it leaves the outcome unknown; only a refused create is a definite answer."""
    try:
        return await find_transfer(client, out_bill_no)
    except WeChatPayError as exc:
        if exc.outcome_unknown:
            raise
        raise WeChatPayError(exc.status, exc.code, exc.message, outcome_unknown=True) from exc
