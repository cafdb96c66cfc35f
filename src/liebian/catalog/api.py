from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from liebian.catalog import promotions, service
from liebian.catalog.schemas import (
    CategoryIn,
    CategoryOut,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    ProductPut,
    SkuIn,
    SkuPatch,
    StockAdjustIn,
)
from liebian.events import ProductsSearched
from liebian.kit.errors import Unauthorized
from liebian.kit.events import bus
from liebian.kit.web import DbSession, IdPath, Limit, Offset, claims_from_header
from liebian.shops.deps import ConsoleShop, CurrentShop
from liebian.shops.service import ShopRef, shop_customer

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: catalog"])
console = APIRouter(prefix="/api/v1/console", tags=["console: catalog"])
SearchText = Annotated[str | None, Query(max_length=50)]


def _searcher(request: Request, shop: ShopRef) -> tuple[int | None, str | None]:
    """Who searched: a valid customer token of this shop, and the device id sent. A bad token is not the
    search's problem: the products are answered all the same, and the search is not told to anyone."""
    try:
        claims = claims_from_header(request, request.headers.get("authorization"), "customer")
        customer_id = shop_customer(shop, claims).subject_id if claims is not None else None
    except Unauthorized:
        customer_id = None
    return customer_id, request.headers.get("x-device-id")


@router.get("/products", response_model=ProductPage)
async def list_products(
    request: Request, shop: CurrentShop, session: DbSession, q: SearchText = None, category_id: IdPath | None = None,
    limit: Limit = 20, offset: Offset = 0,
) -> ProductPage:
    page = await service.list_products(session, shop.id, public=True, q=q, category_id=category_id,
                                       limit=limit, offset=offset)
    page.items = await promotions.attach(session, shop.id, page.items)
    # Only a search's first page by someone identified (token or X-Device-Id) is told (campaigns records it
    # as a visit on channel ``search``): browsing, and anonymous searching, cost nothing.
    if q and q.strip() and offset == 0:
        customer_id, device_id = _searcher(request, shop)
        if customer_id is not None or device_id is not None:
            await bus.publish(session, ProductsSearched(shop_id=shop.id, query=q, customer_id=customer_id,
                                                        device_id=device_id))
    return page


@router.get("/products/{product_id}", response_model=ProductOut)
async def get_product(product_id: IdPath, shop: CurrentShop, session: DbSession) -> ProductOut:
    """With the promotions running on it (group buys, bargains, flash sales: each its campaign and ``kind``)."""
    product = await service.get_product(session, shop.id, product_id, public=True)
    return (await promotions.attach(session, shop.id, [product]))[0]


@router.get("/categories", response_model=list[CategoryOut])
async def list_categories(shop: CurrentShop, session: DbSession) -> list[CategoryOut]:
    return await service.list_categories(session, shop.id)


@console.post("/products", response_model=ProductOut, status_code=201)
async def create_product(body: ProductIn, shop: ConsoleShop, session: DbSession) -> ProductOut:
    return await service.create_product(session, shop.id, body)


@console.get("/products", response_model=ProductPage)
async def console_products(
    shop: ConsoleShop, session: DbSession, q: SearchText = None, category_id: IdPath | None = None,
    status: Literal["draft", "published", "unpublished", "archived"] | None = None,
    limit: Limit = 20, offset: Offset = 0,
) -> ProductPage:
    return await service.list_products(session, shop.id, public=False, q=q, category_id=category_id,
                                       status=status, limit=limit, offset=offset)


@console.get("/products/{product_id}", response_model=ProductOut)
async def console_product(product_id: IdPath, shop: ConsoleShop, session: DbSession) -> ProductOut:
    return await service.get_product(session, shop.id, product_id, public=False)


@console.patch("/products/{product_id}", response_model=ProductOut)
async def update_product(product_id: IdPath, body: ProductPatch, shop: ConsoleShop, session: DbSession) -> ProductOut:
    return await service.update_product(session, shop.id, product_id, body)


@console.put("/products/{product_id}", response_model=ProductOut)
async def replace_product(product_id: IdPath, body: ProductPut, shop: ConsoleShop, session: DbSession) -> ProductOut:
    """The whole product at once, SKUs included (the console's edit form): all of it is saved, or none."""
    return await service.replace_product(session, shop.id, product_id, body)


@console.post("/products/{product_id}/publish", response_model=ProductOut)
async def publish(product_id: IdPath, shop: ConsoleShop, session: DbSession) -> ProductOut:
    return await service.set_status(session, shop.id, product_id, "published")


@console.post("/products/{product_id}/unpublish", response_model=ProductOut)
async def unpublish(product_id: IdPath, shop: ConsoleShop, session: DbSession) -> ProductOut:
    return await service.set_status(session, shop.id, product_id, "unpublished")


@console.delete("/products/{product_id}", status_code=204)
async def archive(product_id: IdPath, shop: ConsoleShop, session: DbSession) -> Response:
    await service.set_status(session, shop.id, product_id, "archived")
    return Response(status_code=204)


@console.post("/products/{product_id}/skus", response_model=ProductOut, status_code=201)
async def add_sku(product_id: IdPath, body: SkuIn, shop: ConsoleShop, session: DbSession) -> ProductOut:
    return await service.add_sku(session, shop.id, product_id, body)


@console.patch("/products/{product_id}/skus/{sku_id}", response_model=ProductOut)
async def update_sku(
    product_id: IdPath, sku_id: IdPath, body: SkuPatch, shop: ConsoleShop, session: DbSession
) -> ProductOut:
    return await service.update_sku(session, shop.id, product_id, sku_id, body)


@console.post("/skus/{sku_id}/stock-adjustments")
async def adjust_stock(sku_id: IdPath, body: StockAdjustIn, shop: ConsoleShop, session: DbSession) -> dict[str, int]:
    return {"sku_id": sku_id, "stock": await service.adjust_stock(session, shop.id, sku_id, body.delta)}


@console.get("/categories", response_model=list[CategoryOut])
async def console_categories(shop: ConsoleShop, session: DbSession) -> list[CategoryOut]:
    return await service.list_categories(session, shop.id)


@console.post("/categories", response_model=CategoryOut, status_code=201)
async def create_category(body: CategoryIn, shop: ConsoleShop, session: DbSession) -> CategoryOut:
    return await service.create_category(session, shop.id, body)


@console.delete("/categories/{category_id}", status_code=204)
async def delete_category(category_id: IdPath, shop: ConsoleShop, session: DbSession) -> Response:
    await service.delete_category(session, shop.id, category_id)
    return Response(status_code=204)
