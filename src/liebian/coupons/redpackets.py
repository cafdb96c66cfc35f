"""Share red packets (分享红包 / 裂变券): a paid order earns its buyer a packet of coupons to share with friends.

The packet is granted by the reaction to ``OrderPaid`` (once per order: a unique index on the order), and its
parts are split right then by the double-mean method, so a claim only takes the next unclaimed part:

- ``UPDATE ... WHERE (packet, part) = (SELECT ... WHERE customer_id IS NULL ORDER BY part_no LIMIT 1
  FOR UPDATE SKIP LOCKED)``: concurrent friends take different parts without waiting for each other, and only
  N part rows exist, so never more than N claims and never one part twice. When every unclaimed part is
  locked by someone mid-claim, the claim waits for them (the same statement without SKIP LOCKED) before
  answering ``red_packet_exhausted``, so a claim that rolls back never makes a friend miss out;
- once per friend and once per device per packet: unique indexes on the parts;
- per-day caps per customer and per device: guarded upserts on a daily counter.

Sharing is never rewarded: the packet is granted for the purchase; anyone with the link can claim a part.
Unclaimed parts expire with the packet (computed from ``expires_at``, nothing to sweep).

Packets not tied to an order (a shop's festival packet sent to a community) are granted by :func:`grant`
with their ``source``; only customers that source's audience check admits may claim them (a module above
registers the check with :func:`register_audience`; without one, nobody may).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.coupons import rules, wallet
from liebian.coupons.schemas import (
    ConsoleOfferOut,
    MyRedPacket,
    OfferIn,
    OfferOut,
    OfferPatch,
    PacketClaimOut,
    PacketClaimResult,
    RedPacketOut,
)
from liebian.customers import links
from liebian.customers import service as customers
from liebian.events import OrderPaid, OrderRefunded
from liebian.kit import audit
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from liebian.kit.ids import token
from liebian.kit.money import yuan
from liebian.kit.sql import text

CODE_LENGTH = 12
OFFER_COLUMNS = ("id, name, total_fen, parts, min_part_fen, min_order_fen, claim_hours, coupon_valid_days, "
                 "coupon_threshold_fen, daily_claims_per_customer, daily_claims_per_device, enabled, created_at, "
                 "updated_at")
PACKET_COLUMNS = ("id, shop_id, code, order_no, customer_id, total_fen, parts, coupon_valid_days, "
                  "coupon_threshold_fen, daily_claims_per_customer, daily_claims_per_device, created_at, expires_at, "
                  "source, source_id, title")
ORDER = "order"
# (session, shop id, source id, customer id) → may this customer claim a part of this source's packet?
Audience = Callable[[AsyncSession, int, int, int], Awaitable[bool]]
_audiences: dict[str, Audience] = {}
_COUPON_NAMES = {ORDER: "分享红包", "community": "社群红包"}


def register_audience(source: str, check: Audience) -> None:
    """Who may claim packets of ``source``. The check runs in the claim's transaction, before the part is taken;
    it may lock what it reads (e.g. the membership row ``FOR SHARE``) so that the answer holds until commit."""
    _audiences[source] = check


def packet_not_found() -> NotFound:
    return NotFound("red_packet_not_found", "No such red packet.")


def offer_not_found() -> NotFound:
    return NotFound("red_packet_offer_not_found", "No such red-packet offer.")


# --- console: offers --------------------------------------------------------------------------------

async def create_offer(session: AsyncSession, shop_id: int, body: OfferIn) -> OfferOut:
    problems = rules.split_problems(body.total_fen, body.parts, body.min_part_fen)
    if problems:
        raise Invalid(*problems[0])
    now = clock.now()
    row = (await session.execute(text(
        "INSERT INTO coupon_red_packet_offers (shop_id, name, total_fen, parts, min_part_fen, min_order_fen, "
        "claim_hours, coupon_valid_days, coupon_threshold_fen, daily_claims_per_customer, daily_claims_per_device, "
        "enabled, created_at, updated_at) VALUES (:s, :name, :total, :parts, :min_part, :min_order, :hours, :days, "
        f":threshold, :per_customer, :per_device, :enabled, :now, :now) RETURNING {OFFER_COLUMNS}"),
        {"s": shop_id, "name": body.name, "total": body.total_fen, "parts": body.parts, "min_part": body.min_part_fen,
         "min_order": body.min_order_fen, "hours": body.claim_hours, "days": body.coupon_valid_days,
         "threshold": body.coupon_threshold_fen, "per_customer": body.daily_claims_per_customer,
         "per_device": body.daily_claims_per_device, "enabled": body.enabled, "now": now})).one()
    return OfferOut(**row._mapping)


async def list_offers(session: AsyncSession, shop_id: int) -> list[OfferOut]:
    rows = await session.execute(text(f"SELECT {OFFER_COLUMNS} FROM coupon_red_packet_offers WHERE shop_id = :s "
                                      "ORDER BY id DESC"), {"s": shop_id})
    return [OfferOut(**r._mapping) for r in rows]


async def set_enabled(session: AsyncSession, shop_id: int, offer_id: int, enabled: bool) -> OfferOut:
    """Packets already granted stay claimable; only new paid orders are affected."""
    row = (await session.execute(text(
        "UPDATE coupon_red_packet_offers SET enabled = :e, updated_at = :now WHERE id = :id AND shop_id = :s "
        f"RETURNING {OFFER_COLUMNS}"), {"e": enabled, "now": clock.now(), "id": offer_id, "s": shop_id})).first()
    if row is None:
        raise offer_not_found()
    return OfferOut(**row._mapping)


async def update_offer(session: AsyncSession, shop_id: int, offer_id: int, body: OfferPatch) -> OfferOut:
    """Any field; the split is checked as a whole. Packets already granted keep the terms they were granted on."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if any(value is None for name, value in changes.items() if name != "name"):
        raise Invalid("invalid_field", "Leave a field out to keep it; only name can be null.")
    current = (await session.execute(text(f"SELECT {OFFER_COLUMNS} FROM coupon_red_packet_offers WHERE id = :id "
                                          "AND shop_id = :s FOR UPDATE"), {"id": offer_id, "s": shop_id})).first()
    if current is None:
        raise offer_not_found()
    merged = dict(current._mapping) | changes
    problems = rules.split_problems(merged["total_fen"], merged["parts"], merged["min_part_fen"])
    if problems:
        raise Invalid(*problems[0])
    if not changes:
        return OfferOut(**current._mapping)
    assignments = ", ".join(f"{name} = :{name}" for name in changes)  # names come from the schema only
    row = (await session.execute(text(
        f"UPDATE coupon_red_packet_offers SET {assignments}, updated_at = :now WHERE id = :id AND shop_id = :s "
        f"RETURNING {OFFER_COLUMNS}"), {**changes, "now": clock.now(), "id": offer_id, "s": shop_id})).one()
    return OfferOut(**row._mapping)


