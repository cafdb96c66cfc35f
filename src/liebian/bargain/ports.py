"""What bargaining exchanges with ``orders``' checkout, adapted by ``liebian.wiring.bargain``.

This module sits beside ``orders`` in the layers and cannot import it: the composition root translates
``orders.pricing.PricingContext`` to :class:`PurchaseRequest` and :class:`PurchaseQuote` back to a
``Quote``.
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
    list_price_fen: int


@dataclass(frozen=True)
class PurchaseRequest:
    """A checkout asking for a bargain's price (``orders.pricing.PricingContext``)."""

    shop_id: int
    customer_id: int
    now: datetime
    items: tuple[CartItem, ...]
    params: dict[str, Any]  # the request's ``promotion`` object


@dataclass(frozen=True)
class PurchaseQuote:
    """The answer (``orders.pricing.Quote``): the line's price, and whose stock the unit came from."""

    unit_price_fen: int
    discount_fen: int
    takes_sku_stock: bool
    record: dict[str, Any] = field(default_factory=dict)
