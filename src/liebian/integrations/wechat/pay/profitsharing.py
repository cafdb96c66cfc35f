"""Profit sharing (分账): receivers, split orders, their results, unfreezing and returns (wechat.md §2.10).

Receivers' names are sensitive fields: they are RSA-OAEP encrypted with the WeChat Pay public key the
client is configured with, whose id goes out as ``Wechatpay-Serial`` on every request. Splitting is
asynchronous: an order answers PROCESSING with receivers PENDING, and ``query_order`` tells the outcome.
Returns (clawbacks) exist only from MERCHANT_ID receivers, which is why splits to people wait for the
after-sales window to close.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.errors import InvalidArgument
from liebian.integrations.wechat.pay.client import PayClient, path_segment

RECEIVER_TYPES = frozenset({"MERCHANT_ID", "PERSONAL_OPENID"})
RELATION_TYPES = frozenset({"STORE", "STAFF", "STORE_OWNER", "PARTNER", "HEADQUARTER", "BRAND", "DISTRIBUTOR",
                            "USER", "SUPPLIER", "CUSTOM"})
OUT_ORDER_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
TRANSACTION_ID = re.compile(r"^[0-9A-Za-z]{1,32}$")
MAX_RECEIVERS_PER_REQUEST = 50
MAX_DESCRIPTION = 80
MAX_FEN = 10**11


def _check_no(value: str, name: str) -> str:
    if not OUT_ORDER_NO.match(value):
        raise InvalidArgument(f"{name} must be 1-64 characters of [0-9A-Za-z_-|*@]")
    return value


def _check_transaction_id(value: str) -> str:
    if not TRANSACTION_ID.match(value):
        raise InvalidArgument("transaction_id must be WeChat Pay's 1-32 letters and digits")
    return value


def _check_description(value: str) -> str:
    if not 0 < len(value) <= MAX_DESCRIPTION:
        raise InvalidArgument(f"description must be 1-{MAX_DESCRIPTION} characters")
    return value


def _check_amount(amount_fen: int) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or not 0 < amount_fen <= MAX_FEN:
        raise InvalidArgument("amount must be a positive whole number of fen")
    return amount_fen


def _check_account(type_: str, account: str) -> None:
    if type_ not in RECEIVER_TYPES:
        raise InvalidArgument("receiver type must be MERCHANT_ID or PERSONAL_OPENID")
    if not 0 < len(account) <= 64:
        raise InvalidArgument("receiver account (mchid or openid) is required, at most 64 characters")


@dataclass(frozen=True)
class Receiver:
    """A receiver to register before splitting to it; ``name`` is required for MERCHANT_ID (its full name)."""

    type: str
    account: str
    relation_type: str
    name: str | None = None
    custom_relation: str | None = None

    def body(self, client: PayClient) -> dict[str, Any]:
        _check_account(self.type, self.account)
        if self.relation_type not in RELATION_TYPES:
            raise InvalidArgument(f"relation_type must be one of {', '.join(sorted(RELATION_TYPES))}")
        if (self.relation_type == "CUSTOM") != bool(self.custom_relation):
            raise InvalidArgument("custom_relation is given exactly when relation_type is CUSTOM")
        if self.custom_relation is not None and len(self.custom_relation) > 10:
            raise InvalidArgument("custom_relation must be at most 10 characters")
        if self.type == "MERCHANT_ID" and not self.name:
            raise InvalidArgument("a MERCHANT_ID receiver needs the merchant's full name")
        body: dict[str, Any] = {"appid": client.config.appid, "type": self.type, "account": self.account,
                                "relation_type": self.relation_type}
        if self.name:
            body["name"] = crypto.rsa_oaep_encrypt(client.config.encryption_key, self.name)
        if self.custom_relation:
            body["custom_relation"] = self.custom_relation
        return body


async def add_receiver(client: PayClient, receiver: Receiver) -> dict[str, Any]:
    """``POST /v3/profitsharing/receivers/add``; adding the same receiver again is harmless."""
    return (await client.request("POST", "/v3/profitsharing/receivers/add", body=receiver.body(client))).data


async def delete_receiver(client: PayClient, type_: str, account: str) -> dict[str, Any]:
    _check_account(type_, account)
    body = {"appid": client.config.appid, "type": type_, "account": account}
    return (await client.request("POST", "/v3/profitsharing/receivers/delete", body=body)).data


@dataclass(frozen=True)
class Split:
    """One receiver's share of a transaction; ``name``, when given, must match the registered one."""

    type: str
    account: str
    amount_fen: int
    description: str
    name: str | None = None

    def body(self, client: PayClient) -> dict[str, Any]:
        _check_account(self.type, self.account)
        body: dict[str, Any] = {"type": self.type, "account": self.account, "amount": _check_amount(self.amount_fen),
                                "description": _check_description(self.description)}
        if self.name:
            body["name"] = crypto.rsa_oaep_encrypt(client.config.encryption_key, self.name)
        return body


