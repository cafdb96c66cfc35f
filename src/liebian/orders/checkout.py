"""Placing an order: server-side prices, the promotion seam, guarded stock, one payment.

The hot path is a handful of statements: resolve the shop (by the dependency), claim the idempotency
key, read the SKUs, one guarded UPDATE per SKU in id order, insert the order, its lines and its
payment, and store the answer for the key. A coupon (``coupon_id``) adds two: read it when pricing, and use
it by one guarded UPDATE once the order exists.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.catalog.service import SkuForSale
from liebian.customers import service as customers
from liebian.events import OrderPaid, OrderPlaced
from liebian.kit import idempotency, jsonx
from liebian.kit.clock import clock
from liebian.kit.db import last_in_transaction, run_last
from liebian.kit.errors import Conflict, Invalid, NotFound, Problem
from liebian.kit.events import bus
from liebian.kit.ids import order_number
from liebian.kit.money import MAX_FEN
from liebian.kit.sql import text
from liebian.orders import contact
from liebian.orders.pricing import (
    COUPON,
    CartLine,
    LinePrice,
    PlacedOrder,
    PricingContext,
    Quote,
    price_source,
)
from liebian.orders.rules import shipping_fee
from liebian.orders.schemas import PlaceOrderIn
from liebian.payments import service as payments
from liebian.shops.service import ShopRef
from liebian.stores import pickup as store_pickup
from liebian.stores import service as stores


@dataclass(frozen=True)
class Placed:
    status_code: int
    body: dict[str, Any]


async def place_order(
    session: AsyncSession, shop: ShopRef, customer_id: int, body: PlaceOrderIn, idempotency_key: str | None
) -> Placed:
    scope = f"orders.place:{customer_id}"
    if idempotency_key is not None:
        replay = await idempotency.claim(session, shop_id=shop.id, scope=scope, key=idempotency_key,
                                         fingerprint=idempotency.request_hash(body.model_dump(mode="json")))
        if replay is not None:
            return Placed(replay.status_code, replay.body)
    placed = await _place(session, shop, customer_id, body)
    if idempotency_key is not None:
        await idempotency.store(session, shop_id=shop.id, scope=scope, key=idempotency_key,
                                status_code=201, body=placed)
    return Placed(201, placed)


def _merge_lines(body: PlaceOrderIn, shop: ShopRef) -> OrderedDict[int, int]:
    merged: OrderedDict[int, int] = OrderedDict()
    for line in body.lines:
        merged[line.sku_id] = merged.get(line.sku_id, 0) + line.quantity
    if len(merged) > shop.settings.max_lines_per_order:
        raise Invalid("too_many_lines", f"An order has at most {shop.settings.max_lines_per_order} lines.")
    limit = shop.settings.max_quantity_per_line
    for sku_id, quantity in merged.items():
        if quantity > limit:
            raise Invalid("quantity_limit_exceeded", f"At most {limit} of one item per order.", sku_id=sku_id)
    return merged


def _check_skus(merged: OrderedDict[int, int], skus: dict[int, SkuForSale]) -> None:
    """Refuse what cannot be sold at all; stock is checked once the promotion says whose stock it is."""
    for sku_id, quantity in merged.items():
        sku = skus.get(sku_id)
        if sku is None:
            raise Invalid("sku_not_found", f"No SKU {sku_id} in this shop.", sku_id=sku_id)
        if not sku.sellable:
            raise Invalid("sku_not_available", f"SKU {sku_id} is not on sale.", sku_id=sku_id)
        if sku.max_per_order is not None and quantity > sku.max_per_order:
            raise Invalid("quantity_limit_exceeded", f"At most {sku.max_per_order} of this product per order.",
                          sku_id=sku_id)


async def _quote(session: AsyncSession, ctx: PricingContext, body: PlaceOrderIn) -> tuple[Quote, str | None]:
    if body.promotion is None:
        return Quote(lines=tuple(LinePrice(line.list_price_fen) for line in ctx.lines)), None
    source = price_source(body.promotion.kind)
    if source is None:
        raise Invalid("unknown_promotion", f"No promotion of kind '{body.promotion.kind}'.")
    quote = await source.quote(session, ctx)
    if len(quote.lines) != len(ctx.lines):
        raise RuntimeError(f"price source {source.kind} priced {len(quote.lines)} of {len(ctx.lines)} lines")
    for price in quote.lines:
        if price.unit_price_fen < 0 or price.discount_fen < 0:
            raise RuntimeError(f"price source {source.kind} returned a negative price")
    return quote, source.kind


@dataclass(frozen=True)
class _CouponQuote:
    ctx: PricingContext
    quote: Quote


async def _coupon_quote(session: AsyncSession, ctx: PricingContext, quote: Quote, kind: str | None,
                        coupon_id: int | None) -> _CouponQuote | None:
    """The coupon, after the promotion: its discounts come on top of the promotion's prices."""
    if coupon_id is None:
        return None
    source = price_source(COUPON)
    if source is None:
        raise NotFound("coupon_not_found", "No such coupon.")
    coupon_ctx = replace(ctx, params={"coupon_id": coupon_id}, base=quote.lines, promotion_kind=kind)
    coupon = await source.quote(session, coupon_ctx)
    if len(coupon.lines) != len(ctx.lines) or any(p.discount_fen < 0 for p in coupon.lines):
        raise RuntimeError("the coupon source must give one non-negative discount per line")
    return _CouponQuote(coupon_ctx, coupon)


