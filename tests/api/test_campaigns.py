"""Ad and placement campaigns: codes, spend, and CAC and ROI on a seeded scenario with known numbers."""

from __future__ import annotations

import asyncio
from typing import Any

from liebian.campaigns.queries import violations
from tests.api.campaign_helpers import (
    CONSOLE,
    add_code,
    campaign,
    days_ago,
    figures,
    import_csv,
    login,
    paid_order,
    put_spend,
    refund,
    report,
    report_csv,
    search,
    today,
    visit,
)
from tests.conftest import ShopHarness, assert_problem


def _zero(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"visits": 0, "unique_visitors": 0, "new_customers": 0, "first_orders": 0, "orders": 0,
                            "paying_customers": 0, "gross_fen": 0, "refunded_fen": 0, "gmv_fen": 0, "spend_fen": 0,
                            "cac_fen": None, "roi_bps": None, "roi": None}
    return base | changes


async def test_campaign_gets_its_own_codes_on_its_channel(shop: ShopHarness) -> None:
    product = await shop.product(price_fen=1000)
    c = await campaign(shop, name="公众号推文", channel="official_account", key="oa-nov",
                       landing={"target_type": "product", "target_id": product["id"]}, code_label="menu",
                       budget_fen=100_000, note="11 月")
    assert (c["key"], c["channel"], c["status"], c["spend_fen"]) == ("oa-nov", "official_account", "active", 0)
    [menu] = c["codes"]
    assert menu["label"] == "menu" and menu["channel"] == "official_account" and menu["campaign"] == "oa-nov"
    assert menu["scene"] == f"s={menu['code']}" and menu["url"].endswith(f"/s/{shop.slug}/r/{menu['code']}")
    article = await add_code(shop, c["id"], "article-1")
    assert article["code"] != menu["code"] and article["label"] == "article-1"
    share = await shop.client.get(f"{shop.base}/shares/{article['code']}")
    assert share.json()["sharer_id"] is None and share.json()["target_id"] == product["id"]
    assert share.json()["channel"] == "official_account" and share.json()["campaign"] == "oa-nov"
    detail = (await shop.client.get(f"{CONSOLE}/{c['id']}", headers=shop.staff)).json()
    assert [x["label"] for x in detail["codes"]] == ["menu", "article-1"]
    listed = (await shop.client.get(CONSOLE, headers=shop.staff, params={"channel": "official_account"})).json()
    assert [x["id"] for x in listed["items"]] == [c["id"]] and listed["total"] == 1
    # A default key, a shop landing stored as the shop.
    d = await campaign(shop)
    assert d["key"] == f"cmp-{d['id']}" and d["landing"] == {"target_type": "shop", "target_id": shop.shop_id}
    assert d["codes"][0]["label"] is None