@dataclass(frozen=True)
class SharingOrder:
    """A split request; the same ``out_order_no`` is the same request, so retries are safe.

    ``unfreeze_unsplit`` on the last split gives whatever is left to the merchant and ends sharing.
    """

    transaction_id: str
    out_order_no: str
    splits: tuple[Split, ...]
    unfreeze_unsplit: bool

    def body(self, client: PayClient) -> dict[str, Any]:
        _check_transaction_id(self.transaction_id)
        _check_no(self.out_order_no, "out_order_no")
        if not 0 < len(self.splits) <= MAX_RECEIVERS_PER_REQUEST:
            raise InvalidArgument(f"a split request has 1-{MAX_RECEIVERS_PER_REQUEST} receivers")
        return {"appid": client.config.appid, "transaction_id": self.transaction_id,
                "out_order_no": self.out_order_no, "receivers": [s.body(client) for s in self.splits],
                "unfreeze_unsplit": self.unfreeze_unsplit}


@dataclass(frozen=True)
class ReceiverResult:
    type: str
    account: str
    amount_fen: int
    description: str
    result: str  # PENDING, SUCCESS or CLOSED
    fail_reason: str | None
    detail_id: str | None


@dataclass(frozen=True)
class SharingResult:
    """A split order as WeChat reports it; ``state`` PROCESSING until every receiver has a result."""

    transaction_id: str
    out_order_no: str
    order_id: str
    state: str  # PROCESSING or FINISHED
    receivers: tuple[ReceiverResult, ...]

    @property
    def finished(self) -> bool:
        return self.state == "FINISHED"

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SharingResult:
        receivers = tuple(
            ReceiverResult(type=str(r.get("type", "")), account=str(r.get("account", "")),
                           amount_fen=int(r.get("amount", 0)), description=str(r.get("description", "")),
                           result=str(r.get("result", "")), fail_reason=r.get("fail_reason"),
                           detail_id=r.get("detail_id"))
            for r in data.get("receivers") or [] if isinstance(r, dict))
        return cls(transaction_id=str(data.get("transaction_id", "")), out_order_no=str(data.get("out_order_no", "")),
                   order_id=str(data.get("order_id", "")), state=str(data.get("state", "")), receivers=receivers)


async def create_order(client: PayClient, order: SharingOrder) -> SharingResult:
    """``POST /v3/profitsharing/orders``: accepted, usually PROCESSING; ask ``query_order`` for results."""
    answer = await client.request("POST", "/v3/profitsharing/orders", body=order.body(client))
    return SharingResult.parse(answer.data)


async def query_order(client: PayClient, out_order_no: str, transaction_id: str) -> SharingResult:
    _check_no(out_order_no, "out_order_no")
    answer = await client.request("GET", f"/v3/profitsharing/orders/{path_segment(out_order_no)}",
                                  query={"transaction_id": _check_transaction_id(transaction_id)})
    return SharingResult.parse(answer.data)


async def unfreeze(client: PayClient, transaction_id: str, out_order_no: str, description: str) -> SharingResult:
    """Give the unsplit remainder to the merchant and end sharing; ``out_order_no`` is a new number."""
    body = {"transaction_id": _check_transaction_id(transaction_id),
            "out_order_no": _check_no(out_order_no, "out_order_no"), "description": _check_description(description)}
    answer = await client.request("POST", "/v3/profitsharing/orders/unfreeze", body=body)
    return SharingResult.parse(answer.data)


async def unsplit_amount(client: PayClient, transaction_id: str) -> int:
    """``GET /v3/profitsharing/transactions/{id}/amounts``: fen still frozen and available to split."""
    answer = await client.request(
        "GET", f"/v3/profitsharing/transactions/{path_segment(_check_transaction_id(transaction_id))}/amounts")
    return int(answer.data.get("unsplit_amount", 0))


@dataclass(frozen=True)
class ReturnOrder:
    """Claw back from a MERCHANT_ID receiver; WeChat offers no return from a person (PERSONAL_OPENID)."""

    out_order_no: str
    out_return_no: str
    return_mchid: str
    amount_fen: int
    description: str

    def body(self) -> dict[str, Any]:
        if not re.fullmatch(r"\d{6,32}", self.return_mchid):
            raise InvalidArgument("returns are only possible from a merchant (MERCHANT_ID) receiver")
        return {"out_order_no": _check_no(self.out_order_no, "out_order_no"),
                "out_return_no": _check_no(self.out_return_no, "out_return_no"), "return_mchid": self.return_mchid,
                "amount": _check_amount(self.amount_fen), "description": _check_description(self.description)}


async def create_return(client: PayClient, order: ReturnOrder) -> dict[str, Any]:
    """``POST /v3/profitsharing/return-orders`` → ``result`` PROCESSING, SUCCESS or FAILED."""
    return (await client.request("POST", "/v3/profitsharing/return-orders", body=order.body())).data


async def query_return(client: PayClient, out_return_no: str, out_order_no: str) -> dict[str, Any]:
    _check_no(out_return_no, "out_return_no")
    answer = await client.request("GET", f"/v3/profitsharing/return-orders/{path_segment(out_return_no)}",
                                  query={"out_order_no": _check_no(out_order_no, "out_order_no")})
    return answer.data