async def console_offers(session: AsyncSession, shop_id: int, *, limit: int, offset: int) -> list[ConsoleOfferOut]:
    """Newest first, each with the packets it granted and the parts friends claimed (two grouped statements)."""
    offers = (await session.execute(text(
        f"SELECT {OFFER_COLUMNS} FROM coupon_red_packet_offers WHERE shop_id = :s ORDER BY id DESC "
        "LIMIT :limit OFFSET :offset"), {"s": shop_id, "limit": limit, "offset": offset})).all()
    ids = [o.id for o in offers]
    granted = {r.offer_id: r for r in await session.execute(text(
        "SELECT offer_id, count(*) AS packets, coalesce(sum(total_fen), 0) AS fen, coalesce(sum(parts), 0) AS parts "
        "FROM coupon_red_packets WHERE shop_id = :s AND offer_id = ANY(:ids) GROUP BY offer_id"),
        {"s": shop_id, "ids": ids})} if ids else {}
    claimed = {r.offer_id: r for r in await session.execute(text(
        "SELECT p.offer_id, count(*) AS parts, coalesce(sum(x.amount_fen), 0) AS fen FROM coupon_red_packets p "
        "JOIN coupon_red_packet_parts x ON x.packet_id = p.id WHERE p.shop_id = :s AND p.offer_id = ANY(:ids) "
        "AND x.customer_id IS NOT NULL GROUP BY p.offer_id"), {"s": shop_id, "ids": ids})} if ids else {}
    found = []
    for o in offers:
        g, c = granted.get(o.id), claimed.get(o.id)
        found.append(ConsoleOfferOut(**o._mapping, packets=g.packets if g else 0, granted_fen=int(g.fen) if g else 0,
                                     parts_total=int(g.parts) if g else 0, parts_claimed=c.parts if c else 0,
                                     claimed_fen=int(c.fen) if c else 0))
    return found


