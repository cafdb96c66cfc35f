"""The promotions a product shows (``promotions`` of ``GET products`` and ``GET products/{id}``).

``catalog`` knows no promotion by name: group buying, bargains and flash sales each register a source that
answers, for a page of products, the campaigns running (or about to run) on them, each as that module's own
public campaign record with its ``kind``. Sources read in bulk: a page of products costs a statement or two
per source, never one per product.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog.schemas import ProductOut

# (session, shop id, product ids) → {product id: [promotion, ...]}
PromotionSource = Callable[[AsyncSession, int, Sequence[int]], Awaitable[dict[int, list[dict[str, Any]]]]]
_sources: dict[str, PromotionSource] = {}


def register_promotion_source(kind: str, source: PromotionSource) -> None:
    _sources[kind] = source


async def attach(session: AsyncSession, shop_id: int, products: list[ProductOut]) -> list[ProductOut]:
    """The products with their running promotions filled in."""
    if not products or not _sources:
        return products
    ids = [p.id for p in products]
    found: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    for kind, source in _sources.items():
        for product_id, promotions in (await source(session, shop_id, ids)).items():
            found[product_id].extend({**p, "kind": kind} for p in promotions)
    return [p.model_copy(update={"promotions": found.get(p.id, [])}) for p in products]
