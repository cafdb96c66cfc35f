"""Product search as a channel: an identified customer's (or device's) search is a visit through the shop's
one ``search`` code, so an order placed after it is attributed to channel ``search`` under fission's
attribution window, like any other entry point.

Catalog sits below fission and cannot call it; it publishes ``ProductsSearched``, and the wiring subscribes
:func:`on_products_searched`. Anonymous searches without a device id cost nothing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.events import ProductsSearched
from liebian.fission import binding, shares
from liebian.fission.rules import Channel, TargetType
from liebian.kit.clock import clock
from liebian.kit.sql import text
from liebian.shops import service as shops

SEARCH_CAMPAIGN = "search"


async def search_code(session: AsyncSession, shop_id: int) -> str:
    """The shop's search code, made at its first identified search.

    Two first searches at once: the primary key of ``campaign_search_codes`` lets one claim the shop (the
    other's insert waits for it, then does nothing and reads the code it committed), so a shop never gets two.
    """
    code = (await session.execute(text("SELECT code FROM campaign_search_codes WHERE shop_id = :s"),
                                  {"s": shop_id})).scalar()
    if code is not None:
        return str(code)
    claimed = (await session.execute(
        text("INSERT INTO campaign_search_codes (shop_id, created_at) VALUES (:s, :now) ON CONFLICT DO NOTHING "
             "RETURNING shop_id"), {"s": shop_id, "now": clock.now()})).first()
    if claimed is None:
        return str((await session.execute(text("SELECT code FROM campaign_search_codes WHERE shop_id = :s"),
                                          {"s": shop_id})).scalar_one())
    share = await shares.create(session, shop_id=shop_id, sharer_id=None, target_type=TargetType.SHOP,
                                target_id=shop_id, channel=Channel.SEARCH, campaign=SEARCH_CAMPAIGN,
                                parent_code=None)
    await session.execute(text("UPDATE campaign_search_codes SET share_id = :share, code = :code WHERE shop_id = :s"),
                          {"share": share.id, "code": share.code, "s": shop_id})
    return share.code


async def on_products_searched(session: AsyncSession, event: ProductsSearched) -> None:
    """A search of the first page (later pages of the same search are not new visits) becomes a visit through
    the shop's search code. A malformed device id is ignored, as the visit endpoint would refuse it."""
    device = event.device_id if event.device_id is not None and binding.is_device_id(event.device_id) else None
    if event.customer_id is None and device is None:
        return
    shop = await shops.shop_by_id(session, event.shop_id)  # remembered from the request: no statement
    await binding.record_visit(session, shop_id=shop.id, settings=shop.settings,
                               code=await search_code(session, shop.id), customer_id=event.customer_id,
                               device_id=device, scene=None)