def _check_stock(merged: OrderedDict[int, int], skus: dict[int, SkuForSale]) -> None:
    for sku_id, quantity in merged.items():  # a friendly answer before touching any row
        if skus[sku_id].stock < quantity:
            raise Conflict("stock_exhausted", f"Only {skus[sku_id].stock} left of SKU {sku_id}.", sku_id=sku_id)


async def _take_stock(session: AsyncSession, shop: ShopRef, merged: OrderedDict[int, int],
                      skus: dict[int, SkuForSale]) -> None:
    for sku_id in sorted(merged):  # id order: concurrent multi-line orders cannot deadlock
        if not await catalog.take_stock(session, shop.id, sku_id, merged[sku_id]):
            raise Conflict("stock_exhausted", f"SKU {sku_id} has sold out.", sku_id=sku_id)


def _promotion_record(kind: str | None, params: dict[str, Any], quote: Quote,
                      coupon: _CouponQuote | None) -> dict[str, Any] | None:
    """What the order names as its ``promotion``: the promotion's record, and the coupon's (``coupon_id``)."""
    record = None if kind is None else {"kind": kind, **params, **quote.record}
    if record is not None and not quote.takes_sku_stock:
        record["own_stock"] = True
    if coupon is not None:  # named on the order, so a cancellation gives the coupon back
        record = {**(record or {"kind": COUPON}), **coupon.quote.record}
    return record


@dataclass(frozen=True)
class _Fulfilment:
    address: dict[str, Any]  # delivery: the shipping address; pickup: who collects it (name, phone)
    store_id: int | None


async def _fulfilment(session: AsyncSession, shop_id: int, body: PlaceOrderIn, *, quote: bool = False) -> _Fulfilment:
    """Delivery needs an address; pickup names an open store of this shop that offers pickup, and a contact.
    A quote (the checkout page before the address is typed) needs neither address nor contact."""
    if body.fulfilment == "delivery":
        if body.address is None and quote:
            return _Fulfilment({}, None)
        if body.address is None:
            raise Invalid("address_required", "A delivery order needs a shipping address.")
        if body.store_id is not None:
            raise Invalid("store_not_for_delivery", "store_id is for pickup orders (fulfilment \"pickup\").")
        return _Fulfilment(body.address.model_dump(), None)
    if body.store_id is None:
        raise Invalid("store_required", "A pickup order names the store it is collected at.")
    contact = body.contact or body.address
    if contact is None and quote:
        await stores.store_for_pickup(session, shop_id, body.store_id)
        return _Fulfilment({}, body.store_id)
    if contact is None:
        raise Invalid("contact_required", "A pickup order needs a contact name and phone.")
    await stores.store_for_pickup(session, shop_id, body.store_id)
    return _Fulfilment({"name": contact.name, "phone": contact.phone}, body.store_id)


