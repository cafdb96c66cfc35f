"""The ``wechat`` transfer gateway: 商家转账 through our Pay client (live, or the fake in sandbox).

The merchant's transfer scene is configuration: scene 1005 (佣金报酬) with 岗位类型/报酬说明 by default,
as wechat.md §2.11 describes for commissions; a merchant holds one scene, so set what it was granted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from liebian.integrations.wechat.errors import InvalidArgument, WeChatPayError
from liebian.integrations.wechat.pay import transfers as tr
from liebian.integrations.wechat.pay.client import PayClient
from liebian.payouts.gateway import (
    TransferCommand,
    TransferOutcomeUnknown,
    TransferRefused,
    TransferResult,
    TransferState,
)

log = logging.getLogger(__name__)

_STATES: dict[str, TransferState] = {"WAIT_USER_CONFIRM": "wait_user_confirm", "SUCCESS": "succeeded",
                                     "FAIL": "failed", "CANCELLED": "cancelled"}
COMMISSION_REPORT = (("岗位类型", "推广员"), ("报酬说明", "推广佣金"))


def result_from_wechat(data: Mapping[str, Any]) -> TransferResult:
    """A create/query answer or a ``MCHTRANSFER.BILL.FINISHED`` resource; ACCEPTED, PROCESSING,
    TRANSFERING and CANCELING are all ``processing`` to us."""
    snapshot = tr.TransferSnapshot.parse(dict(data))
    return _result(snapshot)


def _result(snapshot: tr.TransferSnapshot) -> TransferResult:
    return TransferResult(out_bill_no=snapshot.out_bill_no, state=_STATES.get(snapshot.state, "processing"),
                          transfer_bill_no=snapshot.transfer_bill_no, package_info=snapshot.package_info,
                          amount_fen=snapshot.amount_fen, reason=snapshot.fail_reason)


class WeChatTransferGateway:
    name = "wechat"

    def __init__(self, client: PayClient, *, scene_id: str = "1005",
                 report_infos: tuple[tuple[str, str], ...] = COMMISSION_REPORT,
                 user_recv_perception: str | None = "劳务报酬") -> None:
        self.client = client
        self.scene_id = scene_id
        self.report_infos = tuple(tr.ReportInfo(kind, content) for kind, content in report_infos)
        self.user_recv_perception = user_recv_perception

    def _bill(self, cmd: TransferCommand) -> tr.TransferBill:
        return tr.TransferBill(out_bill_no=cmd.out_bill_no, openid=cmd.openid, amount_fen=cmd.amount_fen,
                               remark=cmd.remark, scene_id=self.scene_id, report_infos=self.report_infos,
                               user_name=cmd.user_name, user_recv_perception=self.user_recv_perception)

    async def transfer(self, cmd: TransferCommand, *, attempted_before: bool) -> TransferResult:
        try:
            snapshot = await tr.ensure_transfer(self.client, self._bill(cmd), attempted_before=attempted_before)
        except InvalidArgument as exc:
            raise TransferRefused("INVALID_ARGUMENT", str(exc)) from exc
        except WeChatPayError as exc:
            if exc.retryable:  # unknown outcome, or WeChat busy: the same number again, later
                raise TransferOutcomeUnknown(f"{exc.code}: {exc.message}") from exc
            raise TransferRefused(exc.code, exc.message) from exc
        return _result(snapshot)

    async def query(self, out_bill_no: str) -> TransferResult | None:
        snapshot = await tr.find_transfer(self.client, out_bill_no)
        return None if snapshot is None else _result(snapshot)

    async def cancel(self, out_bill_no: str) -> TransferResult:
        try:
            return _result(await tr.cancel_transfer(self.client, out_bill_no))
        except WeChatPayError as exc:
            if exc.retryable:
                raise TransferOutcomeUnknown(f"{exc.code}: {exc.message}") from exc
            raise TransferRefused(exc.code, exc.message) from exc

    def confirm_params(self, package_info: str, openid: str) -> dict[str, str]:
        config = self.client.config
        return {"mchId": config.mchid, "appId": config.appid, "package": package_info, "openId": openid}
