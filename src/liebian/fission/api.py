"""Fission over HTTP: shares, visits, QR codes, mini-program codes, posters, and the console's views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from liebian.catalog import service as catalog
from liebian.customers import service as customers
from liebian.fission import attribution, binding, rules, shares
from liebian.fission import images as share_images
from liebian.kit import ratelimit
from liebian.kit.auth import Claims
from liebian.kit.clock import clock
from liebian.kit.errors import Invalid
from liebian.kit.web import (
    CompactJSONResponse,
    DbSession,
    HotRoute,
    IdPath,
    checked_param,
    claims_from_header,
    json_body,
    refresh_shared_clock,
)
from liebian.shops import service as shops
from liebian.shops.deps import ConsoleShop, CurrentShop, ShopCustomer
from liebian.shops.service import ShopRef

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: fission"])
console = APIRouter(prefix="/api/v1/console", tags=["console: fission"])

DEVICE_ID = binding.DEVICE_ID.pattern
CodePath = Annotated[str, Path(max_length=16)]


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_type: rules.TargetType
    target_id: int = Field(ge=0, le=2**31 - 1)
    channel: rules.Channel
    parent_code: str | None = Field(default=None, max_length=16)
    campaign: str | None = Field(default=None, min_length=1, max_length=64)


class ShareOut(BaseModel):
    code: str
    url: str
    scene: str
    qr_png_url: str
    qr_svg_url: str
    poster_png_url: str
    wxacode_png_url: str
    target_type: str
    target_id: int
    channel: str
    campaign: str | None
    depth: int
    sharer_id: int | None
    created_at: datetime


def share_out(request: Request, shop: ShopRef, share: shares.ShareRow) -> ShareOut:
    base = request.app.state.settings.public_base_url.rstrip("/")
    api = f"/api/v1/shops/{shop.slug}/shares/{share.code}"
    return ShareOut(code=share.code, url=f"{base}/s/{shop.slug}/r/{share.code}", scene=rules.scene_for(share.code),
                    qr_png_url=f"{api}/qr.png", qr_svg_url=f"{api}/qr.svg", poster_png_url=f"{api}/poster.png",
                    wxacode_png_url=f"{api}/wxacode.png", target_type=share.target_type, target_id=share.target_id,
                    channel=share.channel, campaign=share.campaign, depth=share.depth, sharer_id=share.sharer_id,
                    created_at=share.created_at)


@router.post("/shares", status_code=201, response_model=ShareOut)
async def create_share(body: ShareIn, request: Request, shop: CurrentShop, claims: ShopCustomer,
                       session: DbSession) -> ShareOut:
    """Sharing is never rewarded (WeChat's rules on induced sharing): this records, it does not pay."""
    share = await shares.create(session, shop_id=shop.id, sharer_id=claims.subject_id, target_type=body.target_type,
                                target_id=body.target_id, channel=body.channel, campaign=body.campaign,
                                parent_code=body.parent_code)
    return share_out(request, shop, share)


@router.get("/shares/{code}", response_model=ShareOut)
async def get_share(code: CodePath, request: Request, shop: CurrentShop, session: DbSession) -> ShareOut:
    return share_out(request, shop, await shares.by_code(session, shop.id, code))


class VisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    share_code: str = Field(min_length=1, max_length=64, description="the code, or the scene as received (s=<code>)")
    scene: int | None = Field(default=None, ge=1000, le=9999, description="the mini-program entry scene, e.g. 1007")


class VisitOut(BaseModel):
    visit_id: int
    bound_promoter_id: int | None
    target_type: str
    target_id: int


_VISIT_DOC: dict[str, Any] = {
    "parameters": [
        {"name": "shop", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40}},
        {"name": "Authorization", "in": "header", "required": False, "schema": {"type": "string"},
         "description": "Bearer <customer token>; without it, send X-Device-Id"},
        {"name": "X-Device-Id", "in": "header", "required": False,
         "schema": {"type": "string", "pattern": DEVICE_ID}, "description": "an anonymous visitor's device"},
    ],
    "requestBody": {"required": True, "content": {"application/json": {"schema": VisitIn.model_json_schema()}}},
}


@router.post("/visits", status_code=201, response_model=VisitOut, openapi_extra=_VISIT_DOC,
             responses={429: {"description": "Too many visits from this customer, device or address: `rate_limited`"}})
async def visit(request: Request) -> Response:
    """Logged in: the visit may bind the customer. Anonymous: ``X-Device-Id`` keeps the visit until login.

    The engine's hottest write: it reads its own path, headers and body (documented in ``_VISIT_DOC``) and
    takes no session.
    A customer already bound, the common case, is recorded on a driver connection in one short transaction;
    a touch that may change a binding goes through the session path with its lock and history.
    """
    shop = checked_param(request.path_params["shop"], "path", "shop", max_length=40) or ""
    body = await json_body(request, VisitIn, max_bytes=4096)
    device_id = checked_param(request.headers.get("x-device-id"), "header", "x-device-id", max_length=64,
                              pattern=binding.DEVICE_ID)
    claims = claims_from_header(request, request.headers.get("authorization"), "customer")
    if claims is None and device_id is None:
        raise Invalid("visitor_unknown", "Send a customer token, or an X-Device-Id for an anonymous visitor.")
    code = rules.code_from_scene(body.share_code) or body.share_code
    db = request.app.state.db
    # Counted in this process (no I/O on the hottest write): per customer, device and address.
    over = ratelimit.count_local(request, [
        ("visit_customer", None if claims is None else f"c:{claims.subject_id}"),
        ("visit_device", device_id), ("visit_ip", ratelimit.client_ip(request))])
    if over:
        await _refuse_visit(request, shop, over, claims, device_id, code)
    await refresh_shared_clock(request)
    async with db.driver_transaction() as conn:
        result = await binding.record_settled_visit(conn, slug=shop, code=code, claims=claims, device_id=device_id,
                                                    scene=body.scene)
    if result is None:
        async with db.unit_of_work() as session:
            ref = await shops.shop_by_slug(session, shop)
            result = await binding.record_visit(session, shop_id=ref.id, settings=ref.settings, code=code,
                                                customer_id=None if claims is None else claims.subject_id,
                                                device_id=device_id, scene=body.scene)
    return CompactJSONResponse({"visit_id": result.visit_id, "bound_promoter_id": result.bound_promoter_id,
                                "target_type": result.share.target_type, "target_id": result.share.target_id},
                               status_code=201)


