"""Coupons through the API: templates in the console, claims, and coupons at checkout (scope, threshold, percent
with a cap, stacking, never below zero, used once, back on cancel), and bad input that changes nothing."""

from __future__ import annotations

from typing import Any

from tests.api import groupbuy_helpers as gb
from tests.api.coupon_helpers import CONSOLE, check_invariants, claim, coupon_for, mine, status_of, template
from tests.conftest import ADDRESS, ShopHarness, assert_problem

DAY = 24 * 3600


async def _order(shop: ShopHarness, buyer: dict[str, str], lines: list[tuple[int, int]], *, expect: int = 201,
                 **body: Any) -> dict[str, Any]:
    return await shop.place(buyer, [{"sku_id": s, "quantity": q} for s, q in lines], expect=expect, **body)


async def _problem(shop: ShopHarness, buyer: dict[str, str], lines: list[tuple[int, int]], status: int, code: str,
                   **body: Any) -> None:
    r = await shop.client.post(f"{shop.base}/orders", headers=buyer, json={
        "lines": [{"sku_id": s, "quantity": q} for s, q in lines], "address": ADDRESS, **body})
    assert_problem(r, status, code)


# --- console ---------------------------------------------------------------------------------------

async def test_the_console_creates_lists_gets_and_disables_templates(shop: ShopHarness,
                                                                     other_shop: ShopHarness) -> None:
    t = await template(shop, name="新人券", kind="threshold", amount_fen=1000, threshold_fen=10000, total_quantity=3,
                       per_customer_limit=2)
    assert (t["kind"], t["amount_fen"], t["threshold_fen"], t["scope"], t["stackable"]) == (
        "threshold", 1000, 10000, {"type": "shop", "categories": None, "product_ids": None}, False)
    assert (t["status"], t["issued"], t["remaining"], t["valid_days"]) == ("active", 0, 3, 7)
    p = await template(shop, kind="percent", amount_fen=None, percent_bps=2000, cap_fen=1500, stackable=True,
                       valid_days=None, valid_from="2030-01-01T00:00:00+08:00", valid_to="2030-02-01T00:00:00+08:00")
    assert (p["percent_bps"], p["cap_fen"], p["stackable"], p["valid_days"]) == (2000, 1500, True, None)

    r = await shop.client.get(f"{CONSOLE}/templates", headers=shop.staff)
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [p["id"], t["id"]]
    r = await shop.client.post(f"{CONSOLE}/templates/{t['id']}/disable", headers=shop.staff)
    assert r.status_code == 200 and r.json()["status"] == "disabled"
    r = await shop.client.get(f"{CONSOLE}/templates", headers=shop.staff, params={"status": "disabled"})
    assert [i["id"] for i in r.json()["items"]] == [t["id"]]
    assert (await shop.client.get(f"{CONSOLE}/templates/{p['id']}", headers=shop.staff)).json()["id"] == p["id"]
    # Another shop's template does not exist for this one.
    assert_problem(await other_shop.client.get(f"{CONSOLE}/templates/{t['id']}", headers=other_shop.staff),
                   404, "coupon_template_not_found")
    assert_problem(await other_shop.client.post(f"{CONSOLE}/templates/{t['id']}/disable", headers=other_shop.staff),
                   404, "coupon_template_not_found")


async def test_scopes_name_this_shops_categories_and_products(shop: ShopHarness, other_shop: ShopHarness) -> None:
    fruit = await shop.product(category="水果")
    foreign = await other_shop.product()
    t = await template(shop, scope={"type": "category", "categories": ["水果", fruit["category_id"]]})
    assert t["scope"]["categories"] == [fruit["category_id"]]
    t = await template(shop, scope={"type": "product", "product_ids": [fruit["id"]]})
    assert t["scope"]["product_ids"] == [fruit["id"]]
    before = await shop.count("coupon_templates")
    for scope, code in (({"type": "category", "categories": ["蔬菜"]}, "category_not_found"),
                        ({"type": "product", "product_ids": [foreign["id"]]}, "product_not_found"),
                        ({"type": "product"}, "invalid_scope"),
                        ({"type": "shop", "product_ids": [fruit["id"]]}, "invalid_scope")):
        body = await template(shop, expect=422, scope=scope)
        assert body["code"] == code, body
    assert await shop.count("coupon_templates") == before


