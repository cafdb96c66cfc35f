"""The transfer-gateway interface the payouts service talks to, its outcomes, and the registry.

A gateway turns a transfer command into a bill at the provider, idempotently on ``out_bill_no``.
Its two failures mean different things for the money: ``TransferRefused`` is definite (no bill
exists, the customer's balance may be given back, and a new request gets a new number), while
``TransferOutcomeUnknown`` means nothing is settled — ask again later with the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from liebian.kit.errors import ServiceUnavailable
from liebian.payouts.models import FINAL_STATES

TransferState = Literal["wait_user_confirm", "processing", "succeeded", "failed", "cancelled"]


@dataclass(frozen=True)
class TransferCommand:
    out_bill_no: str
    openid: str
    amount_fen: int
    remark: str
    user_name: str | None = None


@dataclass(frozen=True)
class TransferResult:
    out_bill_no: str
    state: TransferState
    transfer_bill_no: str | None = None
    package_info: str | None = None  # what the mini-program needs to let the customer accept
    amount_fen: int | None = None
    reason: str | None = None  # why it failed or was cancelled

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


class TransferRefused(Exception):
    """The provider definitely did not make (and will not make) this bill."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class TransferOutcomeUnknown(Exception):
    """The bill may or may not exist (lost answer, provider busy): ask again with the same ``out_bill_no``."""


class TransferGateway(Protocol):
    name: str

    async def transfer(self, cmd: TransferCommand, *, attempted_before: bool) -> TransferResult:
        """Make sure the bill exists; ``attempted_before`` means ask about it before creating it."""
        ...

    async def query(self, out_bill_no: str) -> TransferResult | None:
        """The bill's state, or None when the provider definitely has no such bill."""
        ...

    async def cancel(self, out_bill_no: str) -> TransferResult: ...

    def confirm_params(self, package_info: str, openid: str) -> dict[str, str]:
        """What the mini-program passes to ``wx.requestMerchantTransfer``."""
        ...


class GatewayRegistry:
    """Provider name → gateway; the last one installed takes new transfers."""

    def __init__(self) -> None:
        self._by_name: dict[str, TransferGateway] = {}
        self._default: str | None = None

    def install(self, gateway: TransferGateway) -> None:
        self._by_name[gateway.name] = gateway
        self._default = gateway.name

    def by_name(self, name: str) -> TransferGateway | None:
        return self._by_name.get(name)

    def default(self) -> TransferGateway:
        gateway = self._by_name.get(self._default or "")
        if gateway is None:
            raise ServiceUnavailable("transfers_unavailable", "Withdrawals are not configured on this deployment.")
        return gateway


registry = GatewayRegistry()
