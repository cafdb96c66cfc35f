"""Community counters raced on real PostgreSQL connections: every request holds its own connection and
transaction, as separate API processes would. At most 30 requests in flight (the shared test server)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tests.api.community_helpers import check_invariants, community, shop_post, to_shanghai_noon
from tests.conftest import ShopHarness

pytestmark = pytest.mark.concurrency


async def test_thirty_customers_liking_at_once_count_thirty(shop: ShopHarness) -> None:
    post = await shop_post(shop)
    customers = [await shop.login(f"fan{i}") for i in range(30)]
    url = f"{shop.base}/posts/{post['id']}/like"
    results = await asyncio.gather(*(shop.client.post(url, headers=c) for c in customers))
    assert Counter(r.status_code for r in results) == {200: 30}
    assert sorted(r.json()["like_count"] for r in results)[-1] == 30
    assert await shop.scalar("SELECT like_count FROM community_posts WHERE id = :p", p=post["id"]) == 30
    assert await shop.count("community_post_likes") == 30
    # ... and thirty unlikes at once bring it back to zero.
    results = await asyncio.gather(*(shop.client.delete(url, headers=c) for c in customers))
    assert Counter(r.status_code for r in results) == {200: 30}
    assert await shop.scalar("SELECT like_count FROM community_posts WHERE id = :p", p=post["id"]) == 0
    await check_invariants(shop)


async def test_ten_double_taps_by_one_customer_count_once(shop: ShopHarness) -> None:
    post = await shop_post(shop)
    ann = await shop.login("ann")
    url = f"{shop.base}/posts/{post['id']}/like"
    results = await asyncio.gather(*(shop.client.post(url, headers=ann) for _ in range(10)))
    assert Counter(r.status_code for r in results) == {200: 10}
    assert all(r.json()["liked"] for r in results)
    assert await shop.scalar("SELECT like_count FROM community_posts WHERE id = :p", p=post["id"]) == 1
    assert await shop.count("community_post_likes") == 1
    # Double taps on like and unlike interleaved: whatever the order, the counter equals the rows.
    await asyncio.gather(*(shop.client.request("POST" if i % 2 else "DELETE", url, headers=ann) for i in range(10)))
    likes = await shop.count("community_post_likes")
    assert await shop.scalar("SELECT like_count FROM community_posts WHERE id = :p", p=post["id"]) == likes <= 1
    await check_invariants(shop)


async def test_a_burst_of_comments_stops_at_the_minute_cap(shop: ShopHarness) -> None:
    """Twenty comments sent at once by one customer: exactly six (the per-minute cap) are written."""
    await to_shanghai_noon(shop)
    post = await shop_post(shop)
    ann = await shop.login("ann")
    url = f"{shop.base}/posts/{post['id']}/comments"
    results = await asyncio.gather(*(shop.client.post(url, headers=ann, json={"body": f"c{i}"}) for i in range(20)))
    assert Counter(r.status_code for r in results) == {201: 6, 429: 14}
    assert {r.json()["code"] for r in results if r.status_code == 429} == {"rate_limited"}
    assert await shop.count("community_comments") == 6
    assert await shop.scalar("SELECT comment_count FROM community_posts WHERE id = :p", p=post["id"]) == 6
    await check_invariants(shop)


async def test_thirty_joins_and_leaves_at_once_keep_the_member_count(shop: ShopHarness) -> None:
    space = await community(shop)
    customers = [await shop.login(f"m{i}") for i in range(30)]
    join = f"{shop.base}/communities/join"
    results = await asyncio.gather(*(shop.client.post(join, headers=c, json={"invite_code": space["invite_code"]})
                                     for c in customers[:15] * 2))  # each of fifteen twice at once
    assert Counter(r.status_code for r in results) == {200: 30}
    results = await asyncio.gather(
        *(shop.client.post(join, headers=c, json={"invite_code": space["invite_code"]}) for c in customers[15:]),
        *(shop.client.post(f"{shop.base}/communities/{space['id']}/leave", headers=c) for c in customers[:10]))
    assert {r.status_code for r in results} <= {200, 204}
    assert await shop.scalar("SELECT member_count FROM community_communities WHERE id = :c", c=space["id"]) == 20
    await check_invariants(shop)
