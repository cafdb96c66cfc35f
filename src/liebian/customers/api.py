from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from liebian.customers import address_book, service
from liebian.customers.identity import IdentityProvider
from liebian.events import CustomerIdentified
from liebian.kit import audit, ratelimit
from liebian.kit.auth import Claims
from liebian.kit.events import bus
from liebian.kit.web import DbSession, IdPath, Signer
from liebian.shops.deps import ConsoleShop, CurrentShop, ShopCustomer

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: account"])
console = APIRouter(prefix="/api/v1/console", tags=["console: customers"])


class WeChatLoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=128)
    # The device that may have opened shares before logging in (H5: the ``lb_did`` cookie is used if absent).
    device_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")


class CustomerOut(BaseModel):
    id: int
    nickname: str
    avatar_url: str | None = None
    is_new: bool


class WeChatLoginOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    customer: CustomerOut


@router.post("/auth/wechat-login", response_model=WeChatLoginOut,
             responses={429: {"description": "Too many logins from this address: `login_throttled`"}})
async def wechat_login(
    body: WeChatLoginIn, request: Request, shop: CurrentShop, session: DbSession, signer: Signer,
    lb_did: Annotated[str | None, Cookie(pattern=r"^[A-Za-z0-9_-]{8,64}$")] = None,
) -> WeChatLoginOut:
    ip = ratelimit.client_ip(request)
    await ratelimit.enforce(request, [("customer_login", ip)], shop_id=shop.id, actor=f"ip:{ip}",
                            target="wechat_login", what="logins", code="login_throttled", kind=audit.LOGIN_THROTTLED)
    identity_provider: IdentityProvider = request.app.state.identity
    identity = await identity_provider.code2session(body.code)
    customer = await service.login(session, shop_id=shop.id, openid=identity.openid,
                                   unionid=identity.unionid, nickname=identity.nickname)
    device_id = body.device_id or lb_did
    if device_id is not None:
        await bus.publish(session, CustomerIdentified(shop_id=shop.id, customer_id=customer.id, device_id=device_id,
                                                      is_new=customer.is_new))
    token = signer.issue(Claims(kind="customer", subject_id=customer.id, shop_id=shop.id))
    return WeChatLoginOut(access_token=token, customer=CustomerOut(**customer.__dict__))


@router.get("/me", response_model=CustomerOut)
async def me(shop: CurrentShop, claims: ShopCustomer, session: DbSession) -> CustomerOut:
    return CustomerOut(**(await service.get(session, shop.id, claims.subject_id)).__dict__)


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nickname: str | None = Field(default=None, min_length=1, max_length=64)
    avatar_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")


@router.patch("/me", response_model=CustomerOut)
async def update_me(body: ProfileIn, shop: CurrentShop, claims: ShopCustomer, session: DbSession) -> CustomerOut:
    view = await service.update_profile(session, shop.id, claims.subject_id,
                                        nickname=body.nickname, avatar_url=body.avatar_url)
    return CustomerOut(**view.__dict__)


@console.get("/customers/{customer_id}", response_model=CustomerOut)
async def shop_customer_profile(customer_id: IdPath, shop: ConsoleShop, session: DbSession) -> CustomerOut:
    """Who a customer of this shop is (an order page names its buyer); another shop's customer is 404."""
    return CustomerOut(**(await service.get(session, shop.id, customer_id)).__dict__)


# --- saved addresses (the storefront's checkout starts from the default one) -------------------------------

@router.get("/me/addresses", response_model=list[address_book.AddressOut])
async def my_addresses(shop: CurrentShop, claims: ShopCustomer, session: DbSession) -> list[address_book.AddressOut]:
    """The default first, then the most recently used."""
    return await address_book.list_addresses(session, shop.id, claims.subject_id)


@router.post("/me/addresses", response_model=address_book.AddressOut, status_code=201)
async def save_address(body: address_book.SavedAddressIn, shop: CurrentShop, claims: ShopCustomer,
                       session: DbSession) -> address_book.AddressOut:
    """Keep an address (an equal one already kept is reused); the first one kept becomes the default. At most
    20 (409 ``address_limit_reached``)."""
    return await address_book.save(session, shop.id, claims.subject_id, body)


@router.put("/me/addresses/{address_id}", response_model=address_book.AddressOut)
async def update_address(address_id: IdPath, body: address_book.SavedAddressIn, shop: CurrentShop,
                         claims: ShopCustomer, session: DbSession) -> address_book.AddressOut:
    return await address_book.update(session, shop.id, claims.subject_id, address_id, body)


@router.delete("/me/addresses/{address_id}", status_code=204)
async def delete_address(address_id: IdPath, shop: CurrentShop, claims: ShopCustomer, session: DbSession) -> Response:
    """Deleting the default makes the most recently used one the default."""
    await address_book.delete(session, shop.id, claims.subject_id, address_id)
    return Response(status_code=204)
