"""Communities (社群 / 圈子): owned by the shop or an approved promoter; joined openly or by invite code (or its
QR code), left, listed with masked nicknames; roles owner / admin / member; announcements; the shop's
festival red packet.

Membership moves with ``member_count`` in one statement (insert or state change + guarded counter update);
a removed member's row stays ``removed``, so they cannot rejoin with an old invite. The invite code is the
community's own random code (12 characters of a 32-letter alphabet, 60 bits), not a fission share: a
community is not a thing one buys, and joining binds nobody to anyone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.community import rules
from liebian.community.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    CommunityIn,
    CommunityOut,
    CommunityRedPacketIn,
    MemberOut,
    MemberPage,
)
from liebian.coupons import redpackets
from liebian.coupons.schemas import RedPacketOut
from liebian.customers import service as customers
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Forbidden, Invalid, NotFound
from liebian.kit.ids import token
from liebian.kit.money import yuan
from liebian.kit.sql import text
from liebian.shops.service import ShopRef

INVITE_LENGTH = 12
SOURCE = "community"  # the red-packet source of a community's packets
_COLUMNS = ("c.id, c.shop_id, c.owner_type, c.owner_id, c.name, c.description, c.rules, c.join_policy, c.invite_code, "
            "c.member_count, c.created_at")


def community_not_found() -> NotFound:
    return NotFound("community_not_found", "No such community.")


def not_a_member() -> Forbidden:
    return Forbidden("not_a_member", "Join this community first.")


def invite_url(base_url: str, shop: ShopRef, code: str) -> str:
    """What the invite QR code opens: the H5 storefront's join page (the mini-program takes scene ``c=<code>``)."""
    return f"{base_url.rstrip('/')}/s/{shop.slug}/c/{code}"


def out(r: Any, role: str | None, *, base_url: str, shop: ShopRef, console: bool = False) -> CommunityOut:
    sees_code = console or rules.may_announce(role)
    return CommunityOut(id=r.id, owner_type=r.owner_type, name=r.name, description=r.description, rules=r.rules,
                        join=r.join_policy, member_count=r.member_count, created_at=r.created_at, my_role=role,
                        invite_code=r.invite_code if sees_code else None,
                        invite_url=invite_url(base_url, shop, r.invite_code) if sees_code else None)


async def create(session: AsyncSession, shop_id: int, owner_id: int | None,
                 body: CommunityIn) -> tuple[Any, str | None]:
    """The promoter who creates one is its owner and first member; a shop's community starts empty."""
    name = rules.clean_text(body.name)
    if not name:
        raise Invalid("name_required", "A community needs a name.")
    for _ in range(5):  # an invite code collision (2^60 space) is retried with a new code
        try:
            async with session.begin_nested():
                row = (await session.execute(text(
                    "WITH c AS (INSERT INTO community_communities (shop_id, owner_type, owner_id, name, description, "
                    "rules, join_policy, invite_code, member_count, created_at) VALUES (:s, :type, :owner, :name, "
                    ":description, :rules, :join, :code, :members, :now) RETURNING *), "
                    "m AS (INSERT INTO community_members (community_id, customer_id, shop_id, role, status, joined_at) "
                    "SELECT id, owner_id, shop_id, 'owner', 'active', created_at FROM c WHERE owner_id IS NOT NULL) "
                    f"SELECT {_COLUMNS} FROM c"),
                    {"s": shop_id, "type": "shop" if owner_id is None else "promoter", "owner": owner_id,
                     "name": name, "description": rules.clean_text(body.description),
                     "rules": rules.clean_text(body.rules), "join": body.join, "code": token(INVITE_LENGTH),
                     "members": 0 if owner_id is None else 1, "now": clock.now()})).one()
            return row, None if owner_id is None else "owner"
        except IntegrityError:
            continue
    raise RuntimeError("could not draw an unused invite code")


async def row_of(session: AsyncSession, shop_id: int, community_id: int) -> Any:
    r = (await session.execute(text(f"SELECT {_COLUMNS} FROM community_communities c WHERE c.id = :id "
                                    "AND c.shop_id = :s"), {"id": community_id, "s": shop_id})).first()
    if r is None:
        raise community_not_found()
    return r


