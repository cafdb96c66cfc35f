"""``liebian check`` sees a payment whose money and ledger disagree (each corruption made inside a transaction that
is rolled back, so the suite's database stays sound)."""

from __future__ import annotations

from sqlalchemy import text

from liebian.ledger import service as ledger
from liebian.payments import service as payments
from tests.conftest import ShopHarness


async def test_the_payment_check_sees_a_missing_payment_posting_and_an_unexplained_refund(shop: ShopHarness) -> None:
    buyer = await shop.login("checked")
    order = await shop.place(buyer, [{"sku_id": await shop.sku(price_fen=1234, stock=5), "quantity": 1}])
    await shop.pay(order)
    otn = order["payment"]["out_trade_no"]
    async with shop.db.sessions() as session:
        assert not [v for v in await payments.ledger_violations(session) if otn in v.detail]
    async with shop.db.sessions() as session:  # one transaction, rolled back at the end
        order_id = (await session.execute(text("SELECT id FROM orders WHERE order_no = :no"),
                                          {"no": order["order_no"]})).scalar_one()
        # Money went back at WeChat's end in our books, but no refund of ours succeeded.
        await ledger.post(session, shop_id=shop.shop_id, kind="refund", ref=f"{otn}R9", order_id=order_id,
                          legs=[("customer_prepayments", 234), ("cash:wechat", -234)])
        # And the payment claims more than the ledger received.
        await session.execute(text("UPDATE payments SET amount_fen = amount_fen + 1 WHERE out_trade_no = :o"),
                              {"o": otn})
        found = {(v.check, v.detail) for v in await payments.ledger_violations(session) if otn in v.detail}
        await session.rollback()
    where = f"shop {shop.shop_id} {otn}"
    assert found == {("paid_payment_has_entries", f"{where}: ledger has 1234 of 1235 fen"),
                     ("refunds_match_ledger", f"{where}: ledger refunds 234, succeeded refunds 0 fen")}
