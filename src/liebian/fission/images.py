"""Images of a share: its QR code, its mini-program code (fetched once, kept), and its poster."""

from __future__ import annotations

import asyncio

from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.fission import rules
from liebian.fission.shares import ShareRow
from liebian.integrations.render import poster as posters
from liebian.integrations.render import qr
from liebian.integrations.wechat.errors import InvalidArgument, WeChatApiError, WeChatUnavailable
from liebian.integrations.wechat.miniprogram import MiniProgramClient
from liebian.kit.clock import clock
from liebian.kit.errors import BadGateway
from liebian.kit.sql import text

CACHE = {"Cache-Control": "public, max-age=86400"}  # a code's image never changes

# The mini-program page that shows each kind of target (no leading slash, no query: wechat.md §3.1).
PAGES = {
    rules.TargetType.PRODUCT: "pages/product/detail", rules.TargetType.GROUP: "pages/group/detail",
    rules.TargetType.BARGAIN: "pages/bargain/detail", rules.TargetType.RED_PACKET: "pages/redpacket/detail",
    rules.TargetType.POST: "pages/post/detail", rules.TargetType.STORE: "pages/store/detail",
    rules.TargetType.SHOP: "pages/index/index",
}


def png(data: bytes) -> Response:
    return Response(data, media_type="image/png", headers=CACHE)


async def qr_png(url: str) -> bytes:
    return await asyncio.to_thread(qr.png, url, scale=8, border=2)


async def qr_svg(url: str) -> str:
    return await asyncio.to_thread(qr.svg, url)


async def wxacode(session: AsyncSession, client: MiniProgramClient, share: ShareRow) -> bytes:
    """``getwxacodeunlimit`` with scene ``s=<code>``; stored, since WeChat limits calls and codes never expire."""
    stored = (await session.execute(text("SELECT png FROM fission_codes WHERE share_id = :id"),
                                    {"id": share.id})).scalar()
    if stored is not None:
        return bytes(stored)
    try:
        image = await client.get_unlimited_qrcode(rules.scene_for(share.code),
                                                  page=PAGES[rules.TargetType(share.target_type)])
    except (WeChatApiError, WeChatUnavailable, InvalidArgument) as exc:
        raise BadGateway("wxacode_unavailable", "WeChat could not make the mini-program code; try again.") from exc
    await session.execute(
        text("INSERT INTO fission_codes (share_id, png, created_at) VALUES (:id, :png, :now) "
             "ON CONFLICT (share_id) DO NOTHING"), {"id": share.id, "png": image, "now": clock.now()})
    return image


async def poster(*, shop_name: str, title: str, price_fen: int | None, sharer_nickname: str | None,
                 code_png: bytes, photo: bytes | None) -> bytes:
    """Rendered off the event loop (tens of milliseconds of Pillow); without a photo, or with one Pillow
    cannot read, the poster shows a placeholder."""
    spec = posters.PosterSpec(shop_name=shop_name, title=title, price_fen=price_fen,
                              sharer_nickname=sharer_nickname, product_image=photo, code_image=code_png)
    return await asyncio.to_thread(posters.render, spec)