# --- granting ---------------------------------------------------------------------------------------

async def on_order_paid(session: AsyncSession, event: OrderPaid) -> None:
    """The newest enabled offer the order qualifies for grants its buyer one packet (a free order earns none:
    a packet's coupon could otherwise pay for the next order that earns the next packet)."""
    if event.payable_fen <= 0:
        return
    offer = (await session.execute(text(
        f"SELECT {OFFER_COLUMNS} FROM coupon_red_packet_offers WHERE shop_id = :s AND enabled "
        "AND min_order_fen <= :paid ORDER BY id DESC LIMIT 1"),
        {"s": event.shop_id, "paid": event.payable_fen})).first()
    if offer is None:
        return
    amounts = rules.split_double_mean(offer.total_fen, offer.parts, offer.min_part_fen,
                                      random.Random(secrets.randbits(64)))
    now = clock.now()
    await session.execute(text(
        "WITH p AS (INSERT INTO coupon_red_packets (shop_id, offer_id, code, order_id, order_no, customer_id, "
        "total_fen, parts, min_part_fen, coupon_valid_days, coupon_threshold_fen, daily_claims_per_customer, "
        "daily_claims_per_device, created_at, expires_at) VALUES (:s, :offer, :code, :o, :no, :c, :total, :parts, "
        ":min_part, :days, :threshold, :per_customer, :per_device, :now, :expires) ON CONFLICT (order_id) DO NOTHING "
        "RETURNING id) INSERT INTO coupon_red_packet_parts (packet_id, part_no, shop_id, amount_fen) "
        "SELECT p.id, x.n, :s, x.a FROM p, unnest(CAST(:nos AS smallint[]), CAST(:amounts AS bigint[])) AS x(n, a)"),
        {"s": event.shop_id, "offer": offer.id, "code": token(CODE_LENGTH), "o": event.order_id,
         "no": event.order_no, "c": event.customer_id, "total": offer.total_fen, "parts": offer.parts,
         "min_part": offer.min_part_fen, "days": offer.coupon_valid_days, "threshold": offer.coupon_threshold_fen,
         "per_customer": offer.daily_claims_per_customer, "per_device": offer.daily_claims_per_device, "now": now,
         "expires": now + timedelta(hours=offer.claim_hours), "nos": list(range(1, len(amounts) + 1)),
         "amounts": amounts})


async def on_order_refunded(session: AsyncSession, event: OrderRefunded) -> None:
    """A fully refunded order's packet closes: parts already claimed stay with the friends who claimed them."""
    if event.fully_refunded:
        await session.execute(text("UPDATE coupon_red_packets SET expires_at = :now WHERE shop_id = :s "
                                   "AND order_id = :o AND expires_at > :now"),
                              {"now": clock.now(), "s": event.shop_id, "o": event.order_id})


@dataclass(frozen=True)
class Grant:
    """A packet not tied to an order: the shop pays for it, ``source``'s audience claims it."""

    source: str
    source_id: int
    title: str | None
    total_fen: int
    parts: int
    min_part_fen: int
    claim_hours: int
    coupon_valid_days: int
    coupon_threshold_fen: int = 0
    daily_claims_per_customer: int = 20
    daily_claims_per_device: int = 20