async def test_cac_and_roi_on_a_seeded_scenario(shop: ShopHarness, other_shop: ShopHarness) -> None:
    """Two campaigns on two channels, new and existing customers, a partial and a full refund, search and a
    friend's share beside them: every figure of both reports against numbers worked out by hand."""
    big = await shop.sku(price_fen=10_000, title="大礼盒")
    small = await shop.sku(price_fen=2_500, title="小样")
    # e1 bought before any campaign: an existing customer.
    e1 = await login(shop, "e1")
    await paid_order(shop, e1, small)

    a = await campaign(shop, name="朋友圈 11 月", channel="moments_ad", key="ad-nov",
                       landing={"target_type": "product", "target_id": (await shop.product(price_fen=10))["id"]})
    b = await campaign(shop, name="公众号", channel="official_account", code_label="menu")
    code_a = a["codes"][0]["code"]
    menu = b["codes"][0]["code"]
    article = (await add_code(shop, b["id"], "article"))["code"]
    friend = await login(shop, "friend")
    r = await shop.client.post(f"{shop.base}/shares", headers=friend,
                               json={"target_type": "product", "target_id": a["landing"]["target_id"],
                                     "channel": "friend"})
    assert r.status_code == 201, r.text
    friend_code = r.json()["code"]

    # Campaign A (moments_ad).
    a1 = await login(shop, "a1")
    await visit(shop, code_a, customer=a1)
    await paid_order(shop, a1, big)  # 10000, attributed to A (last visit)
    await visit(shop, menu, customer=a1)  # later visits B: counted there, but a1 is not B's new customer
    await visit(shop, code_a, device="device-a2-0001")  # anonymous, then logs in: the visit becomes a2's
    a2 = await login(shop, "a2", device_id="device-a2-0001")
    a2_order = await paid_order(shop, a2, small, 2)  # 5000, of which 2000 refunded below
    a3 = await login(shop, "a3")
    await visit(shop, code_a, customer=a3)
    await visit(shop, code_a, customer=a3)
    await shop.place(a3, [{"sku_id": big, "quantity": 1}])  # never paid: counts nowhere
    await visit(shop, code_a, customer=e1)
    await paid_order(shop, e1, small)  # 2500 by an existing customer, attributed to A
    await visit(shop, code_a, device="device-d1-0001")  # never logs in

    # Campaign B (official_account).
    b1 = await login(shop, "b1")
    await visit(shop, menu, customer=b1)
    b1_order = await paid_order(shop, b1, big)  # 10000, refunded in full below: paid, so a first order
    b2 = await login(shop, "b2")
    await visit(shop, article, customer=b2)
    await search(shop, "礼盒", customer=b2)  # a search visit, but the order names its code
    await paid_order(shop, b2, small, share_code=article)  # 2500
    c1 = await login(shop, "c1")
    await visit(shop, friend_code, customer=c1)  # c1 arrived through a friend: new to channel friend
    await visit(shop, article, customer=c1)
    await search(shop, "小样", customer=c1)
    await paid_order(shop, c1, small)  # 2500, attributed to search (the last visit)
    await search(shop, "小样", device="device-s1-0001")
    await search(shop, "小样")  # anonymous without a device: nothing recorded

    await refund(shop, a2_order["order_no"], 2000)
    await refund(shop, b1_order["order_no"], 10_000)

    # Spend: entered for one day, imported for others (yuan, exact), by key and by id.
    await put_spend(shop, a["id"], days_ago(2), 30_000)
    imported = await import_csv(shop, f"date,campaign,amount_yuan\n{days_ago(1)},ad-nov,200\n"
                                      f"{days_ago(0)},{b['id']},6.5\n{days_ago(0)},{b['id']},3.50\n")
    assert imported == {"rows": 3, "days": 2, "campaigns": 2, "total_fen": 21_000}

    # Another shop's campaign and its traffic never show here.
    foreign = await campaign(other_shop, channel="moments_ad")
    stranger = await other_shop.login("stranger")
    await visit(other_shop, foreign["codes"][0]["code"], customer=stranger)
    await paid_order(other_shop, stranger, await other_shop.sku(price_fen=777))
    await put_spend(other_shop, foreign["id"], days_ago(0), 99_999)

    # By hand. A: visits a1, a2, a3 ×2, e1, d1 = 6 from 5 visitors; new a1, a2, a3 (e1 had bought, d1 is
    # anonymous); first orders a1, a2; orders a1 10000 + a2 5000 + e1 2500 = 17500, 2000 refunded;
    # spend 300 + 200 yuan = 50000; CAC 50000 / 2; ROI (15500 − 50000) / 50000 = −0.69.
    expected_a = _zero(visits=6, unique_visitors=5, new_customers=3, first_orders=2, orders=3, paying_customers=3,
                       gross_fen=17_500, refunded_fen=2_000, gmv_fen=15_500, spend_fen=50_000, cac_fen=25_000,
                       roi_bps=-6_900, roi="-0.6900")
    # B: visits a1, b1, b2, c1 = 4; new b1, b2 (a1 came through A, c1 through a friend); first orders b1, b2;
    # orders b1 10000 (all refunded) + b2 2500; spend 6.5 + 3.5 yuan = 1000; CAC 500; ROI (2500 − 1000) / 1000.
    expected_b = _zero(visits=4, unique_visitors=4, new_customers=2, first_orders=2, orders=2, paying_customers=2,
                       gross_fen=12_500, refunded_fen=10_000, gmv_fen=2_500, spend_fen=1_000, cac_fen=500,
                       roi_bps=15_000, roi="1.5000")
    params = {"from": days_ago(2), "to": days_ago(0)}
    by_campaign = await report(shop, **params)
    assert [(x["campaign_id"], x["campaign_key"], x["channel"]) for x in by_campaign["items"]] == [
        (a["id"], "ad-nov", "moments_ad"), (b["id"], b["key"], "official_account")]
    assert figures(by_campaign["items"][0]) == expected_a
    assert figures(by_campaign["items"][1]) == expected_b
    single = await report(shop, campaign_id=b["id"], **params)
    assert [figures(x) for x in single["items"]] == [expected_b]

    # By channel: friend has c1 (new, whose first order came through search); search has b2, c1 and a device;
    # c1's order is search's.
    by_channel = {x["channel"]: figures(x) for x in (await report(shop, group_by="channel", **params))["items"]}
    assert by_channel == {
        "moments_ad": expected_a, "official_account": expected_b,
        "friend": _zero(visits=1, unique_visitors=1, new_customers=1, first_orders=1, cac_fen=0),  # free, no spend
        "search": _zero(visits=3, unique_visitors=3, orders=1, paying_customers=1, gross_fen=2_500, gmv_fen=2_500),
    }
    rows = await report_csv(shop, group_by="channel", **params)
    assert {r["channel"]: (int(r["gmv_fen"]), r["cac_fen"], r["roi"]) for r in rows} == {
        "friend": (0, "0", ""), "moments_ad": (15_500, "25000", "-0.6900"),
        "official_account": (2_500, "500", "1.5000"), "search": (2_500, "", "")}

    # The other shop sees only its own.
    theirs = await report(other_shop, **params)
    assert [(x["campaign_id"], x["visits"], x["orders"], x["gross_fen"], x["spend_fen"]) for x in theirs["items"]] == [
        (foreign["id"], 1, 1, 777, 99_999)]
    # Outside the range, nothing: yesterday had spend but no traffic.
    before = await report(shop, **{"from": days_ago(1), "to": days_ago(1)})
    assert [figures(x) for x in before["items"]] == [_zero(spend_fen=20_000, roi_bps=-10_000, roi="-1.0000"), _zero()]
    async with shop.db.sessions() as session:
        assert await violations(session) == []