async def _refuse_visit(request: Request, slug: str, over: list[ratelimit.Verdict], claims: Claims | None,
                        device_id: str | None, code: str) -> None:
    shop_id = None
    if any(v.first_refusal for v in over):  # the shop is only looked up for the audit trail
        async with request.app.state.db.unit_of_work() as session:
            shop_id = (await shops.shop_by_slug(session, slug)).id
    actor = f"customer:{claims.subject_id}" if claims is not None else f"device:{device_id}"
    await ratelimit.refuse_local(request, over, shop_id=shop_id, actor=actor, target=f"share:{code[:32]}",
                                 what="visits")


@router.get("/shares/{code}/qr.png", response_class=Response)
async def share_qr_png(code: CodePath, request: Request, shop: CurrentShop, session: DbSession) -> Response:
    share = await shares.by_code(session, shop.id, code)
    return share_images.png(await share_images.qr_png(share_out(request, shop, share).url))


@router.get("/shares/{code}/qr.svg", response_class=Response)
async def share_qr_svg(code: CodePath, request: Request, shop: CurrentShop, session: DbSession) -> Response:
    share = await shares.by_code(session, shop.id, code)
    return Response(await share_images.qr_svg(share_out(request, shop, share).url), media_type="image/svg+xml",
                    headers=share_images.CACHE)


@router.get("/shares/{code}/wxacode.png", response_class=Response)
async def share_wxacode(code: CodePath, request: Request, shop: CurrentShop, session: DbSession) -> Response:
    """The mini-program code (``getwxacodeunlimit``, scene ``s=<code>``), made once and kept."""
    share = await shares.by_code(session, shop.id, code)
    return share_images.png(await share_images.wxacode(session, request.app.state.wechat.mini_program, share))


@router.get("/shares/{code}/poster.png", response_class=Response)
async def share_poster(code: CodePath, request: Request,
                       shop: Annotated[str, Path(max_length=40)]) -> Response:
    """The share's poster: the product's first photo, title and price, the sharer and the code.

    The photo is fetched from the merchant's image host after the database work is done, so a slow host
    never holds a database connection.
    """
    state = request.app.state
    async with state.db.unit_of_work() as session:
        ref = await shops.shop_by_slug(session, shop)
        share = await shares.by_code(session, ref.id, code)
        title, price, photo_url = ref.name, None, None
        if share.target_type == rules.TargetType.PRODUCT:
            product = await catalog.get_product(session, ref.id, share.target_id, public=True)
            title, price = product.title, product.price_from_fen
            photo_url = product.images[0] if product.images else None
        nickname = (await customers.get(session, ref.id, share.sharer_id)).nickname if share.sharer_id else None
        code_png = (await share_images.qr_png(share_out(request, ref, share).url) if state.settings.sandbox
                    else await share_images.wxacode(session, state.wechat.mini_program, share))
    base = state.settings.public_base_url.rstrip("/")
    photo = None if photo_url is None else await state.remote_images.get(
        f"{base}{photo_url}" if photo_url.startswith("/") else photo_url)
    return share_images.png(await share_images.poster(shop_name=ref.name, title=title, price_fen=price,
                                                      sharer_nickname=nickname, code_png=code_png, photo=photo))


@router.get("/me/binding")
async def my_binding(shop: CurrentShop, claims: ShopCustomer, session: DbSession) -> dict[str, Any]:
    return {"promoter_id": await binding.current_promoter(session, shop.id, claims.subject_id, clock.now())}


# --- console ---------------------------------------------------------------------------------------

class ConsoleShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_type: rules.TargetType
    target_id: int = Field(ge=0, le=2**31 - 1)
    channel: rules.Channel = rules.Channel.OFFLINE_QR
    campaign: str | None = Field(default=None, min_length=1, max_length=64, description="e.g. table:12")


@console.post("/shares", status_code=201, response_model=ShareOut)
async def create_shop_code(body: ConsoleShareIn, request: Request, shop: ConsoleShop, session: DbSession) -> ShareOut:
    """The shop's own codes: store and table QR codes, posters for offline campaigns (no sharer)."""
    share = await shares.create(session, shop_id=shop.id, sharer_id=None, target_type=body.target_type,
                                target_id=body.target_id, channel=body.channel, campaign=body.campaign,
                                parent_code=None)
    return share_out(request, shop, share)


@console.get("/orders/{order_no}/attribution")
async def order_attribution(order_no: Annotated[str, Path(max_length=32)], shop: ConsoleShop,
                            session: DbSession) -> dict[str, Any]:
    return await attribution.by_order_no(session, shop.id, order_no)


@console.get("/customers/{customer_id}/binding-history")
async def binding_history(customer_id: IdPath, shop: ConsoleShop, session: DbSession) -> dict[str, Any]:
    await customers.get(session, shop.id, customer_id)  # another shop's customer is 404, not an empty history
    return {"items": await binding.history(session, shop.id, customer_id)}


hot_routes = (HotRoute.of("POST", f"{router.prefix}/visits", visit),)