async def grant(session: AsyncSession, shop_id: int, g: Grant) -> RedPacketOut:
    """Split and store a packet for ``g.source`` (never ``order``: those come from paid orders only)."""
    if g.source == ORDER or g.source not in _COUPON_NAMES:
        raise ValueError(f"unknown red-packet source {g.source!r}")
    problems = rules.split_problems(g.total_fen, g.parts, g.min_part_fen)
    if problems:
        raise Invalid(*problems[0])
    amounts = rules.split_double_mean(g.total_fen, g.parts, g.min_part_fen, random.Random(secrets.randbits(64)))
    now = clock.now()
    row = (await session.execute(text(
        "WITH p AS (INSERT INTO coupon_red_packets (shop_id, source, source_id, title, code, total_fen, parts, "
        "min_part_fen, coupon_valid_days, coupon_threshold_fen, daily_claims_per_customer, daily_claims_per_device, "
        "created_at, expires_at) VALUES (:s, :source, :source_id, :title, :code, :total, :parts, :min_part, :days, "
        f":threshold, :per_customer, :per_device, :now, :expires) RETURNING {PACKET_COLUMNS}), "
        "split AS (INSERT INTO coupon_red_packet_parts (packet_id, part_no, shop_id, amount_fen) "
        "SELECT p.id, x.n, :s, x.a FROM p, unnest(CAST(:nos AS smallint[]), CAST(:amounts AS bigint[])) AS x(n, a)) "
        "SELECT * FROM p"),
        {"s": shop_id, "source": g.source, "source_id": g.source_id, "title": g.title, "code": token(CODE_LENGTH),
         "total": g.total_fen, "parts": g.parts, "min_part": g.min_part_fen, "days": g.coupon_valid_days,
         "threshold": g.coupon_threshold_fen, "per_customer": g.daily_claims_per_customer,
         "per_device": g.daily_claims_per_device, "now": now, "expires": now + timedelta(hours=g.claim_hours),
         "nos": list(range(1, len(amounts) + 1)), "amounts": amounts})).one()
    return await _page(session, row, None, now)


async def by_source(session: AsyncSession, shop_id: int, source: str, source_id: int, *, limit: int,
                    offset: int) -> list[RedPacketOut]:
    """The packets sent to one source (a community's packets, newest first)."""
    now = clock.now()
    rows = (await session.execute(text(
        f"SELECT {PACKET_COLUMNS} FROM coupon_red_packets WHERE shop_id = :s AND source = :source "
        "AND source_id = :sid ORDER BY id DESC LIMIT :limit OFFSET :offset"),
        {"s": shop_id, "source": source, "sid": source_id, "limit": limit, "offset": offset})).all()
    return [await _page(session, r, None, now) for r in rows]


async def exists(session: AsyncSession, shop_id: int, packet_id: int) -> bool:
    """For shares: ``target_type = "red_packet"`` names a packet of this shop by id."""
    return (await session.execute(text("SELECT 1 FROM coupon_red_packets WHERE id = :id AND shop_id = :s"),
                                  {"id": packet_id, "s": shop_id})).first() is not None


# --- the packet page --------------------------------------------------------------------------------

async def page_path(session: AsyncSession, shop_id: int, packet_id: int) -> str | None:
    """The storefront page of a packet (``rp/<code>``): what a share of it opens."""
    code = (await session.execute(text("SELECT code FROM coupon_red_packets WHERE id = :id AND shop_id = :s"),
                                  {"id": packet_id, "s": shop_id})).scalar_one_or_none()
    return None if code is None else f"rp/{code}"


async def _packet(session: AsyncSession, shop_id: int, code: str) -> Any:
    if not (len(code) == CODE_LENGTH and code.isalnum()):
        raise packet_not_found()
    row = (await session.execute(text(f"SELECT {PACKET_COLUMNS} FROM coupon_red_packets WHERE code = :code "
                                      "AND shop_id = :s"), {"code": code, "s": shop_id})).first()
    if row is None:
        raise packet_not_found()
    return row


