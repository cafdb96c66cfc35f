"""The ``wechat`` payment provider: WeChat Pay v3 through our own client (live, or the fake in sandbox).

Maps the client's typed failures to problems: a signature that does not verify is 401, a resource that
does not decrypt 400, WeChat unreachable 502, an argument WeChat would refuse 422.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.errors import DecryptionError, InvalidArgument, SignatureError, WeChatPayError
from liebian.integrations.wechat.pay import notifications
from liebian.integrations.wechat.pay import transactions as tx
from liebian.integrations.wechat.pay.client import PayClient
from liebian.kit.clock import clock
from liebian.kit.errors import BadGateway, BadRequest, Invalid, Unauthorized
from liebian.payments.providers import (
    AlreadyPaid,
    Capability,
    CreatePayment,
    EventKind,
    PaymentIntent,
    PaymentSnapshot,
    ProviderEvent,
    RefundCommand,
    RefundSnapshot,
)

_REFUND_STATUS: dict[str, Any] = {"SUCCESS": "succeeded", "CLOSED": "failed", "PROCESSING": "processing",
                                  "ABNORMAL": "abnormal"}
_EVENT_KIND: dict[str, EventKind] = {
    "TRANSACTION.SUCCESS": "payment.succeeded", "REFUND.SUCCESS": "refund.succeeded",
    "REFUND.ABNORMAL": "refund.abnormal", "REFUND.CLOSED": "refund.closed",
    "MCHTRANSFER.BILL.FINISHED": "transfer.finished",
}


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _gateway_error(exc: WeChatPayError) -> BadGateway:
    return BadGateway("wechat_pay_error", f"WeChat Pay refused or failed the request ({exc.code}).")


class WeChatPayProvider:
    name = "wechat"
    # Not PROFIT_SHARING yet: orders are not created with settle_info.profit_sharing until distribution does.
    capabilities = frozenset({Capability.ONLINE, Capability.REFUND, Capability.ASYNC_NOTIFY})

    def __init__(self, client: PayClient) -> None:
        self.client = client
        self.merchant_id = client.config.mchid
        self.appid = client.config.appid

    async def create(self, req: CreatePayment) -> PaymentIntent:
        if not req.payer_openid:
            raise Invalid("payer_unknown", "Online payment needs a customer who logged in with WeChat.")
        order = tx.JsapiOrder(out_trade_no=req.out_trade_no, description=req.description, amount_fen=req.amount_fen,
                              payer_openid=req.payer_openid, time_expire=req.expires_at, attach=req.attach)
        try:
            prepay_id = await tx.jsapi_prepay(self.client, order)
        except InvalidArgument as exc:
            raise Invalid("invalid_payment", str(exc)) from exc
        except WeChatPayError as exc:
            raise _gateway_error(exc) from exc
        params = crypto.request_payment_params(self.client.config.merchant_key, self.appid, prepay_id,
                                               self.client.now())
        return PaymentIntent(provider=self.name, out_trade_no=req.out_trade_no, client_params=params)

    async def query(self, out_trade_no: str) -> PaymentSnapshot | None:
        """None when WeChat has no such order (prepay never reached it)."""
        try:
            data = await tx.query_by_out_trade_no(self.client, out_trade_no)
        except WeChatPayError as exc:
            if exc.code == "ORDER_NOT_EXIST":
                return None
            raise
        state = self.client.field(data, "trade_state", str)
        paid = state in ("SUCCESS", "REFUND")
        return PaymentSnapshot(
            out_trade_no=out_trade_no, paid=paid, state=state,
            amount_fen=self.client.field(self.client.field(data, "amount", dict), "total", int),
            provider_txn_id=self.client.field(data, "transaction_id", str) if paid else None,
            paid_at=_parse_time(data.get("success_time")),
        )

    async def close(self, out_trade_no: str) -> None:
        try:
            await tx.close(self.client, out_trade_no)
        except WeChatPayError as exc:
            if exc.code == "ORDERPAID":
                raise AlreadyPaid(out_trade_no) from exc
            if exc.code in ("ORDER_NOT_EXIST", "ORDERCLOSED"):
                return
            raise

    async def refund(self, req: RefundCommand) -> RefundSnapshot:
        """Idempotent on out_refund_no. Definite refusals end the refund; unknown outcomes raise (retried)."""
        try:
            data = await tx.refund(self.client, tx.RefundOrder(
                out_trade_no=req.out_trade_no, out_refund_no=req.out_refund_no, refund_fen=req.refund_fen,
                total_fen=req.total_fen, reason=req.reason))
        except WeChatPayError as exc:
            if exc.retryable:
                raise
            return RefundSnapshot(req.out_refund_no, "failed", error=f"{exc.code}: {exc.message}"[:500])
        return self._refund_snapshot(req.out_refund_no, data)

    async def query_refund(self, out_refund_no: str) -> RefundSnapshot:
        try:
            data = await tx.query_refund(self.client, out_refund_no)
        except WeChatPayError as exc:
            if exc.code == "RESOURCE_NOT_EXISTS":
                return RefundSnapshot(out_refund_no, "failed", error="refund not found at WeChat Pay")
            raise
        return self._refund_snapshot(out_refund_no, data)

    @staticmethod
    def _refund_snapshot(out_refund_no: str, data: Mapping[str, Any]) -> RefundSnapshot:
        status = _REFUND_STATUS.get(str(data.get("status") or data.get("refund_status")), "processing")
        return RefundSnapshot(out_refund_no, status, provider_refund_id=data.get("refund_id"),
                              error="ABNORMAL: the payer's account cannot receive it" if status == "abnormal" else None)

    def parse_notification(self, headers: Mapping[str, str], raw: bytes) -> ProviderEvent:
        try:
            note = notifications.parse(self.client.config, headers, raw, self.client.now())
        except SignatureError as exc:
            raise Unauthorized("invalid_notification_signature",
                               f"The notification signature is not valid ({exc.reason}).") from exc
        except DecryptionError as exc:
            raise BadRequest("invalid_notification", "The notification could not be decrypted.") from exc
        kind = _EVENT_KIND.get(note.event_type)
        if kind is None:
            raise BadRequest("unsupported_notification", f"Notifications of type {note.event_type} are not handled.")
        r = note.resource
        mchid = r.get("mchid", r.get("mch_id"))  # transfer notifications spell it mch_id
        if mchid != self.merchant_id or ("appid" in r and r["appid"] != self.appid):
            raise Invalid("merchant_mismatch", "The notification is for another merchant or mini-program.")
        return self._event(kind, note, r)

    def _event(self, kind: EventKind, note: notifications.Notification, r: dict[str, Any]) -> ProviderEvent:
        amount: dict[str, Any] = r["amount"] if isinstance(r.get("amount"), dict) else {}
        if kind == "payment.succeeded":
            if r.get("trade_state") != "SUCCESS":
                raise Invalid("unexpected_trade_state", "A payment notification must report SUCCESS.")
            key, fen, txn, at = r.get("out_trade_no"), amount.get("total"), r.get("transaction_id"), "success_time"
        elif kind == "transfer.finished":
            key, fen, txn, at = r.get("out_bill_no"), r.get("transfer_amount"), r.get("transfer_bill_no"), "update_time"
        else:
            key, fen, txn, at = r.get("out_refund_no"), amount.get("refund"), r.get("refund_id"), "success_time"
        if not isinstance(key, str) or not isinstance(fen, int):
            raise BadRequest("invalid_notification", "The notification lacks its business key or amount.")
        return ProviderEvent(kind=kind, event_id=note.id, business_key=key, amount_fen=fen,
                             merchant_id=self.merchant_id,
                             provider_txn_id=txn if isinstance(txn, str) else None,
                             occurred_at=_parse_time(r.get(at)) or clock.now(), payload=r)
