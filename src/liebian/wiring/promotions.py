"""The promotions products show: group buys, bargains and flash sales as catalog's promotion sources.

Each source asks its module's own public listing (the same answer as ``GET groupbuy/campaigns``, ``GET
bargain/campaigns``, ``GET flashsale/campaigns``), so what is "running" is decided in one place. One product
asks by product; a page of products asks once for the shop's running campaigns (at most ``PAGE``, newest or
soonest first) and keeps those of the page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.bargain import campaigns as bargain_campaigns
from liebian.catalog.promotions import register_promotion_source
from liebian.flashsale import campaigns as flashsale_campaigns
from liebian.groupbuy import campaigns as groupbuy_campaigns

PAGE = 100


Lister = Callable[[AsyncSession, int, int | None], Awaitable[Any]]


def _source(lister: Lister) -> Callable[[AsyncSession, int, Sequence[int]], Awaitable[dict[int, list[dict[str, Any]]]]]:
    async def promotions(session: AsyncSession, shop_id: int, product_ids: Sequence[int]
                         ) -> dict[int, list[dict[str, Any]]]:
        wanted = set(product_ids)
        page = await lister(session, shop_id, product_ids[0] if len(product_ids) == 1 else None)
        found: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        for campaign in page.items:
            if campaign.product_id in wanted:
                found[campaign.product_id].append(campaign.model_dump(mode="json"))
        return dict(found)
    return promotions


async def _groupbuy(session: AsyncSession, shop_id: int, product_id: int | None) -> Any:
    return await groupbuy_campaigns.list_campaigns(session, shop_id, product_id=product_id, public=True, limit=PAGE)


async def _bargain(session: AsyncSession, shop_id: int, product_id: int | None) -> Any:
    return await bargain_campaigns.list_campaigns(session, shop_id, product_id=product_id, public=True, limit=PAGE)


async def _flashsale(session: AsyncSession, shop_id: int, product_id: int | None) -> Any:
    return await flashsale_campaigns.list_public(session, shop_id, product_id=product_id, limit=PAGE, offset=0)


def install() -> None:
    """Called once per process by :func:`liebian.wiring.install`."""
    register_promotion_source("groupbuy", _source(_groupbuy))
    register_promotion_source("bargain", _source(_bargain))
    register_promotion_source("flashsale", _source(_flashsale))
