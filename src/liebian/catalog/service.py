"""Catalog: products with SKUs, publishing, search, and the stock operations checkout relies on."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog.models import Category, Product, Sku
from liebian.catalog.schemas import (
    CategoryIn,
    CategoryOut,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    ProductPut,
    SkuIn,
    SkuOut,
    SkuPatch,
)
from liebian.kit.checks import Violation
from liebian.kit.clock import clock
from liebian.kit.db import flush_or_conflict
from liebian.kit.errors import Conflict, Invalid, not_found
from liebian.kit.sql import text

PUBLIC_STATUSES = ("published",)


@dataclass(frozen=True)
class SkuForSale:
    """What checkout needs of a SKU, read in one statement with its product."""

    id: int
    product_id: int
    title: str
    specs: dict[str, Any]
    image: str | None
    price_fen: int
    stock: int
    sellable: bool
    max_per_order: int | None


async def _category_id(session: AsyncSession, shop_id: int, body: ProductIn | ProductPut) -> int | None:
    if body.category_id is not None:
        await _require_category(session, shop_id, body.category_id)
        return body.category_id
    if body.category is None:
        return None
    stmt = insert(Category).values(shop_id=shop_id, name=body.category.strip(), sort=0, created_at=clock.now())
    stmt = stmt.on_conflict_do_update(index_elements=["shop_id", "name"], set_={"name": stmt.excluded.name})
    return int((await session.execute(stmt.returning(Category.id))).scalar_one())


async def _require_category(session: AsyncSession, shop_id: int, category_id: int) -> None:
    found = (await session.execute(
        text("SELECT 1 FROM categories WHERE id = :c AND shop_id = :s"), {"c": category_id, "s": shop_id}
    )).first()
    if found is None:
        raise not_found("category")


async def create_product(session: AsyncSession, shop_id: int, body: ProductIn) -> ProductOut:
    _check_distinct_specs([sku.specs for sku in body.skus])
    now = clock.now()
    product = Product(
        shop_id=shop_id, category_id=await _category_id(session, shop_id, body), title=body.title,
        description=body.description, images=list(body.images), max_per_order=body.max_per_order,
        status="published" if body.publish else "draft", created_at=now, updated_at=now,
    )
    session.add(product)
    await session.flush()
    await _insert_skus(session, shop_id, product.id, body.skus)
    return await get_product(session, shop_id, product.id, public=False)


async def _insert_skus(session: AsyncSession, shop_id: int, product_id: int, skus: Sequence[SkuIn]) -> None:
    await session.execute(
        insert(Sku),
        [{"shop_id": shop_id, "product_id": product_id, "specs": dict(s.specs), "price_fen": s.price_fen,
          "stock": s.stock, "code": s.code} for s in skus],
    )


def _check_distinct_specs(specs: Iterable[dict[str, str]]) -> None:
    seen: set[tuple[tuple[str, str], ...]] = set()
    for spec in specs:
        key = tuple(sorted(spec.items()))
        if key in seen:
            raise Invalid("duplicate_sku_specs", "Two SKUs of a product cannot have the same specs.")
        seen.add(key)


async def add_sku(session: AsyncSession, shop_id: int, product_id: int, body: SkuIn) -> ProductOut:
    product = await get_product(session, shop_id, product_id, public=False)
    _check_distinct_specs([s.specs for s in product.skus if not s.archived] + [dict(body.specs)])
    await _insert_skus(session, shop_id, product_id, [body])
    return await get_product(session, shop_id, product_id, public=False)


async def update_product(session: AsyncSession, shop_id: int, product_id: int, patch: ProductPatch) -> ProductOut:
    changes: dict[str, Any] = patch.model_dump(exclude_unset=True)
    if "category_id" in changes and changes["category_id"] is not None:
        await _require_category(session, shop_id, changes["category_id"])
    if "title" in changes and (changes["title"] is None or not changes["title"].strip()):
        raise Invalid("invalid_title", "A product title must not be blank.")
    if changes:
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        params = {**changes, "id": product_id, "shop": shop_id, "now": clock.now()}
        stmt = text(
            f"UPDATE products SET {assignments}, updated_at = :now "
            "WHERE id = :id AND shop_id = :shop AND status <> 'archived' RETURNING id"
        )
        if "images" in changes:
            stmt = stmt.bindparams(bindparam("images", type_=JSONB))
        if (await session.execute(stmt, params)).first() is None:
            raise not_found("product")
    return await get_product(session, shop_id, product_id, public=False)


async def replace_product(session: AsyncSession, shop_id: int, product_id: int, body: ProductPut) -> ProductOut:
    """The console's edit form in one transaction: a problem anywhere leaves the product as it was."""
    current = await get_product(session, shop_id, product_id, public=False)
    if current.status == "archived":
        raise not_found("product")
    known = {s.id for s in current.skus}
    listed = [s.id for s in body.skus if s.id is not None]
    if any(sku_id not in known for sku_id in listed):
        raise not_found("sku")
    if len(set(listed)) != len(listed):
        raise Invalid("duplicate_sku", "A SKU is listed twice.")
    _check_distinct_specs([dict(s.specs) for s in body.skus])
    status = "published" if body.publish else ("draft" if current.status == "draft" else "unpublished")
    await session.execute(
        text("UPDATE products SET title = :title, description = :description, images = :images, "
             "category_id = :category, max_per_order = :max, status = :status, updated_at = :now "
             "WHERE id = :id AND shop_id = :shop").bindparams(bindparam("images", type_=JSONB)),
        {"title": body.title, "description": body.description, "images": list(body.images),
         "category": await _category_id(session, shop_id, body), "max": body.max_per_order, "status": status,
         "now": clock.now(), "id": product_id, "shop": shop_id})
    # Listed SKUs are active (an archived one listed again comes back); the others are archived, never
    # deleted: orders and campaigns still name them.
    await session.execute(
        text("UPDATE skus SET archived = true WHERE shop_id = :shop AND product_id = :id AND NOT archived "
             "AND id <> ALL(:keep)"), {"shop": shop_id, "id": product_id, "keep": listed})
    changed = [{"id": s.id, "specs": dict(s.specs), "price_fen": s.price_fen, "stock": s.stock, "was": s.stock_was,
                "code": s.code} for s in body.skus if s.id is not None]
    if changed:
        try:
            async with session.begin_nested():
                await session.execute(
                    text("UPDATE skus SET specs = v.specs, price_fen = v.price_fen, code = v.code, archived = false, "
                         "stock = CASE WHEN v.was IS NULL THEN v.stock ELSE skus.stock + v.stock - v.was END "
                         "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id bigint, specs jsonb, price_fen bigint, "
                         "stock bigint, was bigint, code text) WHERE skus.id = v.id AND skus.shop_id = :shop"),
                    {"rows": json.dumps(changed, ensure_ascii=False), "shop": shop_id})
        except IntegrityError as exc:  # the stock_not_negative check: more was taken off than is left
            raise Conflict("stock_would_go_negative", "More units were sold meanwhile than the stock can lose now; "
                           "reload the product and try again.") from exc
    added = [s for s in body.skus if s.id is None]
    if added:
        await _insert_skus(session, shop_id, product_id, added)
    return await get_product(session, shop_id, product_id, public=False)