async def test_other_shops_campaigns_are_not_found(shop: ShopHarness, other_shop: ShopHarness) -> None:
    foreign = await campaign(other_shop)
    for method, path, body in (("GET", "", None), ("PATCH", "", {"name": "x"}), ("POST", "/end", None),
                               ("POST", "/codes", {"label": "x"}), ("GET", "/codes", None),
                               ("PUT", f"/spend/{days_ago(0)}", {"amount_fen": 1}), ("GET", "/spend", None),
                               ("GET", "/report", None)):
        r = await shop.client.request(method, f"{CONSOLE}/{foreign['id']}{path}", headers=shop.staff, json=body)
        assert_problem(r, 404, "campaign_not_found")
    assert await other_shop.count("campaign_codes") == 1 and await other_shop.count("campaign_spend") == 0
    assert await other_shop.scalar("SELECT name FROM campaigns WHERE shop_id = :shop") == "朋友圈广告"
    listed = (await shop.client.get(CONSOLE, headers=shop.staff)).json()
    assert listed["items"] == [] and listed["total"] == 0


async def _counts(*shops: ShopHarness) -> dict[str, int]:
    return {f"{s.slug}.{t}": await s.count(t) for s in shops
            for t in ("campaigns", "campaign_codes", "campaign_spend", "fission_shares")}


