"""Reading the flash sale for ``liebian check``: the invariants that must hold whatever happened."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.flashsale import ports
from liebian.flashsale.stock import GIVE_BACK_TOPIC
from liebian.kit.checks import Violation
from liebian.kit.sql import text

LIMIT = 50


async def violations(session: AsyncSession) -> list[Violation]:
    """Never oversold; an ended slot's units are all sold or given back; ``sold`` and each customer's units equal
    what live flash-sale orders hold; nobody over the limit."""
    found = [Violation("flashsale_never_oversold", f"shop {r.shop_id} flash sale {r.id}: stock {r.stock}, sold "
                       f"{r.sold}, returned {r.returned}, {r.status}")
             for r in await session.execute(text(
                 "SELECT id, shop_id, stock, sold, returned, status FROM flashsale_campaigns WHERE sold < 0 "
                 "OR sold > stock OR returned < 0 OR (status = 'ended' AND sold + returned <> stock) "
                 "OR (status = 'active' AND returned <> 0) LIMIT :n"), {"n": LIMIT})]
    found += [Violation("flashsale_within_limit", f"shop {r.shop_id} flash sale {r.campaign_id}: customer "
                        f"{r.customer_id} holds {r.bought}, limit {r.per_customer_limit}")
              for r in await session.execute(text(
                  "SELECT b.shop_id, b.campaign_id, b.customer_id, b.bought, c.per_customer_limit "
                  "FROM flashsale_buyers b "
                  "JOIN flashsale_campaigns c ON c.id = b.campaign_id WHERE b.bought > c.per_customer_limit "
                  "OR b.bought < 0 LIMIT :n"), {"n": LIMIT})]
    return found + await _counts_match_orders(session)


async def _counts_match_orders(session: AsyncSession) -> list[Violation]:
    """``sold`` = units of the slot's live orders, and each customer's units likewise. An order cancelled while
    its campaign was busy gives its unit back through the outbox: until then it still counts."""
    live = await ports.orders.get().live_units(session)
    waiting: defaultdict[tuple[int, int], int] = defaultdict(int)
    for r in await session.execute(text(
            "SELECT e.campaign_id, e.customer_id, e.quantity FROM flashsale_entries e JOIN kit_outbox m "
            "ON m.topic = :t AND m.dedupe_key = 'order:' || e.order_id WHERE e.status = 'ordered' "
            "AND m.done_at IS NULL AND NOT m.dead"), {"t": GIVE_BACK_TOPIC}):
        waiting[(r.campaign_id, r.customer_id)] += r.quantity
    by_customer: defaultdict[tuple[int, int], int] = defaultdict(int)
    for u in live:
        by_customer[(u.campaign_id, u.customer_id)] += u.units
    for key, units in waiting.items():
        by_customer[key] += units
    by_campaign: defaultdict[int, int] = defaultdict(int)
    for (campaign_id, _), units in by_customer.items():
        by_campaign[campaign_id] += units
    found: list[Violation] = []
    for r in await session.execute(text("SELECT id, shop_id, sold FROM flashsale_campaigns")):
        if r.sold != by_campaign.get(r.id, 0) and len(found) < LIMIT:
            found.append(Violation("flashsale_sold_matches_orders", f"shop {r.shop_id} flash sale {r.id}: sold "
                                   f"{r.sold}, live orders hold {by_campaign.get(r.id, 0)}"))
    for r in await session.execute(text("SELECT shop_id, campaign_id, customer_id, bought FROM flashsale_buyers")):
        held = by_customer.pop((r.campaign_id, r.customer_id), 0)
        if r.bought != held and len(found) < LIMIT:
            found.append(Violation("flashsale_buyer_matches_orders", f"shop {r.shop_id} flash sale {r.campaign_id}: "
                                   f"customer {r.customer_id} counted {r.bought}, live orders hold {held}"))
    for (campaign_id, customer_id), held in by_customer.items():
        if held and len(found) < LIMIT:
            found.append(Violation("flashsale_buyer_matches_orders", f"flash sale {campaign_id}: customer "
                                   f"{customer_id} holds {held} in live orders but is not counted"))
    return found
