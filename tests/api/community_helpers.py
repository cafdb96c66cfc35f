"""Speaking content and community through the API, as the mini-program and the console do."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.api.distribution_helpers import enable
from tests.conftest import ShopHarness

CONSOLE = "/api/v1/console"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Every community table: "bad input changes nothing" compares these counts before and after.
TABLES = ("community_posts", "community_post_likes", "community_comments", "community_post_reports",
          "community_bans", "community_rate_counters", "community_communities", "community_members",
          "community_announcements", "community_topics", "community_replies", "coupon_red_packets", "fission_shares")


async def promoter(shop: ShopHarness, name: str, *, enabled: bool = True) -> dict[str, str]:
    """A customer who is an approved promoter (distribution on, everyone qualifies)."""
    if enabled:
        await enable(shop)
    return await shop.login(name)


async def write_post(shop: ShopHarness, author: dict[str, str], *, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"title": "好物推荐", "body": "这款真的好用", **fields}
    r = await shop.client.post(f"{shop.base}/posts", headers=author, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def shop_post(shop: ShopHarness, **fields: Any) -> dict[str, Any]:
    body = {"title": "店长推荐", "body": "新品上架", **fields}
    r = await shop.client.post(f"{CONSOLE}/posts", headers=shop.staff, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def get_post(shop: ShopHarness, post_id: int, who: dict[str, str] | None = None, *,
                   expect: int = 200) -> dict[str, Any]:
    r = await shop.client.get(f"{shop.base}/posts/{post_id}", headers=who or {})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def feed(shop: ShopHarness, who: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    r = await shop.client.get(f"{shop.base}/posts", headers=who or {}, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def community(shop: ShopHarness, owner: dict[str, str] | None = None, *, expect: int = 201,
                    **fields: Any) -> dict[str, Any]:
    """A promoter's community (``owner``) or the shop's (no owner)."""
    body = {"name": "宝妈交流群", "description": "育儿好物", "rules": "禁止广告", "join": "invite", **fields}
    if owner is None:
        r = await shop.client.post(f"{CONSOLE}/communities", headers=shop.staff, json=body)
    else:
        r = await shop.client.post(f"{shop.base}/communities", headers=owner, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def join(shop: ShopHarness, who: dict[str, str], invite_code: str, *, expect: int = 200) -> dict[str, Any]:
    r = await shop.client.post(f"{shop.base}/communities/join", headers=who, json={"invite_code": invite_code})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def to_shanghai_noon(shop: ShopHarness) -> None:
    """Move the server clock to the next 12:00:00 in Asia/Shanghai: far from a day's and on a minute's start."""
    r = await shop.client.post("/api/v1/sandbox/clock/advance", json={"seconds": 1})
    now = datetime.fromisoformat(r.json()["now"]).astimezone(SHANGHAI)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    if noon <= now:
        noon += timedelta(days=1)
    await shop.advance((noon - now).total_seconds())


async def counts(shop: ShopHarness) -> dict[str, int]:
    return {t: await shop.count(t) for t in TABLES}


async def check_invariants(shop: ShopHarness) -> None:
    from liebian.checks import run
    from liebian.community.queries import violations

    async with shop.db.sessions() as session:
        failed = [(name, found) for name, found in await run(session) if found]
        mine = await violations(session)
    assert not failed, failed
    assert not mine, mine