async def role_of(session: AsyncSession, community_id: int, customer_id: int | None, *, lock: bool = False
                  ) -> str | None:
    """The customer's role as an active member, else None; ``lock`` holds the membership until commit."""
    if customer_id is None:
        return None
    role = (await session.execute(text(
        "SELECT role FROM community_members WHERE community_id = :c AND customer_id = :u AND status = 'active'"
        + (" FOR SHARE" if lock else "")), {"c": community_id, "u": customer_id})).scalar()
    return None if role is None else str(role)


async def visible(session: AsyncSession, shop_id: int, community_id: int,
                  viewer_id: int | None) -> tuple[Any, str | None]:
    """An invite-only community is seen by its members only (others find it through its invite code)."""
    r = await row_of(session, shop_id, community_id)
    role = await role_of(session, community_id, viewer_id)
    if r.join_policy == "invite" and role is None:
        raise community_not_found()
    return r, role


async def member(session: AsyncSession, shop_id: int, community_id: int, customer_id: int) -> tuple[Any, str]:
    """The community and the customer's role in it; 404 if not visible to them, 403 if they must join first."""
    r = await row_of(session, shop_id, community_id)
    role = await role_of(session, community_id, customer_id)
    if role is None:
        raise community_not_found() if r.join_policy == "invite" else not_a_member()
    return r, role


async def is_member(session: AsyncSession, shop_id: int, community_id: int, customer_id: int) -> bool:
    """The red-packet audience of a community: its active members. The row is locked ``FOR SHARE`` so that
    leaving or being removed waits for the claim to commit (never a member's claim by a former member)."""
    return (await session.execute(text(
        "SELECT 1 FROM community_members WHERE community_id = :c AND customer_id = :u AND shop_id = :s "
        "AND status = 'active' FOR SHARE"), {"c": community_id, "u": customer_id, "s": shop_id})).first() is not None


async def listing(session: AsyncSession, shop_id: int, viewer_id: int | None, *, mine: bool, limit: int,
                  offset: int) -> list[tuple[Any, str | None]]:
    """Open communities and the viewer's own, newest first (``mine``: only the viewer's)."""
    rows = (await session.execute(text(
        f"SELECT {_COLUMNS}, m.role FROM community_communities c LEFT JOIN community_members m "
        "ON m.community_id = c.id AND m.customer_id = :v AND m.status = 'active' WHERE c.shop_id = :s AND "
        + ("m.role IS NOT NULL" if mine else "(c.join_policy = 'open' OR m.role IS NOT NULL)")
        + " ORDER BY c.id DESC LIMIT :n OFFSET :o"),
        {"s": shop_id, "v": viewer_id, "n": limit, "o": offset})).all()
    return [(r, r.role) for r in rows]


async def console_listing(session: AsyncSession, shop_id: int, *, limit: int, offset: int) -> list[Any]:
    return list((await session.execute(text(
        f"SELECT {_COLUMNS} FROM community_communities c WHERE c.shop_id = :s ORDER BY c.id DESC LIMIT :n OFFSET :o"),
        {"s": shop_id, "n": limit, "o": offset})).all())


async def by_invite(session: AsyncSession, shop_id: int, code: str) -> Any:
    code = code.strip().upper()
    if not (len(code) == INVITE_LENGTH and code.isalnum()):
        raise NotFound("invite_code_not_found", "No community has this invite code.")
    r = (await session.execute(text(f"SELECT {_COLUMNS} FROM community_communities c WHERE c.invite_code = :code "
                                    "AND c.shop_id = :s"), {"code": code, "s": shop_id})).first()
    if r is None:
        raise NotFound("invite_code_not_found", "No community has this invite code.")
    return r


_JOIN = text(
    "WITH m AS (INSERT INTO community_members (community_id, customer_id, shop_id, role, status, joined_at) "
    "VALUES (:c, :u, :s, 'member', 'active', :now) ON CONFLICT (community_id, customer_id) DO NOTHING "
    "RETURNING community_id), "
    "u AS (UPDATE community_communities SET member_count = member_count + 1 WHERE id IN (SELECT community_id FROM m)) "
    "SELECT count(*) AS joined FROM m")