async def _page(session: AsyncSession, p: Any, viewer_id: int | None, now: datetime) -> RedPacketOut:
    parts = (await session.execute(text(
        "SELECT part_no, amount_fen, customer_id, claimed_at FROM coupon_red_packet_parts WHERE packet_id = :p "
        "AND customer_id IS NOT NULL ORDER BY claimed_at, part_no"), {"p": p.id})).all()
    people = await customers.profiles(session, p.shop_id, [r.customer_id for r in parts])
    all_claimed, expired = len(parts) == p.parts, p.expires_at <= now
    lucky = rules.luckiest([rules.Claim(r.part_no, r.amount_fen, r.claimed_at) for r in parts],
                           all_claimed=all_claimed, expired=expired)
    claims = []
    for r in parts:
        person = people.get(r.customer_id)
        claims.append(PacketClaimOut(nickname=rules.mask_nickname(person.nickname if person else None),
                                     avatar=person.avatar_url if person else None, amount_fen=r.amount_fen,
                                     claimed_at=r.claimed_at, is_luckiest=r.part_no == lucky))
    mine = next((r.amount_fen for r in parts if viewer_id is not None and r.customer_id == viewer_id), None)
    return RedPacketOut(
        id=p.id, code=p.code, status="finished" if all_claimed else "expired" if expired else "open",
        total_fen=p.total_fen, parts=p.parts, parts_claimed=len(parts), claimed_fen=sum(r.amount_fen for r in parts),
        coupon_valid_days=p.coupon_valid_days, coupon_threshold_fen=p.coupon_threshold_fen, created_at=p.created_at,
        expires_at=p.expires_at, seconds_left=max(0, int((p.expires_at - now).total_seconds())), claims=claims,
        my_amount_fen=mine)


async def page(session: AsyncSession, shop_id: int, code: str, viewer_id: int | None) -> RedPacketOut:
    return await _page(session, await _packet(session, shop_id, code), viewer_id, clock.now())


async def mine(session: AsyncSession, shop_id: int, customer_id: int, *, limit: int, offset: int) -> list[MyRedPacket]:
    """The packets one was granted, newest first, to share."""
    now = clock.now()
    rows = (await session.execute(text(
        f"SELECT {PACKET_COLUMNS} FROM coupon_red_packets WHERE shop_id = :s AND customer_id = :c ORDER BY id DESC "
        "LIMIT :limit OFFSET :offset"), {"s": shop_id, "c": customer_id, "limit": limit, "offset": offset})).all()
    return [MyRedPacket(**(await _page(session, r, customer_id, now)).model_dump(), order_no=r.order_no)
            for r in rows]


# --- claiming ---------------------------------------------------------------------------------------

async def _count_today(session: AsyncSession, shop_id: int, subject: str, cap: int, now: datetime) -> bool:
    """One more claim today for ``subject``, if below ``cap``: a guarded upsert, race-safe."""
    row = (await session.execute(text(
        "INSERT INTO coupon_daily_claims (shop_id, subject, day, claims) VALUES (:s, :subject, :day, 1) "
        "ON CONFLICT (shop_id, subject, day) DO UPDATE SET claims = coupon_daily_claims.claims + 1 "
        "WHERE coupon_daily_claims.claims < :cap RETURNING claims"),
        {"s": shop_id, "subject": subject, "day": rules.shop_day(now), "cap": cap})).first()
    return row is not None


_TAKE_PART = (
    "UPDATE coupon_red_packet_parts p SET customer_id = :c, device_id = :d, claimed_at = :now FROM (SELECT packet_id, "
    "part_no FROM coupon_red_packet_parts WHERE packet_id = :p AND customer_id IS NULL ORDER BY part_no LIMIT 1 "
    "FOR UPDATE{skip}) x WHERE p.packet_id = x.packet_id AND p.part_no = x.part_no RETURNING p.part_no, p.amount_fen")


async def _take_part(session: AsyncSession, packet_id: int, customer_id: int, device_id: str | None,
                     now: datetime) -> Any:
    params = {"c": customer_id, "d": device_id, "now": now, "p": packet_id}
    try:
        async with session.begin_nested():  # a unique violation (a double tap) must not end the transaction
            part = (await session.execute(text(_TAKE_PART.format(skip=" SKIP LOCKED")), params)).first()
            if part is None:  # every free part is being claimed right now: wait for those claims to end
                part = (await session.execute(text(_TAKE_PART.format(skip="")), params)).first()
    except IntegrityError as exc:
        if "device" in str(exc.orig):
            raise device_claimed() from None
        raise already_claimed() from None
    return part


