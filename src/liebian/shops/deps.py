"""Request dependencies that resolve the shop: from the path (customers) or the staff token (console)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from liebian.kit.auth import Claims
from liebian.kit.errors import Forbidden, Unauthorized
from liebian.kit.web import CustomerClaims, DbSession, StaffClaims
from liebian.shops import service
from liebian.shops.service import ShopRef


async def path_shop(session: DbSession, shop: Annotated[str, Path(max_length=40)]) -> ShopRef:
    return await service.shop_by_slug(session, shop)


CurrentShop = Annotated[ShopRef, Depends(path_shop)]


def shop_customer(shop: CurrentShop, claims: CustomerClaims) -> Claims:
    if claims.shop_id != shop.id:
        raise Unauthorized("invalid_token", "This token belongs to another shop; log in to this one.")
    return claims


ShopCustomer = Annotated[Claims, Depends(shop_customer)]


async def console_shop(session: DbSession, claims: StaffClaims) -> ShopRef:
    return await service.shop_by_id(session, claims.shop_id)


ConsoleShop = Annotated[ShopRef, Depends(console_shop)]


def owner_only(claims: StaffClaims) -> Claims:
    if claims.role != "owner":
        raise Forbidden("owner_only", "Only the shop owner can do this.")
    return claims


OwnerClaims = Annotated[Claims, Depends(owner_only)]
