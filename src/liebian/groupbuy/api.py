"""Group buying over HTTP. Buyers open and join groups through ``POST orders`` (``promotion.kind =
"groupbuy"``); these are the group pages, the open groups of a campaign, and the console."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from liebian.groupbuy import campaigns, queries
from liebian.groupbuy.schemas import (
    CampaignDetail,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    CampaignState,
    ConsoleCampaignPage,
    ConsoleGroupDetail,
    ConsoleGroupPage,
    GroupOut,
    GroupState,
    OpenGroupOut,
)
from liebian.kit.clock import clock
from liebian.kit.web import MAX_ID, DbSession, IdPath, Limit, Offset, OptionalCustomerClaims
from liebian.shops.deps import ConsoleShop, CurrentShop

router = APIRouter(prefix="/api/v1/shops/{shop}/groupbuy", tags=["customer: group buying"])
console = APIRouter(prefix="/api/v1/console/groupbuy", tags=["console: group buying"])
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/campaigns", response_model=CampaignPage)
async def active_campaigns(shop: CurrentShop, session: DbSession, product_id: OptionalId = None,
                           limit: Limit = 20, offset: Offset = 0) -> CampaignPage:
    """Group buys running now, optionally for one product."""
    return await campaigns.list_campaigns(session, shop.id, product_id=product_id, public=True, limit=limit,
                                          offset=offset)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
async def campaign(campaign_id: IdPath, shop: CurrentShop, session: DbSession) -> CampaignOut:
    return campaigns.out(await campaigns.get_row(session, shop.id, campaign_id), clock.now())


@router.get("/campaigns/{campaign_id}/groups", response_model=list[OpenGroupOut])
async def open_groups(campaign_id: IdPath, shop: CurrentShop, session: DbSession, limit: Limit = 20
                      ) -> list[OpenGroupOut]:
    """Open groups that can still be joined, the closest to full first."""
    return await queries.open_groups(session, shop.id, campaign_id, limit=limit)


@router.get("/groups/{group_id}", response_model=GroupOut)
async def group(group_id: IdPath, shop: CurrentShop, session: DbSession,
                claims: OptionalCustomerClaims) -> GroupOut:
    """The group page a shared link opens: no login needed, nicknames masked, no personal data; logged in,
    ``viewer`` also says whether one is in the group or why one cannot join it."""
    viewer = claims.subject_id if claims is not None and claims.shop_id == shop.id else None
    return await queries.group_page(session, shop.id, group_id, viewer)


# --- console ---------------------------------------------------------------------------------------

@console.post("/campaigns", response_model=CampaignOut, status_code=201)
async def create_campaign(body: CampaignIn, shop: ConsoleShop, session: DbSession) -> CampaignOut:
    return await campaigns.create(session, shop.id, body)


@console.get("/campaigns", response_model=ConsoleCampaignPage)
async def list_campaigns(shop: ConsoleShop, session: DbSession, status: CampaignState | None = None,
                         sku_id: OptionalId = None, product_id: OptionalId = None,
                         new_customers_only: bool | None = None, limit: Limit = 20,
                         offset: Offset = 0) -> ConsoleCampaignPage:
    """Newest first, each with its live counters (groups open, succeeded, failed; members paid)."""
    return await campaigns.console_list(session, shop.id, state=status, sku_id=sku_id, product_id=product_id,
                                        new_customers_only=new_customers_only, limit=limit, offset=offset)


@console.get("/campaigns/{campaign_id}", response_model=CampaignDetail)
async def get_campaign(campaign_id: IdPath, shop: ConsoleShop, session: DbSession) -> CampaignDetail:
    return await campaigns.detail(session, shop.id, campaign_id)


@console.patch("/campaigns/{campaign_id}", response_model=CampaignOut)
async def update_campaign(campaign_id: IdPath, body: CampaignPatch, shop: ConsoleShop,
                          session: DbSession) -> CampaignOut:
    return await campaigns.update(session, shop.id, campaign_id, body)


@console.post("/campaigns/{campaign_id}/close", response_model=CampaignOut)
async def close_campaign(campaign_id: IdPath, shop: ConsoleShop, session: DbSession) -> CampaignOut:
    """No new groups or joins; running groups finish by their deadline; unsold units go back to the SKU."""
    return await campaigns.close(session, shop.id, campaign_id)


@console.delete("/campaigns/{campaign_id}", status_code=204)
async def delete_campaign(campaign_id: IdPath, shop: ConsoleShop, session: DbSession) -> Response:
    """Only a campaign in which no group was ever opened."""
    await campaigns.delete(session, shop.id, campaign_id)
    return Response(status_code=204)


@console.get("/groups", response_model=ConsoleGroupPage)
async def list_groups(shop: ConsoleShop, session: DbSession, campaign_id: OptionalId = None,
                      status: GroupState | None = None, completed_by_shop: bool | None = None, limit: Limit = 20,
                      offset: Offset = 0) -> ConsoleGroupPage:
    return await queries.list_groups(session, shop.id, campaign_id=campaign_id, status=status,
                                     completed_by_shop=completed_by_shop, limit=limit, offset=offset)


@console.get("/groups/{group_id}", response_model=ConsoleGroupDetail)
async def get_group(group_id: IdPath, shop: ConsoleShop, session: DbSession) -> ConsoleGroupDetail:
    return await queries.console_group(session, shop.id, group_id)
