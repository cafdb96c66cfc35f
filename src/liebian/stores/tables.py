"""Table codes: each table (or counter) of a store gets its own offline QR code; scanning it opens the store
with the table named (the share's ``campaign`` is ``table:<label>``), attributed on channel ``offline_qr``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.clock import clock
from liebian.kit.errors import Conflict
from liebian.kit.sql import text
from liebian.stores import ports, service

MAX_TABLES_PER_STORE = 500
_COLUMNS = "id, store_id, label, share_code, created_at"


def table_campaign(label: str) -> str:
    return f"table:{label}"


async def ensure_store_code(session: AsyncSession, shop_id: int, store_id: int) -> str:
    """The store's own QR code, made on first use (a store made before wiring existed may have none)."""
    store = await service.get_store(session, shop_id, store_id)
    if store.share_code is not None:
        return store.share_code
    code = await ports.codes.get().create_code(session, shop_id, store_id, table=None)
    await service.set_share_code(session, shop_id, store_id, code)
    return code


async def create_table(session: AsyncSession, shop_id: int, store_id: int, label: str) -> Row[Any]:
    """A table code; a second table with the same label at this store is refused (409 table_exists)."""
    await service.get_store(session, shop_id, store_id)  # 404 for another shop's store, before any write
    row = (await session.execute(
        text("INSERT INTO store_tables (shop_id, store_id, label, created_at) SELECT :s, :st, :label, :now "
             "WHERE (SELECT count(*) FROM store_tables WHERE store_id = :st) < :cap "
             f"ON CONFLICT (store_id, label) DO NOTHING RETURNING {_COLUMNS}"),
        {"s": shop_id, "st": store_id, "label": label, "now": clock.now(), "cap": MAX_TABLES_PER_STORE})).first()
    if row is None:
        exists = (await session.execute(text("SELECT 1 FROM store_tables WHERE store_id = :st AND label = :label"),
                                        {"st": store_id, "label": label})).first()
        if exists:
            raise Conflict("table_exists", f"This store already has a table labelled {label!r}.")
        raise Conflict("too_many_tables", f"A store has at most {MAX_TABLES_PER_STORE} tables.")
    code = await ports.codes.get().create_code(session, shop_id, store_id, table=label)
    return (await session.execute(
        text(f"UPDATE store_tables SET share_code = :c WHERE id = :id RETURNING {_COLUMNS}"),
        {"c": code, "id": row.id})).one()


async def list_tables(session: AsyncSession, shop_id: int, store_id: int) -> list[Row[Any]]:
    await service.get_store(session, shop_id, store_id)
    return list((await session.execute(
        text(f"SELECT {_COLUMNS} FROM store_tables WHERE shop_id = :s AND store_id = :st ORDER BY id"),
        {"s": shop_id, "st": store_id})).all())
