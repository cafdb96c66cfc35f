"""Page routes, declared as tables: a path, its template, whether a session is needed, its parameters.

A page handler only finds the shop and the visitor and renders the shell; what the page shows comes from the
JSON API, called by the page's script with the visitor's own session.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from liebian.kit.auth import Claims, Kind
from liebian.kit.errors import NotFound, Unauthorized
from liebian.kit.web import SESSION_COOKIES, database, token_signer_of
from liebian.shops import service as shops
from liebian.shops.service import ShopRef
from liebian.web.render import render

_PARAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Page:
    path: str
    template: str
    login: bool = False  # a session is needed: visitors without one are sent to the login page first
    title: tuple[str, str] = ("", "")  # (中文, English) for the browser tab


STOREFRONT: tuple[Page, ...] = (
    Page("", "home.html", title=("首页", "Home")),
    Page("/login", "login.html", title=("登录", "Log in")),
    Page("/p/{product_id}", "product.html", title=("商品详情", "Product")),
    Page("/checkout", "checkout.html", login=True, title=("确认订单", "Checkout")),
    Page("/orders", "orders.html", login=True, title=("我的订单", "My orders")),
    Page("/orders/{order_no}", "order.html", login=True, title=("订单详情", "Order")),
    Page("/g/{group_id}", "group.html", title=("拼团", "Group buy")),
    Page("/b/{bargain_id}", "bargain.html", title=("砍价", "Bargain")),
    Page("/rp/{code}", "red_packet.html", title=("分享红包", "Red packet")),
    Page("/coupons", "coupons.html", title=("领券中心", "Coupons")),
    Page("/promoter", "promoter.html", login=True, title=("推广中心", "Promoter centre")),
    Page("/stores", "stores.html", title=("附近门店", "Nearby stores")),
    Page("/community", "community.html", title=("社区", "Community")),
    Page("/posts/{post_id}", "post.html", title=("动态", "Post")),
    Page("/c/{code}", "community_invite.html", title=("加入社群", "Join the community")),
    Page("/me", "me.html", login=True, title=("我的", "Me")),
)

CONSOLE: tuple[Page, ...] = (
    Page("/login", "login.html", title=("登录", "Log in")),
    Page("", "dashboard.html", login=True, title=("概览", "Dashboard")),
    Page("/products", "products.html", login=True, title=("商品", "Products")),
    Page("/products/new", "product_edit.html", login=True, title=("新建商品", "New product")),
    Page("/products/{product_id}", "product_edit.html", login=True, title=("编辑商品", "Edit product")),
    Page("/campaigns", "campaigns.html", login=True, title=("营销活动", "Campaigns")),
    Page("/campaigns/{kind}", "campaigns.html", login=True, title=("营销活动", "Campaigns")),
    Page("/distribution", "distribution.html", login=True, title=("分销设置", "Distribution")),
    Page("/promoters", "promoters.html", login=True, title=("推广员", "Promoters")),
    Page("/withdrawals", "withdrawals.html", login=True, title=("提现审核", "Withdrawals")),
    Page("/orders", "orders.html", login=True, title=("订单", "Orders")),
    Page("/orders/{order_no}", "order.html", login=True, title=("订单详情", "Order")),
    Page("/refunds", "refunds.html", login=True, title=("退款", "Refunds")),
    Page("/stores", "stores.html", login=True, title=("门店", "Stores")),
    Page("/ads", "ads.html", login=True, title=("广告投放", "Ad campaigns")),
    Page("/moderation", "moderation.html", login=True, title=("内容审核", "Moderation")),
    Page("/fission", "fission.html", login=True, title=("裂变分析", "Fission")),
    Page("/fission/cascades", "cascades.html", login=True, title=("传播树", "Cascades")),
    Page("/fission/kol", "kol.html", login=True, title=("KOL 排行", "KOLs")),
    Page("/fission/seeding", "seeding.html", login=True, title=("种子推荐", "Seeding")),
)


def _params(request: Request) -> dict[str, str]:
    params = {k: str(v) for k, v in request.path_params.items() if k != "shop"}
    for name, value in params.items():
        if not _PARAM.match(value):
            raise NotFound("not_found", f"No such {name}.")
    return params


def _session(request: Request, kind: Kind) -> Claims | None:
    token = request.cookies.get(SESSION_COOKIES[kind])
    if not token:
        return None
    try:
        return token_signer_of(request).verify(token, kind)
    except Unauthorized:
        return None


def _to_login(login_path: str, request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{login_path}?next={quote(here, safe='')}", status_code=303)


def _not_found(request: Request, area: str, config: dict[str, Any]) -> HTMLResponse:
    return render(request, f"{area}/not_found.html", config={**config, "page": "not_found"}, status_code=404,
                  title=("找不到页面", "Not found"))


async def _shop(request: Request, slug: str) -> ShopRef | None:
    async with database(request).sessions() as session:
        try:
            return await shops.shop_by_slug(session, slug)
        except NotFound:
            return None


def _storefront_handler(page: Page) -> Callable[..., Awaitable[Response]]:
    async def show(request: Request, shop: str) -> Response:
        found = await _shop(request, shop) if len(shop) <= 40 else None
        base_config = {"kind": "customer", "shop": shop}
        if found is None:
            return _not_found(request, "storefront", base_config)
        try:
            params = _params(request)
        except NotFound:
            return _not_found(request, "storefront", base_config)
        claims = _session(request, "customer")
        signed_in = claims is not None and claims.shop_id == found.id
        if page.login and not signed_in:
            return _to_login(f"/s/{found.slug}/login", request)
        config = {**base_config, "shop": found.slug, "shop_name": found.name, "page": page.template[:-5],
                  "params": params, "customer_id": claims.subject_id if signed_in and claims else None}
        return render(request, f"storefront/{page.template}", config=config, shop=found, title=page.title)

    show.__name__ = f"storefront_{page.template[:-5]}"
    return show


def _console_handler(page: Page) -> Callable[..., Awaitable[Response]]:
    async def show(request: Request) -> Response:
        base_config = {"kind": "staff"}
        try:
            params = _params(request)
        except NotFound:
            return _not_found(request, "console", base_config)
        claims = _session(request, "staff")
        if page.login and claims is None:
            return _to_login("/console/login", request)
        config = {**base_config, "page": page.template[:-5], "params": params,
                  "staff_role": claims.role if claims else None}
        return render(request, f"console/{page.template}", config=config, title=page.title)

    show.__name__ = f"console_{page.template[:-5]}"
    return show


def build_routers() -> tuple[APIRouter, APIRouter]:
    storefront = APIRouter(prefix="/s/{shop}", include_in_schema=False)
    for page in STOREFRONT:
        storefront.add_api_route(page.path, _storefront_handler(page), methods=["GET"], response_class=HTMLResponse)
    console = APIRouter(prefix="/console", include_in_schema=False)
    for page in CONSOLE:
        console.add_api_route(page.path, _console_handler(page), methods=["GET"], response_class=HTMLResponse)
    return storefront, console


storefront_router, console_router = build_routers()
