"""Posts (图文 / short-video links) by the shop or its promoters, linking the shop's products; likes, comments,
reports, and the console's moderation.

Every post is born with its author's share of target ``post`` on channel ``community`` (the shop's own, with
no sharer, for a shop post). A viewer's ``POST visits {share_code}`` may bind them to the author under the
shop's binding policy, and their orders are attributed to the post (by that code or by last-visit
attribution); distribution then pays the author's commission like any promoter's. Nothing here pays for
views or likes: only real sales earn (WeChat's rules on induced sharing).

Counters move in the statement that writes the row they count: a like is ``INSERT ... ON CONFLICT DO
NOTHING`` (the primary key is once per customer) whose inserted row alone moves ``like_count``, so thirty
friends liking at once count thirty and a double tap counts once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.catalog import service as catalog
from liebian.community import guard, rules
from liebian.community.schemas import (
    Author,
    CommentOut,
    ConsoleCommentOut,
    ConsoleCommentPage,
    ConsolePostOut,
    ConsolePostPage,
    ConsoleReportOut,
    LikeOut,
    PostIn,
    PostOut,
    PostPage,
    ReportOut,
)
from liebian.customers import service as customers
from liebian.distribution import promoters
from liebian.fission import shares
from liebian.fission.rules import Channel, TargetType
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Forbidden, Invalid, NotFound
from liebian.kit.sql import text
from liebian.shops.service import ShopRef

_COLUMNS = ("p.id, p.author_type, p.author_id, p.title, p.body, p.images, p.video_url, p.product_ids, p.share_code, "
            "p.like_count, p.comment_count, p.report_count, p.hidden, p.hidden_at, p.created_at, p.reports_reviewed, "
            "p.reviewed_at")


def post_not_found() -> NotFound:
    return NotFound("post_not_found", "No such post.")


async def ensure_promoter(session: AsyncSession, shop_id: int, customer_id: int) -> None:
    """Only an approved promoter writes posts and owns communities: their sales through them earn commission."""
    settings = await promoters.settings_of(session, shop_id)
    row = await promoters.ensure_code(session, shop_id, customer_id) if settings.enabled else None
    if row is None or row.status != "active":
        raise Forbidden("not_a_promoter", "Only the shop's approved promoters can do this.")


async def _check_products(session: AsyncSession, shop_id: int, product_ids: list[int]) -> list[int]:
    """This shop's published products, each named once, in the order given."""
    unique = list(dict.fromkeys(product_ids))
    for product_id in unique:  # at most nine
        try:
            await catalog.get_product(session, shop_id, product_id, public=True)
        except NotFound:
            raise Invalid("product_not_found", f"No product {product_id} on sale in this shop.",
                          product_id=product_id) from None
    return unique


async def create(session: AsyncSession, shop: ShopRef, author_id: int | None, body: PostIn) -> PostOut:
    """A shop post (``author_id`` None, from the console) or a promoter's (after :func:`ensure_promoter`)."""
    title, text_body = rules.clean_text(body.title), rules.clean_text(body.body)
    if not title:
        raise Invalid("title_required", "A post needs a title.")
    if author_id is not None:
        await guard.writer(session, shop.id, author_id, "post")
    product_ids = await _check_products(session, shop.id, body.product_ids)
    row = (await session.execute(text(
        "INSERT INTO community_posts (shop_id, author_type, author_id, title, body, images, video_url, product_ids, "
        "created_at) VALUES (:s, :type, :author, :title, :body, CAST(:images AS jsonb), :video, "
        "CAST(:products AS bigint[]), :now) RETURNING id"),
        {"s": shop.id, "type": "shop" if author_id is None else "promoter", "author": author_id, "title": title,
         "body": text_body, "images": json.dumps(body.images, ensure_ascii=False), "video": body.video_url,
         "products": product_ids, "now": clock.now()})).one()
    share = await shares.create(session, shop_id=shop.id, sharer_id=author_id, target_type=TargetType.POST,
                                target_id=row.id, channel=Channel.COMMUNITY, campaign=None, parent_code=None)
    await session.execute(text("UPDATE community_posts SET share_id = :sid, share_code = :code WHERE id = :id"),
                          {"sid": share.id, "code": share.code, "id": row.id})
    return await get(session, shop, row.id, viewer_id=author_id)


