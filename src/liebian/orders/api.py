from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from liebian.kit.idempotency import validate_key
from liebian.kit.web import (
    CompactJSONResponse,
    DbSession,
    HotRoute,
    IdempotencyKeyHeader,
    IdPath,
    Limit,
    Offset,
    checked_param,
    customer_claims_of,
    database,
    hot_session,
    json_body_later,
)
from liebian.orders import checkout, lifecycle, queries, refunds
from liebian.orders.models import ORDER_STATUSES
from liebian.orders.schemas import (
    OrderOut,
    OrderPage,
    PlaceOrderIn,
    QuoteIn,
    QuoteOut,
    RefundRejectIn,
    RefundRequestIn,
    RefundRequestOut,
    ShipIn,
)
from liebian.shops import service as shops
from liebian.shops.deps import ConsoleShop, CurrentShop, ShopCustomer
from liebian.shops.service import shop_customer

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: orders"])
console = APIRouter(prefix="/api/v1/console", tags=["console: orders"])
OrderNo = Annotated[str, Path(min_length=1, max_length=32)]
StatusFilter = Literal[ORDER_STATUSES] | None  # type: ignore[valid-type]


@router.post("/orders", status_code=201, responses={201: {"description": "The order and its payment"}})
async def place_order(
    body: PlaceOrderIn, shop: CurrentShop, customer: ShopCustomer, session: DbSession, key: IdempotencyKeyHeader
) -> JSONResponse:
    """Served by :func:`place_order_hot` (a hot route); this declaration documents it and answers the same."""
    placed = await checkout.place_order(session, shop, customer.subject_id, body, key)
    return JSONResponse(placed.body, status_code=placed.status_code)


async def place_order_hot(request: Request) -> Response:
    """``POST orders`` ahead of FastAPI's routing and dependencies, on a driver session (``kit.driver_session``):
    the same checkout, in the same order of checks as the declared route (malformed JSON, the shop, the token,
    the Idempotency-Key, then the body's fields), at a third of the CPU."""
    slug = checked_param(request.path_params["shop"], "path", "shop", max_length=40) or ""
    body = await json_body_later(request, PlaceOrderIn)
    key = request.headers.get("idempotency-key")
    async with hot_session(request) as session:
        shop = await shops.shop_by_slug(session, slug)
        claims = shop_customer(shop, customer_claims_of(request))
        key = None if key is None else validate_key(key)
        placed = await checkout.place_order(session, shop, claims.subject_id, body(), key)
    return CompactJSONResponse(placed.body, status_code=placed.status_code)


@router.post("/orders/quote", response_model=QuoteOut)
async def quote_order(body: QuoteIn, request: Request, shop: CurrentShop, customer: ShopCustomer) -> QuoteOut:
    """What ``POST orders`` with this body would charge (total, discount, shipping, payable, the ways to pay),
    and what each of ``coupon_candidates`` would take off, or the problem that refuses it. Nothing is kept:
    the pricing runs in its own transaction, always rolled back (a promotion's quote takes seats and units
    exactly as placing would). Problems are those ``POST orders`` would answer."""
    async with database(request).sessions() as session:
        try:
            answer = await checkout.quote_order(session, shop, customer.subject_id, body, body.coupon_candidates)
        finally:
            await session.rollback()
    return QuoteOut.model_validate(answer)


@router.get("/orders", response_model=OrderPage)
async def my_orders(
    shop: CurrentShop, customer: ShopCustomer, session: DbSession, status: StatusFilter = None,
    limit: Limit = 20, offset: Offset = 0,
) -> OrderPage:
    return await queries.list_orders(session, shop.id, customer_id=customer.subject_id, status=status,
                                     limit=limit, offset=offset)


async def _mine(session: DbSession, shop_id: int, order_no: str, customer_id: int) -> int:
    return await queries.order_id_by_no(session, shop_id, order_no, customer_id)


