from tests.conftest import ShopHarness


async def test_place_and_pay_order(shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=1234, stock=5)
    buyer = await shop.login("小明")
    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 2}])
    assert order["payable_fen"] == 2468 and order["status"] == "pending_payment"
    await shop.pay(order)
    view = await shop.order(buyer, order["order_no"])
    assert view["status"] == "paid"
    assert await shop.stock(sku) == 3
