"""Coupons and share red packets over HTTP: customer routes (/api/v1/shops/{shop}/...) and console routes.

Coupons are used through ``POST orders`` (``coupon_id``); red packets are granted by paid orders and shared
through ``POST shares {target_type: "red_packet", target_id}``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Header, Path, Request

from liebian.coupons import redpackets, templates, wallet
from liebian.coupons.schemas import (
    AvailableTemplate,
    ClaimIn,
    ConsoleOfferOut,
    ConsoleTemplatePage,
    CouponOut,
    CouponPage,
    CouponState,
    MyRedPacket,
    OfferIn,
    OfferOut,
    OfferPatch,
    PacketClaimResult,
    RedPacketOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
    TemplateState,
)
from liebian.kit import ratelimit
from liebian.kit.web import DbSession, IdPath, Limit, Offset, OptionalCustomerClaims
from liebian.shops.deps import ConsoleShop, CurrentShop, ShopCustomer
from liebian.shops.service import shop_customer

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: coupons"])
console = APIRouter(prefix="/api/v1/console/coupons", tags=["console: coupons"])

DEVICE_ID = r"^[A-Za-z0-9_-]{8,64}$"  # as fission's visits and customers' login take it
CodePath = Annotated[str, Path(min_length=1, max_length=16)]


@router.get("/coupons/available", response_model=list[AvailableTemplate])
async def available(shop: CurrentShop, session: DbSession, claims: OptionalCustomerClaims,
                    limit: Limit = 20, offset: Offset = 0) -> list[AvailableTemplate]:
    """Coupons one can still claim (logged in: less those one already holds up to the limit)."""
    customer_id = None if claims is None else shop_customer(shop, claims).subject_id
    return await templates.available(session, shop.id, customer_id, limit=limit, offset=offset)


@router.get("/coupons/mine", response_model=CouponPage)
async def mine(shop: CurrentShop, customer: ShopCustomer, session: DbSession, status: CouponState | None = None,
               limit: Limit = 20, offset: Offset = 0) -> CouponPage:
    """One's coupons: usable ones first, the soonest to expire first."""
    return await wallet.mine(session, shop.id, customer.subject_id, state=status, limit=limit, offset=offset)


@router.get("/coupons/{coupon_id}", response_model=CouponOut)
async def my_coupon(coupon_id: IdPath, shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> CouponOut:
    return await wallet.get(session, shop.id, customer.subject_id, coupon_id)


async def _limit_claims(request: Request, shop_id: int, customer_id: int, target: str) -> None:
    await ratelimit.enforce(request, [("claim_customer", f"c:{customer_id}"),
                                      ("claim_ip", ratelimit.client_ip(request))], shop_id=shop_id,
                            actor=f"customer:{customer_id}", target=target, what="claims")


@router.post("/coupons/claim", response_model=CouponOut, status_code=201, responses=ratelimit.RATE_LIMITED)
async def claim(body: ClaimIn, request: Request, shop: CurrentShop, customer: ShopCustomer,
                session: DbSession) -> CouponOut:
    await _limit_claims(request, shop.id, customer.subject_id, f"coupon_template:{body.template_id}")
    return await templates.claim(session, shop.id, customer.subject_id, body.template_id)


@router.get("/red-packets/mine", response_model=list[MyRedPacket])
async def my_red_packets(shop: CurrentShop, customer: ShopCustomer, session: DbSession, limit: Limit = 20,
                         offset: Offset = 0) -> list[MyRedPacket]:
    """The packets one's paid orders earned, to share."""
    return await redpackets.mine(session, shop.id, customer.subject_id, limit=limit, offset=offset)


@router.get("/red-packets/{code}", response_model=RedPacketOut)
async def red_packet(code: CodePath, shop: CurrentShop, session: DbSession,
                     claims: OptionalCustomerClaims) -> RedPacketOut:
    """The page a shared link opens: no login needed, nicknames masked."""
    viewer = None if claims is None else shop_customer(shop, claims).subject_id
    return await redpackets.page(session, shop.id, code, viewer)


@router.post("/red-packets/{code}/claim", response_model=PacketClaimResult, status_code=201,
             responses=ratelimit.RATE_LIMITED)
async def claim_red_packet(
    code: CodePath, request: Request, shop: CurrentShop, customer: ShopCustomer, session: DbSession,
    x_device_id: Annotated[str | None, Header(pattern=DEVICE_ID)] = None,
    lb_did: Annotated[str | None, Cookie(pattern=DEVICE_ID)] = None,
) -> PacketClaimResult:
    """One part per friend; what this customer got, as a coupon. ``X-Device-Id`` (or the H5 ``lb_did`` cookie)
    names the device, for the per-device caps; the sender's and claimers' other accounts (the same device or
    phone) are refused with ``linked_account``."""
    await _limit_claims(request, shop.id, customer.subject_id, f"red_packet:{code}")
    return await redpackets.claim(session, shop.id, customer.subject_id, code, x_device_id or lb_did)


# --- console ---------------------------------------------------------------------------------------

@console.post("/templates", response_model=TemplateOut, status_code=201)
async def create_template(body: TemplateIn, shop: ConsoleShop, session: DbSession) -> TemplateOut:
    return await templates.create(session, shop.id, body)


@console.get("/templates", response_model=ConsoleTemplatePage)
async def list_templates(shop: ConsoleShop, session: DbSession, status: TemplateState | None = None,
                         limit: Limit = 20, offset: Offset = 0) -> ConsoleTemplatePage:
    """Newest first, each with its live counters (issued, remaining, used)."""
    return await templates.console_list(session, shop.id, status=status, limit=limit, offset=offset)


@console.get("/templates/{template_id}", response_model=TemplateOut)
async def get_template(template_id: IdPath, shop: ConsoleShop, session: DbSession) -> TemplateOut:
    return await templates.get(session, shop.id, template_id)


@console.patch("/templates/{template_id}", response_model=TemplateOut)
async def update_template(template_id: IdPath, body: TemplatePatch, shop: ConsoleShop,
                          session: DbSession) -> TemplateOut:
    """Name, quantity (not below what was issued), per-customer limit, a fixed-date template's end; coupons
    already claimed keep their own terms."""
    return await templates.update(session, shop.id, template_id, body)


@console.post("/templates/{template_id}/disable", response_model=TemplateOut)
async def disable_template(template_id: IdPath, shop: ConsoleShop, session: DbSession) -> TemplateOut:
    """No more claims; coupons already claimed stay usable."""
    return await templates.disable(session, shop.id, template_id)


@console.post("/red-packet-offers", response_model=OfferOut, status_code=201)
async def create_offer(body: OfferIn, shop: ConsoleShop, session: DbSession) -> OfferOut:
    return await redpackets.create_offer(session, shop.id, body)


@console.get("/red-packet-offers", response_model=list[ConsoleOfferOut])
async def list_offers(shop: ConsoleShop, session: DbSession, limit: Limit = 100,
                      offset: Offset = 0) -> list[ConsoleOfferOut]:
    """Newest first, each with the packets it granted and the parts claimed."""
    return await redpackets.console_offers(session, shop.id, limit=limit, offset=offset)


@console.patch("/red-packet-offers/{offer_id}", response_model=OfferOut)
async def update_offer(offer_id: IdPath, body: OfferPatch, shop: ConsoleShop, session: DbSession) -> OfferOut:
    """Turn the offer on or off (pause it), or change its terms; packets already granted stay claimable on the
    terms they were granted on."""
    return await redpackets.update_offer(session, shop.id, offer_id, body)