@dataclass(frozen=True)
class _Priced:
    """A cart priced exactly as its order would be: by the promotion, then the coupon, then shipping."""

    merged: OrderedDict[int, int]
    fulfilment: _Fulfilment
    skus: dict[int, SkuForSale]
    ctx: PricingContext
    quote: Quote
    kind: str | None
    coupon: _CouponQuote | None
    promotion_params: dict[str, Any]
    line_rows: list[tuple[CartLine, SkuForSale, int, int, int]]  # line, sku, unit price, total, discount
    goods_fen: int
    discount_fen: int
    ship_fen: int
    payable_fen: int


def _line_amounts(lines: tuple[CartLine, ...], quote: Quote, coupon_discounts: list[int]) -> list[tuple[int, int]]:
    """(total, discount) of each line: the promotion's discount, then the coupon's, never below zero."""
    amounts = []
    for line, price, extra in zip(lines, quote.lines, coupon_discounts, strict=True):
        total = price.unit_price_fen * line.quantity
        discount = min(price.discount_fen, total)
        discount += min(extra, total - discount)  # a line never goes below zero, whatever a source says
        amounts.append((total, discount))
    return amounts


def payment_methods(shop: ShopRef, quote: Quote) -> list[str]:
    """How this cart may be paid: the promotion's methods, less cash on delivery when the shop takes none."""
    allowed = ["wechat"] + (["cod"] if shop.settings.cod_enabled else [])
    return [m for m in allowed if quote.payment_methods is None or m in quote.payment_methods]


async def _price(session: AsyncSession, shop: ShopRef, customer_id: int, body: PlaceOrderIn, now: Any, *,
                 quote_only: bool = False) -> _Priced:
    merged = _merge_lines(body, shop)
    fulfilment = await _fulfilment(session, shop.id, body, quote=quote_only)
    skus = await catalog.skus_for_sale(session, shop.id, list(merged))
    _check_skus(merged, skus)
    if body.payment_method == "cod" and not shop.settings.cod_enabled and not quote_only:
        raise Invalid("payment_method_not_allowed", "This shop does not take cash on delivery.")
    lines = tuple(CartLine(sku_id=s, product_id=skus[s].product_id, quantity=q, list_price_fen=skus[s].price_fen)
                  for s, q in merged.items())
    promotion_params = body.promotion.model_dump(exclude_none=True) if body.promotion else {}
    ctx = PricingContext(shop_id=shop.id, customer_id=customer_id, now=now, lines=lines, params=promotion_params)
    quote, kind = await _quote(session, ctx, body)
    if body.payment_method not in payment_methods(shop, quote) and not quote_only:
        raise Invalid("payment_method_not_allowed", f"This promotion cannot be paid by {body.payment_method}.")
    coupon = await _coupon_quote(session, ctx, quote, kind, body.coupon_id)
    coupon_discounts = [p.discount_fen for p in coupon.quote.lines] if coupon else [0] * len(lines)

    line_rows = [(line, skus[line.sku_id], price.unit_price_fen, total, discount) for line, price, (total, discount)
                 in zip(lines, quote.lines, _line_amounts(lines, quote, coupon_discounts), strict=True)]
    goods_fen = sum(r[3] for r in line_rows)
    discount_fen = sum(r[4] for r in line_rows)
    ship_fen = 0 if fulfilment.store_id is not None else shipping_fee(
        goods_fen - discount_fen, shop.settings.shipping_fee_fen, shop.settings.free_shipping_threshold_fen)
    payable_fen = goods_fen - discount_fen + ship_fen
    if payable_fen > MAX_FEN:
        raise Invalid("order_too_large", "This order is larger than one payment can be.")
    return _Priced(merged, fulfilment, skus, ctx, quote, kind, coupon, promotion_params, line_rows, goods_fen,
                   discount_fen, ship_fen, payable_fen)


