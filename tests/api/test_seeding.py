"""KOL seeding through the API: a shop's share → visit → order graph made through the real endpoints, IMM's
choice, the weighted cascade and the estimated model, other shops' isolation, the budget, bad input."""

from __future__ import annotations

from typing import Any

from tests.api.test_fission import customer_id, share, visit
from tests.conftest import ShopHarness, assert_problem, make_shop

URL = "/api/v1/console/analytics/seeding"


async def build(shop: ShopHarness) -> dict[str, int]:
    """alice → bob, carol, dave, erin; bob re-shares → frank, grace; zed → yan. Carol pays through alice's link."""
    sku = await shop.sku(price_fen=500, stock=50)
    product = int(await shop.scalar("SELECT product_id FROM skus WHERE id = :id", id=sku))
    people = {name: await shop.login(name) for name in
              ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "zed", "yan")}
    root = await share(shop, people["alice"], product)
    for name in ("bob", "carol", "dave", "erin"):
        await visit(shop, people[name], root["code"])
    child = await share(shop, people["bob"], product, parent=root["code"])
    for name in ("frank", "grace"):
        await visit(shop, people[name], child["code"])
    other = await share(shop, people["zed"], product)
    await visit(shop, people["yan"], other["code"])
    await visit(shop, None, other["code"], device="device-anonymous-1")  # anonymous: no node
    await visit(shop, people["zed"], other["code"])  # one's own link: no arc
    await shop.pay(await shop.place(people["carol"], [{"sku_id": sku, "quantity": 1}], share_code=root["code"]))
    return {name: await customer_id(shop, who) for name, who in people.items()}


async def seeding(shop: ShopHarness, expect: int = 200, **params: Any) -> dict[str, Any]:
    r = await shop.client.get(URL, headers=shop.staff, params=params)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def test_the_shop_seeds_its_biggest_promoter_first(shop: ShopHarness, other_shop: ShopHarness) -> None:
    ids = await build(shop)
    theirs = await share(other_shop, await other_shop.login("alice"), (await other_shop.product())["id"])
    await visit(other_shop, await other_shop.login("bob"), theirs["code"])

    one = await seeding(shop, k=1)
    assert one["model"] == "weighted_cascade" and "thin data" in one["model_reason"]
    assert one["graph"] == {"nodes": 9, "arcs": 7, "trials": 7, "conversions": 1}
    assert [s["customer_id"] for s in one["seeds"]] == [ids["alice"]]
    assert one["seeds"][0]["followers"] == 4 and one["seeds"][0]["nickname"].endswith("*")
    assert "alice" not in one["seeds"][0]["nickname"]
    # Every arc is certain under the weighted cascade here (one sharer per visitor): alice reaches 1 + 4 + 2.
    assert one["comparison"]["imm"]["expected_reach"] == 7.0 and one["comparison"]["imm"]["stderr"] == 0
    assert abs(one["expected_reach"] - 7.0) < 1.5

    two = await seeding(shop, k=2, epsilon=0.3)
    assert [s["customer_id"] for s in two["seeds"]] == [ids["alice"], ids["zed"]]
    assert two["seeds"][0]["marginal_gain"] > two["seeds"][1]["marginal_gain"] > 0
    assert abs(sum(s["marginal_gain"] for s in two["seeds"]) - two["expected_reach"]) < 1e-9
    assert two["comparison"]["imm"]["expected_reach"] == 9.0
    assert {"customer_ids", "expected_reach", "stderr"} <= set(two["comparison"]["degree"])
    assert two["comparison"]["degree"]["expected_reach"] <= 9.0 and two["comparison"]["pagerank"]["customer_ids"]
    assert not set(two["comparison"]["pagerank"]["customer_ids"]) - set(ids.values())

    estimated = await seeding(shop, k=2, model="estimated")
    assert estimated["model"] == "estimated" and estimated["seeds"][0]["customer_id"] == ids["alice"]
    assert 0 < estimated["expected_reach"] < 9

    theirs_out = await seeding(other_shop, k=5)
    assert theirs_out["graph"]["nodes"] == 2 and len(theirs_out["seeds"]) == 2
    assert not {s["customer_id"] for s in theirs_out["seeds"]} & set(ids.values())


async def test_a_shop_without_shares_gets_an_empty_answer(shop: ShopHarness) -> None:
    empty = await seeding(shop, k=10)
    assert empty["seeds"] == [] and empty["expected_reach"] == 0 and empty["graph"]["nodes"] == 0
    assert empty["comparison"] is None


async def test_the_budget_buys_the_most_reach(shop: ShopHarness) -> None:
    ids = await build(shop)
    # A seed costs 1000 fen plus 100 per follower: alice 1400, zed 1100, bob 1200, the rest 1000.
    got = await seeding(shop, k=10, budget_fen=2500)
    assert [s["customer_id"] for s in got["seeds"]] == [ids["alice"], ids["zed"]]
    assert [s["cost_fen"] for s in got["seeds"]] == [1400, 1100] and got["spent_fen"] == 2500
    assert got["budget_fen"] == 2500
    tight = await seeding(shop, k=10, budget_fen=999)
    assert tight["seeds"] == [] and tight["spent_fen"] == 0
    assert_problem(await shop.client.get(URL, headers=shop.staff, params={
        "budget_fen": 5000, "cost_fen": 0, "cost_per_follower_fen": 0}), 422, "free_seeds")


async def test_bad_input_is_422_and_the_console_needs_staff(shop: ShopHarness, client: Any, db: Any) -> None:
    for params in ({"k": 0}, {"k": 101}, {"k": "x"}, {"epsilon": 0.05}, {"epsilon": 0.95}, {"epsilon": "nan"},
                   {"model": "ic"}, {"budget_fen": 0}, {"cost_fen": -1}, {"seed": -1}):
        assert_problem(await shop.client.get(URL, headers=shop.staff, params=params), 422, "validation_error")
    assert (await shop.client.get(URL)).status_code == 401
    buyer = await shop.login("buyer")
    assert (await shop.client.get(URL, headers=buyer)).status_code in (401, 403)
    stranger = await make_shop(client, db)
    await build(stranger)
    assert (await seeding(shop, k=3))["seeds"] == []  # another shop's records never leak in


async def test_the_seeding_read_is_two_set_based_statements(shop: ShopHarness, count_statements: Any) -> None:
    await build(shop)
    await seeding(shop, k=2)  # warm the staff session and the kernels
    with count_statements() as counter:
        await seeding(shop, k=2)
    statements = [s for s in counter.statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    mine = [s for s in statements if "fission_visits" in s or "FROM customers" in s]
    assert len(mine) == 2, "\n".join(statements)
    assert len(statements) <= 4, "\n".join(statements)