async def test_bad_campaigns_change_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    foreign_product = await other_shop.product()
    existing = await campaign(shop, key="taken")
    before = await _counts(shop, other_shop)
    starts = days_ago(0)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"starts_on": starts, "ends_on": days_ago(1)}, 422, "invalid_dates"),
        ({"starts_on": "2026-13-01"}, 422, "validation_error"),
        ({"ends_on": "tomorrow"}, 422, "validation_error"),
        ({"channel": "tv"}, 422, "validation_error"),
        ({"landing": {"target_type": "product", "target_id": foreign_product["id"]}}, 404, "target_not_found"),
        ({"landing": {"target_type": "product", "target_id": 987_654_321}}, 404, "target_not_found"),
        ({"landing": {"target_type": "bargain", "target_id": 1}}, 422, "validation_error"),
        ({"landing": {"target_type": "shop", "target_id": other_shop.shop_id}}, 422, "invalid_target"),
        ({"geo": {"store_id": 987_654_321, "radius_m": 3000}}, 404, "store_not_found"),
        ({"geo": {"store_id": 1, "radius_m": 5}}, 422, "validation_error"),
        ({"budget_fen": -1}, 422, "validation_error"),
        ({"key": "taken"}, 409, "campaign_key_taken"),
        ({"key": "123"}, 422, "validation_error"),
        ({"name": "   "}, 422, "validation_error"),
        ({"surprise": 1}, 422, "validation_error"),
    ]
    for fields, status, code in cases:
        assert_problem(await shop.client.post(CONSOLE, headers=shop.staff, json={
            "name": "x", "channel": "moments_ad", "starts_on": starts, "ends_on": starts,
            "landing": {"target_type": "shop", "target_id": 0}, **fields}), status, code)
    # A label twice: the second code is refused, its share taken back with it.
    await add_code(shop, existing["id"], "menu")
    await add_code(shop, existing["id"], "menu", expect=409)
    after = await _counts(shop, other_shop)
    assert after == before | {f"{shop.slug}.campaign_codes": before[f"{shop.slug}.campaign_codes"] + 1,
                              f"{shop.slug}.fission_shares": before[f"{shop.slug}.fission_shares"] + 1}


async def test_spend_entry_is_idempotent_and_bounded(shop: ShopHarness) -> None:
    c = await campaign(shop)
    first = await put_spend(shop, c["id"], days_ago(1), 12_345)
    again = await put_spend(shop, c["id"], days_ago(1), 12_345)
    assert (first["amount_fen"], again["amount_fen"], again["source"]) == (12_345, 12_345, "manual")
    await put_spend(shop, c["id"], days_ago(1), 20_000)  # a correction replaces the day's figure
    assert await shop.rows("SELECT day::text, amount_fen FROM campaign_spend WHERE shop_id = :shop") == [
        (days_ago(1), 20_000)]
    for day, amount, status, code in ((days_ago(3), 1, 422, "invalid_spend_date"),  # before the campaign
                                      ((today().replace(year=today().year + 1)).isoformat(), 1, 422,
                                       "invalid_spend_date"),
                                      (days_ago(0), -1, 422, "validation_error"),
                                      ("2026-02-30", 1, 422, "validation_error")):
        r = await shop.client.put(f"{CONSOLE}/{c['id']}/spend/{day}", headers=shop.staff, json={"amount_fen": amount})
        assert_problem(r, status, code)
    assert await shop.count("campaign_spend") == 1
    listed = (await shop.client.get(f"{CONSOLE}/{c['id']}/spend", headers=shop.staff)).json()
    assert [(x["date"], x["amount_fen"]) for x in listed] == [(days_ago(1), 20_000)]
    assert (await shop.client.get(f"{CONSOLE}/{c['id']}", headers=shop.staff)).json()["spend_fen"] == 20_000
    # The end date cannot move before booked spend; ending keeps the spend and refuses new codes.
    r = await shop.client.patch(f"{CONSOLE}/{c['id']}", headers=shop.staff, json={"ends_on": days_ago(2)})
    assert_problem(r, 409, "spend_after_end")
    ended = (await shop.client.post(f"{CONSOLE}/{c['id']}/end", headers=shop.staff)).json()
    assert (ended["status"], ended["ends_on"], ended["spend_fen"]) == ("ended", days_ago(0), 20_000)
    assert_problem(await shop.client.post(f"{CONSOLE}/{c['id']}/end", headers=shop.staff), 409, "campaign_ended")
    await add_code(shop, c["id"], "late", expect=409)


