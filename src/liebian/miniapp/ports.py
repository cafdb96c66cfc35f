"""What the mini-program services need from outside the module, installed by the composition root.

``wechat``: the mini-program client and the merchant id (``liebian.gateways`` installs them, pointed at
the fake in sandbox mode and at WeChat in live mode). ``orders``: a read of an order's facts. This
module sits beside ``orders`` in the layers, so it cannot import it; ``liebian.wiring`` adapts
``orders.queries`` to :class:`OrderReader` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.integrations.wechat.miniprogram import MiniProgramClient
from liebian.kit.ports import Port


@dataclass(frozen=True)
class OrderFacts:
    order_id: int
    order_no: str
    customer_id: int
    titles: tuple[str, ...]  # line titles, in line order
    payable_fen: int
    paid_at: datetime | None
    shipped_at: datetime | None
    carrier: str | None
    tracking_no: str | None
    receiver_phone: str | None = field(repr=False)  # the delivery address's phone (masked before it leaves)
    payment_provider: str | None  # of the order's latest payment
    payment_status: str | None
    out_trade_no: str | None


class OrderReader(Protocol):
    async def __call__(self, session: AsyncSession, shop_id: int, order_id: int) -> OrderFacts: ...


@dataclass(frozen=True)
class WeChatMiniProgram:
    client: MiniProgramClient
    mchid: str  # the merchant id that orders are paid to: the shipping upload names orders by it


wechat: Port[WeChatMiniProgram] = Port("wechat_unavailable",
                                      "The WeChat mini-program is not configured on this deployment.")
orders: Port[OrderReader] = Port("orders_unavailable", "Order reading is not configured on this deployment.")


def install_wechat(client: MiniProgramClient | None, mchid: str | None) -> None:
    """Called by ``liebian.gateways`` in every install path."""
    if client is not None and mchid is not None:
        wechat.install(WeChatMiniProgram(client, mchid))
