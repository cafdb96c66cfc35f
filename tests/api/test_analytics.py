"""Fission analytics through the console API, on a shop seeded through the real endpoints: a cascade of
re-shares with visits and orders, a campaign with spend; exact funnel, K-factor, cascade, concentration,
CAC and repeat numbers; other shops' data never included; bad input answers 422."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.campaign_helpers import campaign, paid_order, put_spend, today
from tests.api.test_fission import customer_id, share, visit
from tests.conftest import ShopHarness, assert_problem

API = "/api/v1/console/analytics"


async def _get(shop: ShopHarness, path: str, **params: Any) -> dict[str, Any]:
    day = today().isoformat()
    r = await shop.client.get(f"{API}/{path}", headers=shop.staff, params={"from": day, "to": day, **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _seed(shop: ShopHarness) -> dict[str, Any]:
    """alice shares A; bob re-shares it as B, dave B as C (600 s and 1200 s later); five visits, five orders
    through the cascade, one through a campaign's landing code, one not referred."""
    sku = await shop.sku(price_fen=1000)
    product = await shop.scalar("SELECT product_id FROM skus WHERE id = :id", id=sku)
    ad = await campaign(shop, name="朋友圈广告")
    await put_spend(shop, ad["id"], today().isoformat(), 3000)
    alice, bob, carol = await shop.login("alice"), await shop.login("bob"), await shop.login("carol")
    a = await share(shop, alice, product)
    await visit(shop, bob, a["code"])
    await visit(shop, carol, a["code"])
    await visit(shop, None, a["code"], device="device-0123456789")
    await shop.advance(600)
    bob, carol = await shop.login("bob"), await shop.login("carol")
    b = await share(shop, bob, product, parent=a["code"], channel="group_chat")
    dave = await shop.login("dave")
    await visit(shop, dave, b["code"])
    await shop.advance(1200)
    dave, erin = await shop.login("dave"), await shop.login("erin")
    c = await share(shop, dave, product, parent=b["code"])
    await visit(shop, erin, c["code"])
    await paid_order(shop, carol, sku, share_code=a["code"])
    await paid_order(shop, dave, sku, 2, share_code=b["code"])
    await paid_order(shop, erin, sku, share_code=c["code"])
    await paid_order(shop, erin, sku)  # last touch: C again
    gina = await shop.login("gina")
    await visit(shop, gina, ad["codes"][0]["code"])
    await paid_order(shop, gina, sku, share_code=ad["codes"][0]["code"])
    await paid_order(shop, await shop.login("frank"), sku)  # never came through a share
    ids = {name: await customer_id(shop, who) for name, who in (("alice", alice), ("bob", bob), ("dave", dave))}
    return {"a": a, "b": b, "c": c, "product": product, "campaign": ad["key"], "ids": ids}