async def exists(session: AsyncSession, shop_id: int, post_id: int) -> bool:
    """For shares: ``target_type = "post"`` names a visible post of this shop."""
    return (await session.execute(text("SELECT 1 FROM community_posts WHERE id = :id AND shop_id = :s AND NOT hidden"),
                                  {"id": post_id, "s": shop_id})).first() is not None


async def _authors(session: AsyncSession, shop: ShopRef, rows: Sequence[Any]) -> dict[int, str]:
    people = await customers.profiles(session, shop.id, sorted({r.author_id for r in rows if r.author_id}))
    return {cid: person.nickname for cid, person in people.items()}


def _out(shop: ShopRef, r: Any, names: dict[int, str], liked: bool | None) -> PostOut:
    author = Author(type=r.author_type, id=r.author_id,
                    nickname=shop.name if r.author_id is None else names.get(r.author_id, ""))
    return PostOut(id=r.id, author=author, title=r.title, body=r.body, images=r.images, video_url=r.video_url,
                   product_ids=list(r.product_ids), share_code=r.share_code, like_count=r.like_count,
                   comment_count=r.comment_count, liked=liked, hidden=r.hidden, created_at=r.created_at)


def _liked_column(viewer_id: int | None) -> str:
    if viewer_id is None:
        return "NULL::boolean AS liked"
    return ("EXISTS (SELECT 1 FROM community_post_likes l WHERE l.post_id = p.id AND l.customer_id = :viewer) "
            "AS liked")


async def get(session: AsyncSession, shop: ShopRef, post_id: int, *, viewer_id: int | None) -> PostOut:
    """A hidden post answers 404, except to its author (who sees it flagged ``hidden``)."""
    r = (await session.execute(text(
        f"SELECT {_COLUMNS}, {_liked_column(viewer_id)} FROM community_posts p WHERE p.id = :id AND p.shop_id = :s"),
        {"id": post_id, "s": shop.id, "viewer": viewer_id})).first()
    if r is None or (r.hidden and (viewer_id is None or r.author_id != viewer_id)):
        raise post_not_found()
    return _out(shop, r, await _authors(session, shop, [r]), r.liked)


