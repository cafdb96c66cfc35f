"""The H5 landing of a share, ``/s/{shop}/r/{code}``: record the visit, remember the device, open the target.

Anonymous visitors get a device cookie (``lb_did``); when they log in, the login carries it and their
visits become the customer's (``CustomerIdentified``), binding them as if they had been logged in. A visitor
signed into the storefront (its session cookie) is bound right away. The answer is a redirect to the
storefront page of what was shared, with ``?share=<code>`` so that the page's order and re-shares carry it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Cookie, Path, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.fission import binding
from liebian.fission.rules import TargetType
from liebian.fission.shares import ShareRow
from liebian.kit.errors import Unauthorized
from liebian.kit.web import DbSession, claims_from_header
from liebian.shops.deps import CurrentShop
from liebian.shops.service import ShopRef

router = APIRouter(tags=["pages"])
DEVICE_COOKIE = "lb_did"
ONE_YEAR = 365 * 24 * 3600

# The storefront page of a share target, relative to /s/{shop}/ ; modules whose pages are not keyed by the
# target's id (a red packet's page is keyed by its code) register their own.
PageOf = Callable[[AsyncSession, int, int], Awaitable[str | None]]


def _by_id(prefix: str) -> PageOf:
    async def page(_: AsyncSession, __: int, target_id: int) -> str:
        return f"{prefix}{target_id}"
    return page


async def _shop_home(_: AsyncSession, __: int, ___: int) -> str:
    return ""


_pages: dict[str, PageOf] = {
    TargetType.PRODUCT: _by_id("p/"), TargetType.GROUP: _by_id("g/"), TargetType.BARGAIN: _by_id("b/"),
    TargetType.POST: _by_id("posts/"), TargetType.SHOP: _shop_home,
}


def register_page(target_type: str, page: PageOf) -> None:
    _pages[target_type] = page


async def _target_path(session: AsyncSession, shop: ShopRef, share: ShareRow) -> str:
    if share.target_type == TargetType.STORE:
        query = {"store": str(share.target_id)}
        if share.campaign and share.campaign.startswith("table:"):
            query["table"] = share.campaign.removeprefix("table:")
        return f"stores?{urlencode(query)}&share={share.code}"
    page = _pages.get(share.target_type, _shop_home)
    path = await page(session, shop.id, share.target_id) or ""
    return f"{path}?share={share.code}"


def _signed_in_customer(request: Request, shop: ShopRef) -> int | None:
    try:
        claims = claims_from_header(request, None, "customer")
    except Unauthorized:
        return None
    return claims.subject_id if claims is not None and claims.shop_id == shop.id else None


@router.get("/s/{shop}/r/{code}", response_class=RedirectResponse, status_code=303)
async def landing(code: Annotated[str, Path(max_length=64)], request: Request, shop: CurrentShop,
                  session: DbSession, lb_did: Annotated[str | None, Cookie()] = None) -> RedirectResponse:
    device = lb_did if lb_did and binding.is_device_id(lb_did) else secrets.token_urlsafe(16)
    result = await binding.record_visit(session, shop_id=shop.id, settings=shop.settings, code=code,
                                        customer_id=_signed_in_customer(request, shop), device_id=device,
                                        scene=None)
    target = await _target_path(session, shop, result.share)
    response = RedirectResponse(f"/s/{shop.slug}/{target}", status_code=303)
    response.set_cookie(DEVICE_COOKIE, device, max_age=ONE_YEAR, httponly=True, samesite="lax", path="/")
    return response
