"""Flash sales over HTTP. Customers see the current and upcoming slots and enter one
(``POST flashsale/campaigns/{id}/entries``: 202 with a ticket when Redis queues it, 201 with the order on
PostgreSQL); ``POST orders`` with ``promotion.kind = "flashsale"`` places the order directly, in both modes.
The console creates, lists, reads and ends slots."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from liebian.flashsale import campaigns, queue, redis_stock
from liebian.flashsale.campaigns import ConsoleFilter
from liebian.flashsale.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    ConsoleCampaignDetail,
    ConsoleCampaignOut,
    ConsoleCampaignPage,
    EntryIn,
    EntryOut,
)
from liebian.kit.clock import clock
from liebian.kit.db import Database
from liebian.kit.web import (
    MAX_ID,
    CompactJSONResponse,
    DbSession,
    HotRoute,
    IdPath,
    Limit,
    Offset,
    checked_param,
    customer_claims_of,
    hot_session,
    json_body_later,
    path_id_errors,
    validated,
)
from liebian.shops import service as shops
from liebian.shops.deps import ConsoleShop, CurrentShop, ShopCustomer
from liebian.shops.service import shop_customer

router = APIRouter(prefix="/api/v1/shops/{shop}/flashsale", tags=["customer: flash sale"])
console = APIRouter(prefix="/api/v1/console/flashsale", tags=["console: flash sale"])
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
EntryId = Annotated[str, Path(min_length=1, max_length=48)]


@router.get("/campaigns", response_model=CampaignPage)
async def slots(shop: CurrentShop, session: DbSession, product_id: OptionalId = None, limit: Limit = 20,
                offset: Offset = 0) -> CampaignPage:
    """Running and upcoming slots, soonest first: what is left and the countdowns."""
    return await campaigns.list_public(session, shop.id, product_id=product_id, limit=limit, offset=offset)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
async def slot(campaign_id: IdPath, shop: CurrentShop, session: DbSession) -> CampaignOut:
    row = await campaigns.get_row(session, shop.id, campaign_id)
    left = await redis_stock.lefts([campaign_id])
    return campaigns.out(row, clock.now(), left.get(campaign_id))


@router.post("/campaigns/{campaign_id}/entries", status_code=201, response_model=EntryOut,
             responses={202: {"model": EntryOut, "description": "Queued (Redis): poll GET flashsale/entries/{id}"}})
async def enter(campaign_id: IdPath, body: EntryIn, request: Request, shop: CurrentShop, customer: ShopCustomer,
                session: DbSession) -> JSONResponse:
    """Served by :func:`enter_hot` (a hot route); this declaration documents it and answers the same."""
    status, entry = await queue.enter(session, shop, customer.subject_id, campaign_id, body)
    if status == 202:
        db: Database = request.app.state.db
        queue.kick(db, campaign_id)  # the order is made in this process's background, right away
    return JSONResponse(entry.model_dump(mode="json", exclude_none=True), status_code=status)


async def enter_hot(request: Request) -> Response:
    """``POST entries`` ahead of FastAPI's routing and dependencies, on a driver session (as ``POST orders``): the
    same entry, in the declared route's order of checks (malformed JSON, the shop, the token, then the path's
    campaign id with the body's fields)."""
    slug = checked_param(request.path_params["shop"], "path", "shop", max_length=40) or ""
    body = await json_body_later(request, EntryIn)
    async with hot_session(request) as session:
        shop = await shops.shop_by_slug(session, slug)
        customer = shop_customer(shop, customer_claims_of(request))
        campaign_id, errors = path_id_errors(request.path_params["campaign_id"], "campaign_id")
        status, entry = await queue.enter(session, shop, customer.subject_id, campaign_id, validated(body, errors))
    if status == 202:
        queue.kick(request.app.state.db, campaign_id)
    return CompactJSONResponse(entry.model_dump(mode="json", exclude_none=True), status_code=status)


@router.get("/entries/{entry_id}", response_model=EntryOut, response_model_exclude_none=True)
async def entry(entry_id: EntryId, shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> EntryOut:
    """A ticket: queued, then ordered (with its order_no) or failed (with its failure_code)."""
    return await queue.get_entry(session, shop.id, customer.subject_id, entry_id)


# --- console ---------------------------------------------------------------------------------------


@console.post("/campaigns", response_model=ConsoleCampaignOut, status_code=201)
async def create_campaign(body: CampaignIn, shop: ConsoleShop, session: DbSession) -> ConsoleCampaignOut:
    return await campaigns.create(session, shop.id, body)


@console.get("/campaigns", response_model=ConsoleCampaignPage)
async def list_campaigns(shop: ConsoleShop, session: DbSession, state: ConsoleFilter | None = None,
                         sku_id: OptionalId = None, limit: Limit = 20, offset: Offset = 0) -> ConsoleCampaignPage:
    return await campaigns.list_console(session, shop.id, state=state, sku_id=sku_id, limit=limit, offset=offset)


@console.get("/campaigns/{campaign_id}", response_model=ConsoleCampaignDetail)
async def get_campaign(campaign_id: IdPath, shop: ConsoleShop, session: DbSession) -> ConsoleCampaignDetail:
    return await campaigns.detail(session, shop.id, campaign_id)


@console.patch("/campaigns/{campaign_id}", response_model=ConsoleCampaignOut)
async def update_campaign(campaign_id: IdPath, body: CampaignPatch, shop: ConsoleShop,
                          session: DbSession) -> ConsoleCampaignOut:
    """Title and end until the slot ends; price, per-customer limit and start only before it starts."""
    return await campaigns.update(session, shop.id, campaign_id, body)


@console.post("/campaigns/{campaign_id}/end", response_model=ConsoleCampaignOut)
async def end_campaign(campaign_id: IdPath, shop: ConsoleShop, session: DbSession) -> ConsoleCampaignOut:
    """No more entries; unsold units go back to the SKU (orders already placed keep theirs)."""
    return await campaigns.end(session, shop.id, campaign_id)


hot_routes = (HotRoute.of("POST", f"{router.prefix}/campaigns/{{campaign_id}}/entries", enter_hot),)