async def test_funnel_kfactor_cascades_and_concentration_are_exact(shop: ShopHarness) -> None:
    seeded = await _seed(shop)
    funnel = await _get(shop, "funnel", group_by="channel")
    rows = {row["key"]: row for row in funnel["items"]}
    assert set(rows) == {"friend", "moments_ad"}
    friend = rows["friend"]
    stage = ("shares", "visits", "unique_visitors", "new_customers", "orders", "buyers", "gmv_fen")
    assert [friend["cascade"][k] for k in stage] == [3, 5, 5, 4, 4, 3, 5000]
    assert [friend["first_hop"][k] for k in stage] == [1, 3, 3, 2, 1, 1, 1000]
    assert friend["cascade"]["order_rate_bps"] == 8000 and friend["cascade"]["order_rate"] == "0.8000"
    assert [rows["moments_ad"]["cascade"][k] for k in stage] == [1, 1, 1, 1, 1, 1, 1000]
    assert funnel["total"]["cascade"]["gmv_fen"] == 6000 and funnel["from"] == today().isoformat()
    promoters = await _get(shop, "funnel", group_by="promoter")
    assert {r["key"]: r["cascade"]["orders"] for r in promoters["items"]} == {str(seeded["ids"]["alice"]): 4,
                                                                              None: 1}
    by_campaign = await _get(shop, "funnel", group_by="campaign")
    assert {r["key"]: r["cascade"]["orders"] for r in by_campaign["items"]} == {None: 4, seeded["campaign"]: 1}
    by_product = await _get(shop, "funnel", group_by="product")
    assert {r["key"]: r["cascade"]["shares"] for r in by_product["items"]} == {str(seeded["product"]): 3, None: 1}

    k = await _get(shop, "kfactor")
    assert [(g["shares"], g["children"], g["k_bps"]) for g in k["generations"]] == [(2, 1, 5000), (1, 1, 10000),
                                                                                   (1, 0, 0)]
    assert (k["k_bps"], k["k"], k["reach_ceiling"]) == (6667, "0.6667", "6.00")
    assert [g["median_delay_seconds"] for g in k["generations"][:2]] == [600, 1200]
    assert k["median_cycle_seconds"] == 900

    cascades = await _get(shop, "cascades", limit=1)
    top = cascades["items"][0]
    assert (top["size"], top["depth"], top["max_breadth"], top["virality"]) == (3, 2, 1, "1.3333")
    assert (top["visits"], top["orders"], top["gmv_fen"], top["channel"]) == (5, 4, 5000, "friend")
    assert top["promoter_id"] == seeded["ids"]["alice"] and cascades["summary"]["cascades"] == 2

    concentration = await _get(shop, "concentration", m=1)
    assert (concentration["sharers"], concentration["gmv_fen"]) == (3, 5000)
    assert concentration["top_1_percent"]["share_bps"] == 4000 and concentration["gini_bps"] == 1333
    assert concentration["top_m"]["sharer_ids"] == [seeded["ids"]["bob"]]
    assert concentration["top_m"]["one_hop_gmv_fen"] == 4000  # B's orders and C's (a re-share of B)
    teams = (await _get(shop, "teams"))["items"]
    assert [(t["promoter_id"], t["team_gmv_fen"]) for t in teams] == [
        (seeded["ids"]["alice"], 5000), (seeded["ids"]["bob"], 4000), (seeded["ids"]["dave"], 2000)]


async def test_cac_and_repeat_purchases(shop: ShopHarness) -> None:
    await _seed(shop)
    cac = await _get(shop, "cac")
    ad = cac["by_campaign"]["items"][0]
    assert (ad["spend_fen"], ad["first_orders"], ad["cac_fen"], ad["gmv_fen"], ad["roi_bps"]) == (
        3000, 1, 3000, 1000, -6667)
    retention = await _get(shop, "retention")
    assert retention["referred"] == {"customers": 4, "repeat_customers": 1, "repeat_rate_bps": 2500,
                                     "repeat_rate": "0.2500"}
    assert (retention["not_referred"]["customers"], retention["not_referred"]["repeat_customers"]) == (1, 0)
    report = await _get(shop, "report")
    assert report["funnel"]["total"]["cascade"]["orders"] == 5 and report["cac"]["by_channel"]["items"]


async def test_another_shops_records_are_never_included(shop: ShopHarness, other_shop: ShopHarness) -> None:
    await _seed(other_shop)
    sku = await shop.sku(price_fen=500)
    product = await shop.scalar("SELECT product_id FROM skus WHERE id = :id", id=sku)
    mine = await share(shop, await shop.login("zoe"), product)
    buyer = await shop.login("yan")
    await visit(shop, buyer, mine["code"])
    await paid_order(shop, buyer, sku, share_code=mine["code"])
    total = (await _get(shop, "funnel"))["total"]["cascade"]
    assert (total["shares"], total["visits"], total["orders"], total["gmv_fen"]) == (1, 1, 1, 500)
    assert (await _get(shop, "kfactor"))["shares"] == 1
    assert (await _get(shop, "concentration"))["gmv_fen"] == 500
    assert (await _get(shop, "retention"))["referred"]["customers"] == 1
    assert (await _get(shop, "cac"))["by_campaign"]["items"] == []


