"""Topics and threaded replies inside a community (members only); the shop hides any of them.

A reply answers the topic (depth 1) or a reply (depth 2, the deepest: ``rules.reply_depth``). ``reply_count``
counts visible replies and moves in the statement that inserts or hides one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.community import communities, guard, rules
from liebian.community.schemas import ReplyIn, ReplyOut, TopicDetail, TopicIn, TopicOut, TopicPage
from liebian.customers import service as customers
from liebian.customers.service import CustomerView
from liebian.kit.clock import clock
from liebian.kit.errors import Invalid, NotFound
from liebian.kit.sql import text

_TOPIC = "t.id, t.community_id, t.customer_id, t.title, t.body, t.reply_count, t.hidden, t.created_at"


def topic_not_found() -> NotFound:
    return NotFound("topic_not_found", "No such topic.")


def reply_not_found() -> NotFound:
    return NotFound("reply_not_found", "No such reply in this topic.")


def _topic(r: Any, people: dict[int, CustomerView]) -> TopicOut:
    person = people.get(r.customer_id)
    return TopicOut(id=r.id, community_id=r.community_id, title=r.title, body=r.body, reply_count=r.reply_count,
                    created_at=r.created_at, nickname=rules.mask_nickname(person.nickname if person else None),
                    avatar=person.avatar_url if person else None)


async def create(session: AsyncSession, shop_id: int, community_id: int, customer_id: int, body: TopicIn) -> TopicOut:
    await communities.member(session, shop_id, community_id, customer_id)
    title = rules.clean_text(body.title)
    if not title:
        raise Invalid("title_required", "A topic needs a title.")
    await guard.writer(session, shop_id, customer_id, "topic")
    r = (await session.execute(text(
        "INSERT INTO community_topics AS t (shop_id, community_id, customer_id, title, body, created_at) "
        f"VALUES (:s, :c, :u, :title, :body, :now) RETURNING {_TOPIC}"),
        {"s": shop_id, "c": community_id, "u": customer_id, "title": title, "body": rules.clean_text(body.body),
         "now": clock.now()})).one()
    return _topic(r, await customers.profiles(session, shop_id, [customer_id]))


async def listing(session: AsyncSession, shop_id: int, community_id: int, customer_id: int | None, *,
                  before: int | None, limit: int, console: bool = False) -> TopicPage:
    """Newest first by keyset; members only (the console sees every topic, hidden ones too)."""
    if not console:
        assert customer_id is not None
        await communities.member(session, shop_id, community_id, customer_id)
    else:
        await communities.row_of(session, shop_id, community_id)
    rows = (await session.execute(text(
        f"SELECT {_TOPIC} FROM community_topics t WHERE t.community_id = :c AND t.shop_id = :s "
        f"{'' if console else 'AND NOT t.hidden'} AND (CAST(:before AS bigint) IS NULL OR t.id < :before) "
        "ORDER BY t.id DESC LIMIT :n"), {"c": community_id, "s": shop_id, "before": before, "n": limit + 1})).all()
    more, rows = len(rows) > limit, rows[:limit]
    people = await customers.profiles(session, shop_id, sorted({r.customer_id for r in rows}))
    return TopicPage(items=[_topic(r, people) for r in rows], next_before=rows[-1].id if more and rows else None)


async def _visible_topic(session: AsyncSession, shop_id: int, topic_id: int) -> Any:
    r = (await session.execute(text(f"SELECT {_TOPIC} FROM community_topics t WHERE t.id = :id AND t.shop_id = :s "
                                    "AND NOT t.hidden"), {"id": topic_id, "s": shop_id})).first()
    if r is None:
        raise topic_not_found()
    return r


async def detail(session: AsyncSession, shop_id: int, topic_id: int, customer_id: int) -> TopicDetail:
    """The topic and its visible replies, threaded (a hidden reply takes its answers with it)."""
    t = await _visible_topic(session, shop_id, topic_id)
    await communities.member(session, shop_id, t.community_id, customer_id)
    rows = (await session.execute(text(
        "SELECT id, parent_id, depth, customer_id, body, created_at FROM community_replies WHERE topic_id = :t "
        "AND NOT hidden ORDER BY id LIMIT 500"), {"t": topic_id})).all()
    people = await customers.profiles(session, shop_id, sorted({r.customer_id for r in rows} | {t.customer_id}))
    by_id = {r.id: r for r in rows}

    def build(node: rules.Node) -> ReplyOut:
        r = by_id[node.id]
        person = people.get(r.customer_id)
        return ReplyOut(id=r.id, parent_id=r.parent_id, depth=r.depth, body=r.body, created_at=r.created_at,
                        nickname=rules.mask_nickname(person.nickname if person else None),
                        avatar=person.avatar_url if person else None, replies=[build(c) for c in node.children])

    tree = rules.thread([(r.id, r.parent_id) for r in rows])
    return TopicDetail(**_topic(t, people).model_dump(), replies=[build(n) for n in tree])


_REPLY = text(
    "WITH r AS (INSERT INTO community_replies (shop_id, topic_id, parent_id, depth, customer_id, body, created_at) "
    "SELECT :s, id, :parent, :depth, :u, :body, :now FROM community_topics WHERE id = :t AND shop_id = :s "
    "AND NOT hidden RETURNING id, topic_id, created_at), "
    "u AS (UPDATE community_topics SET reply_count = reply_count + 1 WHERE id IN (SELECT topic_id FROM r)) "
    "SELECT id, created_at FROM r")


async def reply(session: AsyncSession, shop_id: int, topic_id: int, customer_id: int, body: ReplyIn) -> ReplyOut:
    t = await _visible_topic(session, shop_id, topic_id)
    await communities.member(session, shop_id, t.community_id, customer_id)
    text_body = rules.clean_text(body.body)
    if not text_body:
        raise Invalid("body_required", "A reply needs some text.")
    parent_depth = None
    if body.parent_id is not None:
        parent = (await session.execute(text(
            "SELECT depth FROM community_replies WHERE id = :id AND topic_id = :t AND shop_id = :s AND NOT hidden"),
            {"id": body.parent_id, "t": topic_id, "s": shop_id})).first()
        if parent is None:
            raise reply_not_found()
        parent_depth = parent.depth
    try:
        depth = rules.reply_depth(parent_depth)
    except rules.TooDeep as exc:
        raise Invalid("thread_too_deep", str(exc), max_depth=rules.MAX_DEPTH) from None
    await guard.writer(session, shop_id, customer_id, "reply")
    r = (await session.execute(_REPLY, {"s": shop_id, "t": topic_id, "parent": body.parent_id, "depth": depth,
                                        "u": customer_id, "body": text_body, "now": clock.now()})).first()
    if r is None:
        raise topic_not_found()
    person = await customers.get(session, shop_id, customer_id)
    return ReplyOut(id=r.id, parent_id=body.parent_id, depth=depth, body=text_body, created_at=r.created_at,
                    nickname=rules.mask_nickname(person.nickname), avatar=person.avatar_url)


# --- moderation (console) ----------------------------------------------------------------------------------

async def set_topic_hidden(session: AsyncSession, shop_id: int, topic_id: int, hidden: bool) -> dict[str, Any]:
    r = (await session.execute(text(
        "UPDATE community_topics SET hidden = :h WHERE id = :id AND shop_id = :s RETURNING id, community_id, hidden"),
        {"h": hidden, "id": topic_id, "s": shop_id})).first()
    if r is None:
        raise topic_not_found()
    return dict(r._mapping)


async def set_reply_hidden(session: AsyncSession, shop_id: int, reply_id: int, hidden: bool) -> dict[str, Any]:
    """Idempotent; the topic's ``reply_count`` (visible replies) moves in the same statement."""
    await session.execute(text(
        "WITH r AS (UPDATE community_replies SET hidden = :h WHERE id = :id AND shop_id = :s AND hidden <> :h "
        "RETURNING topic_id) UPDATE community_topics SET reply_count = reply_count + CASE WHEN :h THEN -1 ELSE 1 END "
        "WHERE id IN (SELECT topic_id FROM r)"), {"h": hidden, "id": reply_id, "s": shop_id})
    r = (await session.execute(text("SELECT id, topic_id, hidden FROM community_replies WHERE id = :id "
                                    "AND shop_id = :s"), {"id": reply_id, "s": shop_id})).first()
    if r is None:
        raise NotFound("reply_not_found", "No such reply.")
    return dict(r._mapping)
