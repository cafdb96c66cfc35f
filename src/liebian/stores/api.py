"""HTTP endpoints of stores: nearby search and the store page for customers; stores, table codes and
pickups in the console."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import AfterValidator

from liebian.kit.web import DbSession, IdPath, Limit, Offset
from liebian.shops.deps import ConsoleShop, CurrentShop
from liebian.shops.service import ShopRef
from liebian.stores import ports, queries, rules, service, tables
from liebian.stores.schemas import (
    CodeOut,
    NearbyPage,
    PickedUpOut,
    StoreCodes,
    StoreIn,
    StoreOut,
    StorePage,
    StorePatch,
    StoreStatus,
    TableIn,
    TableOut,
)

router = APIRouter(prefix="/api/v1/shops/{shop}/stores", tags=["customer: stores"])
console = APIRouter(prefix="/api/v1/console", tags=["console: stores"])
# Rounded as stores' own coordinates are (schemas.Lat): a subnormal float underflows the geo functions.
LatQuery = Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="degrees"),
                     AfterValidator(lambda v: round(v, 7))]
LngQuery = Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="degrees"),
                     AfterValidator(lambda v: round(v, 7))]
RadiusQuery = Annotated[int, Query(ge=1, le=rules.MAX_RADIUS_M, description="metres")]


def code_out(request: Request, shop: ShopRef, code: str | None) -> CodeOut | None:
    """The code's landing URL and printable QR image (served by fission's share routes)."""
    if code is None:
        return None
    base = request.app.state.settings.public_base_url.rstrip("/")
    return CodeOut(code=code, url=f"{base}/s/{shop.slug}/r/{code}",
                   qr_png_url=f"/api/v1/shops/{shop.slug}/shares/{code}/qr.png")


def table_out(request: Request, shop: ShopRef, row: Any) -> TableOut:
    return TableOut(id=row.id, store_id=row.store_id, label=row.label, share_code=row.share_code,
                    qr=code_out(request, shop, row.share_code), created_at=row.created_at)


@router.get("", response_model=StorePage)
async def open_stores(shop: CurrentShop, session: DbSession, pickup: bool | None = None, limit: Limit = 20,
                      offset: Offset = 0) -> StorePage:
    """This shop's open stores (``pickup=true``: those that take pickup orders, as the checkout lists them)."""
    return await service.list_stores(session, shop.id, status="open", pickup=pickup, limit=limit, offset=offset)


@router.get("/nearby", response_model=NearbyPage)
async def nearby(shop: CurrentShop, session: DbSession, lat: LatQuery, lng: LngQuery,
                 radius_m: RadiusQuery = rules.DEFAULT_RADIUS_M, coord_system: rules.CoordSystem = "wgs84",
                 limit: Limit = 20) -> NearbyPage:
    """This shop's open stores within ``radius_m`` (default 5 km, at most 50 km), nearest first, each with its
    ``distance_m``. Pass ``coord_system=gcj02`` for a point from ``wx.getLocation({type: 'gcj02'})``."""
    return await queries.nearby(session, shop.id, lat=lat, lng=lng, radius_m=radius_m, coord_system=coord_system,
                                limit=limit)


@router.get("/{store_id}", response_model=StoreOut)
async def store_page(store_id: IdPath, shop: CurrentShop, session: DbSession) -> StoreOut:
    """The store page a store or table QR code opens."""
    return await service.get_store(session, shop.id, store_id)


@console.post("/stores", status_code=201, response_model=StoreOut)
async def create_store(body: StoreIn, shop: ConsoleShop, session: DbSession) -> StoreOut:
    """A store; GCJ-02 coordinates (``coord_system: "gcj02"``) are stored converted to WGS-84. The store gets
    its offline QR code (channel ``offline_qr``) at once."""
    store = await service.create_store(session, shop.id, body)
    return store.model_copy(update={"share_code": await tables.ensure_store_code(session, shop.id, store.id)})


@console.get("/stores", response_model=StorePage)
async def list_stores(shop: ConsoleShop, session: DbSession, status: StoreStatus | None = None, limit: Limit = 20,
                      offset: Offset = 0) -> StorePage:
    return await service.list_stores(session, shop.id, status=status, limit=limit, offset=offset)


@console.get("/stores/{store_id}", response_model=StoreOut)
async def get_store(store_id: IdPath, shop: ConsoleShop, session: DbSession) -> StoreOut:
    return await service.get_store(session, shop.id, store_id)


@console.patch("/stores/{store_id}", response_model=StoreOut)
async def patch_store(store_id: IdPath, body: StorePatch, shop: ConsoleShop, session: DbSession) -> StoreOut:
    """Change a store; ``status: "closed"`` hides it from nearby and refuses new pickup orders."""
    return await service.patch_store(session, shop.id, store_id, body)


@console.post("/stores/{store_id}/close", response_model=StoreOut)
async def close_store(store_id: IdPath, shop: ConsoleShop, session: DbSession) -> StoreOut:
    return await service.patch_store(session, shop.id, store_id, StorePatch(status="closed"))


@console.post("/stores/{store_id}/tables", status_code=201, response_model=TableOut)
async def create_table(store_id: IdPath, body: TableIn, request: Request, shop: ConsoleShop,
                       session: DbSession) -> TableOut:
    """A table code: its QR code opens the store with the table named (share campaign ``table:<label>``)."""
    return table_out(request, shop, await tables.create_table(session, shop.id, store_id, body.label))


@console.get("/stores/{store_id}/codes", response_model=StoreCodes)
async def store_codes(store_id: IdPath, request: Request, shop: ConsoleShop, session: DbSession) -> StoreCodes:
    """The store's QR code and its tables', with printable images, for the merchant to print."""
    code = await tables.ensure_store_code(session, shop.id, store_id)
    rows = await tables.list_tables(session, shop.id, store_id)
    return StoreCodes(store=code_out(request, shop, code), tables=[table_out(request, shop, r) for r in rows])


@console.post("/orders/{order_no}/picked-up", response_model=PickedUpOut)
async def picked_up(order_no: Annotated[str, Path(max_length=32)], shop: ConsoleShop,
                    session: DbSession) -> PickedUpOut:
    """The customer collected a pickup order at the counter: it completes (a COD order must have had its cash
    recorded first, ``POST orders/{order_no}/cash-collected``)."""
    done = await ports.orders.get().picked_up(session, shop.id, order_no)
    return PickedUpOut(order_no=done.order_no, status=done.status, store_id=done.store_id, pickup_no=done.pickup_no,
                       completed_at=done.completed_at)
