"""HTTP endpoints of bargain: customer routes (/api/v1/shops/{shop}/...) and console routes.

The initiator buys through ``POST orders`` with ``promotion = {kind: "bargain", bargain_id}``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Header, Query, Request

from liebian.bargain import bargains, campaigns, queries
from liebian.bargain.schemas import (
    BargainOut,
    BargainState,
    BargainSummary,
    CampaignDetail,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    CampaignState,
    ConsoleBargainDetail,
    ConsoleBargainPage,
    ConsoleCampaignPage,
    HelpOut,
    StartIn,
)
from liebian.kit import ratelimit
from liebian.kit.clock import clock
from liebian.kit.web import MAX_ID, DbSession, IdPath, Limit, Offset, OptionalCustomerClaims
from liebian.shops.deps import ConsoleShop, CurrentShop, ShopCustomer

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: bargain"])
console = APIRouter(prefix="/api/v1/console/bargain", tags=["console: bargain"])
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
DEVICE_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


async def device_id(
    x_device_id: Annotated[str | None, Header(pattern=DEVICE_PATTERN)] = None,
    lb_did: Annotated[str | None, Cookie(pattern=DEVICE_PATTERN)] = None,
) -> str | None:
    """The device a request comes from: the mini-program's ``X-Device-Id``, else the H5 ``lb_did`` cookie."""
    return x_device_id or lb_did


DeviceId = Annotated[str | None, Depends(device_id)]


@router.get("/bargain/campaigns", response_model=CampaignPage)
async def active_campaigns(shop: CurrentShop, session: DbSession, product_id: OptionalId = None,
                           limit: Limit = 20, offset: Offset = 0) -> CampaignPage:
    """Bargain campaigns running now, optionally for one product."""
    return await campaigns.list_campaigns(session, shop.id, product_id=product_id, public=True, limit=limit,
                                          offset=offset)


@router.get("/bargain/campaigns/{campaign_id}", response_model=CampaignOut)
async def campaign(campaign_id: IdPath, shop: CurrentShop, session: DbSession) -> CampaignOut:
    return campaigns.out(await campaigns.get_row(session, shop.id, campaign_id), clock.now())


@router.post("/bargains", response_model=BargainOut, status_code=201)
async def start_bargain(body: StartIn, shop: CurrentShop, claims: ShopCustomer, session: DbSession,
                        device: DeviceId) -> BargainOut:
    """Start a bargain: the initiator makes the opening cut, then shares it (``POST shares`` with
    ``target_type: "bargain"``) for friends to cut."""
    bargain_id = await bargains.start(session, shop.id, claims.subject_id, body.campaign_id, device)
    return await queries.bargain_page(session, shop.id, bargain_id, claims.subject_id)


@router.get("/bargains", response_model=list[BargainSummary])
async def my_bargains(shop: CurrentShop, claims: ShopCustomer, session: DbSession, limit: Limit = 20,
                      offset: Offset = 0) -> list[BargainSummary]:
    """The bargains this customer started, newest first."""
    return await queries.my_bargains(session, shop.id, claims.subject_id, limit=limit, offset=offset)


@router.get("/bargains/{bargain_id}", response_model=BargainOut)
async def bargain(bargain_id: IdPath, shop: CurrentShop, session: DbSession,
                  claims: OptionalCustomerClaims) -> BargainOut:
    """The page a shared link opens: no login needed; logged in, it also says what the viewer may do."""
    viewer = claims.subject_id if claims is not None and claims.shop_id == shop.id else None
    return await queries.bargain_page(session, shop.id, bargain_id, viewer)


@router.post("/bargains/{bargain_id}/help", response_model=HelpOut, responses=ratelimit.RATE_LIMITED)
async def help_bargain(bargain_id: IdPath, request: Request, shop: CurrentShop, claims: ShopCustomer,
                       session: DbSession, device: DeviceId) -> HelpOut:
    """A friend's cut, once per friend and bargain; a repeated tap gets the same answer with
    ``already_helped: true`` and cuts nothing. Helping earns nothing (WeChat's rules on induced sharing).
    The owner's other accounts (the same device or phone) are refused with ``linked_account``."""
    await ratelimit.enforce(request, [("help_customer", f"c:{claims.subject_id}"),
                                      ("help_ip", ratelimit.client_ip(request))], shop_id=shop.id,
                            actor=f"customer:{claims.subject_id}", target=f"bargain:{bargain_id}", what="bargain helps")
    return await bargains.help_bargain(session, shop.id, bargain_id, claims.subject_id, device)


# --- console ---------------------------------------------------------------------------------------

@console.post("/campaigns", response_model=CampaignOut, status_code=201)
async def create_campaign(body: CampaignIn, shop: ConsoleShop, session: DbSession) -> CampaignOut:
    return await campaigns.create(session, shop.id, body)


@console.get("/campaigns", response_model=ConsoleCampaignPage)
async def list_campaigns(shop: ConsoleShop, session: DbSession, status: CampaignState | None = None,
                         sku_id: OptionalId = None, product_id: OptionalId = None, limit: Limit = 20,
                         offset: Offset = 0) -> ConsoleCampaignPage:
    """Newest first, each with its live counters (bargains in progress, complete, ordered, expired; helps)."""
    return await campaigns.console_list(session, shop.id, state=status, sku_id=sku_id, product_id=product_id,
                                        limit=limit, offset=offset)


@console.get("/campaigns/{campaign_id}", response_model=CampaignDetail)
async def get_campaign(campaign_id: IdPath, shop: ConsoleShop, session: DbSession) -> CampaignDetail:
    return await campaigns.detail(session, shop.id, campaign_id)


@console.patch("/campaigns/{campaign_id}", response_model=CampaignOut)
async def update_campaign(campaign_id: IdPath, body: CampaignPatch, shop: ConsoleShop,
                          session: DbSession) -> CampaignOut:
    """Title, end, limits, buy-anytime (for bargains started from now on) and stock; prices never change."""
    return await campaigns.update(session, shop.id, campaign_id, body)


@console.post("/campaigns/{campaign_id}/close", response_model=CampaignOut)
async def close_campaign(campaign_id: IdPath, shop: ConsoleShop, session: DbSession) -> CampaignOut:
    """End it now: no new bargains; running ones go on to their expiry; unsold units go back to the SKU."""
    return await campaigns.close(session, shop.id, campaign_id)


@console.get("/bargains", response_model=ConsoleBargainPage)
async def list_bargains(shop: ConsoleShop, session: DbSession, campaign_id: OptionalId = None,
                        customer_id: OptionalId = None, status: BargainState | None = None, limit: Limit = 20,
                        offset: Offset = 0) -> ConsoleBargainPage:
    return await queries.list_bargains(session, shop.id, campaign_id=campaign_id, customer_id=customer_id,
                                       status=status, limit=limit, offset=offset)


@console.get("/bargains/{bargain_id}", response_model=ConsoleBargainDetail)
async def get_bargain(bargain_id: IdPath, shop: ConsoleShop, session: DbSession) -> ConsoleBargainDetail:
    return await queries.console_bargain(session, shop.id, bargain_id)
