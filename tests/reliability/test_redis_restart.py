"""Redis restarted without persistence in the middle of a flash sale (a private ``redis-server``, killed and started
again empty): the counters are rebuilt from PostgreSQL, the sale sells exactly its stock, nobody passes the limit,
and every entry that was accepted becomes exactly one order or is cleanly refused.

What a crash of a Redis without persistence loses is the queue itself: entries accepted but not yet drained into
PostgreSQL when it died are gone with it (their tickets answer 404 ``flashsale_entry_not_found``, their units are
back on sale, their customers may enter again — README, flash sales). Everything PostgreSQL had taken stays.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.exceptions import RedisError

from liebian.flashsale import queue, redis_stock
from tests.api.flashsale_helpers import check_invariants, counts, enter, redis_left, redis_on, setup
from tests.conftest import ShopHarness
from tests.redis_server import RedisServer, private_redis

STOCK = 12


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with private_redis() as server:
        yield server


@pytest.fixture
async def redis(app: Any, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    monkeypatch.setattr(redis_stock, "DOWN_FOR_S", 0.5)  # after a failure, PostgreSQL alone for half a second
    async with redis_on(app, redis_server.url) as client:
        yield client


async def ticket(shop: ShopHarness, buyer: dict[str, str], entry_id: str, timeout: float = 20) -> dict[str, Any]:
    """The ticket once decided (ordered or failed), or its 404 problem."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await shop.client.get(f"{shop.base}/flashsale/entries/{entry_id}", headers=buyer)
        got = {"http": r.status_code, **r.json()}
        if r.status_code != 200 or got["status"] != "queued":
            return got
        assert asyncio.get_running_loop().time() < deadline, f"entry {entry_id} still queued"
        await asyncio.sleep(0.02)


async def test_a_redis_restart_mid_sale_loses_no_unit_and_doubles_no_order(
        shop: ShopHarness, redis: Any, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    _, c = await setup(shop, stock=STOCK, per_customer_limit=1, sku_stock=100)
    cid = c["id"]
    buyers = [await shop.login(f"fs{i}") for i in range(30)]

    # Six entries wait in Redis's queue (nothing drains them yet).
    monkeypatch.setattr(queue, "kick", lambda db, campaign_id: None)
    first = [await enter(shop, b, cid, expect=202) for b in buyers[:6]]
    assert await redis.llen(redis_stock.Keys(cid).queue) == 6

    # A drain takes the first three into PostgreSQL; Redis dies before that transaction commits.
    with contextlib.suppress(RedisError):  # the drain's trim after the commit finds Redis gone
        async with shop.db.unit_of_work() as session:
            assert await queue.drain_batch(session, redis, cid, batch=3) == 3
            await asyncio.to_thread(redis_server.restart)
    assert await redis.llen(redis_stock.Keys(cid).queue) == 0  # empty: the three undrained entries are gone
    assert await counts(shop, cid) == (3, 3, 3)
    monkeypatch.undo()  # the kick drains again; DOWN_FOR_S stays short (the fixture's patch is re-applied)
    monkeypatch.setattr(redis_stock, "DOWN_FOR_S", 0.5)

    # Redis goes down again, for longer: entries meanwhile are placed on PostgreSQL alone (201); then it is back,
    # empty, and the next entries rebuild its counters from PostgreSQL (202). The crowd: the three whose unit is
    # taken (Redis must know it again), the three whose entries were lost (they may enter again), and 24 more.
    outcomes: list[tuple[int, dict[str, Any]]] = []
    await asyncio.to_thread(redis_server.stop)
    for wave in (buyers[:8], buyers[8:]):
        results = await asyncio.gather(*(enter(shop, b, cid) for b in wave))
        outcomes += [(buyers.index(b), r) for b, r in zip(wave, results, strict=True)]
        if wave[0] is buyers[0]:
            assert {r["status_code"] for r in results} <= {201, 409}, results  # PostgreSQL alone
            await asyncio.to_thread(redis_server.start)
            await asyncio.sleep(0.6)  # past DOWN_FOR_S: the next entries find Redis again

    # The ledger of every entry: ordered once, or refused with a reason, or lost with Redis (the first six only).
    lost = [await ticket(shop, buyers[i], first[i]["id"]) for i in range(3, 6)]
    assert [(t["http"], t["code"]) for t in lost] == [(404, "flashsale_entry_not_found")] * 3
    kept = [await ticket(shop, buyers[i], first[i]["id"]) for i in range(3)]
    assert [t["status"] for t in kept] == ["ordered"] * 3
    decided: Counter[str] = Counter()
    ordered = {t["order_no"] for t in kept}
    for i, r in outcomes:
        if r["status_code"] == 201:  # PostgreSQL path while Redis was marked down: ordered at once
            decided["201 ordered"] += 1
            ordered.add(r["order_no"])
        elif r["status_code"] == 202:
            t = await ticket(shop, buyers[i], r["id"])
            decided[f"202 {t['status']} {t.get('failure_code') or ''}".strip()] += 1
            if t["status"] == "ordered":
                ordered.add(t["order_no"])
            else:
                assert t["status"] == "failed" and t["failure_code"] == "flashsale_sold_out", t
        else:
            assert (r["status_code"], r["code"]) in ((409, "flashsale_sold_out"), (409, "flashsale_limit_reached")), r
            decided[r["code"]] += 1
            if r["code"] == "flashsale_limit_reached":
                assert i < 3, (i, r)  # only the three whose first entry became an order
    print(f"\nflash sale across a Redis restart: {dict(decided)}")
    assert decided["201 ordered"] > 0 and decided["202 ordered"] > 0, decided  # both paths sold
    assert decided["201 ordered"] + decided["202 ordered"] == STOCK - 3, decided
    assert await counts(shop, cid) == (STOCK, STOCK, STOCK)  # sold out exactly: nothing oversold, nothing stranded
    assert len(ordered) == STOCK
    assert await shop.scalar("SELECT count(*) FROM flashsale_entries WHERE campaign_id = :c AND status = 'ordered'",
                             c=cid) == STOCK  # one entry row per order, none twice
    per_customer = await shop.rows("SELECT customer_id, count(*) FROM orders WHERE shop_id = :shop "
                                   "AND promotion->>'campaign_id' = :c GROUP BY customer_id", c=str(cid))
    assert max(n for _, n in per_customer) == 1
    assert await redis_left(redis, cid) in (None, 0)  # Redis agrees with PostgreSQL (or rebuilds at the next entry)
    await check_invariants(shop)
