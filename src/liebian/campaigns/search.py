"""Product search as a channel: an identified customer's (or device's) search is a visit through the shop's
one ``search`` code, so an order placed after it is attributed to channel ``search`` under fission's
attribution window, like any other entry point.

Catalog sits below fission and cannot call it; it tells its listeners about searches (``catalog.api``),
and the wiring makes :func:`on_search` one of them. Anonymous searches without a device id cost nothing.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.fission import binding, shares
from liebian.fission.rules import Channel, TargetType
from liebian.kit.auth import Claims
from liebian.kit.clock import clock
from liebian.kit.errors import Unauthorized
from liebian.kit.web import claims_from_header
from liebian.shops.service import ShopRef, shop_customer

SEARCH_CAMPAIGN = "search"


async def search_code(session: AsyncSession, shop_id: int) -> str:
    """The shop's search code, made at its first identified search.

    Two first searches at once: the primary key of ``campaign_search_codes`` lets one claim the shop (the
    other's insert waits for it, then does nothing and reads the code it committed), so a shop never gets two.
    """
    code = (await session.execute(text("SELECT code FROM campaign_search_codes WHERE shop_id = :s"),
                                  {"s": shop_id})).scalar()
    if code is not None:
        return str(code)
    claimed = (await session.execute(
        text("INSERT INTO campaign_search_codes (shop_id, created_at) VALUES (:s, :now) ON CONFLICT DO NOTHING "
             "RETURNING shop_id"), {"s": shop_id, "now": clock.now()})).first()
    if claimed is None:
        return str((await session.execute(text("SELECT code FROM campaign_search_codes WHERE shop_id = :s"),
                                          {"s": shop_id})).scalar_one())
    share = await shares.create(session, shop_id=shop_id, sharer_id=None, target_type=TargetType.SHOP,
                                target_id=shop_id, channel=Channel.SEARCH, campaign=SEARCH_CAMPAIGN,
                                parent_code=None)
    await session.execute(text("UPDATE campaign_search_codes SET share_id = :share, code = :code WHERE shop_id = :s"),
                          {"share": share.id, "code": share.code, "s": shop_id})
    return share.code


def _visitor(request: Request, shop: ShopRef) -> tuple[Claims | None, str | None]:
    """Who searched: a valid customer token of this shop, else a well-formed device id. A bad token is not the
    search's problem: the products are answered all the same, and nothing is recorded for it."""
    device = request.headers.get("x-device-id")
    device = device if device is not None and binding.is_device_id(device) else None
    authorization = request.headers.get("authorization")
    claims = None
    if authorization is not None:
        try:
            found = claims_from_header(request, authorization, "customer")
            claims = shop_customer(shop, found) if found is not None else None
        except Unauthorized:
            claims = None
    return claims, device


async def on_search(session: AsyncSession, shop: ShopRef, request: Request, q: str) -> None:
    """A search of the first page: later pages of the same search are not new visits."""
    claims, device = _visitor(request, shop)
    if claims is None and device is None:
        return
    await binding.record_visit(session, shop_id=shop.id, settings=shop.settings, code=await search_code(session,
                               shop.id), customer_id=claims.subject_id if claims else None, device_id=device,
                               scene=None)
