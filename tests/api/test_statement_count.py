"""How many SQL statements the hot paths spend (django-oscar spends 35 per order, Saleor hundreds)."""

from __future__ import annotations

from typing import Any

from tests.api.distribution_helpers import enable, invite
from tests.conftest import ADDRESS, ShopHarness

# Shop (1) + idempotency claim and store (2) + SKUs (1) + one guarded UPDATE per SKU (2) + order (1)
# + lines (1) + attribution: the customer's last visit and binding (1), attribution and its fact (1)
# + payer openid (1) + payment (1) = 12 for a two-line order with an Idempotency-Key.
MAX_STATEMENTS_TWO_LINE_ORDER = 12


async def test_order_placement_statement_count(shop: ShopHarness, count_statements: Any) -> None:
    a, b = await shop.sku(stock=10), await shop.sku(stock=10)
    buyer = await shop.login("buyer")
    with count_statements() as counter:
        r = await shop.client.post(f"{shop.base}/orders", headers={**buyer, "Idempotency-Key": "count-key-001"},
                                   json={"lines": [{"sku_id": a, "quantity": 1}, {"sku_id": b, "quantity": 2}],
                                         "address": ADDRESS})
    assert r.status_code == 201, r.text
    statements = [s for s in counter.statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    print(f"\ntwo-line order placement: {len(statements)} SQL statements")
    assert len(statements) <= MAX_STATEMENTS_TWO_LINE_ORDER, "\n".join(statements)
    # Each SKU is taken by one guarded conditional UPDATE.
    assert sum("UPDATE skus SET stock = stock -" in s for s in statements) == 2


async def test_payment_callback_statement_count(shop: ShopHarness, count_statements: Any) -> None:
    sku = await shop.sku(stock=10)
    buyer = await shop.login("buyer")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])
    with count_statements() as counter:
        await shop.pay(order)
    # lookup, event insert, payment lookup, shop stamp, guarded payment update, ledger (2), order update,
    # subscribe-message grant, the shop's distribution settings and its enabled red-packet offer (neither
    # here: nothing more)
    print(f"\npayment callback: {counter.count} SQL statements")
    assert counter.count <= 11, "\n".join(counter.statements)


async def test_visit_statement_count(shop: ShopHarness, count_statements: Any) -> None:
    """A visit by a customer already bound for good: shop, share, visit with its fact, binding = 4."""
    product = (await shop.product())["id"]
    alice, carol = await shop.login("alice"), await shop.login("carol")
    r = await shop.client.post(f"{shop.base}/shares", headers=alice,
                               json={"target_type": "product", "target_id": product, "channel": "friend"})
    code = r.json()["code"]
    await shop.client.post(f"{shop.base}/visits", headers=carol, json={"share_code": code})  # binds carol
    with count_statements() as counter:
        r = await shop.client.post(f"{shop.base}/visits", headers=carol, json={"share_code": code})
    assert r.status_code == 201, r.text
    statements = [s for s in counter.statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    print(f"\nvisit (bound customer): {len(statements)} SQL statements")
    assert len(statements) <= 4, "\n".join(statements)


async def test_payment_callback_with_two_commission_levels_statement_count(shop: ShopHarness,
                                                                          count_statements: Any) -> None:
    await enable(shop)
    a, b, c = await shop.login("a"), await shop.login("b"), await shop.login("c")
    await invite(shop, a, b)
    await invite(shop, b, c)
    order = await shop.place(c, [{"sku_id": await shop.sku(stock=10), "quantity": 1},
                                 {"sku_id": await shop.sku(stock=10), "quantity": 1}])
    with count_statements() as counter:
        await shop.pay(order)
    # The callback (11) + attribution (1), level 2's binding (1), promoters (1), the order, its lines and
    # payment (3), the alt-account check of the buyer against both promoters (1: liebian.customers.links),
    # product overrides (1), the commission rows in one INSERT (1), their ledger posting (2).
    print(f"payment callback with two commission levels: {counter.count} SQL statements")
    assert await shop.count("distribution_commissions") == 4
    assert counter.count <= 22, "\n".join(counter.statements)
