"""What coupons exchange with checkout, adapted by the composition root (``liebian.wiring.coupons``).

Coupons sit beside ``orders`` in the layers and cannot import ``orders.pricing``: the wiring registers a price
source of kind ``coupon`` that translates checkout's context to :class:`CouponRequest` and the answer back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CartItem:
    sku_id: int
    product_id: int
    quantity: int
    amount_fen: int  # what the line costs after any promotion's discount: what a coupon can take off


@dataclass(frozen=True)
class CouponRequest:
    shop_id: int
    customer_id: int
    now: datetime
    coupon_id: int
    items: tuple[CartItem, ...]
    promotion_kind: str | None  # the promotion already applied (group buy, bargain, flash sale), if any


@dataclass(frozen=True)
class CouponQuote:
    discounts: tuple[int, ...]  # one per item, summing to the coupon's discount
    record: dict[str, Any] = field(default_factory=dict)  # named on the order: coupon_id, coupon_discount_fen