async def test_bad_templates_are_refused_with_a_code_and_nothing_is_created(shop: ShopHarness) -> None:
    for fields, code in (
        ({"kind": "percent", "amount_fen": None}, "invalid_percent"),
        ({"kind": "percent", "amount_fen": 100, "percent_bps": 100}, "invalid_terms"),
        ({"kind": "threshold"}, "threshold_required"),
        ({"kind": "fixed", "amount_fen": None}, "invalid_amount"),
        ({"valid_days": None}, "validity_required"),
        ({"valid_to": "2030-01-01T00:00:00Z"}, "validity_required"),
        ({"valid_days": None, "valid_to": "2001-01-01T00:00:00Z"}, "invalid_validity"),
        ({"valid_days": None, "valid_from": "2031-01-01T00:00:00Z", "valid_to": "2030-01-01T00:00:00Z"},
         "invalid_validity"),
        ({"total_quantity": 0}, "validation_error"),
        ({"per_customer_limit": 0}, "validation_error"),
        ({"kind": "bogus"}, "validation_error"),
        ({"amount_fen": -5}, "validation_error"),
        ({"surprise": 1}, "validation_error"),
    ):
        body = await template(shop, expect=422, **fields)
        assert body["code"] == code, (fields, body)
    assert await shop.count("coupon_templates") == 0


# --- claims ----------------------------------------------------------------------------------------

async def test_claims_respect_the_limit_the_total_and_the_templates_state(shop: ShopHarness,
                                                                          other_shop: ShopHarness) -> None:
    t = await template(shop, total_quantity=2, per_customer_limit=1)
    ann, bob, cat = await shop.login("ann"), await shop.login("bob"), await shop.login("cat")
    r = await shop.client.get(f"{shop.base}/coupons/available", headers=ann)
    assert [(i["id"], i["claimed"], i["remaining"]) for i in r.json()] == [(t["id"], 0, 2)]
    got = await claim(shop, ann, t["id"])
    assert (got["status"], got["template_id"], got["amount_fen"]) == ("available", t["id"], 1000)
    assert [c["id"] for c in await mine(shop, ann)] == [got["id"]]
    assert (await shop.client.get(f"{shop.base}/coupons/available", headers=ann)).json() == []
    assert_problem(await shop.client.post(f"{shop.base}/coupons/claim", headers=ann, json={"template_id": t["id"]}),
                   409, "coupon_limit_reached")
    await claim(shop, bob, t["id"])
    assert_problem(await shop.client.post(f"{shop.base}/coupons/claim", headers=cat, json={"template_id": t["id"]}),
                   409, "coupon_exhausted")
    anonymous = await shop.client.get(f"{shop.base}/coupons/available")
    assert anonymous.status_code == 200 and anonymous.json() == []

    d = await template(shop)
    await shop.client.post(f"{CONSOLE}/templates/{d['id']}/disable", headers=shop.staff)
    assert_problem(await shop.client.post(f"{shop.base}/coupons/claim", headers=cat, json={"template_id": d["id"]}),
                   409, "coupon_template_disabled")
    foreign = await template(other_shop)
    assert_problem(await shop.client.post(f"{shop.base}/coupons/claim", headers=cat,
                                          json={"template_id": foreign["id"]}), 404, "coupon_template_not_found")
    assert_problem(await shop.client.post(f"{shop.base}/coupons/claim", json={"template_id": t["id"]}),
                   401, "not_authenticated")
    assert await shop.count("coupons") == 2 and await shop.scalar(
        "SELECT issued FROM coupon_templates WHERE id = :t", t=t["id"]) == 2
    await check_invariants(shop)


async def test_validity_n_days_after_the_claim_and_fixed_dates(shop: ShopHarness) -> None:
    ann = await shop.login("ann")
    coupon = await coupon_for(shop, ann, valid_days=1)
    later = await template(shop, valid_days=None, valid_from="2999-01-01T00:00:00Z", valid_to="2999-02-01T00:00:00Z")
    early = await claim(shop, ann, later["id"])
    assert early["valid_from"].startswith("2999-01-01") and early["status"] == "available"
    sku = await shop.sku(price_fen=5000)
    await _problem(shop, ann, [(sku, 1)], 409, "coupon_not_yet_valid", coupon_id=early["id"])
    await shop.advance(DAY + 1)
    ann = await shop.login("ann")
    assert await status_of(shop, ann, coupon) == "expired"
    assert [c["id"] for c in await mine(shop, ann, status="expired")] == [coupon]
    assert [c["id"] for c in await mine(shop, ann, status="available")] == [early["id"]]
    await _problem(shop, ann, [(sku, 1)], 409, "coupon_expired", coupon_id=coupon)
    assert await shop.count("orders") == 0 and await shop.stock(sku) == 100


