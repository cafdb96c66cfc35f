"""The invariants of content and community, for ``liebian check``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.community.rules import MAX_DEPTH
from liebian.kit.checks import Violation
from liebian.kit.sql import text

LIMIT = 50

# (check name, query returning (shop_id, detail)) — each must return no rows.
_CHECKS: tuple[tuple[str, str], ...] = (
    ("community_like_count_equals_likes",
     "SELECT p.shop_id, format('post %s: like_count %s, likes %s', p.id, p.like_count, count(l.customer_id)) "
     "FROM community_posts p LEFT JOIN community_post_likes l ON l.post_id = p.id GROUP BY p.id "
     "HAVING p.like_count <> count(l.customer_id)"),
    ("community_comment_count_equals_visible_comments",
     "SELECT p.shop_id, format('post %s: comment_count %s, visible comments %s', p.id, p.comment_count, "
     "count(c.id)) FROM community_posts p LEFT JOIN community_comments c ON c.post_id = p.id AND NOT c.hidden "
     "GROUP BY p.id HAVING p.comment_count <> count(c.id)"),
    ("community_report_count_equals_reports",
     "SELECT p.shop_id, format('post %s: report_count %s, reports %s', p.id, p.report_count, count(r.customer_id)) "
     "FROM community_posts p LEFT JOIN community_post_reports r ON r.post_id = p.id GROUP BY p.id "
     "HAVING p.report_count <> count(r.customer_id)"),
    ("community_post_has_its_share",
     "SELECT p.shop_id, format('post %s: share %s (%s) is %s %s of sharer %s in shop %s', p.id, p.share_id, "
     "p.share_code, s.target_type, s.target_id, s.sharer_id, s.shop_id) FROM community_posts p "
     "LEFT JOIN fission_shares s ON s.id = p.share_id WHERE s.id IS NULL OR s.code <> p.share_code "
     "OR s.target_type <> 'post' OR s.target_id <> p.id OR s.shop_id <> p.shop_id "
     "OR s.sharer_id IS DISTINCT FROM p.author_id"),
    ("community_member_count_equals_members",
     "SELECT c.shop_id, format('community %s: member_count %s, active members %s', c.id, c.member_count, "
     "count(m.customer_id)) FROM community_communities c LEFT JOIN community_members m ON m.community_id = c.id "
     "AND m.status = 'active' GROUP BY c.id HAVING c.member_count <> count(m.customer_id)"),
    ("community_owner_is_its_owner_member",
     "SELECT c.shop_id, format('community %s (%s owner %s): %s owner rows', c.id, c.owner_type, c.owner_id, "
     "count(m.customer_id)) FROM community_communities c LEFT JOIN community_members m ON m.community_id = c.id "
     "AND m.role = 'owner' GROUP BY c.id "
     "HAVING count(m.customer_id) <> (CASE WHEN c.owner_id IS NULL THEN 0 ELSE 1 END) "
     "OR bool_or(m.customer_id IS DISTINCT FROM c.owner_id OR m.status <> 'active')"),
    ("community_member_in_its_shop",
     "SELECT m.shop_id, format('community %s member %s: row of shop %s, community of shop %s', c.id, m.customer_id, "
     "m.shop_id, c.shop_id) FROM community_members m JOIN community_communities c ON c.id = m.community_id "
     "WHERE m.shop_id <> c.shop_id"),
    ("community_reply_count_equals_visible_replies",
     "SELECT t.shop_id, format('topic %s: reply_count %s, visible replies %s', t.id, t.reply_count, count(r.id)) "
     "FROM community_topics t LEFT JOIN community_replies r ON r.topic_id = t.id AND NOT r.hidden GROUP BY t.id "
     "HAVING t.reply_count <> count(r.id)"),
    ("community_reply_thread_shape",
     "SELECT r.shop_id, format('reply %s (depth %s, topic %s): parent %s has depth %s, topic %s', r.id, r.depth, "
     "r.topic_id, r.parent_id, p.depth, p.topic_id) FROM community_replies r LEFT JOIN community_replies p "
     f"ON p.id = r.parent_id WHERE r.depth > {MAX_DEPTH} OR (r.parent_id IS NULL) <> (r.depth = 1) "
     "OR (r.parent_id IS NOT NULL AND (p.id IS NULL OR p.topic_id <> r.topic_id OR r.depth <> p.depth + 1))"),
    ("community_rate_counter_within_cap",
     "SELECT shop_id, format('customer %s %s per %s from %s: %s hits, cap %s', customer_id, action, span, started_at, "
     "hits, cap) FROM community_rate_counters WHERE hits > cap"),
    ("community_red_packet_announced",
     "SELECT p.shop_id, format('red packet %s of community %s: community of shop %s, %s announcements', p.id, "
     "p.source_id, c.shop_id, (SELECT count(*) FROM community_announcements a WHERE a.red_packet_id = p.id)) "
     "FROM coupon_red_packets p LEFT JOIN community_communities c ON c.id = p.source_id WHERE p.source = 'community' "
     "AND (c.id IS NULL OR c.shop_id <> p.shop_id OR (SELECT count(*) FROM community_announcements a "
     "WHERE a.red_packet_id = p.id AND a.community_id = p.source_id) <> 1)"),
)


async def violations(session: AsyncSession) -> list[Violation]:
    """Counters equal the rows they count (likes, visible comments, reports, active members, visible replies);
    every post carries its author's share of itself; a promoter community has exactly its owner as owner; threads
    are at most two deep and hang in their own topic; no rate counter over its cap; every community red packet
    belongs to a community of its shop and is announced there once."""
    found: list[Violation] = []
    for name, sql in _CHECKS:
        rows = await session.execute(text(f"{sql} LIMIT {LIMIT}"))
        found += [Violation(name, f"shop {shop_id} {detail}") for shop_id, detail in rows]
    return found