async def join(session: AsyncSession, shop_id: int, community: Any, customer_id: int) -> tuple[Any, str]:
    """Idempotent for a member; refused to someone an owner or the shop removed."""
    joined = (await session.execute(_JOIN, {"c": community.id, "u": customer_id, "s": shop_id,
                                            "now": clock.now()})).scalar_one()
    if not joined:
        status, role = (await session.execute(text(
            "SELECT status, role FROM community_members WHERE community_id = :c AND customer_id = :u"),
            {"c": community.id, "u": customer_id})).one()
        if status == "removed":
            raise Forbidden("removed_from_community", "You were removed from this community.")
        return await row_of(session, shop_id, community.id), str(role)
    return await row_of(session, shop_id, community.id), "member"


async def join_open(session: AsyncSession, shop_id: int, community_id: int, customer_id: int) -> tuple[Any, str]:
    r = await row_of(session, shop_id, community_id)
    if r.join_policy != "open" and await role_of(session, community_id, customer_id) is None:
        raise community_not_found()  # invite-only: reached through its invite code
    return await join(session, shop_id, r, customer_id)


async def leave(session: AsyncSession, shop_id: int, community_id: int, customer_id: int) -> None:
    """Idempotent; an owner cannot leave their own community."""
    await row_of(session, shop_id, community_id)
    left = (await session.execute(text(
        "WITH m AS (DELETE FROM community_members WHERE community_id = :c AND customer_id = :u AND status = 'active' "
        "AND role <> 'owner' RETURNING community_id) UPDATE community_communities SET member_count = member_count - 1 "
        "WHERE id IN (SELECT community_id FROM m) RETURNING id"), {"c": community_id, "u": customer_id})).first()
    if left is None and await role_of(session, community_id, customer_id) == "owner":
        raise Conflict("owner_cannot_leave", "The owner cannot leave their own community.")


async def members(session: AsyncSession, shop_id: int, community_id: int, *, limit: int, offset: int) -> MemberPage:
    """Owner first, then admins, then members by joining time; nicknames masked, nothing personal."""
    r = await row_of(session, shop_id, community_id)
    rows = (await session.execute(text(
        "SELECT customer_id, role, joined_at FROM community_members WHERE community_id = :c AND status = 'active' "
        "ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, joined_at, customer_id "
        "LIMIT :n OFFSET :o"), {"c": community_id, "n": limit, "o": offset})).all()
    people = await customers.profiles(session, shop_id, [m.customer_id for m in rows])
    items = []
    for m in rows:
        person = people.get(m.customer_id)
        items.append(MemberOut(member_id=m.customer_id, role=m.role, joined_at=m.joined_at,
                               nickname=rules.mask_nickname(person.nickname if person else None),
                               avatar=person.avatar_url if person else None))
    return MemberPage(items=items, total=r.member_count, limit=limit, offset=offset)


async def remove(session: AsyncSession, shop_id: int, community_id: int, target_id: int, *,
                 actor_role: str | None, by_shop: bool = False) -> None:
    """Owners remove admins and members, admins remove members, the shop anyone but a promoter owner."""
    await row_of(session, shop_id, community_id)
    target = await role_of(session, community_id, target_id)
    if target is None:
        raise NotFound("member_not_found", "No such member in this community.")
    if not rules.may_remove(actor_role, target, shop=by_shop):
        raise Forbidden("not_allowed", f"You cannot remove a member whose role is {target}.")
    done = (await session.execute(text(
        "WITH m AS (UPDATE community_members SET status = 'removed', removed_at = :now WHERE community_id = :c "
        "AND customer_id = :u AND status = 'active' AND role = :role RETURNING community_id) "
        "UPDATE community_communities SET member_count = member_count - 1 WHERE id IN (SELECT community_id FROM m) "
        "RETURNING id"), {"now": clock.now(), "c": community_id, "u": target_id, "role": target})).first()
    if done is None:  # they left, or their role changed, in the meantime
        raise Conflict("member_changed", "This member changed meanwhile; look again.")


