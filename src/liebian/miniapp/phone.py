"""The customer's phone number (wechat.md §1.3, §7.3): asked of WeChat with the ``getPhoneNumber`` code,
kept encrypted, shown masked, found by keyed hash, deleted on request.

Asking for it is the customer's choice (a button tap): nothing in Liebian requires a phone number to
browse, order or pay, as WeChat's rules and PIPL's minimisation principle want.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.customers import links
from liebian.customers import service as customers
from liebian.integrations.wechat.errors import InvalidArgument, WeChatApiError, WeChatUnavailable
from liebian.integrations.wechat.miniprogram import ERRCODE_PHONE_QUOTA, InvalidCode, PhoneInfo, RateLimited
from liebian.kit import crypto
from liebian.kit.clock import clock
from liebian.kit.errors import BadGateway, BadRequest, ServiceUnavailable, TooManyRequests
from liebian.kit.sql import text
from liebian.miniapp import ports
from liebian.miniapp.vault import KEY_VERSION, PhoneVault, e164, mask

log = logging.getLogger(__name__)

ERRCODE_CODE_NOT_FOR_USER = 40003  # a code bound to another openid


@dataclass(frozen=True)
class PhoneView:
    phone_masked: str | None
    bound_at: datetime | None


async def _ask_wechat(code: str, openid: str) -> PhoneInfo:
    client = ports.wechat.get().client
    try:
        return await client.get_phone_number(code, openid)
    except (InvalidCode, InvalidArgument) as exc:
        raise BadRequest("invalid_phone_code", "The phone code is invalid, expired or already used.") from exc
    except RateLimited as exc:
        raise TooManyRequests("phone_rate_limited", "Too many phone number requests; try again later.") from exc
    except WeChatUnavailable as exc:
        raise BadGateway("wechat_unavailable", "WeChat is unavailable; try again.") from exc
    except WeChatApiError as exc:
        if exc.errcode == ERRCODE_PHONE_QUOTA:
            # The mini-program's paid quota is used up (wechat.md §1.3): the shop must top it up.
            raise ServiceUnavailable("phone_quota_exhausted",
                                     "Phone number sign-in is not available right now.") from exc
        if exc.errcode == ERRCODE_CODE_NOT_FOR_USER:
            raise BadRequest("invalid_phone_code", "This phone code was issued to another user.") from exc
        raise BadGateway("wechat_phone_failed", f"WeChat refused the phone number (errcode {exc.errcode}).") from exc


async def bind(session: AsyncSession, vault: PhoneVault, *, shop_id: int, customer_id: int, code: str) -> PhoneView:
    """Exchange the button's code for the number (checked against our openid) and store it encrypted."""
    payer = await customers.payer(session, shop_id, customer_id)  # the openid from our record, never the client
    info = await _ask_wechat(code, payer.openid)
    try:
        number = e164(info.pure_phone_number, info.country_code)
    except ValueError as exc:
        raise BadGateway("wechat_phone_failed", "WeChat answered a phone number that is not one.") from exc
    masked, now = mask(info.pure_phone_number, info.country_code), clock.now()
    await session.execute(
        text("INSERT INTO customer_phones (shop_id, customer_id, phone_ciphertext, phone_hash, phone_masked, "
             "key_version, bound_at) VALUES (:s, :c, :ct, :h, :m, :v, :now) ON CONFLICT (shop_id, customer_id) "
             "DO UPDATE SET phone_ciphertext = EXCLUDED.phone_ciphertext, phone_hash = EXCLUDED.phone_hash, "
             "phone_masked = EXCLUDED.phone_masked, key_version = EXCLUDED.key_version, bound_at = EXCLUDED.bound_at"),
        {"s": shop_id, "c": customer_id, "ct": vault.encrypt(number, shop_id=shop_id, customer_id=customer_id),
         "h": vault.lookup_hash(number), "m": masked, "v": KEY_VERSION, "now": now},
    )
    # The same number on two accounts links them (alt-account rings: liebian.customers.links).
    await links.remember(session, shop_id, customer_id, phone_hash=crypto.vault().phone_hash(number))
    log.info("phone number bound for customer %s of shop %s", customer_id, shop_id)
    return PhoneView(phone_masked=masked, bound_at=now)


async def view(session: AsyncSession, shop_id: int, customer_id: int) -> PhoneView:
    row = (await session.execute(
        text("SELECT phone_masked, bound_at FROM customer_phones WHERE shop_id = :s AND customer_id = :c"),
        {"s": shop_id, "c": customer_id})).first()
    return PhoneView(None, None) if row is None else PhoneView(row.phone_masked, row.bound_at)


async def forget(session: AsyncSession, shop_id: int, customer_id: int) -> None:
    """The customer withdraws the number (PIPL art. 47): the row goes, nothing is kept."""
    await session.execute(text("DELETE FROM customer_phones WHERE shop_id = :s AND customer_id = :c"),
                          {"s": shop_id, "c": customer_id})


async def reveal(session: AsyncSession, vault: PhoneVault, shop_id: int, customer_id: int) -> str | None:
    """The number in clear, for a purpose that needs it (delivery, the customer's own account)."""
    row = (await session.execute(
        text("SELECT phone_ciphertext FROM customer_phones WHERE shop_id = :s AND customer_id = :c"),
        {"s": shop_id, "c": customer_id})).first()
    return None if row is None else vault.decrypt(bytes(row.phone_ciphertext), shop_id=shop_id,
                                                  customer_id=customer_id)


async def customers_with_phone(session: AsyncSession, vault: PhoneVault, shop_id: int, pure_number: str,
                               country_code: str = "86") -> list[int]:
    """Who in this shop bound this number: found by its keyed hash, without decrypting anything."""
    try:
        number = e164(pure_number, country_code)
    except ValueError:
        return []
    rows = await session.execute(
        text("SELECT customer_id FROM customer_phones WHERE shop_id = :s AND phone_hash = :h ORDER BY customer_id"),
        {"s": shop_id, "h": vault.lookup_hash(number)})
    return [int(r.customer_id) for r in rows]