async def feed(session: AsyncSession, shop: ShopRef, *, viewer_id: int | None, product_id: int | None,
               author_id: int | None, author_type: str | None, before: int | None, limit: int) -> PostPage:
    """Newest first, by keyset (``before`` = the last id seen). Hidden posts only reach their own author."""
    clauses = ["p.shop_id = :s", "(NOT p.hidden OR p.author_id = :viewer)" if viewer_id else "NOT p.hidden"]
    params: dict[str, Any] = {"s": shop.id, "viewer": viewer_id, "n": limit + 1}
    if before is not None:
        clauses.append("p.id < :before")
        params["before"] = before
    if product_id is not None:
        clauses.append("p.product_ids @> ARRAY[CAST(:product AS bigint)]")
        params["product"] = product_id
    if author_id is not None:
        clauses.append("p.author_id = :author")
        params["author"] = author_id
    if author_type is not None:
        clauses.append("p.author_type = :atype")
        params["atype"] = author_type
    rows = (await session.execute(text(
        f"SELECT {_COLUMNS}, {_liked_column(viewer_id)} FROM community_posts p WHERE {' AND '.join(clauses)} "
        "ORDER BY p.id DESC LIMIT :n"), params)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    names = await _authors(session, shop, rows)
    return PostPage(items=[_out(shop, r, names, r.liked) for r in rows],
                    next_before=rows[-1].id if more and rows else None)


# --- likes -------------------------------------------------------------------------------------------------

_LIKE = text(
    "WITH p AS (SELECT id, like_count FROM community_posts WHERE id = :p AND shop_id = :s AND NOT hidden), "
    "l AS (INSERT INTO community_post_likes (post_id, customer_id, shop_id, created_at) SELECT id, :c, :s, :now FROM p "
    "ON CONFLICT (post_id, customer_id) DO NOTHING RETURNING post_id), "
    "u AS (UPDATE community_posts SET like_count = like_count + 1 WHERE id IN (SELECT post_id FROM l) "
    "RETURNING like_count) "
    "SELECT (SELECT id FROM p) AS found, coalesce((SELECT like_count FROM u), (SELECT like_count FROM p)) AS n")
_UNLIKE = text(
    "WITH p AS (SELECT id, like_count FROM community_posts WHERE id = :p AND shop_id = :s AND NOT hidden), "
    "l AS (DELETE FROM community_post_likes WHERE post_id IN (SELECT id FROM p) AND customer_id = :c "
    "RETURNING post_id), "
    "u AS (UPDATE community_posts SET like_count = like_count - 1 WHERE id IN (SELECT post_id FROM l) "
    "AND like_count > 0 RETURNING like_count) "
    "SELECT (SELECT id FROM p) AS found, coalesce((SELECT like_count FROM u), (SELECT like_count FROM p)) AS n")


async def like(session: AsyncSession, shop_id: int, customer_id: int, post_id: int, *, on: bool) -> LikeOut:
    """Idempotent: liking twice leaves one like; unliking what one does not like changes nothing. One statement."""
    row = (await session.execute(_LIKE if on else _UNLIKE,
                                 {"p": post_id, "s": shop_id, "c": customer_id, "now": clock.now()})).one()
    if row.found is None:
        raise post_not_found()
    return LikeOut(post_id=post_id, liked=on, like_count=row.n)


# --- comments ----------------------------------------------------------------------------------------------

_COMMENT = text(
    "WITH c AS (INSERT INTO community_comments (shop_id, post_id, customer_id, body, created_at) "
    "SELECT :s, id, :c, :body, :now FROM community_posts WHERE id = :p AND shop_id = :s AND NOT hidden "
    "RETURNING id, post_id, created_at), "
    "u AS (UPDATE community_posts SET comment_count = comment_count + 1 WHERE id IN (SELECT post_id FROM c)) "
    "SELECT id, created_at FROM c")


async def comment(session: AsyncSession, shop_id: int, customer_id: int, post_id: int, body: str) -> CommentOut:
    text_body = rules.clean_text(body)
    if not text_body:
        raise Invalid("body_required", "A comment needs some text.")
    await guard.writer(session, shop_id, customer_id, "comment")
    row = (await session.execute(_COMMENT, {"s": shop_id, "c": customer_id, "p": post_id, "body": text_body,
                                            "now": clock.now()})).first()
    if row is None:
        raise post_not_found()
    person = await customers.get(session, shop_id, customer_id)
    return CommentOut(id=row.id, post_id=post_id, nickname=rules.mask_nickname(person.nickname),
                      avatar=person.avatar_url, mine=True, body=text_body, created_at=row.created_at)


async def comments(session: AsyncSession, shop: ShopRef, post_id: int, *, viewer_id: int | None,
                   console: bool = False, limit: int, offset: int) -> list[CommentOut]:
    """Oldest first. Hidden comments vanish for customers; the console sees them flagged."""
    if not console:
        await get(session, shop, post_id, viewer_id=viewer_id)  # 404 for a hidden or other shop's post
    rows = (await session.execute(text(
        "SELECT id, customer_id, body, hidden, created_at FROM community_comments WHERE post_id = :p AND shop_id = :s "
        f"{'' if console else 'AND NOT hidden'} ORDER BY id LIMIT :n OFFSET :o"),
        {"p": post_id, "s": shop.id, "n": limit, "o": offset})).all()
    people = await customers.profiles(session, shop.id, sorted({r.customer_id for r in rows}))
    out = []
    for r in rows:
        person = people.get(r.customer_id)
        out.append(CommentOut(id=r.id, post_id=post_id, body=r.body, hidden=r.hidden, created_at=r.created_at,
                              nickname=rules.mask_nickname(person.nickname if person else None),
                              avatar=person.avatar_url if person else None,
                              mine=viewer_id is not None and r.customer_id == viewer_id))
    return out


# --- reports -----------------------------------------------------------------------------------------------

_REPORT = text(
    "WITH p AS (SELECT id FROM community_posts WHERE id = :p AND shop_id = :s AND NOT hidden), "
    "r AS (INSERT INTO community_post_reports (post_id, customer_id, shop_id, reason, created_at) "
    "SELECT id, :c, :s, :reason, :now FROM p ON CONFLICT (post_id, customer_id) DO NOTHING "
    "RETURNING post_id, created_at), "
    "u AS (UPDATE community_posts SET report_count = report_count + 1 WHERE id IN (SELECT post_id FROM r)) "
    "SELECT (SELECT id FROM p) AS found, (SELECT created_at FROM r) AS reported_at")


async def report(session: AsyncSession, shop_id: int, customer_id: int, post_id: int, reason: str) -> ReportOut:
    """Once per customer per post (the primary key decides)."""
    reason = rules.clean_text(reason)
    if not reason:
        raise Invalid("reason_required", "Say why you report this post.")
    row = (await session.execute(_REPORT, {"p": post_id, "s": shop_id, "c": customer_id, "reason": reason,
                                           "now": clock.now()})).one()
    if row.found is None:
        raise post_not_found()
    if row.reported_at is None:
        raise Conflict("already_reported", "You have already reported this post.")
    return ReportOut(post_id=post_id, reason=reason, created_at=row.reported_at)


# --- console -----------------------------------------------------------------------------------------------

def _console_out(shop: ShopRef, r: Any, names: dict[int, str]) -> ConsolePostOut:
    return ConsolePostOut(**_out(shop, r, names, None).model_dump(), report_count=r.report_count,
                          hidden_at=r.hidden_at, reports_reviewed=r.reports_reviewed, reviewed_at=r.reviewed_at,
                          awaiting_review=not r.hidden and r.report_count > r.reports_reviewed)


async def console_list(session: AsyncSession, shop: ShopRef, *, reported: bool | None, hidden: bool | None,
                       author_id: int | None, limit: int, offset: int,
                       awaiting_review: bool | None = None) -> ConsolePostPage:
    """Every post; ``reported=true`` lists reported ones, the most reported first; ``awaiting_review=true`` the
    visible ones with reports not yet reviewed, the most unreviewed reports first."""
    clauses, params = ["p.shop_id = :s"], {"s": shop.id, "n": limit, "o": offset}
    if awaiting_review is not None:
        pending = "(NOT p.hidden AND p.report_count > p.reports_reviewed)"
        clauses.append(pending if awaiting_review else f"NOT {pending}")
    if reported is not None:
        clauses.append("p.report_count > 0" if reported else "p.report_count = 0")
    if hidden is not None:
        clauses.append("p.hidden" if hidden else "NOT p.hidden")
    if author_id is not None:
        clauses.append("p.author_id = :author")
        params["author"] = author_id
    where = " AND ".join(clauses)
    order = ("p.report_count - p.reports_reviewed DESC, p.id DESC" if awaiting_review
             else "p.report_count DESC, p.id DESC" if reported else "p.id DESC")
    total = int((await session.execute(text(f"SELECT count(*) FROM community_posts p WHERE {where}"), params))
                .scalar_one())
    rows = (await session.execute(text(f"SELECT {_COLUMNS}, NULL::boolean AS liked FROM community_posts p "
                                       f"WHERE {where} ORDER BY {order} LIMIT :n OFFSET :o"), params)).all()
    names = await _authors(session, shop, rows)
    items = [_console_out(shop, r, names) for r in rows]
    return ConsolePostPage(items=items, total=total, limit=limit, offset=offset)


async def console_get(session: AsyncSession, shop: ShopRef, post_id: int) -> ConsolePostOut:
    r = (await session.execute(text(f"SELECT {_COLUMNS} FROM community_posts p WHERE p.id = :id AND p.shop_id = :s"),
                               {"id": post_id, "s": shop.id})).first()
    if r is None:
        raise post_not_found()
    return _console_out(shop, r, await _authors(session, shop, [r]))


async def set_hidden(session: AsyncSession, shop: ShopRef, post_id: int, hidden: bool) -> ConsolePostOut:
    """Idempotent. A hidden post leaves every feed and answers 404 to all but its author; its share code still
    records visits (links already sent keep working), but it cannot be shared again."""
    await session.execute(text(
        "UPDATE community_posts SET hidden = :h, hidden_at = CASE WHEN :h THEN CAST(:now AS timestamptz) END "
        "WHERE id = :id AND shop_id = :s AND hidden <> :h"), {"h": hidden, "now": clock.now(), "id": post_id,
                                                               "s": shop.id})
    return await console_get(session, shop, post_id)


async def console_reports(session: AsyncSession, shop_id: int, post_id: int, *, limit: int,
                          offset: int) -> list[ConsoleReportOut]:
    rows = (await session.execute(text(
        "SELECT post_id, customer_id, reason, created_at FROM community_post_reports WHERE post_id = :p "
        "AND shop_id = :s ORDER BY created_at DESC LIMIT :n OFFSET :o"),
        {"p": post_id, "s": shop_id, "n": limit, "o": offset})).all()
    return [ConsoleReportOut(**r._mapping) for r in rows]


async def set_comment_hidden(session: AsyncSession, shop_id: int, comment_id: int, hidden: bool) -> CommentOut:
    """Idempotent; the post's ``comment_count`` counts visible comments and moves in the same statement."""
    await session.execute(text(
        "WITH c AS (UPDATE community_comments SET hidden = :h WHERE id = :id AND shop_id = :s AND hidden <> :h "
        "RETURNING post_id) UPDATE community_posts SET comment_count = comment_count + CASE WHEN :h THEN -1 ELSE 1 "
        "END WHERE id IN (SELECT post_id FROM c)"), {"h": hidden, "id": comment_id, "s": shop_id})
    r = (await session.execute(text(
        "SELECT id, post_id, customer_id, body, hidden, created_at FROM community_comments WHERE id = :id "
        "AND shop_id = :s"), {"id": comment_id, "s": shop_id})).first()
    if r is None:
        raise NotFound("comment_not_found", "No such comment.")
    person = await customers.get(session, shop_id, r.customer_id)
    return CommentOut(id=r.id, post_id=r.post_id, nickname=person.nickname, avatar=person.avatar_url, body=r.body,
                      hidden=r.hidden, created_at=r.created_at)


# --- console: review and the comments list (console-marketing) -----------------------------------------

async def approve(session: AsyncSession, shop: ShopRef, post_id: int) -> ConsolePostOut:
    """The console keeps the post: it is (again) visible and its reports so far are reviewed; it awaits review
    again only when new reports come in. Idempotent."""
    now = clock.now()
    await session.execute(text(
        "UPDATE community_posts SET hidden = false, hidden_at = NULL, reports_reviewed = report_count, "
        "reviewed_at = :now WHERE id = :id AND shop_id = :s"), {"now": now, "id": post_id, "s": shop.id})
    return await console_get(session, shop, post_id)


async def console_comments(session: AsyncSession, shop_id: int, *, hidden: bool | None, post_id: int | None,
                           limit: int, offset: int) -> ConsoleCommentPage:
    """The shop's comments, newest first, with their post's title and their author (unmasked: the console)."""
    clauses, params = ["c.shop_id = :s"], {"s": shop_id, "n": limit, "o": offset}
    if hidden is not None:
        clauses.append("c.hidden" if hidden else "NOT c.hidden")
    if post_id is not None:
        clauses.append("c.post_id = :post")
        params["post"] = post_id
    where = " AND ".join(clauses)
    total = int((await session.execute(text(f"SELECT count(*) FROM community_comments c WHERE {where}"), params))
                .scalar_one())
    rows = (await session.execute(text(
        "SELECT c.id, c.post_id, p.title AS post_title, c.customer_id, c.body, c.hidden, c.created_at "
        f"FROM community_comments c JOIN community_posts p ON p.id = c.post_id WHERE {where} "
        "ORDER BY c.id DESC LIMIT :n OFFSET :o"), params)).all()
    people = await customers.profiles(session, shop_id, sorted({r.customer_id for r in rows}))
    return ConsoleCommentPage(items=[ConsoleCommentOut(
        **r._mapping, nickname=people[r.customer_id].nickname if r.customer_id in people else "") for r in rows],
        total=total, limit=limit, offset=offset)