# --- checkout --------------------------------------------------------------------------------------

async def test_a_coupon_takes_its_discount_is_used_once_and_is_named_on_the_order(shop: ShopHarness) -> None:
    a, b = await shop.sku(price_fen=3000, stock=10), await shop.sku(price_fen=1000, stock=10)
    ann = await shop.login("ann")
    coupon = await coupon_for(shop, ann, amount_fen=1000)
    placed = await _order(shop, ann, [(a, 1), (b, 2)], coupon_id=coupon)
    assert (placed["total_fen"], placed["discount_fen"], placed["payable_fen"]) == (5000, 1000, 4000)
    assert placed["promotion"] == {"kind": "coupon", "coupon_id": coupon, "coupon_discount_fen": 1000}
    order = await shop.order(ann, placed["order_no"])
    assert [line["discount_fen"] for line in order["lines"]] == [600, 400]  # in proportion, summing exactly
    assert order["promotion"]["coupon_id"] == coupon
    used = (await mine(shop, ann))[0]
    assert (used["status"], used["order_no"]) == ("used", placed["order_no"])

    await _problem(shop, ann, [(a, 1)], 409, "coupon_already_used", coupon_id=coupon)
    assert await shop.count("orders") == 1 and await shop.stock(a) == 9 and await shop.stock(b) == 8
    await check_invariants(shop)


async def test_cancelling_the_order_gives_the_coupon_back_and_a_refund_does_not(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=3000, stock=10)
    ann = await shop.login("ann")
    coupon = await coupon_for(shop, ann, amount_fen=500)
    first = await _order(shop, ann, [(sku, 1)], coupon_id=coupon)
    r = await shop.client.post(f"{shop.base}/orders/{first['order_no']}/cancel", headers=ann)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert await status_of(shop, ann, coupon) == "available"
    second = await _order(shop, ann, [(sku, 1)], coupon_id=coupon)
    assert second["payable_fen"] == 2500
    await shop.pay(second)
    r = await shop.client.post(f"/api/v1/console/orders/{second['order_no']}/refunds", headers=shop.staff,
                               json={"reason": "缺货"})
    assert r.status_code == 201, r.text
    await shop.run_due()
    assert (await shop.order(ann, second["order_no"]))["status"] == "refunded"
    assert await status_of(shop, ann, coupon) == "used"  # the purchase happened; the coupon was spent
    await check_invariants(shop)


async def test_scope_threshold_percent_cap_and_never_below_zero(shop: ShopHarness) -> None:
    fruit = await shop.product(price_fen=3000, category="水果")
    other = await shop.sku(price_fen=9000)
    apple = fruit["skus"][0]["id"]
    ann = await shop.login("ann")
    # 满 50 减 10 on fruit only: the other product does not count towards the threshold.
    t = await coupon_for(shop, ann, kind="threshold", amount_fen=1000, threshold_fen=5000,
                         scope={"type": "category", "categories": ["水果"]})
    await _problem(shop, ann, [(apple, 1), (other, 1)], 409, "coupon_threshold_not_met", coupon_id=t)
    placed = await _order(shop, ann, [(apple, 2), (other, 1)], coupon_id=t)
    lines = (await shop.order(ann, placed["order_no"]))["lines"]
    assert [(line["sku_id"], line["discount_fen"]) for line in lines] == [(apple, 1000), (other, 0)]
    # A product coupon on a cart without that product.
    p = await coupon_for(shop, ann, scope={"type": "product", "product_ids": [fruit["id"]]})
    await _problem(shop, ann, [(other, 1)], 409, "coupon_not_applicable", coupon_id=p)
    # 20% off, capped at 15 yuan.
    pc = await coupon_for(shop, ann, kind="percent", amount_fen=None, percent_bps=2000, cap_fen=1500)
    placed = await _order(shop, ann, [(apple, 1)], coupon_id=pc)
    assert (placed["discount_fen"], placed["payable_fen"]) == (600, 2400)
    pc2 = await coupon_for(shop, ann, kind="percent", amount_fen=None, percent_bps=2000, cap_fen=1500)
    assert (await _order(shop, ann, [(other, 1)], coupon_id=pc2))["discount_fen"] == 1500
    # A 100-yuan coupon on a 30-yuan order (macrozheng #1002): 30 off, nothing to pay, never below zero.
    big = await coupon_for(shop, ann, amount_fen=10000)
    free = await _order(shop, ann, [(apple, 1)], coupon_id=big)
    assert (free["discount_fen"], free["payable_fen"], free["status"]) == (3000, 0, "paid")
    await check_invariants(shop)