async def test_a_csv_with_a_bad_row_imports_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    mine = await campaign(shop, key="mine")
    foreign = await campaign(other_shop, key="theirs")
    await put_spend(shop, mine["id"], days_ago(0), 100)
    content = (f"date,campaign,amount_yuan\n{days_ago(0)},mine,1.00\n"  # line 2: fine
               f"{days_ago(0)},{foreign['id']},1.00\n"  # line 3: another shop's campaign
               f"{days_ago(1)},mine,1.005\n"  # line 4: three decimals
               f"{days_ago(1)},mine,-1\n"  # line 5: negative
               "2026-02-30,mine,1\n"  # line 6: no such day
               f"{days_ago(9)},mine,1\n"  # line 7: before the campaign
               f"{days_ago(1)},nobody,1\n"  # line 8: unknown key
               f"{days_ago(1)},mine\n"  # line 9: a column short
               f"{days_ago(1)},mine,1e3\n")  # line 10: no exponents
    r = await shop.client.post(f"{CONSOLE}/spend/import", headers={**shop.staff, "Content-Type": "text/csv"},
                               content=content.encode())
    body = assert_problem(r, 422, "invalid_spend_csv")
    assert [row["line"] for row in body["rows"]] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert await shop.rows("SELECT amount_fen FROM campaign_spend WHERE shop_id = :shop") == [(100,)]
    assert await other_shop.count("campaign_spend") == 0
    for bad in ("", "day,campaign,amount_yuan\n", "date,campaign,amount_yuan,amount_fen\n2026-01-01,mine,1,1\n"):
        r = await shop.client.post(f"{CONSOLE}/spend/import", headers={**shop.staff, "Content-Type": "text/csv"},
                                   content=bad.encode())
        assert_problem(r, 422, "invalid_spend_csv")
    r = await shop.client.post(f"{CONSOLE}/spend/import", headers=shop.staff, json={"csv": "x"})
    assert_problem(r, 422, "unsupported_media_type")
    # The good file, in fen, GB18030-encoded with a BOM-less header, as a form upload: imported whole.
    good = f"campaign,date,amount_fen\nmine,{days_ago(0)},250\nmine,{days_ago(1)},99\n".encode("gb18030")
    r = await shop.client.post(f"{CONSOLE}/spend/import", headers=shop.staff,
                               files={"file": ("spend.csv", good, "text/csv")})
    assert r.status_code == 200, r.text
    assert await shop.rows("SELECT day::text, amount_fen, source FROM campaign_spend WHERE shop_id = :shop "
                           "ORDER BY day") == [(days_ago(1), 99, "import"), (days_ago(0), 250, "import")]


async def test_bad_report_ranges(shop: ShopHarness) -> None:
    c = await campaign(shop)
    for params, code in (({"from": days_ago(0), "to": days_ago(1)}, "invalid_range"),
                         ({"from": "2024-01-01", "to": "2026-01-01"}, "invalid_range"),
                         ({"from": "yesterday"}, "validation_error"),
                         ({"group_by": "sharer"}, "validation_error"),
                         ({"format": "xml"}, "validation_error")):
        r = await shop.client.get(f"{CONSOLE}/report", headers=shop.staff, params=params)
        assert_problem(r, 422, code)
    r = await shop.client.get(f"{CONSOLE}/{c['id']}/report", headers=shop.staff,
                              params={"from": days_ago(0), "to": days_ago(1)})
    assert_problem(r, 422, "invalid_range")
    default = await report(shop, campaign_id=c["id"])
    assert (default["from"], default["to"]) == (c["starts_on"], days_ago(0))


async def test_search_records_one_search_code_per_shop(shop: ShopHarness) -> None:
    await shop.product(title="绿茶")
    buyer = await login(shop, "searcher")
    await search(shop, "绿茶")
    await search(shop, "绿茶", device="bad")  # a malformed device id: nothing
    await search(shop, "绿茶", customer={"Authorization": "Bearer forged"})  # a bad token: answered, not recorded
    assert await shop.count("fission_visits") == 0 and await shop.count("campaign_search_codes") == 0
    r = await shop.client.get(f"{shop.base}/products", params={"q": "绿茶", "offset": 20}, headers=buyer)
    assert r.status_code == 200 and await shop.count("fission_visits") == 0  # later pages are not new visits
    page = await search(shop, "绿茶", customer=buyer)
    assert page["total"] == 1
    await search(shop, "茶", customer=buyer)
    await search(shop, "茶", device="device-xyz-001")
    assert await shop.count("campaign_search_codes") == 1
    assert await shop.rows("SELECT channel, count(*), count(customer_id) FROM fission_visits WHERE shop_id = :shop "
                           "GROUP BY channel") == [("search", 3, 2)]