async def set_status(session: AsyncSession, shop_id: int, product_id: int, status: str) -> ProductOut:
    row = (await session.execute(
        text("UPDATE products SET status = :st, updated_at = :now "
             "WHERE id = :id AND shop_id = :shop AND status <> 'archived' RETURNING id"),
        {"st": status, "now": clock.now(), "id": product_id, "shop": shop_id},
    )).first()
    if row is None:
        raise not_found("product")
    if status == "published":
        has_sku = (await session.execute(
            text("SELECT 1 FROM skus WHERE product_id = :id AND NOT archived LIMIT 1"), {"id": product_id}
        )).first()
        if has_sku is None:
            raise Conflict("product_has_no_sku", "A product needs at least one SKU to be published.")
    return await get_product(session, shop_id, product_id, public=False)


async def update_sku(session: AsyncSession, shop_id: int, product_id: int, sku_id: int, patch: SkuPatch) -> ProductOut:
    changes: dict[str, Any] = patch.model_dump(exclude_unset=True)
    product = await get_product(session, shop_id, product_id, public=False)
    current = next((s for s in product.skus if s.id == sku_id), None)
    if current is None:
        raise not_found("sku")
    new_specs: dict[str, Any] | None = changes.get("specs")
    specs = current.specs if new_specs is None else new_specs
    new_archived: bool | None = changes.get("archived")
    archived = current.archived if new_archived is None else new_archived
    if not archived and (new_specs is not None or new_archived is not None):
        # An active SKU whose specs change, or that comes back from the archive, must not repeat a sibling's.
        _check_distinct_specs([s.specs for s in product.skus if s.id != sku_id and not s.archived] + [specs])
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes:
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        stmt = text(f"UPDATE skus SET {assignments} WHERE id = :id AND shop_id = :shop")
        if "specs" in changes:
            stmt = stmt.bindparams(bindparam("specs", type_=JSONB))
        await session.execute(stmt, {**changes, "id": sku_id, "shop": shop_id})
    return await get_product(session, shop_id, product_id, public=False)


