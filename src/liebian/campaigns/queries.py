"""Invariants of campaigns for ``liebian check``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.checks import Violation
from liebian.kit.sql import text

LIMIT = 50


async def violations(session: AsyncSession) -> list[Violation]:
    """Spend is never negative and only on days its campaign (of the same shop) ran; every landing code is a
    shop-owned share of its campaign's shop, channel and key; every shop's search code is a finished search
    share."""
    found = [Violation("campaign_spend_valid", f"shop {r.shop_id} campaign {r.campaign_id} on {r.day}: {r.problem}")
             for r in await session.execute(text(
                 "SELECT p.shop_id, p.campaign_id, p.day, CASE WHEN c.id IS NULL OR c.shop_id <> p.shop_id "
                 "THEN 'no such campaign in this shop' WHEN p.amount_fen < 0 THEN 'negative spend ' || p.amount_fen "
                 "ELSE 'outside the campaign''s dates' END AS problem FROM campaign_spend p "
                 "LEFT JOIN campaigns c ON c.id = p.campaign_id WHERE c.id IS NULL OR c.shop_id <> p.shop_id "
                 "OR p.amount_fen < 0 OR p.day < c.starts_on OR p.day > c.ends_on "
                 f"ORDER BY p.campaign_id, p.day LIMIT {LIMIT}"))]
    found += [Violation("campaign_code_matches", f"shop {r.shop_id} campaign {r.campaign_id} code {r.code}: "
                        "its share is missing or belongs elsewhere")
              for r in await session.execute(text(
                  "SELECT k.shop_id, k.campaign_id, k.code FROM campaign_codes k JOIN campaigns c ON c.id = "
                  "k.campaign_id LEFT JOIN fission_shares s ON s.id = k.share_id WHERE s.id IS NULL "
                  "OR s.shop_id <> k.shop_id OR c.shop_id <> k.shop_id OR s.sharer_id IS NOT NULL "
                  "OR s.channel <> c.channel OR s.campaign IS DISTINCT FROM c.key OR s.code <> k.code "
                  f"ORDER BY k.share_id LIMIT {LIMIT}"))]
    found += [Violation("search_code_valid", f"shop {r.shop_id}: the search code is missing or not a search share")
              for r in await session.execute(text(
                  "SELECT q.shop_id FROM campaign_search_codes q LEFT JOIN fission_shares s ON s.id = q.share_id "
                  "WHERE s.id IS NULL OR s.shop_id <> q.shop_id OR s.channel <> 'search' OR s.code <> q.code "
                  f"ORDER BY q.shop_id LIMIT {LIMIT}"))]
    return found
