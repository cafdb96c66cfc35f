"""Shops, staff and console login."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.auth import Claims, TokenSigner, hash_password, verify_password
from liebian.kit.clock import clock
from liebian.kit.db import DriverConnection, flush_or_conflict
from liebian.kit.errors import Conflict, Invalid, NotFound, Unauthorized
from liebian.kit.sql import text
from liebian.shops.models import Shop, Staff
from liebian.shops.rules import ShopSettings

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")


@dataclass(frozen=True)
class ShopRef:
    id: int
    slug: str
    name: str
    settings: ShopSettings


def shop_customer(shop: ShopRef, claims: Claims) -> Claims:
    """The customer token's claims, if the token was issued by this shop."""
    if claims.shop_id != shop.id:
        raise Unauthorized("invalid_token", "This token belongs to another shop; log in to this one.")
    return claims


# The settings last validated per shop, with the stored document they came from: every order and visit reads
# its shop, and validating the same document again cost more than the statement that read it. The model is
# frozen, so one instance can be shared; a changed document is validated afresh.
_VALIDATED: dict[int, tuple[dict[str, Any], ShopSettings]] = {}
_VALIDATED_MAX = 4096


def _settings(shop_id: int, stored: dict[str, Any]) -> ShopSettings:
    known = _VALIDATED.get(shop_id)
    if known is not None and known[0] == stored:
        return known[1]
    settings = ShopSettings(**stored)  # driver connections decode JSON as SQLAlchemy does (kit.db.DriverPool)
    if len(_VALIDATED) >= _VALIDATED_MAX:
        _VALIDATED.clear()
    _VALIDATED[shop_id] = (dict(stored), settings)
    return settings


def _shop_ref(shop_id: int, slug: str, name: str, stored_settings: dict[str, Any]) -> ShopRef:
    return ShopRef(id=shop_id, slug=slug, name=name, settings=_settings(shop_id, stored_settings))


def _ref(session: AsyncSession, row: Any) -> ShopRef:
    ref = _shop_ref(row.id, row.slug, row.name, row.settings)
    # Remembered for the rest of this transaction, so reactions to the request's events (attribution,
    # promotions) read the shop without another statement.
    session.info.setdefault("shops", {})[ref.id] = ref
    return ref


_SHOP_BY_SLUG = "SELECT id, slug, name, settings FROM shops WHERE slug = $1"


def _shop_not_found(slug: str) -> NotFound:
    return NotFound("shop_not_found", f"No shop '{slug}'.")


async def shop_by_slug(session: AsyncSession, slug: str) -> ShopRef:
    row = (await (await session.connection()).exec_driver_sql(_SHOP_BY_SLUG, (slug,))).first()
    if row is None:
        raise _shop_not_found(slug)
    return _ref(session, row)


async def shop_by_slug_on(conn: DriverConnection, slug: str) -> ShopRef:
    """The same, on a hot path's driver connection."""
    row = await conn.fetchrow(_SHOP_BY_SLUG, slug)
    if row is None:
        raise _shop_not_found(slug)
    return _shop_ref(row["id"], row["slug"], row["name"], row["settings"])


async def shop_by_id(session: AsyncSession, shop_id: int) -> ShopRef:
    known: ShopRef | None = session.info.get("shops", {}).get(shop_id)
    if known is not None:
        return known
    row = (
        await session.execute(text("SELECT id, slug, name, settings FROM shops WHERE id = :i"), {"i": shop_id})
    ).first()
    if row is None:
        raise NotFound("shop_not_found", "No such shop.")
    return _ref(session, row)


async def create_shop(
    session: AsyncSession, *, slug: str, name: str, owner_email: str, owner_password: str,
    owner_name: str = "店主",
) -> tuple[ShopRef, Staff]:
    if not SLUG.match(slug):
        raise Invalid("invalid_slug", "A shop slug is 3-40 lowercase letters, digits or '-'.")
    now = clock.now()
    shop = Shop(slug=slug, name=name, settings=ShopSettings().model_dump(), created_at=now)
    session.add(shop)
    await flush_or_conflict(session, Conflict("shop_slug_taken", f"The shop slug '{slug}' is taken."))
    staff = await add_staff(session, shop_id=shop.id, email=owner_email, password=owner_password,
                            name=owner_name, role="owner")
    return _ref(session, shop), staff


async def add_staff(
    session: AsyncSession, *, shop_id: int, email: str, password: str, name: str, role: str
) -> Staff:
    if len(password) < 8:
        raise Invalid("weak_password", "A password has at least 8 characters.")
    staff = Staff(shop_id=shop_id, email=email.strip().lower(), name=name, role=role,
                  password_hash=hash_password(password), created_at=clock.now())
    session.add(staff)
    await flush_or_conflict(session, Conflict("email_taken", "A staff account with this email exists."))
    return staff


async def login(session: AsyncSession, signer: TokenSigner, *, email: str, password: str) -> str:
    staff = (
        await session.execute(
            select(Staff).where(text("lower(email) = :e")).params(e=email.strip().lower())
        )
    ).scalar_one_or_none()
    # Verify against a dummy hash when the account is unknown so timing does not reveal accounts.
    valid = verify_password(staff.password_hash if staff else _DUMMY_HASH, password)
    if staff is None or not valid or not staff.active:
        raise Unauthorized("invalid_credentials", "Wrong email or password.")
    return staff_token(signer, staff)


def staff_token(signer: TokenSigner, staff: Staff) -> str:
    return signer.issue(Claims(kind="staff", subject_id=staff.id, shop_id=staff.shop_id, role=staff.role))


async def update_settings(session: AsyncSession, shop_id: int, changes: dict[str, Any]) -> ShopSettings:
    current = await shop_by_id(session, shop_id)
    merged = ShopSettings(**(current.settings.model_dump() | changes))
    await session.execute(
        text("UPDATE shops SET settings = CAST(:s AS jsonb) WHERE id = :i"),
        {"s": merged.model_dump_json(), "i": shop_id},
    )
    session.info.get("shops", {}).pop(shop_id, None)
    return merged


_DUMMY_HASH = hash_password("not-a-real-password-just-for-timing")
