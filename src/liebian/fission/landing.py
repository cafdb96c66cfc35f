"""The H5 landing of a share, ``/s/{shop}/r/{code}``: record the visit, remember the device, show the target.

Anonymous visitors get a device cookie (``lb_did``); when they log in, the login carries it and their
visits become the customer's (``CustomerIdentified``), binding them as if they had been logged in.
"""

from __future__ import annotations

import html
import secrets
from typing import Annotated

from fastapi import APIRouter, Cookie, Path, Request
from fastapi.responses import HTMLResponse

from liebian.fission import binding
from liebian.fission.api import share_out
from liebian.kit.web import DbSession
from liebian.shops.deps import CurrentShop

router = APIRouter(tags=["pages"])
DEVICE_COOKIE = "lb_did"
ONE_YEAR = 365 * 24 * 3600

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:0;background:#f6f6f6}}
main{{max-width:480px;margin:0 auto;padding:32px 20px;text-align:center}}
h1{{font-size:20px}} p{{color:#666}} img{{width:220px;height:220px}}
a.button{{display:inline-block;margin-top:16px;padding:12px 28px;border-radius:24px;background:#e4393c;
color:#fff;text-decoration:none}}</style></head>
<body><main><h1>{title}</h1><p>{lead}</p>
<img src="{qr}" alt="二维码 QR code"><p>微信扫码或长按识别，在小程序中打开<br><small>Scan in WeChat to open</small></p>
<a class="button" href="/s/{shop}">进入店铺 Visit the shop</a></main></body></html>"""


@router.get("/s/{shop}/r/{code}", response_class=HTMLResponse)
async def landing(code: Annotated[str, Path(max_length=64)], request: Request, shop: CurrentShop,
                  session: DbSession, lb_did: Annotated[str | None, Cookie()] = None) -> HTMLResponse:
    device = lb_did if lb_did and binding.is_device_id(lb_did) else secrets.token_urlsafe(16)
    result = await binding.record_visit(session, shop_id=shop.id, settings=shop.settings, code=code,
                                        customer_id=None, device_id=device, scene=None)
    links = share_out(request, shop, result.share)
    page = _PAGE.format(title=html.escape(shop.name), lead=html.escape(f"有人把「{shop.name}」分享给你"),
                        qr=html.escape(links.qr_svg_url), shop=html.escape(shop.slug))
    response = HTMLResponse(page)
    response.set_cookie(DEVICE_COOKIE, device, max_age=ONE_YEAR, httponly=True, samesite="lax", path="/")
    return response
