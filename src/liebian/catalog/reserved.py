"""Stock a promotion campaign holds back from its SKU (a group buy's or a bargain's own units).

Moving units between the campaign and the SKU is the same for every such campaign: the campaign's row first,
one guarded statement that never lets what is left go below zero, then the SKU's (the lock order checkout
keeps). Only the campaign tables named here may be moved, so the table name in the SQL is never an input.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog.service import return_stock, take_stock
from liebian.kit.errors import Conflict
from liebian.kit.sql import text

CampaignTable = Literal["groupbuy_campaigns", "bargain_campaigns"]


async def move_campaign_stock(session: AsyncSession, table: CampaignTable, *, campaign_id: int, shop_id: int,
                              sku_id: int, own_stock: bool, delta: int) -> None:
    """``delta`` > 0 moves units from the SKU into the campaign, < 0 gives them back to the SKU."""
    if not own_stock:
        raise Conflict("campaign_has_no_own_stock", "This campaign sells the SKU's stock; change the SKU's stock.")
    moved = (await session.execute(
        text(f"UPDATE {table} SET stock = stock + :d, stock_left = stock_left + :d "
             "WHERE id = :id AND status = 'active' AND stock_left + :d >= 0 RETURNING id"),
        {"d": delta, "id": campaign_id})).first()
    if moved is None:
        raise Conflict("stock_would_go_negative", "The campaign has fewer units left than that.")
    if delta > 0 and not await take_stock(session, shop_id, sku_id, delta):
        raise Conflict("sku_stock_insufficient", "The SKU does not have that many units.")
    if delta < 0:
        await return_stock(session, shop_id, [(sku_id, -delta)])
