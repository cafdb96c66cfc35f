"""Wiring of stores: store and table QR codes through fission (target ``store``, channel ``offline_qr``), and
the counter's "picked up" through the orders lifecycle."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.fission import shares
from liebian.fission.rules import Channel, TargetType
from liebian.kit.errors import Conflict
from liebian.kit.sql import text
from liebian.orders import lifecycle
from liebian.orders import queries as order_queries
from liebian.stores import ports, tables
from liebian.stores import service as stores

PICKUP_CARRIER = "门店自提"  # what the order shows as its "carrier" once collected


class _Codes:
    """Store and table codes are shop codes (no sharer) on channel ``offline_qr``; a table is named in the
    share's campaign, so a scan of it is attributed to the store and the table."""

    async def create_code(self, session: AsyncSession, shop_id: int, store_id: int, *, table: str | None) -> str:
        share = await shares.create(session, shop_id=shop_id, sharer_id=None, target_type=TargetType.STORE,
                                    target_id=store_id, channel=Channel.OFFLINE_QR,
                                    campaign=tables.table_campaign(table) if table is not None else None,
                                    parent_code=None)
        return share.code


class _Orders:
    async def picked_up(self, session: AsyncSession, shop_id: int, order_no: str) -> ports.PickedUp:
        """Collected at the counter: shipped (to the store's counter) and completed in one unit of work, so the
        ledger, events and subscriptions of a completed order all follow; nothing moves if either step fails."""
        order_id = await order_queries.order_id_by_no(session, shop_id, order_no)
        row = (await session.execute(
            text("SELECT fulfilment, store_id, pickup_no, status, payment_method, paid_at FROM orders "
                 "WHERE id = :id FOR UPDATE"), {"id": order_id})).one()
        if row.fulfilment != "pickup":
            raise Conflict("not_a_pickup_order", "This order is delivered; ship it instead.")
        if row.payment_method == "cod" and row.paid_at is None and row.status == "pending_payment":
            raise Conflict("cod_not_collected", "Record the cash for this order as collected first.")
        if row.status != "shipped":
            await lifecycle.ship(session, shop_id, order_id, carrier=PICKUP_CARRIER,
                                 tracking_no=f"{row.store_id}-{row.pickup_no}", auto_complete_days=0,
                                 fulfilment="pickup")
        if not await lifecycle.complete(session, shop_id, order_id):
            raise Conflict("order_not_collectable", f"An order in status '{row.status}' cannot be picked up.")
        done = (await session.execute(text("SELECT status, completed_at FROM orders WHERE id = :id"),
                                      {"id": order_id})).one()
        return ports.PickedUp(order_no=order_no, status=done.status, store_id=row.store_id,
                              pickup_no=row.pickup_no, completed_at=done.completed_at)


def install() -> None:
    """Called once per process by :func:`liebian.wiring.install`."""
    ports.codes.install(_Codes())
    ports.orders.install(_Orders())
    shares.register_target(TargetType.STORE, stores.store_exists)