async def _place(session: AsyncSession, shop: ShopRef, customer_id: int, body: PlaceOrderIn) -> dict[str, Any]:
    now = clock.now()
    priced = await _price(session, shop, customer_id, body, now)
    merged, fulfilment, skus, ctx = priced.merged, priced.fulfilment, priced.skus, priced.ctx
    quote, kind, coupon, promotion_params = priced.quote, priced.kind, priced.coupon, priced.promotion_params
    line_rows, goods_fen, discount_fen = priced.line_rows, priced.goods_fen, priced.discount_fen
    ship_fen, payable_fen = priced.ship_fen, priced.payable_fen

    if quote.takes_sku_stock:
        _check_stock(merged, skus)  # a friendly answer now; the guarded updates come last (below)
        last_in_transaction(session, lambda: _take_stock(session, shop, merged, skus))

    promotion_record = _promotion_record(kind, promotion_params, quote, coupon)
    pickup_day, pickup_no = (None, None) if fulfilment.store_id is None else (
        await store_pickup.next_pickup_no(session, shop.id, fulfilment.store_id, now))
    order_no = order_number(now)
    deadline = now + timedelta(minutes=shop.settings.auto_cancel_minutes) if body.payment_method == "wechat" else None
    order_id = (await session.execute(
        text("INSERT INTO orders (shop_id, order_no, customer_id, status, payment_method, total_fen, discount_fen, "
             "shipping_fen, payable_fen, address, promotion, share_code, note, out_trade_no, created_at, "
             "payment_deadline, fulfilment_hold, fulfilment, store_id, pickup_day, pickup_no) VALUES (:shop, :no, "
             ":customer, 'pending_payment', :method, :total, :discount, :ship, :payable, CAST(:address AS jsonb), "
             "CAST(:promotion AS jsonb), :share, :note, :otn, :now, :deadline, :hold, :fulfilment, :store, "
             ":pickup_day, :pickup_no) RETURNING id"),
        {"shop": shop.id, "no": order_no, "customer": customer_id, "method": body.payment_method,
         "total": goods_fen, "discount": discount_fen, "ship": ship_fen, "payable": payable_fen,
         # The phone sealed, hashed and masked (liebian.orders.contact): no number in clear at rest.
         "address": jsonx.dumps(contact.seal(shop.id, customer_id, fulfilment.address)),
         "promotion": jsonx.dumps(promotion_record),
         "share": body.share_code, "note": body.note,
         "otn": payments.out_trade_no_for(order_no) if payable_fen > 0 else None,
         "now": now, "deadline": deadline, "hold": quote.fulfilment_hold, "fulfilment": body.fulfilment,
         "store": fulfilment.store_id, "pickup_day": pickup_day, "pickup_no": pickup_no},
    )).scalar_one()
    # Line discounts are exact per line; shipping is not spread over lines.
    await session.execute(
        text("INSERT INTO order_lines (shop_id, order_id, line_no, sku_id, product_id, title, specs, image, "
             "unit_price_fen, quantity, total_fen, discount_fen, payable_fen) "
             "SELECT :shop, :order, n, sku, product, title, specs, image, unit, qty, total, discount, "
             "total - discount FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(n int, sku bigint, "
             "product bigint, title text, specs jsonb, image text, unit bigint, qty int, total bigint, "
             "discount bigint)"),
        {"shop": shop.id, "order": order_id, "rows": jsonx.dumps([
            {"n": i + 1, "sku": line.sku_id, "product": line.product_id, "title": sku.title, "specs": sku.specs,
             "image": sku.image, "unit": unit, "qty": line.quantity, "total": total, "discount": discount}
            for i, (line, sku, unit, total, discount) in enumerate(line_rows)])},
    )
    placed = PlacedOrder(order_id=order_id, order_no=order_no, payable_fen=payable_fen)
    if kind is not None:
        source = price_source(kind)
        assert source is not None
        await source.on_placed(session, ctx, quote, placed)
    if coupon is not None:  # the coupon is used here, by one guarded UPDATE: of two racing orders one wins
        coupon_source = price_source(COUPON)
        assert coupon_source is not None
        await coupon_source.on_placed(session, coupon.ctx, coupon.quote, placed)
    await bus.publish(session, OrderPlaced(shop_id=shop.id, order_id=order_id, order_no=order_no,
                                           customer_id=customer_id, payable_fen=payable_fen,
                                           promotion=promotion_record, share_code=body.share_code))
    # The stock (the SKUs', a campaign's): rows other orders want, so taken last, just before the payment is
    # set up (a sold-out order never asks WeChat for a prepay) and the commit.
    await run_last(session)
    payment = await _start_payment(session, shop, customer_id, body, placed, deadline, line_rows[0][1].title,
                                   promotion_record)
    return {
        "order_no": order_no, "status": payment.pop("order_status"), "total_fen": goods_fen,
        "discount_fen": discount_fen, "shipping_fen": ship_fen, "payable_fen": payable_fen,
        "payment_method": body.payment_method, "payment_deadline": deadline.isoformat() if deadline else None,
        "promotion": promotion_record, "payment": payment, "fulfilment": body.fulfilment,
        "store_id": fulfilment.store_id, "pickup_no": pickup_no,
    }


