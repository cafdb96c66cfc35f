from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from liebian.kit.web import DbSession
from liebian.miniapp import phone, shipping, subscribe
from liebian.miniapp.rules import DEFAULT_FIELDS, EVENTS, Event
from liebian.miniapp.schemas import (
    AcceptedIn,
    GrantOut,
    PhoneCodeIn,
    PhoneOut,
    ShippingCorrectionIn,
    ShippingReportOut,
    SubscriptionsOut,
    TemplateIn,
    TemplateOut,
    TemplatesIn,
    TemplatesOut,
)
from liebian.miniapp.subscribe import GrantView, TemplateView
from liebian.miniapp.vault import PhoneVault
from liebian.shops.deps import ConsoleShop, CurrentShop, OwnerClaims, ShopCustomer

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: mini-program"])
console = APIRouter(prefix="/api/v1/console/wechat", tags=["console: mini-program"])
OrderNo = Annotated[str, Path(min_length=1, max_length=32)]


def _vault(request: Request) -> PhoneVault:
    """One vault per app (its keys are derived once), from the app's own secret key."""
    vault: PhoneVault | None = getattr(request.app.state, "phone_vault", None)
    if vault is None:
        vault = request.app.state.phone_vault = PhoneVault(request.app.state.settings.resolved_secret_key())
    return vault


# --- phone number ---

@router.post("/auth/phone", response_model=PhoneOut)
async def bind_phone(body: PhoneCodeIn, request: Request, shop: CurrentShop, customer: ShopCustomer,
                     session: DbSession) -> PhoneOut:
    """The code from ``<button open-type="getPhoneNumber">``; answers only the masked number."""
    bound = await phone.bind(session, _vault(request), shop_id=shop.id, customer_id=customer.subject_id,
                             code=body.code)
    return PhoneOut(phone_masked=bound.phone_masked, bound_at=bound.bound_at)


@router.get("/me/phone", response_model=PhoneOut)
async def my_phone(shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> PhoneOut:
    found = await phone.view(session, shop.id, customer.subject_id)
    return PhoneOut(phone_masked=found.phone_masked, bound_at=found.bound_at)


@router.delete("/me/phone", status_code=204)
async def forget_phone(shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> Response:
    await phone.forget(session, shop.id, customer.subject_id)
    return Response(status_code=204)


# --- subscribe messages ---

def _subscriptions(templates: dict[Event, TemplateView | None], grants: list[GrantView],
                   ignored: list[str] | None = None) -> SubscriptionsOut:
    return SubscriptionsOut(templates={e: t.template_id if t else None for e, t in templates.items()},
                            grants=[GrantOut(template_id=g.template_id, remaining=g.remaining) for g in grants],
                            ignored=ignored or [])


@router.get("/subscriptions", response_model=SubscriptionsOut)
async def my_subscriptions(shop: CurrentShop, customer: ShopCustomer, session: DbSession) -> SubscriptionsOut:
    """The template ids to ask for, per event, and how many messages of each this customer accepted."""
    return _subscriptions(await subscribe.templates(session, shop.id),
                          await subscribe.grants(session, shop.id, customer.subject_id))


@router.post("/subscriptions", response_model=SubscriptionsOut)
async def report_accepted(body: AcceptedIn, shop: CurrentShop, customer: ShopCustomer,
                          session: DbSession) -> SubscriptionsOut:
    """What ``wx.requestSubscribeMessage`` answered ``accept`` for: one more message each."""
    grants, ignored = await subscribe.record_accepted(session, shop.id, customer.subject_id, body.accepted)
    return _subscriptions(await subscribe.templates(session, shop.id), grants, ignored)


def _templates_out(found: dict[Event, TemplateView | None]) -> TemplatesOut:
    out = {e: None if t is None else TemplateOut(template_id=t.template_id, fields=t.fields, page=t.page)
           for e, t in found.items()}
    return TemplatesOut(**out)


@console.get("/subscribe-templates", response_model=TemplatesOut)
async def get_templates(shop: ConsoleShop, session: DbSession) -> TemplatesOut:
    return _templates_out(await subscribe.templates(session, shop.id))


@console.put("/subscribe-templates", response_model=TemplatesOut)
async def put_templates(body: TemplatesIn, shop: ConsoleShop, _owner: OwnerClaims,
                        session: DbSession) -> TemplatesOut:
    changes: dict[Event, TemplateView | None] = {}
    for event in EVENTS:
        if event not in body.model_fields_set:
            continue
        given: str | TemplateIn | None = getattr(body, event)
        if given is None:
            changes[event] = None
        elif isinstance(given, str):
            changes[event] = TemplateView(given, dict(DEFAULT_FIELDS[event]), None)
        else:
            fields = DEFAULT_FIELDS[event] if given.fields is None else given.fields
            changes[event] = TemplateView(given.template_id, dict(fields), given.page)
    return _templates_out(await subscribe.set_templates(session, shop.id, changes))


# --- shipping upload ---

def _report_out(found: shipping.ReportView) -> ShippingReportOut:
    return ShippingReportOut(
        order_no=found.order_no, out_trade_no=found.out_trade_no, carrier=found.carrier,
        express_company=found.express_company, tracking_no=found.tracking_no, status=found.status,
        uploads=found.uploads, corrections_left=found.corrections_left, errcode=found.errcode,
        last_error=found.last_error, uploaded_at=found.uploaded_at)


@console.get("/shipping-reports/{order_no}", response_model=ShippingReportOut)
async def get_shipping_report(order_no: OrderNo, shop: ConsoleShop, session: DbSession) -> ShippingReportOut:
    """What WeChat was told about the order's shipment, and whether it took it (funds are released after)."""
    return _report_out(await shipping.get(session, shop.id, order_no))


@console.put("/shipping-reports/{order_no}", response_model=ShippingReportOut)
async def correct_shipping_report(order_no: OrderNo, body: ShippingCorrectionIn, shop: ConsoleShop,
                                  session: DbSession) -> ShippingReportOut:
    """Correct the carrier or tracking number WeChat has (once), or repeat an upload WeChat refused."""
    return _report_out(await shipping.correct(session, shop.id, order_no, carrier=body.carrier,
                                              tracking_no=body.tracking_no))
