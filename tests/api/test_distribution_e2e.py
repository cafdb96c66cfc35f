"""The issue's end-to-end proof: A invites B, B invites C, C buys with sandbox pay; past the window the due
jobs settle A's and B's commissions; C refunds afterwards and the reversals (and B's debt, since B already
withdrew) are exact. ``liebian check`` passes after every step."""

from __future__ import annotations

from liebian.kit.money import apply_bps, round_half_up
from tests.api.distribution_helpers import DAY, assert_checks, buy, enable, invite, me, money, whoami
from tests.conftest import ShopHarness


async def test_two_levels_settle_then_a_refund_reverses_into_balance_and_debt(shop: ShopHarness) -> None:
    rates = [1200, 400]
    await enable(shop, level_rates_bps=rates, withdrawal_auto_approve_fen=100_000, withdrawal_min_fen=100)
    a, b, c = await shop.login("A"), await shop.login("B"), await shop.login("C")
    await invite(shop, a, b)
    await invite(shop, b, c)
    ida, idb = whoami(shop, a), whoami(shop, b)
    price, quantity = 4990, 3
    paid = price * quantity
    order = await buy(shop, c, [{"sku_id": await shop.sku(price_fen=price), "quantity": quantity}])
    expected_b, expected_a = apply_bps(paid, rates[0]), apply_bps(paid, rates[1])
    assert await money(shop, idb) == {"pending": expected_b, "withdrawable": 0, "debt": 0}
    assert await money(shop, ida) == {"pending": expected_a, "withdrawable": 0, "debt": 0}
    await assert_checks(shop)

    await shop.ship_and_receive(c, order["order_no"])
    await shop.run_due()
    assert (await money(shop, idb))["pending"] == expected_b  # the window is still open
    await shop.advance(7 * DAY + 60)
    await shop.run_due()
    assert await money(shop, idb) == {"pending": 0, "withdrawable": expected_b, "debt": 0}
    assert await money(shop, ida) == {"pending": 0, "withdrawable": expected_a, "debt": 0}
    b, c = await shop.login("B"), await shop.login("C")  # sessions expired with the clock
    view = await me(shop, b)
    assert (view["settled_fen"], view["withdrawable_fen"], view["team_direct"]) == (expected_b, expected_b, 1)
    assert (await me(shop, await shop.login("A")))["team_second"] == 1
    await assert_checks(shop)

    # B takes out most of it before C's refund arrives (auto-approved, sent to WeChat).
    withdrawn = expected_b - 100
    r = await shop.client.post(f"{shop.base}/promoter/withdrawals", json={"amount_fen": withdrawn},
                               headers={**b, "Idempotency-Key": "b-withdraw-1"})
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "transferring"
    await shop.run_due()
    assert await money(shop, idb) == {"pending": 0, "withdrawable": 100, "debt": 0}
    await assert_checks(shop)

    # C returns one of three units after settlement (within the shop's 15-day after-sales window).
    refund = price
    r = await shop.client.post(f"{shop.base}/orders/{order['order_no']}/refund-requests", headers=c,
                               json={"reason": "退一件", "amount_fen": refund})
    assert r.status_code == 201, r.text
    r = await shop.client.post(f"/api/v1/console/refunds/{r.json()['id']}/approve", headers=shop.staff)
    assert r.status_code == 200, r.text
    await shop.run_due()
    kept_b = round_half_up_share(expected_b, paid - refund, paid)
    kept_a = round_half_up_share(expected_a, paid - refund, paid)
    back_b, back_a = expected_b - kept_b, expected_a - kept_a
    assert await money(shop, ida) == {"pending": 0, "withdrawable": expected_a - back_a, "debt": 0}
    # B's balance held 100 fen: it goes first, the rest of the reversal is B's explicit debt.
    assert await money(shop, idb) == {"pending": 0, "withdrawable": 0, "debt": back_b - 100}
    assert (await me(shop, b))["debt_fen"] == back_b - 100
    await assert_checks(shop)

    # A later sale of B's repays the debt first.
    d = await shop.login("D")
    await invite(shop, b, d)
    second = await buy(shop, d, [{"sku_id": await shop.sku(price_fen=20_000), "quantity": 1}])
    await shop.ship_and_receive(d, second["order_no"])
    await shop.advance(7 * DAY + 60)
    await shop.run_due()
    earned = apply_bps(20_000, rates[0])
    # B never accepted the transfer in WeChat: it closed after 24 hours and its money came back too.
    b = await shop.login("B")
    r = await shop.client.get(f"{shop.base}/promoter/withdrawals", headers=b)
    assert [w["state"] for w in r.json()["items"]] == ["failed"]
    assert await money(shop, idb) == {"pending": 0, "withdrawable": earned - (back_b - 100) + withdrawn, "debt": 0}
    await assert_checks(shop)


def round_half_up_share(amount: int, kept: int, whole: int) -> int:
    """A commission's part that survives a refund: its share of what the line kept, the project's rounding."""
    return round_half_up(amount * kept, whole)