async def test_bad_input_is_422_and_staff_only(shop: ShopHarness) -> None:
    day = today()
    backwards = {"from": day.isoformat(), "to": day.replace(year=day.year - 1).isoformat()}
    for path in ("funnel", "kfactor", "cascades", "concentration", "teams", "cac", "retention", "report"):
        assert_problem(await shop.client.get(f"{API}/{path}", headers=shop.staff, params=backwards), 422,
                       "invalid_range")
    too_long = {"from": day.replace(year=day.year - 2).isoformat(), "to": day.isoformat()}
    assert_problem(await shop.client.get(f"{API}/funnel", headers=shop.staff, params=too_long), 422, "invalid_range")
    for params in ({"group_by": "weather"}, {"limit": 0}, {"limit": 501}, {"from": "2026-13-01"}):
        assert_problem(await shop.client.get(f"{API}/funnel", headers=shop.staff, params=params), 422,
                       "validation_error")
    assert_problem(await shop.client.get(f"{API}/cascades", headers=shop.staff, params={"order_by": "x"}), 422,
                   "validation_error")
    assert (await shop.client.get(f"{API}/funnel")).status_code == 401
    customer = await shop.login("alice")
    assert (await shop.client.get(f"{API}/funnel", headers=customer)).status_code in (401, 403)
    empty = await _get(shop, "report")
    assert empty["funnel"]["items"] == [] and empty["kfactor"]["k"] is None
    assert empty["concentration"]["gini"] is None and empty["cascades"]["items"] == []


async def test_the_log_is_read_in_a_fixed_number_of_statements(shop: ShopHarness, count_statements: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Five binary COPYs (visits, orders, shares; older visits and first paid orders of the new customers'
    candidates) and two small queries, whatever the number of records."""
    from liebian.analytics import loading

    copies: list[str] = []
    real = loading._copy

    async def counted(session: Any, sql: str, columns: int, *args: Any) -> Any:
        copies.append(sql)
        return await real(session, sql, columns, *args)

    monkeypatch.setattr(loading, "_copy", counted)
    sku = await shop.sku(price_fen=300)
    product = await shop.scalar("SELECT product_id FROM skus WHERE id = :id", id=sku)
    counts = []
    for round_ in range(2):
        for i in range(1 + 5 * round_):
            who = await shop.login(f"sharer{round_}-{i}")
            buyer = await shop.login(f"buyer{round_}-{i}")
            s = await share(shop, who, product)
            await visit(shop, buyer, s["code"])
            await paid_order(shop, buyer, sku, share_code=s["code"])
        copies.clear()
        with count_statements() as counter:
            await _get(shop, "funnel")
        counts.append((counter.count, len(copies)))
    assert counts[0] == counts[1] and counts[0][1] == 5
    assert (await _get(shop, "funnel"))["total"]["cascade"]["orders"] == 7


async def test_cascades_started_before_the_range_count_in_funnels_only(shop: ShopHarness) -> None:
    """A root made yesterday is read with a second statement (it is neither made, visited nor bought through
    today): today's re-share and order count under its channel; K and cascades read only today's roots."""
    sku = await shop.sku(price_fen=400)
    product = await shop.scalar("SELECT product_id FROM skus WHERE id = :id", id=sku)
    alice, bob = await shop.login("alice"), await shop.login("bob")
    a = await share(shop, alice, product, channel="moments")
    await visit(shop, bob, a["code"])
    b = await share(shop, bob, product, parent=a["code"])
    alice_id = await customer_id(shop, alice)
    await shop.advance(86400)
    dave = await shop.login("dave")
    await visit(shop, dave, b["code"])
    await share(shop, dave, product, parent=b["code"])
    await paid_order(shop, dave, sku, share_code=b["code"])
    await visit(shop, await shop.login("bob"), a["code"])  # bob visited yesterday: not a new customer
    frank = await shop.login("frank")
    await paid_order(shop, frank, sku)  # frank bought before he came through a share: not new either
    await visit(shop, frank, b["code"])
    funnel = await _get(shop, "funnel")
    assert [row["key"] for row in funnel["items"]] == ["moments"]
    whole, hop = funnel["items"][0]["cascade"], funnel["items"][0]["first_hop"]
    assert (whole["shares"], whole["visits"], whole["new_customers"], whole["orders"], whole["gmv_fen"]) == (
        1, 3, 1, 1, 400)
    assert (hop["shares"], hop["visits"], hop["new_customers"], hop["orders"]) == (0, 1, 0, 0)
    promoters = await _get(shop, "funnel", group_by="promoter")
    assert [row["key"] for row in promoters["items"]] == [str(alice_id)]
    k = await _get(shop, "kfactor")
    assert (k["cascades"], k["shares"], k["k"]) == (0, 0, None)
    concentration = await _get(shop, "concentration")
    assert (concentration["sharers"], concentration["gmv_fen"]) == (2, 400)  # dave shared, bob's share sold