async def adjust_stock(session: AsyncSession, shop_id: int, sku_id: int, delta: int) -> int:
    """Add or remove stock in one guarded statement; never below zero."""
    row = (await session.execute(
        text("UPDATE skus SET stock = stock + :d WHERE id = :id AND shop_id = :shop AND stock + :d >= 0 "
             "RETURNING stock"),
        {"d": delta, "id": sku_id, "shop": shop_id},
    )).first()
    if row is None:
        exists = (await session.execute(
            text("SELECT 1 FROM skus WHERE id = :id AND shop_id = :shop"), {"id": sku_id, "shop": shop_id}
        )).first()
        if exists is None:
            raise not_found("sku")
        raise Conflict("stock_would_go_negative", "The adjustment would take stock below zero.")
    return int(row.stock)


async def get_product(session: AsyncSession, shop_id: int, product_id: int, *, public: bool) -> ProductOut:
    page = await _products(session, shop_id, ids=[product_id], public=public)
    if not page:
        raise not_found("product")
    return page[0]


async def list_products(
    session: AsyncSession, shop_id: int, *, public: bool, q: str | None = None, category_id: int | None = None,
    status: str | None = None, limit: int = 20, offset: int = 0,
) -> ProductPage:
    where, params = _filters(shop_id, public=public, q=q, category_id=category_id, status=status)
    total = int((await session.execute(
        text(f"SELECT count(*) FROM products p WHERE {where}"), params)).scalar_one())
    ids = [r.id for r in await session.execute(
        text(f"SELECT p.id FROM products p WHERE {where} ORDER BY p.id DESC LIMIT :limit OFFSET :offset"),
        {**params, "limit": limit, "offset": offset},
    )]
    items = await _products(session, shop_id, ids=ids, public=public) if ids else []
    return ProductPage(items=items, total=total, limit=limit, offset=offset)


def _filters(
    shop_id: int, *, public: bool, q: str | None, category_id: int | None, status: str | None
) -> tuple[str, dict[str, Any]]:
    clauses = ["p.shop_id = :shop"]
    params: dict[str, Any] = {"shop": shop_id}
    if public:
        clauses.append("p.status = 'published'")
    elif status:
        clauses.append("p.status = :status")
        params["status"] = status
    else:
        clauses.append("p.status <> 'archived'")
    if q:
        # ILIKE on the trigram-indexed expression: exact substring match, so Chinese words work.
        clauses.append("(p.title || ' ' || p.description) ILIKE :q ESCAPE '\\'")
        params["q"] = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if category_id is not None:
        clauses.append("p.category_id = :category")
        params["category"] = category_id
    return " AND ".join(clauses), params