async def set_role(session: AsyncSession, shop_id: int, community_id: int, target_id: int, role: str, *,
                   actor_role: str | None, by_shop: bool = False) -> MemberOut:
    """Only the owner (or the shop) names admins; an owner's role never changes."""
    await row_of(session, shop_id, community_id)
    if not by_shop and actor_role != "owner":
        raise Forbidden("not_allowed", "Only the owner names admins.")
    changed = (await session.execute(text(
        "UPDATE community_members SET role = :role WHERE community_id = :c AND customer_id = :u AND status = 'active' "
        "AND role <> 'owner' RETURNING customer_id, role, joined_at"),
        {"role": role, "c": community_id, "u": target_id})).first()
    if changed is None:
        if await role_of(session, community_id, target_id) == "owner":
            raise Forbidden("not_allowed", "The owner's role cannot change.")
        raise NotFound("member_not_found", "No such member in this community.")
    person = await customers.get(session, shop_id, target_id)
    return MemberOut(member_id=target_id, role=changed.role, joined_at=changed.joined_at,
                     nickname=rules.mask_nickname(person.nickname), avatar=person.avatar_url)


# --- announcements and red packets ------------------------------------------------------------------------------

_ANNOUNCEMENT = "id, title, body, pinned, author_id, red_packet_code, created_at"


def _announcement(r: Any) -> AnnouncementOut:
    return AnnouncementOut(id=r.id, title=r.title, body=r.body, pinned=r.pinned, by_shop=r.author_id is None,
                           red_packet_code=r.red_packet_code, created_at=r.created_at)


async def announce(session: AsyncSession, shop_id: int, community_id: int, author_id: int | None,
                   body: AnnouncementIn, *, red_packet: tuple[int, str] | None = None) -> AnnouncementOut:
    title = rules.clean_text(body.title)
    if not title:
        raise Invalid("title_required", "An announcement needs a title.")
    r = (await session.execute(text(
        "INSERT INTO community_announcements (shop_id, community_id, author_id, title, body, pinned, red_packet_id, "
        f"red_packet_code, created_at) VALUES (:s, :c, :a, :title, :body, :pinned, :rp, :code, :now) "
        f"RETURNING {_ANNOUNCEMENT}"),
        {"s": shop_id, "c": community_id, "a": author_id, "title": title, "body": rules.clean_text(body.body),
         "pinned": body.pinned, "rp": red_packet[0] if red_packet else None,
         "code": red_packet[1] if red_packet else None, "now": clock.now()})).one()
    return _announcement(r)


async def announcements(session: AsyncSession, shop_id: int, community_id: int, *, limit: int,
                        offset: int) -> list[AnnouncementOut]:
    """Pinned first, newest first."""
    rows = (await session.execute(text(
        f"SELECT {_ANNOUNCEMENT} FROM community_announcements WHERE community_id = :c AND shop_id = :s "
        "ORDER BY pinned DESC, id DESC LIMIT :n OFFSET :o"),
        {"c": community_id, "s": shop_id, "n": limit, "o": offset})).all()
    return [_announcement(r) for r in rows]


async def send_red_packet(session: AsyncSession, shop_id: int, community_id: int,
                          body: CommunityRedPacketIn) -> tuple[AnnouncementOut, RedPacketOut]:
    """The shop's festival packet: split by coupons' red-packet machinery (a packet of source ``community``,
    tied to no order), announced pinned; only members claim (the audience registered in wiring)."""
    await row_of(session, shop_id, community_id)
    packet = await redpackets.grant(session, shop_id, redpackets.Grant(
        source=SOURCE, source_id=community_id, title=body.title, total_fen=body.total_fen, parts=body.parts,
        min_part_fen=body.min_part_fen, claim_hours=body.claim_hours, coupon_valid_days=body.coupon_valid_days,
        coupon_threshold_fen=body.coupon_threshold_fen))
    notice = AnnouncementIn(title=body.title, pinned=True,
                            body=f"¥{yuan(body.total_fen)} 分成 {body.parts} 份，{body.claim_hours} 小时内领取，"
                                 f"领到的是 {body.coupon_valid_days} 天内有效的优惠券。")
    return await announce(session, shop_id, community_id, None, notice, red_packet=(packet.id, packet.code)), packet