async def test_stacking_with_a_promotion_only_when_the_template_allows_it(shop: ShopHarness) -> None:
    sku, c = await gb.setup(shop, price_fen=1000, group_price_fen=800)
    ann = await shop.login("ann")
    plain = await coupon_for(shop, ann, amount_fen=100)
    await _problem(shop, ann, [(sku, 1)], 409, "coupon_not_stackable", coupon_id=plain,
                   promotion=gb.promotion(c["id"]))
    assert await shop.count("groupbuy_groups") == 0 and await shop.stock(sku) == 100
    stackable = await coupon_for(shop, ann, amount_fen=100, stackable=True)
    placed = await gb.order(shop, ann, sku, c["id"], coupon_id=stackable)
    assert (placed["total_fen"], placed["discount_fen"], placed["payable_fen"]) == (1000, 300, 700)
    assert placed["promotion"]["kind"] == "groupbuy" and placed["promotion"]["coupon_id"] == stackable
    r = await shop.client.post(f"{shop.base}/orders/{placed['order_no']}/cancel", headers=ann)
    assert r.status_code == 200, r.text
    assert await status_of(shop, ann, stackable) == "available"
    # A plain order may use the plain coupon.
    assert (await _order(shop, ann, [(sku, 1)], coupon_id=plain))["payable_fen"] == 900


async def test_another_customers_or_shops_coupon_is_not_found_and_nothing_changes(
        shop: ShopHarness, other_shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=3000, stock=10)
    ann, bob = await shop.login("ann"), await shop.login("bob")
    annes = await coupon_for(shop, ann)
    foreign_buyer = await other_shop.login("ann")
    foreign = await coupon_for(other_shop, foreign_buyer)
    await _problem(shop, bob, [(sku, 1)], 404, "coupon_not_found", coupon_id=annes)
    await _problem(shop, ann, [(sku, 1)], 404, "coupon_not_found", coupon_id=foreign)
    await _problem(shop, ann, [(sku, 1)], 404, "coupon_not_found", coupon_id=2**62)
    await _problem(shop, ann, [(sku, 1)], 422, "validation_error", coupon_id=0)
    assert_problem(await shop.client.get(f"{shop.base}/coupons/{annes}", headers=bob), 404, "coupon_not_found")
    assert await shop.count("orders") == 0 and await shop.stock(sku) == 10
    assert await status_of(shop, ann, annes) == "available"


async def test_a_coupon_checkout_spends_two_statements_more_than_a_plain_order(shop: ShopHarness,
                                                                               count_statements: Any) -> None:
    """12 for a plain two-line order (see test_statement_count.py) + read the coupon + use it = 14."""
    a, b = await shop.sku(stock=10), await shop.sku(stock=10)
    buyer = await shop.login("buyer")
    coupon = await coupon_for(shop, buyer, amount_fen=100)
    with count_statements() as counter:
        r = await shop.client.post(f"{shop.base}/orders", headers={**buyer, "Idempotency-Key": "coupon-count-01"},
                                   json={"lines": [{"sku_id": a, "quantity": 1}, {"sku_id": b, "quantity": 2}],
                                         "address": ADDRESS, "coupon_id": coupon})
    assert r.status_code == 201, r.text
    statements = [s for s in counter.statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    print(f"\ntwo-line order with a coupon: {len(statements)} SQL statements")
    assert len(statements) <= 14, "\n".join(statements)
    assert sum("UPDATE coupons SET status = 'used'" in s for s in statements) == 1


async def test_a_failed_group_gives_its_members_coupon_back(shop: ShopHarness) -> None:
    sku, c = await gb.setup(shop, price_fen=1000, group_price_fen=800, group_size=3, duration_seconds=600)
    ann = await shop.login("ann")
    coupon = await coupon_for(shop, ann, amount_fen=100, stackable=True, valid_days=30)
    placed = await gb.paid_order(shop, ann, sku, c["id"], coupon_id=coupon)
    assert placed["payable_fen"] == 700 and await status_of(shop, ann, coupon) == "used"
    await shop.advance(601)
    await shop.run_due()
    ann = await shop.login("ann")
    assert (await shop.order(ann, placed["order_no"]))["status"] == "refunded"
    assert await status_of(shop, ann, coupon) == "available"
    await check_invariants(shop)
