"""Request dependencies that resolve the shop: from the path (customers) or the staff token (console)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from liebian.kit.auth import Claims
from liebian.kit.errors import Forbidden
from liebian.kit.web import CustomerClaims, DbSession, StaffClaims
from liebian.shops import service
from liebian.shops.service import ShopRef, shop_customer


async def path_shop(session: DbSession, shop: Annotated[str, Path(max_length=40)]) -> ShopRef:
    return await service.shop_by_slug(session, shop)


CurrentShop = Annotated[ShopRef, Depends(path_shop)]


async def current_shop_customer(shop: CurrentShop, claims: CustomerClaims) -> Claims:
    return shop_customer(shop, claims)  # async: FastAPI would run a plain def in a worker thread


ShopCustomer = Annotated[Claims, Depends(current_shop_customer)]


async def console_shop(session: DbSession, claims: StaffClaims) -> ShopRef:
    return await service.shop_by_id(session, claims.shop_id)


ConsoleShop = Annotated[ShopRef, Depends(console_shop)]


async def owner_only(claims: StaffClaims) -> Claims:
    if claims.role != "owner":
        raise Forbidden("owner_only", "Only the shop owner can do this.")
    return claims


OwnerClaims = Annotated[Claims, Depends(owner_only)]