@router.get("/orders/{order_no}", response_model=OrderOut)
async def my_order(order_no: OrderNo, shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> OrderOut:
    return await queries.get_order(session, shop.id, await _mine(session, shop.id, order_no, customer.subject_id))


@router.post("/orders/{order_no}/cancel", response_model=OrderOut)
async def cancel(order_no: OrderNo, shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> OrderOut:
    order_id = await _mine(session, shop.id, order_no, customer.subject_id)
    await lifecycle.cancel_or_explain(session, shop.id, order_id, reason="customer_cancelled",
                                      customer_id=customer.subject_id)
    return await queries.get_order(session, shop.id, order_id)


@router.post("/orders/{order_no}/confirm-receipt", response_model=OrderOut)
async def confirm_receipt(order_no: OrderNo, shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> OrderOut:
    order_id = await _mine(session, shop.id, order_no, customer.subject_id)
    await lifecycle.confirm_receipt(session, shop.id, order_id, customer.subject_id)
    return await queries.get_order(session, shop.id, order_id)


@router.post("/orders/{order_no}/refund-requests", response_model=RefundRequestOut, status_code=201)
async def request_refund(
    order_no: OrderNo, body: RefundRequestIn, shop: CurrentShop, customer: ShopCustomer, session: DbSession
) -> Any:
    order_id = await _mine(session, shop.id, order_no, customer.subject_id)
    request_id = await refunds.request_refund(session, shop, order_id, amount_fen=body.amount_fen,
                                              reason=body.reason, customer_id=customer.subject_id)
    return await refunds.get_request(session, shop.id, request_id)


@router.get("/refund-requests", response_model=list[RefundRequestOut])
async def my_refund_requests(shop: CurrentShop, customer: ShopCustomer, session: DbSession,
                             order_no: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
                             limit: Limit = 20, offset: Offset = 0) -> Any:
    """One's refund requests, newest first; ``order_no``: those of one's order (its page shows their status)."""
    order_id = None if order_no is None else await _mine(session, shop.id, order_no, customer.subject_id)
    return await refunds.list_requests(session, shop.id, customer_id=customer.subject_id, order_id=order_id,
                                       limit=limit, offset=offset)


# ---- console ----

@console.get("/orders", response_model=OrderPage)
async def shop_orders(shop: ConsoleShop, session: DbSession, status: StatusFilter = None,
                      q: Annotated[str | None, Query(max_length=32, description="order number prefix")] = None,
                      limit: Limit = 20, offset: Offset = 0) -> OrderPage:
    return await queries.list_orders(session, shop.id, status=status, order_no=(q or "").strip() or None,
                                     limit=limit, offset=offset)


@console.get("/orders/{order_no}", response_model=OrderOut)
async def shop_order(order_no: OrderNo, shop: ConsoleShop, session: DbSession) -> OrderOut:
    order_id = await queries.order_id_by_no(session, shop.id, order_no)
    return await queries.get_order(session, shop.id, order_id, with_customer=True)


@console.post("/orders/{order_no}/ship", response_model=OrderOut)
async def ship(order_no: OrderNo, body: ShipIn, shop: ConsoleShop, session: DbSession) -> OrderOut:
    order_id = await queries.order_id_by_no(session, shop.id, order_no)
    await lifecycle.ship(session, shop.id, order_id, carrier=body.carrier, tracking_no=body.tracking_no,
                         auto_complete_days=shop.settings.auto_complete_days)
    return await queries.get_order(session, shop.id, order_id, with_customer=True)


@console.post("/orders/{order_no}/cancel", response_model=OrderOut)
async def shop_cancel(order_no: OrderNo, shop: ConsoleShop, session: DbSession) -> OrderOut:
    order_id = await queries.order_id_by_no(session, shop.id, order_no)
    await lifecycle.cancel_or_explain(session, shop.id, order_id, reason="shop_cancelled")
    return await queries.get_order(session, shop.id, order_id, with_customer=True)


@console.post("/orders/{order_no}/cash-collected", response_model=OrderOut)
async def cash_collected(order_no: OrderNo, shop: ConsoleShop, session: DbSession) -> OrderOut:
    order_id = await queries.order_id_by_no(session, shop.id, order_no)
    await lifecycle.collect_cash(session, shop.id, order_id)
    return await queries.get_order(session, shop.id, order_id, with_customer=True)


@console.post("/orders/{order_no}/refunds", response_model=RefundRequestOut, status_code=201)
async def shop_refund(order_no: OrderNo, body: RefundRequestIn, shop: ConsoleShop, session: DbSession) -> Any:
    """The shop refunds on its own initiative (all or part); the money moves at once."""
    order_id = await queries.order_id_by_no(session, shop.id, order_no)
    request_id = await refunds.request_refund(session, shop, order_id, amount_fen=body.amount_fen,
                                              reason=body.reason, customer_id=None, approve=True)
    return await refunds.get_request(session, shop.id, request_id)


@console.get("/refunds", response_model=list[RefundRequestOut])
async def shop_refunds(
    shop: ConsoleShop, session: DbSession,
    status: Literal["pending", "approved", "rejected", "succeeded"] | None = None,
    order_no: Annotated[str | None, Query(max_length=32)] = None, limit: Limit = 50, offset: Offset = 0,
) -> Any:
    order_id = None if order_no is None else await queries.order_id_by_no(session, shop.id, order_no)
    return await refunds.list_requests(session, shop.id, status=status, order_id=order_id, limit=limit, offset=offset)


@console.post("/refunds/{request_id}/approve", response_model=RefundRequestOut)
async def approve_refund(request_id: IdPath, shop: ConsoleShop, session: DbSession) -> Any:
    await refunds.approve(session, shop.id, request_id)
    return await refunds.get_request(session, shop.id, request_id)


@console.post("/refunds/{request_id}/reject", response_model=RefundRequestOut)
async def reject_refund(request_id: IdPath, body: RefundRejectIn, shop: ConsoleShop, session: DbSession) -> Any:
    await refunds.reject(session, shop.id, request_id, body.reason)
    return await refunds.get_request(session, shop.id, request_id)


hot_routes = (HotRoute.of("POST", f"{router.prefix}/orders", place_order_hot),)