async def test_search_statement_count(shop: ShopHarness, count_statements: Any) -> None:
    """Anonymous searches cost nothing more than browsing; an identified one: its code, the share, the visit
    with its fact, the binding it reads = 4 more."""
    await shop.product(title="绿茶")
    buyer = await login(shop, "counted")
    await search(shop, "茶", customer=buyer)  # the shop's search code now exists
    with count_statements() as browse:
        r = await shop.client.get(f"{shop.base}/products")
    assert r.status_code == 200
    with count_statements() as anonymous:
        await search(shop, "茶")
    with count_statements() as identified:
        await search(shop, "茶", customer=buyer)
    assert anonymous.count == browse.count, "\n".join(anonymous.statements)
    print(f"\nidentified search: {identified.count - browse.count} statements more than browsing")
    assert identified.count - browse.count <= 4, "\n".join(identified.statements)


async def test_races_make_one_search_code_one_spend_row_one_label(shop: ShopHarness) -> None:
    """20 first searches at once share one code; 20 entries of one day's spend leave one row; 20 consoles
    adding the same label leave one code (and no orphan share)."""
    await shop.product(title="绿茶")
    await asyncio.gather(*(search(shop, "茶", device=f"device-race-{i:03d}") for i in range(20)))
    assert await shop.count("campaign_search_codes") == 1
    assert await shop.rows("SELECT count(*), count(DISTINCT share_id) FROM fission_visits WHERE shop_id = :shop") == [
        (20, 1)]
    assert await shop.scalar("SELECT count(*) FROM fission_shares WHERE shop_id = :shop AND channel = 'search'") == 1
    c = await campaign(shop)
    amounts = list(range(1000, 1020))
    results = await asyncio.gather(*(shop.client.put(f"{CONSOLE}/{c['id']}/spend/{days_ago(0)}", headers=shop.staff,
                                                     json={"amount_fen": a}) for a in amounts))
    assert all(r.status_code == 200 for r in results)
    [(amount,)] = await shop.rows("SELECT amount_fen FROM campaign_spend WHERE shop_id = :shop")
    assert amount in amounts
    shares_before = await shop.count("fission_shares")
    results = await asyncio.gather(*(shop.client.post(f"{CONSOLE}/{c['id']}/codes", headers=shop.staff,
                                                      json={"label": "article"}) for _ in range(20)))
    assert sorted(r.status_code for r in results) == [201] + [409] * 19
    assert await shop.count("fission_shares") == shares_before + 1
    async with shop.db.sessions() as session:
        assert await violations(session) == []


async def test_geo_target_is_one_of_the_shops_stores(shop: ShopHarness, other_shop: ShopHarness) -> None:
    async def store(s: ShopHarness) -> int:
        r = await s.client.post("/api/v1/console/stores", headers=s.staff,
                                json={"name": "南山店", "address": "深圳市南山区", "lat": 22.53, "lng": 113.93})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    mine, theirs = await store(shop), await store(other_shop)
    c = await campaign(shop, geo={"store_id": mine, "radius_m": 3000}, budget_fen=50_000)
    assert c["geo"] == {"store_id": mine, "radius_m": 3000}
    await campaign(shop, geo={"store_id": theirs, "radius_m": 3000}, expect=404)
    r = await shop.client.patch(f"{CONSOLE}/{c['id']}", headers=shop.staff,
                                json={"geo": {"store_id": theirs, "radius_m": 500}})
    assert_problem(r, 404, "store_not_found")
    r = await shop.client.patch(f"{CONSOLE}/{c['id']}", headers=shop.staff,
                                json={"name": "改名", "note": "加预算", "budget_fen": 80_000, "clear_geo": True})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["note"], r.json()["budget_fen"], r.json()["geo"]) == ("改名", "加预算", 80_000,
                                                                                            None)
    assert await shop.count("campaigns") == 1
