"""Distribution through the API: settings, becoming a promoter, commission rules, refunds before settlement,
rebates, withdrawals with review and fees, the promoter centre, and every bad input refused unchanged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from liebian.distribution import queries
from liebian.integrations.wechat.fake import transfers as fake_transfers
from liebian.kit.money import apply_bps, round_half_up
from liebian.ledger import service as ledger
from tests.api.distribution_helpers import DAY, assert_checks, buy, enable, invite, me, money, whoami
from tests.conftest import ShopHarness, assert_problem

CONSOLE = "/api/v1/console/distribution"


async def put_settings(shop: ShopHarness, body: dict[str, Any]) -> Any:
    return await shop.client.put(f"{CONSOLE}/settings", json=body, headers=shop.staff)


async def complete_and_settle(shop: ShopHarness, buyer: dict[str, str], order_no: str, days: int = 7) -> None:
    await shop.ship_and_receive(buyer, order_no)
    await shop.advance(days * DAY + 60)
    await shop.run_due()


async def refund(shop: ShopHarness, buyer: dict[str, str], order_no: str, amount_fen: int | None = None) -> None:
    body: dict[str, Any] = {"reason": "不要了"} | ({"amount_fen": amount_fen} if amount_fen else {})
    r = await shop.client.post(f"{shop.base}/orders/{order_no}/refund-requests", headers=buyer, json=body)
    assert r.status_code == 201, r.text
    r = await shop.client.post(f"/api/v1/console/refunds/{r.json()['id']}/approve", headers=shop.staff)
    assert r.status_code == 200, r.text
    await shop.run_due()


# --- settings ----------------------------------------------------------------------------------------------

async def test_settings_round_trip_and_binding_fields_go_to_the_shop(shop: ShopHarness) -> None:
    got = await enable(shop, binding_policy="validity_days", binding_days=45, protection_days=3)
    assert (got["levels"], got["level_rates_bps"], got["binding_policy"], got["binding_days"]) == (
        2, [1000, 500], "validity_days", 45)
    assert got["commission_cap_bps"] == 3000  # the default cap: 30% of what was paid
    r = await shop.client.get(f"{CONSOLE}/settings", headers=shop.staff)
    assert r.json() == got


async def test_bad_settings_are_refused_and_change_nothing(shop: ShopHarness) -> None:
    before = await enable(shop)
    cases = [({"levels": 3, "level_rates_bps": [1000, 500, 100]}, "commission_depth_exceeded"),
             ({"levels": 2, "level_rates_bps": [1000]}, "invalid_distribution_settings"),
             ({"level_rates_bps": [10_001, 0]}, "invalid_distribution_settings"),
             ({"commission_cap_bps": -1}, "invalid_distribution_settings"),
             ({"settle_after_days": 366}, "invalid_distribution_settings"),
             ({"promoter_qualification": "pay_to_join"}, "invalid_distribution_settings"),
             ({"withdrawal_fee_bps": 5000}, "invalid_distribution_settings"),
             ({"no_such_setting": 1}, "invalid_distribution_settings"),
             ({"promoter_levels": [{"name": "gold", "min_sales_fen": 100}]}, "invalid_distribution_settings"),
             ({"binding_policy": "forever"}, "invalid_distribution_settings"),
             ({"binding_days": 0, "levels": 1, "level_rates_bps": [100]}, "invalid_distribution_settings")]
    for body, code in cases:
        assert_problem(await put_settings(shop, body), 422, code)
    assert (await shop.client.get(f"{CONSOLE}/settings", headers=shop.staff)).json() == before
    as_json = {**shop.staff, "Content-Type": "application/json"}
    assert_problem(await shop.client.put(f"{CONSOLE}/settings", content=b"{", headers=as_json), 422, "invalid_json")
    assert_problem(await shop.client.put(f"{CONSOLE}/settings", json={}), 401, "not_authenticated")


async def test_product_commission_overrides_and_their_bad_inputs(shop: ShopHarness, other_shop: ShopHarness) -> None:
    await enable(shop)
    product = await shop.product(price_fen=1000)
    url = f"{CONSOLE}/products/{product['id']}/commission"
    r = await shop.client.put(url, json={"mode": "fixed", "level_values": [150, 50]}, headers=shop.staff)
    assert r.status_code == 200 and r.json()["level_values"] == [150, 50]
    assert_problem(await shop.client.put(url, json={"mode": "rate", "level_values": [10_001]}, headers=shop.staff),
                   422, "invalid_commission_rate")
    assert_problem(await shop.client.put(url, json={"mode": "bonus"}, headers=shop.staff), 422, "validation_error")
    assert_problem(await shop.client.put(url, json={"mode": "rate", "level_values": [1, 2, 3]}, headers=shop.staff),
                   422, "validation_error")
    assert_problem(await shop.client.put(url, json={"mode": "rate", "level_values": [-1]}, headers=shop.staff),
                   422, "validation_error")
    foreign = await other_shop.product()
    assert_problem(await shop.client.put(f"{CONSOLE}/products/{foreign['id']}/commission",
                                         json={"mode": "none"}, headers=shop.staff), 404, "product_not_found")

    # The override pays: 150 fen per unit at level 1, 50 at level 2.
    a, b, c = await shop.login("a"), await shop.login("b"), await shop.login("c")
    await invite(shop, a, b)
    await invite(shop, b, c)
    await buy(shop, c, [{"sku_id": product["skus"][0]["id"], "quantity": 2}])
    assert (await money(shop, whoami(shop, b)))["pending"] == 300
    assert (await money(shop, whoami(shop, a)))["pending"] == 100
    # Without its override the product pays the shop's rates again (10% and 5% of 1000).
    assert (await shop.client.delete(url, headers=shop.staff)).status_code == 204
    await buy(shop, c, [{"sku_id": product["skus"][0]["id"], "quantity": 1}])
    assert (await money(shop, whoami(shop, b)))["pending"] == 300 + 100
    assert (await money(shop, whoami(shop, a)))["pending"] == 100 + 50
    await assert_checks(shop)


# --- becoming a promoter -------------------------------------------------------------------------------------

async def test_apply_mode_waits_for_approval_and_pending_promoters_earn_nothing(shop: ShopHarness) -> None:
    await enable(shop, promoter_qualification="apply", levels=1, level_rates_bps=[1000])
    p, buyer = await shop.login("p"), await shop.login("buyer")
    r = await shop.client.post(f"{shop.base}/promoter/apply", headers=p)
    assert r.status_code == 200 and r.json()["status"] == "pending" and r.json()["invite_code"]
    code = r.json()["invite_code"]  # a pending promoter's code is not valid yet
    assert_problem(await shop.client.post(f"{shop.base}/promoter/invitations", json={"code": code}, headers=buyer),
                   404, "invite_code_not_found")
    pid = whoami(shop, p)
    r = await shop.client.post(f"{CONSOLE}/promoters/{pid}/approve", headers=shop.staff)
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert_problem(await shop.client.post(f"{CONSOLE}/promoters/{pid}/approve", headers=shop.staff),
                   409, "promoter_state")
    assert_problem(await shop.client.post(f"{CONSOLE}/promoters/{pid}/promote", headers=shop.staff),
                   422, "validation_error")
    assert_problem(await shop.client.post(f"{CONSOLE}/promoters/999999999/approve", headers=shop.staff),
                   404, "promoter_not_found")
    await invite(shop, p, buyer)
    await buy(shop, buyer, [{"sku_id": await shop.sku(price_fen=5000), "quantity": 1}])
    assert (await money(shop, pid))["pending"] == 500
    # Disabled: the next sale pays nothing.
    r = await shop.client.post(f"{CONSOLE}/promoters/{pid}/disable", headers=shop.staff)
    assert r.json()["status"] == "disabled"
    await buy(shop, buyer, [{"sku_id": await shop.sku(price_fen=5000), "quantity": 1}])
    assert (await money(shop, pid))["pending"] == 500
    listed = await shop.client.get(f"{CONSOLE}/promoters", params={"status": "disabled"}, headers=shop.staff)
    assert [x["customer_id"] for x in listed.json()["items"]] == [pid]
    await assert_checks(shop)


async def test_threshold_mode_counts_completed_spending_never_charges(shop: ShopHarness) -> None:
    await enable(shop, promoter_qualification="threshold", qualification_threshold_fen=3000)
    p = await shop.login("p")
    r = await shop.client.post(f"{shop.base}/promoter/apply", headers=p)
    body = assert_problem(r, 409, "qualification_threshold_not_reached")
    assert (body["spent_fen"], body["threshold_fen"]) == (0, 3000)
    order = await buy(shop, p, [{"sku_id": await shop.sku(price_fen=3000), "quantity": 1}])
    await shop.ship_and_receive(p, order["order_no"])
    r = await shop.client.post(f"{shop.base}/promoter/apply", headers=p)
    assert r.status_code == 200 and r.json()["status"] == "active"


async def test_disabled_programme_refuses_applications_and_pays_nothing(shop: ShopHarness) -> None:
    p = await shop.login("p")
    assert_problem(await shop.client.post(f"{shop.base}/promoter/apply", headers=p), 409, "distribution_disabled")
    assert (await me(shop, p))["status"] == "none"


async def test_invitation_code_bad_inputs(shop: ShopHarness) -> None:
    await enable(shop)
    p = await shop.login("p")
    code = (await me(shop, p))["invite_code"]
    url = f"{shop.base}/promoter/invitations"
    assert_problem(await shop.client.post(url, json={"code": code}, headers=p), 422, "own_invite_code")
    assert_problem(await shop.client.post(url, json={"code": "NOPE2345"}, headers=p), 404, "invite_code_not_found")
    assert_problem(await shop.client.post(url, json={"code": "x"}, headers=p), 422, "validation_error")
    assert_problem(await shop.client.post(url, json={"code": "ab cd-ef"}, headers=p), 422, "validation_error")
    assert_problem(await shop.client.post(url, json={"code": code}), 401, "not_authenticated")


# --- commission rules ---------------------------------------------------------------------------------------

async def test_the_cap_splits_by_largest_remainder_and_discounted_lines_are_the_base(shop: ShopHarness) -> None:
    await enable(shop, level_rates_bps=[3000, 2000], commission_cap_bps=3000)
    a, b, c = await shop.login("a"), await shop.login("b"), await shop.login("c")
    await invite(shop, a, b)
    await invite(shop, b, c)
    order = await buy(shop, c, [{"sku_id": await shop.sku(price_fen=3333), "quantity": 1},
                                {"sku_id": await shop.sku(price_fen=1667), "quantity": 2}])
    paid = 3333 + 1667 * 2
    cap = paid * 3000 // 10_000
    r = await shop.client.get(f"{CONSOLE}/commissions", params={"order_no": order["order_no"]}, headers=shop.staff)
    rows = r.json()["items"]
    assert len(rows) == 4 and sum(x["amount_fen"] for x in rows) == cap
    assert {x["level"] for x in rows} == {1, 2}
    await assert_checks(shop)


async def test_self_purchase_and_ranks_by_sales_volume(shop: ShopHarness) -> None:
    await enable(shop, levels=1, level_rates_bps=[1000], self_purchase_commission=True,
                 promoter_levels=[{"name": "铜", "min_sales_fen": 0},
                                  {"name": "银", "min_sales_fen": 10_000, "multiplier_bps": 15_000}])
    p = await shop.login("p")
    pid = whoami(shop, p)
    first = await buy(shop, p, [{"sku_id": await shop.sku(price_fen=10_000), "quantity": 1}])
    assert (await money(shop, pid))["pending"] == 1000
    await complete_and_settle(shop, p, first["order_no"])
    p = await shop.login("p")
    view = await me(shop, p)
    assert (view["level"], view["level_name"], view["sales_fen"]) == (1, "银", 10_000)
    await buy(shop, p, [{"sku_id": await shop.sku(price_fen=10_000), "quantity": 1}])
    assert (await money(shop, pid))["pending"] == 1500  # the silver multiplier, 1.5×


async def test_refund_before_settlement_cancels_the_refunded_lines_share(shop: ShopHarness) -> None:
    await enable(shop)
    a, b, c = await shop.login("a"), await shop.login("b"), await shop.login("c")
    await invite(shop, a, b)
    await invite(shop, b, c)
    ida, idb = whoami(shop, a), whoami(shop, b)
    order = await buy(shop, c, [{"sku_id": await shop.sku(price_fen=3000), "quantity": 1},
                                {"sku_id": await shop.sku(price_fen=1000), "quantity": 1}])
    assert (await money(shop, idb))["pending"] == 400 and (await money(shop, ida))["pending"] == 200
    await refund(shop, c, order["order_no"], 1000)  # spread 750 / 250 over the lines
    # Each row keeps its share of what its line kept (3000 → 2250, 1000 → 750), rounded half up per row.
    kept_b = round_half_up(300 * 2250, 3000) + round_half_up(100 * 750, 1000)
    kept_a = round_half_up(150 * 2250, 3000) + round_half_up(50 * 750, 1000)
    assert (await money(shop, idb))["pending"] == kept_b and (await money(shop, ida))["pending"] == kept_a
    await assert_checks(shop)
    await shop.advance(61)  # WeChat refuses a second refund of one order within a minute
    await refund(shop, c, order["order_no"])  # the rest: nothing left to earn
    assert await money(shop, idb) == {"pending": 0, "withdrawable": 0, "debt": 0}
    r = await shop.client.get(f"{shop.base}/promoter/commissions", headers=b)
    assert {x["status"] for x in r.json()["items"]} == {"cancelled"}
    await shop.advance(30 * DAY)
    await shop.run_due()
    assert await money(shop, idb) == {"pending": 0, "withdrawable": 0, "debt": 0}
    await assert_checks(shop)


async def test_an_open_refund_holds_settlement_until_it_is_decided(shop: ShopHarness) -> None:
    await enable(shop, levels=1, level_rates_bps=[1000])
    p, c = await shop.login("p"), await shop.login("c")
    await invite(shop, p, c)
    order = await buy(shop, c, [{"sku_id": await shop.sku(price_fen=2000), "quantity": 1}])
    await shop.ship_and_receive(c, order["order_no"])
    r = await shop.client.post(f"{shop.base}/orders/{order['order_no']}/refund-requests", headers=c,
                               json={"reason": "坏了", "amount_fen": 500})
    assert r.status_code == 201
    pid = whoami(shop, p)
    await shop.advance(8 * DAY)
    await shop.run_due()
    assert (await money(shop, pid))["pending"] == 200  # held by the open request
    r2 = await shop.client.post(f"/api/v1/console/refunds/{r.json()['id']}/reject", headers=shop.staff,
                                json={"reason": "完好"})
    assert r2.status_code == 200, r2.text
    await shop.advance(2 * 3600)
    await shop.run_due()
    assert await money(shop, pid) == {"pending": 0, "withdrawable": 200, "debt": 0}
    await assert_checks(shop)


# --- rebates ---------------------------------------------------------------------------------------------------

async def test_rebate_on_the_invitees_first_completed_order_only(shop: ShopHarness) -> None:
    await enable(shop, level_rates_bps=[0, 0], rebate_mode="fixed", rebate_fixed_fen=888)
    inviter, friend, loner = await shop.login("inviter"), await shop.login("friend"), await shop.login("loner")
    await invite(shop, inviter, friend)
    iid = whoami(shop, inviter)
    assert await money(shop, iid) == {"pending": 0, "withdrawable": 0, "debt": 0}  # an invite alone earns nothing
    first = await buy(shop, friend, [{"sku_id": await shop.sku(price_fen=5000), "quantity": 1}])
    assert (await money(shop, iid))["pending"] == 0  # paid is not enough: a completed order
    await shop.ship_and_receive(friend, first["order_no"])
    assert (await money(shop, iid))["pending"] == 888
    second = await buy(shop, friend, [{"sku_id": await shop.sku(price_fen=5000), "quantity": 1}])
    await shop.ship_and_receive(friend, second["order_no"])
    own = await buy(shop, loner, [{"sku_id": await shop.sku(price_fen=5000), "quantity": 1}])
    await shop.ship_and_receive(loner, own["order_no"])
    assert (await money(shop, iid))["pending"] == 888
    await shop.advance(8 * DAY)
    await shop.run_due()
    assert await money(shop, iid) == {"pending": 0, "withdrawable": 888, "debt": 0}
    await assert_checks(shop)


# --- withdrawals ---------------------------------------------------------------------------------------------

async def earn(shop: ShopHarness, promoter: dict[str, str], fen: int) -> None:
    """A settled commission of exactly ``fen`` (one level at 10%)."""
    buyer = await shop.login(f"buyer-{whoami(shop, promoter)}-{fen}")
    await invite(shop, promoter, buyer)
    order = await buy(shop, buyer, [{"sku_id": await shop.sku(price_fen=fen * 10), "quantity": 1}])
    await complete_and_settle(shop, buyer, order["order_no"])


async def test_withdrawal_review_fee_reject_approve_and_bad_inputs(shop: ShopHarness) -> None:
    await enable(shop, levels=1, level_rates_bps=[1000], withdrawal_min_fen=200, withdrawal_fee_bps=100,
                 withdrawal_daily_limit_fen=3000, withdrawal_auto_approve_fen=0)
    p = await shop.login("p")
    await earn(shop, p, 5000)
    p = await shop.login("p")
    pid = whoami(shop, p)
    url = f"{shop.base}/promoter/withdrawals"
    assert_problem(await shop.client.post(url, json={"amount_fen": 199}, headers=p), 422, "withdrawal_below_minimum")
    assert_problem(await shop.client.post(url, json={"amount_fen": 0}, headers=p), 422, "validation_error")
    assert_problem(await shop.client.post(url, json={"amount_fen": "ten"}, headers=p), 422, "validation_error")
    assert_problem(await shop.client.post(url, json={"amount_fen": 3001}, headers=p), 409, "withdrawal_daily_limit")
    assert_problem(await shop.client.post(url, json={"amount_fen": 200_000}, headers=p), 422, "withdrawal_too_large")
    assert_problem(await shop.client.post(url, json={"amount_fen": 500}, headers={**p, "Idempotency-Key": "x"}),
                   422, "invalid_idempotency_key")
    assert (await me(shop, p))["withdrawable_fen"] == 5000  # nothing moved

    r = await shop.client.post(url, json={"amount_fen": 2000}, headers={**p, "Idempotency-Key": "withdraw-0001"})
    assert r.status_code == 201 and r.json()["state"] == "pending_review" and r.json()["fee_fen"] == 20
    again = await shop.client.post(url, json={"amount_fen": 2000}, headers={**p, "Idempotency-Key": "withdraw-0001"})
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
    assert_problem(await shop.client.post(url, json={"amount_fen": 1500}, headers={**p, "Idempotency-Key":
                                                                                    "withdraw-0001"}),
                   422, "idempotency_key_reused")
    view = await me(shop, p)
    assert (view["withdrawable_fen"], view["withdrawing_fen"]) == (3000, 2000)
    wid = r.json()["id"]
    assert_problem(await shop.client.post(url, json={"amount_fen": 1001}, headers=p), 409, "withdrawal_daily_limit")
    rejected = await shop.client.post(f"{CONSOLE}/withdrawals/{wid}/reject", json={"reason": "资料不全"},
                                      headers=shop.staff)
    assert rejected.json()["state"] == "rejected"
    assert (await me(shop, p))["withdrawable_fen"] == 5000
    assert_problem(await shop.client.post(f"{CONSOLE}/withdrawals/{wid}/approve", headers=shop.staff),
                   409, "withdrawal_decided")
    assert_problem(await shop.client.post(f"{CONSOLE}/withdrawals/{wid}/reject", json={}, headers=shop.staff),
                   422, "validation_error")
    assert_problem(await shop.client.post(f"{CONSOLE}/withdrawals/999999999/approve", headers=shop.staff),
                   404, "withdrawal_not_found")

    r = await shop.client.post(url, json={"amount_fen": 3000}, headers=p)  # rejected ones do not count today
    assert r.status_code == 201, r.text
    approved = await shop.client.post(f"{CONSOLE}/withdrawals/{r.json()['id']}/approve", headers=shop.staff)
    assert approved.json()["state"] == "transferring" and approved.json()["net_fen"] == 2970
    await shop.run_due()
    detail = await shop.client.get(f"{url}/{r.json()['id']}", headers=p)
    assert detail.json()["transfer"]["state"] == "wait_user_confirm"
    params = await shop.client.get(f"{url}/{r.json()['id']}/confirm-params", headers=p)
    assert params.status_code == 200 and params.json()["package"]
    assert await money(shop, pid) == {"pending": 0, "withdrawable": 2000, "debt": 0}
    await assert_checks(shop)

    # Unconfirmed for 24 hours: the transfer closes, the amount and the fee come back.
    await shop.advance(25 * 3600)
    await shop.run_due()
    assert await money(shop, pid) == {"pending": 0, "withdrawable": 5000, "debt": 0}
    p = await shop.login("p")
    assert (await shop.client.get(f"{url}/{r.json()['id']}", headers=p)).json()["state"] == "failed"
    await assert_checks(shop)


async def test_a_confirmed_auto_approved_withdrawal_is_paid(shop: ShopHarness) -> None:
    await enable(shop, levels=1, level_rates_bps=[1000], withdrawal_auto_approve_fen=10_000, withdrawal_fee_bps=50)
    p = await shop.login("p")
    await earn(shop, p, 1000)
    p = await shop.login("p")
    url = f"{shop.base}/promoter/withdrawals"
    r = await shop.client.post(url, json={"amount_fen": 1000}, headers=p)
    assert r.json()["state"] == "transferring" and r.json()["auto_approved"] is True
    await shop.run_due()
    params = (await shop.client.get(f"{url}/{r.json()['id']}/confirm-params", headers=p)).json()
    fake_transfers.confirm_transfer(shop.fake, r.json()["out_bill_no"], params)
    await shop.fake.deliver_due()
    assert (await shop.client.get(f"{url}/{r.json()['id']}", headers=p)).json()["state"] == "paid"
    async with shop.db.sessions() as session:
        balances = await ledger.balances(session, shop.shop_id)
    assert balances["withdrawal_fees"] == -apply_bps(1000, 50)
    assert balances["cash:wechat"] == 10_000 - (1000 - apply_bps(1000, 50))
    await assert_checks(shop)


# --- the promoter centre ------------------------------------------------------------------------------------

async def test_team_leaderboard_and_other_shops(shop: ShopHarness, other_shop: ShopHarness) -> None:
    await enable(shop)
    a, b, c = await shop.login("amy"), await shop.login("bob"), await shop.login("cat")
    await invite(shop, a, b)
    await invite(shop, b, c)
    order = await buy(shop, c, [{"sku_id": await shop.sku(price_fen=10_000), "quantity": 1}])
    await complete_and_settle(shop, c, order["order_no"])
    a = await shop.login("amy")
    direct = (await shop.client.get(f"{shop.base}/promoter/team", headers=a)).json()
    second = (await shop.client.get(f"{shop.base}/promoter/team", params={"level": 2}, headers=a)).json()
    assert [m["nickname"] for m in direct["items"]] == ["bob"] and direct["items"][0]["is_promoter"]
    assert [m["nickname"] for m in second["items"]] == ["cat"] and second["items"][0]["commission_fen"] == 500
    assert_problem(await shop.client.get(f"{shop.base}/promoter/team", params={"level": 3}, headers=a),
                   422, "validation_error")
    board = (await shop.client.get(f"{shop.base}/promoter/leaderboard")).json()["items"]
    assert [(x["rank"], x["nickname"], x["settled_fen"]) for x in board] == [(1, "b**", 1000), (2, "a**", 500)]
    assert "customer_id" not in board[0]
    assert_problem(await shop.client.get(f"{shop.base}/promoter/commissions", params={"status": "paid"}, headers=a),
                   422, "validation_error")
    # Another shop's console sees none of it; this shop's customer token is refused there.
    await other_shop.advance(1)  # a fresh staff session after the clock moved
    r = await other_shop.client.get(f"{CONSOLE}/commissions", headers=other_shop.staff)
    assert r.json()["items"] == []
    assert_problem(await shop.client.get(f"{other_shop.base}/promoter/me", headers=a), 401, "invalid_token")
    assert_problem(await shop.client.get(f"{CONSOLE}/promoters/{whoami(shop, a)}", headers=other_shop.staff),
                   404, "promoter_not_found")
    detail = await shop.client.get(f"{CONSOLE}/promoters/{whoami(shop, a)}", headers=shop.staff)
    assert detail.json()["settled_fen"] == 500


async def test_liebian_check_catches_a_commission_that_disagrees_with_its_sale_or_the_ledger(
        shop: ShopHarness) -> None:
    """The checks can fail: each tampering below, made and rolled back inside one transaction, is caught."""
    await enable(shop, levels=1, level_rates_bps=[1000])
    p, c = await shop.login("p"), await shop.login("c")
    await invite(shop, p, c)
    order = await buy(shop, c, [{"sku_id": await shop.sku(price_fen=4000), "quantity": 1}])
    await complete_and_settle(shop, c, order["order_no"])
    await assert_checks(shop)
    tamperings = [
        ("UPDATE distribution_commissions SET reversed_fen = 1 WHERE shop_id = :shop", "commission_rows_match_ledger"),
        ("UPDATE order_lines SET refunded_fen = 100 WHERE shop_id = :shop", "settled_commission_traces_to_sale"),
        ("UPDATE orders SET completed_at = NULL WHERE shop_id = :shop", "settled_commission_order_completed"),
        ("UPDATE distribution_commissions SET status = 'pending' WHERE shop_id = :shop",
         "commission_rows_match_ledger"),
    ]
    for statement, code in tamperings:
        async with shop.db.sessions() as session:
            await session.execute(text(statement), {"shop": shop.shop_id})
            found = await queries.ledger_violations(session) + await queries.settled_trace_violations(session)
            await session.rollback()
        assert code in {v.check for v in found}, (statement, found)
    await assert_checks(shop)
