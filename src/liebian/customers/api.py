from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Request
from pydantic import BaseModel, ConfigDict, Field

from liebian.customers import service
from liebian.customers.identity import IdentityProvider
from liebian.events import CustomerIdentified
from liebian.kit.auth import Claims
from liebian.kit.events import bus
from liebian.kit.web import DbSession, Signer
from liebian.shops.deps import CurrentShop, ShopCustomer

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: account"])


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


@router.post("/auth/wechat-login", response_model=WeChatLoginOut)
async def wechat_login(
    body: WeChatLoginIn, request: Request, shop: CurrentShop, session: DbSession, signer: Signer,
    lb_did: Annotated[str | None, Cookie(pattern=r"^[A-Za-z0-9_-]{8,64}$")] = None,
) -> WeChatLoginOut:
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
