"""A customer's saved shipping addresses: the checkout starts from the default one and saves the address an
order went to, so a returning customer types nothing.

Saving an address equal to one already kept (same name, phone and place) reuses that row instead of piling up
copies; the default moves with ``is_default``. The first address saved becomes the default; deleting the
default hands it to the newest remaining address. One partial unique index keeps at most one default.

The phone number is kept sealed (``liebian.kit.crypto``: AES-256-GCM bound to the shop and customer), with a
keyed hash for equality and a masked copy; these answers are the owner's own edit form, so they show it in clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers import links
from liebian.customers.addresses import AddressIn
from liebian.kit import crypto
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, not_found
from liebian.kit.sql import text

MAX_ADDRESSES = 20
_FIELDS = ("name", "province", "city", "district", "detail")
_COLUMNS = ("id, shop_id, customer_id, name, phone_ciphertext, phone_masked, province, city, district, detail, "
            "postal_code, is_default, created_at, updated_at")


class SavedAddressIn(AddressIn):
    is_default: bool = False


class AddressOut(BaseModel):
    id: int
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str | None
    is_default: bool
    created_at: datetime
    updated_at: datetime


def _context(shop_id: int, customer_id: int) -> str:
    return f"address:{shop_id}:{customer_id}"


def _phone(shop_id: int, customer_id: int, phone: str) -> dict[str, object]:
    vault = crypto.vault()
    return {"phone_ct": vault.seal(phone, _context(shop_id, customer_id)), "phone_hash": vault.phone_hash(phone),
            "phone_masked": crypto.mask_phone(phone)}


def _out(row: Any) -> AddressOut:
    values = {k: getattr(row, k) for k in AddressOut.model_fields if k != "phone"}
    try:
        phone = crypto.vault().open(bytes(row.phone_ciphertext), _context(row.shop_id, row.customer_id))
    except ValueError:  # sealed with a key this process no longer has: the masked copy, never an error
        phone = row.phone_masked
    return AddressOut(**values, phone=phone)


async def list_addresses(session: AsyncSession, shop_id: int, customer_id: int) -> list[AddressOut]:
    """The default first, then the most recently used."""
    rows = await session.execute(text(
        f"SELECT {_COLUMNS} FROM customer_addresses WHERE shop_id = :s AND customer_id = :c "
        "ORDER BY is_default DESC, updated_at DESC, id DESC"), {"s": shop_id, "c": customer_id})
    return [_out(r) for r in rows]


async def _clear_default(session: AsyncSession, shop_id: int, customer_id: int, keep: int | None) -> None:
    await session.execute(text(
        "UPDATE customer_addresses SET is_default = false WHERE shop_id = :s AND customer_id = :c AND is_default "
        "AND id IS DISTINCT FROM :keep"), {"s": shop_id, "c": customer_id, "keep": keep})


async def save(session: AsyncSession, shop_id: int, customer_id: int, body: SavedAddressIn) -> AddressOut:
    """Keep this address (or refresh the equal one already kept); the first one kept is the default."""
    values = {k: getattr(body, k) for k in _FIELDS}
    params = {"s": shop_id, "c": customer_id, **values, **_phone(shop_id, customer_id, body.phone)}
    # The customer's row is locked first: two saves at once cannot both pass the count or both be "first".
    locked = (await session.execute(text("SELECT id FROM customers WHERE id = :c AND shop_id = :s FOR UPDATE"),
                                    params)).first()
    if locked is None:
        raise not_found("customer")
    await links.remember(session, shop_id, customer_id, phone_hash=crypto.vault().phone_hash(body.phone))
    counts = (await session.execute(text(
        "SELECT count(*) AS n, min(id) FILTER (WHERE name = :name AND phone_hash = :phone_hash "
        "AND province = :province AND city = :city AND district = :district AND detail = :detail) AS same "
        "FROM customer_addresses WHERE shop_id = :s AND customer_id = :c"), params)).one()
    make_default = body.is_default or counts.n == 0
    if make_default:
        await _clear_default(session, shop_id, customer_id, counts.same)
    now = clock.now()
    if counts.same is not None:
        row = (await session.execute(text(
            "UPDATE customer_addresses SET postal_code = coalesce(:postal, postal_code), updated_at = :now, "
            f"is_default = is_default OR :default WHERE id = :id RETURNING {_COLUMNS}"),
            {"postal": body.postal_code, "now": now, "default": make_default, "id": counts.same})).one()
        return _out(row)
    if counts.n >= MAX_ADDRESSES:
        raise Conflict("address_limit_reached", f"At most {MAX_ADDRESSES} saved addresses; delete one first.",
                       limit=MAX_ADDRESSES)
    row = (await session.execute(text(
        "INSERT INTO customer_addresses (shop_id, customer_id, name, phone_ciphertext, phone_hash, phone_masked, "
        "province, city, district, detail, postal_code, is_default, created_at, updated_at) VALUES (:s, :c, :name, "
        ":phone_ct, :phone_hash, :phone_masked, :province, :city, "
        f":district, :detail, :postal, :default, :now, :now) RETURNING {_COLUMNS}"),
        {**params, "postal": body.postal_code, "default": make_default, "now": now})).one()
    return _out(row)


async def update(session: AsyncSession, shop_id: int, customer_id: int, address_id: int,
                 body: SavedAddressIn) -> AddressOut:
    if body.is_default:
        await _clear_default(session, shop_id, customer_id, address_id)
    row = (await session.execute(text(
        "UPDATE customer_addresses SET name = :name, phone_ciphertext = :phone_ct, phone_hash = :phone_hash, "
        "phone_masked = :phone_masked, province = :province, city = :city, "
        "district = :district, detail = :detail, postal_code = :postal, is_default = is_default OR :default, "
        f"updated_at = :now WHERE id = :id AND shop_id = :s AND customer_id = :c RETURNING {_COLUMNS}"),
        {**{k: getattr(body, k) for k in _FIELDS}, **_phone(shop_id, customer_id, body.phone),
         "postal": body.postal_code, "default": body.is_default,
         "now": clock.now(), "id": address_id, "s": shop_id, "c": customer_id})).first()
    if row is None:
        raise not_found("address")
    return _out(row)


async def delete(session: AsyncSession, shop_id: int, customer_id: int, address_id: int) -> None:
    gone = (await session.execute(text(
        "DELETE FROM customer_addresses WHERE id = :id AND shop_id = :s AND customer_id = :c RETURNING is_default"),
        {"id": address_id, "s": shop_id, "c": customer_id})).first()
    if gone is None:
        raise not_found("address")
    if gone.is_default:
        await session.execute(text(
            "UPDATE customer_addresses SET is_default = true WHERE id = (SELECT id FROM customer_addresses "
            "WHERE shop_id = :s AND customer_id = :c ORDER BY updated_at DESC, id DESC LIMIT 1)"),
            {"s": shop_id, "c": customer_id})
