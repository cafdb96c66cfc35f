from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from liebian.kit.errors import Invalid
from liebian.kit.web import DbSession, Signer
from liebian.shops import service, sessions
from liebian.shops.deps import ConsoleShop, OwnerClaims
from liebian.shops.rules import ShopSettings

console = APIRouter(prefix="/api/v1/console", tags=["console: shop"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class LoginOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


@console.post("/auth/login", response_model=LoginOut, responses=sessions.THROTTLED)
async def login(body: LoginIn, request: Request, session: DbSession, signer: Signer) -> LoginOut:
    return LoginOut(access_token=await sessions.throttled_login(request, session, signer, email=body.email,
                                                                password=body.password))


class ShopOut(BaseModel):
    id: int
    slug: str
    name: str
    settings: ShopSettings


@console.get("/shop", response_model=ShopOut)
async def get_shop(shop: ConsoleShop) -> ShopOut:
    return ShopOut(id=shop.id, slug=shop.slug, name=shop.name, settings=shop.settings)


class SettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    auto_cancel_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    auto_complete_days: int | None = Field(default=None, ge=1, le=60)
    max_quantity_per_line: int | None = Field(default=None, ge=1, le=9999)
    max_lines_per_order: int | None = Field(default=None, ge=1, le=200)
    cod_enabled: bool | None = None
    shipping_fee_fen: int | None = Field(default=None, ge=0, le=100_000)
    free_shipping_threshold_fen: int | None = Field(default=None, ge=0)
    refund_window_days: int | None = Field(default=None, ge=0, le=365)
    binding_policy: Literal["first_touch", "validity_days", "last_touch"] | None = None
    binding_days: int | None = Field(default=None, ge=1, le=3650)
    protection_days: int | None = Field(default=None, ge=0, le=365)
    bind_new_customers_only: bool | None = None
    attribution_window_days: int | None = Field(default=None, ge=1, le=90)
    groupbuy_overflow: Literal["other_group", "new_group", "refuse"] | None = None


@console.patch("/shop/settings", response_model=ShopSettings)
async def patch_settings(
    body: SettingsPatch, shop: ConsoleShop, _owner: OwnerClaims, session: DbSession
) -> ShopSettings:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    try:
        return await service.update_settings(session, shop.id, changes)
    except ValidationError as exc:  # e.g. null for a setting that must have a value (found by schemathesis)
        raise Invalid("invalid_settings", "Some settings are missing a value or out of range.",
                      errors=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]) from None