async def quote_order(session: AsyncSession, shop: ShopRef, customer_id: int, body: PlaceOrderIn,
                      coupon_candidates: list[int]) -> dict[str, Any]:
    """What this cart would cost, priced by the same steps as placing it, and what each candidate coupon would
    take off (or why it cannot apply). The caller runs this in a transaction it rolls back: a promotion's quote
    takes its seat or units as placing would, and none of that may last."""
    priced = await _price(session, shop, customer_id, body, clock.now(), quote_only=True)
    await run_last(session)  # what placing would take last (a campaign's units): its refusals are the quote's
    if priced.quote.takes_sku_stock:
        _check_stock(priced.merged, priced.skus)
    lines = priced.ctx.lines
    promo_amounts = _line_amounts(lines, priced.quote, [0] * len(lines))
    coupons = []
    for coupon_id in dict.fromkeys(coupon_candidates):
        try:
            option = await _coupon_quote(session, priced.ctx, priced.quote, priced.kind, coupon_id)
        except Problem as refused:
            coupons.append({"coupon_id": coupon_id, "usable": False, "discount_fen": 0, "code": refused.code,
                            "detail": refused.detail})
            continue
        assert option is not None
        with_coupon = _line_amounts(lines, priced.quote, [p.discount_fen for p in option.quote.lines])
        off = sum(d for _, d in with_coupon) - sum(d for _, d in promo_amounts)
        coupons.append({"coupon_id": coupon_id, "usable": True, "discount_fen": off, "code": None, "detail": None})
    record = priced.quote.record
    return {
        "lines": [{"sku_id": line.sku_id, "product_id": line.product_id, "title": sku.title, "specs": sku.specs,
                   "image": sku.image, "stock": sku.stock, "unit_price_fen": unit, "quantity": line.quantity,
                   "total_fen": total, "discount_fen": discount, "payable_fen": total - discount}
                  for line, sku, unit, total, discount in priced.line_rows],
        "total_fen": priced.goods_fen, "discount_fen": priced.discount_fen, "shipping_fen": priced.ship_fen,
        "payable_fen": priced.payable_fen,
        "coupon_discount_fen": priced.discount_fen - sum(d for _, d in promo_amounts),
        "promotion": None if priced.kind is None else {
            "kind": priced.kind, "unit_price_fen": record.get("unit_price_fen"), "role": record.get("role")},
        "payment_methods": payment_methods(shop, priced.quote), "coupons": coupons,
    }


async def _start_payment(
    session: AsyncSession, shop: ShopRef, customer_id: int, body: PlaceOrderIn, placed: PlacedOrder,
    deadline: Any, title: str, promotion_record: dict[str, Any] | None,
) -> dict[str, Any]:
    if placed.payable_fen == 0:
        # Nothing to pay (a free-for-leader group, a full discount): the order is paid at once.
        now = clock.now()
        await session.execute(text("UPDATE orders SET status = 'paid', paid_at = :now WHERE id = :id"),
                              {"now": now, "id": placed.order_id})
        await bus.publish(session, OrderPaid(shop_id=shop.id, order_id=placed.order_id, order_no=placed.order_no,
                                             customer_id=customer_id, payable_fen=0, paid_at=now,
                                             promotion=promotion_record))
        return {"order_status": "paid", "out_trade_no": None, "provider": None, "status": "free", "params": None}
    openid = None
    if body.payment_method == "wechat":
        openid = (await customers.payer(session, shop.id, customer_id)).openid
    intent = await payments.create_payment(
        session, shop_id=shop.id, order_id=placed.order_id, order_no=placed.order_no, method=body.payment_method,
        amount_fen=placed.payable_fen, description=f"{shop.name}-{title}", payer_openid=openid,
        expires_at=deadline)
    return {"order_status": "pending_payment", "out_trade_no": intent.out_trade_no, "provider": intent.provider,
            "status": "pending", "params": intent.client_params}