async def _admitted(session: AsyncSession, p: Any, customer_id: int) -> None:
    if p.source == ORDER:
        return  # a buyer's packet is for anyone the link reaches
    check = _audiences.get(p.source)
    if check is None or not await check(session, p.shop_id, p.source_id, customer_id):
        raise Forbidden("red_packet_members_only", "Only members of the community it was sent to can claim this "
                        "red packet.")


async def _refuse_alt_account(session: AsyncSession, p: Any, customer_id: int, device_id: str | None,
                              claimers: list[int]) -> None:
    """One person, one part: not a second part through an alt account (the same device or phone as someone who
    claimed, directly or through one more account), nor a part of their own packet through one."""
    owner = [p.customer_id] if p.customer_id is not None else []
    found = await links.linked(session, p.shop_id, customer_id, [*claimers, *owner], device_id=device_id)
    if not found:
        return
    other, link = min(found.items())
    audit.refusal(session, audit.Event(shop_id=p.shop_id, kind=audit.RING_BLOCKED, reason=f"alt_account_{link}",
                                       actor=f"customer:{customer_id}", target=f"red_packet:{p.id}",
                                       details={"linked_to": other, "linked_by": link,
                                                "owner": other == p.customer_id}))
    raise Conflict("linked_account", "This account is linked to someone who has a part of this red packet or sent "
                   "it (the same device or phone).", linked_by=link)


def already_claimed() -> Conflict:
    return Conflict("red_packet_already_claimed", "You have already claimed a part of this red packet.")


def device_claimed() -> Conflict:
    return Conflict("red_packet_device_claimed", "A part of this red packet was already claimed on this device.")


async def claim(session: AsyncSession, shop_id: int, customer_id: int, code: str,
                device_id: str | None) -> PacketClaimResult:
    now = clock.now()
    p = await _packet(session, shop_id, code)
    seen = (await session.execute(text(
        "SELECT count(*) FILTER (WHERE customer_id IS NULL) AS free, bool_or(customer_id = :c) AS mine, "
        "bool_or(device_id = :d) AS device, array_agg(customer_id) FILTER (WHERE customer_id IS NOT NULL) "
        "AS claimers FROM coupon_red_packet_parts WHERE packet_id = :p"),
        {"p": p.id, "c": customer_id, "d": device_id})).one()
    if seen.mine:
        raise already_claimed()
    if p.expires_at <= now:
        raise Conflict("red_packet_expired", "This red packet has expired.")
    if seen.free == 0:
        raise Conflict("red_packet_exhausted", "Every part of this red packet has been claimed.")
    if seen.device:
        raise device_claimed()
    await _admitted(session, p, customer_id)
    await _refuse_alt_account(session, p, customer_id, device_id, seen.claimers or [])
    if not await _count_today(session, shop_id, f"c:{customer_id}", p.daily_claims_per_customer, now):
        raise TooManyRequests("red_packet_daily_limit", f"At most {p.daily_claims_per_customer} red-packet claims "
                              "a day; come back tomorrow.")
    if device_id is not None and not await _count_today(session, shop_id, f"d:{device_id}",
                                                        p.daily_claims_per_device, now):
        raise TooManyRequests("red_packet_device_daily_limit", "This device has claimed enough red packets today.")
    part = await _take_part(session, p.id, customer_id, device_id, now)
    if part is None:
        raise Conflict("red_packet_exhausted", "Every part of this red packet has been claimed.")
    coupon = await wallet.insert(session, wallet.NewCoupon(
        shop_id=shop_id, customer_id=customer_id, name=f"{_COUPON_NAMES[p.source]} ¥{yuan(part.amount_fen)}",
        terms=rules.Terms(kind="fixed", amount_fen=part.amount_fen, threshold_fen=p.coupon_threshold_fen),
        scope_type="shop", scope_ids=[], stackable=False, valid_from=now,
        valid_to=now + timedelta(days=p.coupon_valid_days), red_packet_id=p.id, part_no=part.part_no), now)
    packet = await _page(session, p, customer_id, now)
    return PacketClaimResult(amount_fen=part.amount_fen, coupon=coupon, packet=packet)