async def _products(session: AsyncSession, shop_id: int, *, ids: list[int], public: bool) -> list[ProductOut]:
    status_clause = "AND p.status = 'published'" if public else ""
    rows = (await session.execute(
        text(
            "SELECT p.id, p.title, p.description, p.images, p.category_id, p.status, p.max_per_order "
            f"FROM products p WHERE p.shop_id = :shop AND p.id = ANY(:ids) {status_clause}"
        ),
        {"shop": shop_id, "ids": ids},
    )).all()
    skus: defaultdict[int, list[SkuOut]] = defaultdict(list)
    for s in await session.execute(
        text("SELECT id, product_id, specs, price_fen, stock, code, archived FROM skus "
             "WHERE shop_id = :shop AND product_id = ANY(:ids) ORDER BY id"),
        {"shop": shop_id, "ids": ids},
    ):
        if public and s.archived:
            continue
        skus[s.product_id].append(SkuOut(id=s.id, specs=s.specs, price_fen=s.price_fen, stock=s.stock,
                                         code=None if public else s.code, archived=s.archived))
    order = {pid: i for i, pid in enumerate(ids)}
    products = [
        ProductOut(
            id=r.id, title=r.title, description=r.description, images=r.images, category_id=r.category_id,
            status=r.status, max_per_order=r.max_per_order, skus=skus[r.id],
            price_from_fen=min((s.price_fen for s in skus[r.id] if not s.archived), default=None),
        )
        for r in rows
    ]
    return sorted(products, key=lambda p: order[p.id])


async def skus_for_sale(session: AsyncSession, shop_id: int, sku_ids: Sequence[int]) -> dict[int, SkuForSale]:
    """The SKUs a cart names, with their product, in one statement; other shops' SKUs are not found."""
    rows = await session.execute(
        text(
            "SELECT s.id, s.product_id, p.title, s.specs, p.images->>0 AS image, s.price_fen, s.stock, "
            "(p.status = 'published' AND NOT s.archived) AS sellable, p.max_per_order "
            "FROM skus s JOIN products p ON p.id = s.product_id "
            "WHERE s.shop_id = :shop AND s.id = ANY(:ids)"
        ),
        {"shop": shop_id, "ids": list(sku_ids)},
    )
    return {r.id: SkuForSale(**r._mapping) for r in rows}


async def take_stock(session: AsyncSession, shop_id: int, sku_id: int, quantity: int) -> bool:
    """One guarded conditional UPDATE: succeeds only if enough stock is left, never goes negative."""
    row = (await session.execute(
        text("UPDATE skus SET stock = stock - :q WHERE id = :id AND shop_id = :shop AND stock >= :q RETURNING id"),
        {"q": quantity, "id": sku_id, "shop": shop_id},
    )).first()
    return row is not None


async def return_stock(session: AsyncSession, shop_id: int, quantities: Sequence[tuple[int, int]]) -> None:
    """Give units back (cancelled order), locking SKUs in id order so concurrent returns cannot deadlock."""
    merged: defaultdict[int, int] = defaultdict(int)
    for sku_id, quantity in quantities:
        merged[sku_id] += quantity
    for sku_id in sorted(merged):
        await session.execute(
            text("UPDATE skus SET stock = stock + :q WHERE id = :id AND shop_id = :shop"),
            {"q": merged[sku_id], "id": sku_id, "shop": shop_id},
        )


async def create_category(session: AsyncSession, shop_id: int, body: CategoryIn) -> CategoryOut:
    category = Category(shop_id=shop_id, name=body.name.strip(), sort=body.sort, created_at=clock.now())
    session.add(category)
    await flush_or_conflict(session, Conflict("category_exists", "A category with this name exists."))
    return CategoryOut(id=category.id, name=category.name, sort=category.sort)


async def list_categories(session: AsyncSession, shop_id: int) -> list[CategoryOut]:
    rows = await session.execute(
        text("SELECT id, name, sort FROM categories WHERE shop_id = :s ORDER BY sort, id"), {"s": shop_id}
    )
    return [CategoryOut(id=r.id, name=r.name, sort=r.sort) for r in rows]


async def delete_category(session: AsyncSession, shop_id: int, category_id: int) -> None:
    await _require_category(session, shop_id, category_id)
    await session.execute(text("UPDATE products SET category_id = NULL WHERE shop_id = :s AND category_id = :c"),
                          {"s": shop_id, "c": category_id})
    await session.execute(text("DELETE FROM categories WHERE id = :c AND shop_id = :s"),
                          {"s": shop_id, "c": category_id})


async def stock_violations(session: AsyncSession) -> list[Violation]:
    rows = await session.execute(text("SELECT id, shop_id, stock FROM skus WHERE stock < 0 LIMIT 50"))
    return [Violation("stock_not_negative", f"shop {r.shop_id} SKU {r.id} has stock {r.stock}") for r in rows]
