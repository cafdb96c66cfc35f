"""The console's fission views through the API: cascades paged and filtered by channel, a cascade drawn as a
tree, K over time, the KOL leaderboard, and "who to seed" as a background job with progress. Data made through
the real endpoints (the cascade of tests/api/test_analytics.py); other shops never seen; bad input is 4xx."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from liebian.kit.clock import clock
from tests.api.campaign_helpers import today
from tests.api.test_analytics import _seed
from tests.api.test_seeding import build
from tests.conftest import ShopHarness, assert_problem

API = "/api/v1/console/analytics"


async def _get(shop: ShopHarness, path: str, expect: int = 200, **params: Any) -> dict[str, Any]:
    day = today().isoformat()
    r = await shop.client.get(f"{API}/{path}", headers=shop.staff, params={"from": day, "to": day, **params})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def test_cascades_page_and_filter_by_channel_and_a_tree_is_drawn(shop: ShopHarness,
                                                                       other_shop: ShopHarness) -> None:
    seeded = await _seed(shop)
    a, b, c = seeded["a"], seeded["b"], seeded["c"]
    root = int(await shop.scalar("SELECT id FROM fission_shares WHERE code = :c", c=a["code"]))
    first = await _get(shop, "cascades", limit=1)
    second = await _get(shop, "cascades", limit=1, offset=1)
    assert first["total"] == 2 and [i["root_share_id"] for i in first["items"]] == [root]
    assert first["items"][0]["nickname"] == "alice"
    assert second["items"][0]["channel"] == "moments_ad" and second["items"][0]["size"] == 1
    friend = await _get(shop, "cascades", channel="friend")
    assert friend["total"] == 1 and friend["summary"]["cascades"] == 2  # the summary stays over every cascade
    assert (await _get(shop, "cascades", channel="group_chat"))["items"] == []  # b's channel, but not a root's

    tree = await _get(shop, f"cascades/{root}/tree")
    assert (tree["size"], tree["depth"], tree["virality"], tree["truncated"]) == (3, 2, "1.3333", False)
    nodes = {n["nickname"]: n for n in tree["nodes"]}
    assert [n["nickname"] for n in tree["nodes"]] == ["alice", "bob", "dave"]  # breadth first, full names
    assert [(nodes[w]["visits"], nodes[w]["unique_visitors"], nodes[w]["orders"], nodes[w]["gmv_fen"],
             nodes[w]["subtree_size"]) for w in ("alice", "bob", "dave")] == [(3, 3, 1, 1000, 3), (1, 1, 1, 2000, 2),
                                                                            (1, 1, 2, 2000, 1)]
    assert nodes["bob"]["parent_share_id"] == root and nodes["bob"]["channel"] == "group_chat"
    cut = await _get(shop, f"cascades/{root}/tree", max_nodes=2)
    assert (cut["size"], cut["depth"], cut["truncated"], len(cut["nodes"]), cut["virality"]) == (3, 2, True, 2, None)

    reshare = int(await shop.scalar("SELECT id FROM fission_shares WHERE code = :c", c=b["code"]))
    problem = assert_problem(await shop.client.get(f"{API}/cascades/{reshare}/tree", headers=shop.staff), 422,
                             "not_a_root")
    assert problem["root_share_id"] == root
    assert_problem(await other_shop.client.get(f"{API}/cascades/{root}/tree", headers=other_shop.staff), 404,
                   "share_not_found")
    for bad in ("0", "abc", "99999999999999999999999"):
        r = await shop.client.get(f"{API}/cascades/{bad}/tree", headers=shop.staff)
        assert_problem(r, 422, "validation_error")
    assert_problem(await shop.client.get(f"{API}/cascades/{root}/tree", headers=shop.staff,
                                         params={"max_nodes": 2001}), 422, "validation_error")
    assert_problem(await shop.client.get(f"{API}/cascades", headers=shop.staff, params={"channel": "tv"}), 422,
                   "validation_error")
    assert c["code"]


async def test_k_over_time_per_day_and_week(shop: ShopHarness) -> None:
    await _seed(shop)
    k = await _get(shop, "kfactor")
    daily = await _get(shop, "kfactor/series", interval="day")
    assert daily["interval"] == "day" and len(daily["points"]) == 1
    point = daily["points"][0]
    assert (point["from"], point["to"]) == (today().isoformat(), today().isoformat())
    assert (point["cascades"], point["shares"], point["k_bps"], point["median_cycle_seconds"]) == (
        k["cascades"], k["shares"], k["k_bps"], k["median_cycle_seconds"])
    assert [(g["depth"], g["shares"], g["children"], g["k_bps"]) for g in point["generations"]] == [
        (0, 2, 1, 5000), (1, 1, 1, 10000), (2, 1, 0, 0)]

    start = today() - timedelta(days=13)
    weekly = await _get(shop, "kfactor/series", **{"from": start.isoformat()})
    assert weekly["interval"] == "week" and [p["from"] for p in weekly["points"]] == [
        start.isoformat(), (start + timedelta(days=7)).isoformat()]
    assert weekly["points"][0]["cascades"] == 0 and weekly["points"][0]["k_bps"] is None
    assert weekly["points"][1]["k_bps"] == 6667 and weekly["points"][1]["to"] == today().isoformat()
    ads = await _get(shop, "kfactor/series", channel="moments_ad", interval="day")
    assert ads["channel"] == "moments_ad" and ads["points"][0]["cascades"] == 1
    assert ads["points"][0]["k_bps"] is None  # one share, no parents with a chance of children seen
    for params in ({"interval": "month"}, {"channel": "tv"}):
        assert_problem(await shop.client.get(f"{API}/kfactor/series", headers=shop.staff, params=params), 422,
                       "validation_error")
    backwards = {"from": today().isoformat(), "to": (today() - timedelta(days=3)).isoformat()}
    assert_problem(await shop.client.get(f"{API}/kfactor/series", headers=shop.staff, params=backwards), 422,
                   "invalid_range")


async def test_kol_leaderboard_pages_and_orders(shop: ShopHarness, other_shop: ShopHarness) -> None:
    seeded = await _seed(shop)
    ids = seeded["ids"]
    board = await _get(shop, "kols")
    assert (board["total"], board["gmv_fen"], board["order_by"]) == (3, 5000, "gmv")
    rows = [(r["rank"], r["customer_id"], r["nickname"], r["direct_gmv_fen"], r["gmv_share_bps"])
            for r in board["items"]]
    assert rows == [(1, ids["bob"], "bob", 2000, 4000), (2, ids["dave"], "dave", 2000, 4000),
                    (3, ids["alice"], "alice", 1000, 2000)]
    alice = board["items"][2]
    assert (alice["shares"], alice["visits"], alice["unique_visitors"], alice["new_customers"], alice["orders"],
            alice["team_shares"], alice["team_gmv_fen"]) == (1, 3, 3, 2, 1, 3, 5000)
    page = await _get(shop, "kols", limit=1, offset=1)
    assert [(r["rank"], r["customer_id"]) for r in page["items"]] == [(2, ids["dave"])] and page["total"] == 3
    assert [r["customer_id"] for r in (await _get(shop, "kols", order_by="team_gmv"))["items"]] == [
        ids["alice"], ids["bob"], ids["dave"]]
    assert (await _get(shop, "kols", order_by="reach"))["items"][0]["customer_id"] == ids["alice"]
    assert (await _get(other_shop, "kols"))["items"] == []
    for params in ({"order_by": "fame"}, {"limit": 0}, {"offset": -1}):
        assert_problem(await shop.client.get(f"{API}/kols", headers=shop.staff, params=params), 422,
                       "validation_error")


async def _finished(shop: ShopHarness, job_id: int) -> tuple[dict[str, Any], list[int]]:
    """Poll the job as the console page does, keeping the progress it showed."""
    seen: list[int] = []
    for _ in range(600):
        r = await shop.client.get(f"{API}/seeding/jobs/{job_id}", headers=shop.staff)
        assert r.status_code == 200, r.text
        job = r.json()
        seen.append(job["progress_bps"])
        if job["status"] in ("succeeded", "failed"):
            return dict(job), seen
        await asyncio.sleep(0.05)
    raise AssertionError("the seeding job did not finish in 30 s")


async def test_seeding_runs_as_a_job_with_progress(shop: ShopHarness, other_shop: ShopHarness) -> None:
    ids = await build(shop)
    r = await shop.client.post(f"{API}/seeding/jobs", headers=shop.staff, json={"k": 2, "epsilon": 0.3})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued" and job["progress_bps"] == 0 and job["result"] is None
    assert job["params"]["k"] == 2 and job["params"]["model"] == "auto"
    again = await shop.client.post(f"{API}/seeding/jobs", headers=shop.staff, json={"k": 2, "epsilon": 0.3})
    if again.status_code == 200:  # still unfinished: the same job answers
        assert again.json()["id"] == job["id"]
    else:
        assert again.status_code == 202
    done, seen = await _finished(shop, job["id"])
    assert done["status"] == "succeeded" and done["stage"] == "done" and done["progress_bps"] == 10_000
    assert seen == sorted(seen)  # progress only moves forward
    result = done["result"]
    assert [s["customer_id"] for s in result["seeds"]] == [ids["alice"], ids["zed"]]
    assert result["comparison"]["imm"]["expected_reach"] == 9.0 and result["comparison"]["degree"]["customer_ids"]
    assert done["started_at"] and done["finished_at"] and done["error"] is None
    listed = (await shop.client.get(f"{API}/seeding/jobs", headers=shop.staff, params={"limit": 1})).json()
    assert listed["total"] >= 1 and listed["items"][0]["status"] in ("succeeded", "queued", "running")
    assert_problem(await other_shop.client.get(f"{API}/seeding/jobs/{job['id']}", headers=other_shop.staff), 404,
                   "job_not_found")
    assert (await other_shop.client.get(f"{API}/seeding/jobs", headers=other_shop.staff)).json()["total"] == 0


async def test_a_shop_without_shares_gets_an_empty_job_answer(shop: ShopHarness) -> None:
    r = await shop.client.post(f"{API}/seeding/jobs", headers=shop.staff, json={})
    assert r.status_code == 202, r.text
    done, _ = await _finished(shop, r.json()["id"])
    assert done["status"] == "succeeded" and done["result"]["seeds"] == [] and done["params"]["k"] == 10


async def test_bad_jobs_are_refused_and_stale_ones_fail(shop: ShopHarness) -> None:
    for body, code in (({"k": 0}, "validation_error"), ({"k": 101}, "validation_error"),
                       ({"epsilon": 0.95}, "validation_error"), ({"model": "magic"}, "validation_error"),
                       ({"colour": "red"}, "validation_error"),
                       ({"budget_fen": 1000, "cost_fen": 0, "cost_per_follower_fen": 0}, "free_seeds")):
        r = await shop.client.post(f"{API}/seeding/jobs", headers=shop.staff, json=body)
        assert_problem(r, 422, code)
    for bad in ("0", "abc", "99999999999999999999999"):
        assert_problem(await shop.client.get(f"{API}/seeding/jobs/{bad}", headers=shop.staff), 422,
                       "validation_error")
    assert_problem(await shop.client.get(f"{API}/seeding/jobs/999999999", headers=shop.staff), 404, "job_not_found")
    assert_problem(await shop.client.post(f"{API}/seeding/jobs", json={}), 401, "not_authenticated")

    # Three unfinished jobs (their process gone: no heartbeat for ten minutes): a fourth is refused ...
    old = clock.now() - timedelta(minutes=10)
    async with shop.db.unit_of_work() as session:
        for k in (1, 2, 3):
            await session.execute(text(
                "INSERT INTO analytics_seeding_jobs (shop_id, status, params, progress_bps, stage, created_at, "
                "started_at, heartbeat_at) VALUES (:shop, 'running', CAST(:p AS jsonb), 4200, 'sampling', :at, :at, "
                ":at)"), {"shop": shop.shop_id, "p": f'{{"k": {k}}}', "at": old})
    assert_problem(await shop.client.post(f"{API}/seeding/jobs", headers=shop.staff, json={"k": 4}), 429,
                   "too_many_jobs")
    # ... until the sweeper fails them, saying why.
    assert await shop.run_due() >= 3
    jobs = (await shop.client.get(f"{API}/seeding/jobs", headers=shop.staff)).json()["items"]
    assert {(j["status"], j["stage"]) for j in jobs} == {("failed", "failed")}
    assert all(j["error"].startswith("interrupted") for j in jobs)
    r = await shop.client.post(f"{API}/seeding/jobs", headers=shop.staff, json={"k": 4})
    assert r.status_code == 202, r.text
    await _finished(shop, r.json()["id"])
