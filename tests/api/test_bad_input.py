"""Bad input to checkout: every refusal is a 4xx problem with a stable code, and nothing is written."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import ADDRESS, PROBLEM, ShopHarness, assert_problem

TABLES = ("orders", "order_lines", "payments", "kit_idempotency_keys")


@dataclass
class Checkout:
    shop: ShopHarness
    other_shop: ShopHarness
    buyer: dict[str, str]
    sku: int  # on sale, plenty of stock: only the input can be wrong
    hidden_sku: int  # its product was unpublished
    foreign_sku: int  # another shop's, on sale there
    skus: tuple[tuple[ShopHarness, int], ...]

    async def snapshot(self) -> dict[str, int]:
        counts = {f"{s.slug}.{t}": await s.count(t) for s in (self.shop, self.other_shop) for t in TABLES}
        stocks = {f"stock.{sku}": await s.stock(sku) for s, sku in self.skus}
        return counts | stocks

    async def post(self, body: Any = None, *, raw: str | None = None,
                   headers: dict[str, str | bytes] | None = None) -> httpx.Response:
        h: dict[str, str | bytes] = {**self.buyer, **(headers or {})}
        if raw is not None:
            return await self.shop.client.post(f"{self.shop.base}/orders", content=raw.encode(),
                                               headers={**h, "Content-Type": "application/json"})
        return await self.shop.client.post(f"{self.shop.base}/orders", json=body, headers=h)


@pytest.fixture
async def checkout(shop: ShopHarness, other_shop: ShopHarness) -> Checkout:
    sku = await shop.sku(price_fen=1000, stock=500)
    hidden = await shop.product(title="已下架", stock=50)
    r = await shop.client.post(f"/api/v1/console/products/{hidden['id']}/unpublish", headers=shop.staff)
    assert r.status_code == 200, r.text
    hidden_sku = hidden["skus"][0]["id"]
    foreign_sku = await other_shop.sku(price_fen=1000, stock=50)
    buyer = await shop.login("乱填的人")
    return Checkout(shop, other_shop, buyer, sku, hidden_sku, foreign_sku,
                    ((shop, sku), (shop, hidden_sku), (other_shop, foreign_sku)))



def order(c: Checkout, **changes: Any) -> dict[str, Any]:
    """A valid order body with ``changes`` (a value of ``...`` drops the field)."""
    body: dict[str, Any] = {"lines": [{"sku_id": c.sku, "quantity": 1}], "address": dict(ADDRESS),
                            "payment_method": "wechat"}
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def address(**changes: Any) -> dict[str, Any]:
    result = dict(ADDRESS)
    for key, value in changes.items():
        if value is ...:
            result.pop(key)
        else:
            result[key] = value
    return result


def line(sku: int, quantity: int = 1) -> dict[str, Any]:
    return {"sku_id": sku, "quantity": quantity}


Body = Callable[[Checkout], Any]

# (case id, body builder, status, code)
BAD_BODIES: list[tuple[str, Body, int, str]] = [
    # types and shapes
    ("body-is-a-list", lambda c: [order(c)], 422, "validation_error"),
    ("body-is-a-string", lambda c: "lines", 422, "validation_error"),
    ("empty-object", lambda c: {}, 422, "validation_error"),
    ("lines-is-a-string", lambda c: order(c, lines="sku=1"), 422, "validation_error"),
    ("lines-is-an-object", lambda c: order(c, lines={"sku_id": c.sku, "quantity": 1}), 422, "validation_error"),
    ("line-is-a-number", lambda c: order(c, lines=[c.sku]), 422, "validation_error"),
    ("quantity-is-a-word", lambda c: order(c, lines=[{"sku_id": c.sku, "quantity": "two"}]),
     422, "validation_error"),
    ("quantity-is-a-fraction", lambda c: order(c, lines=[{"sku_id": c.sku, "quantity": 1.5}]),
     422, "validation_error"),
    ("quantity-is-null", lambda c: order(c, lines=[{"sku_id": c.sku, "quantity": None}]), 422, "validation_error"),
    ("quantity-missing", lambda c: order(c, lines=[{"sku_id": c.sku}]), 422, "validation_error"),
    ("sku-id-is-a-word", lambda c: order(c, lines=[{"sku_id": "first", "quantity": 1}]), 422, "validation_error"),
    ("sku-id-is-a-list", lambda c: order(c, lines=[{"sku_id": [c.sku], "quantity": 1}]), 422, "validation_error"),
    ("address-is-a-string", lambda c: order(c, address="深圳市南山区"), 422, "validation_error"),
    ("payment-method-is-a-number", lambda c: order(c, payment_method=1), 422, "validation_error"),
    ("promotion-is-a-string", lambda c: order(c, promotion="groupbuy"), 422, "validation_error"),
    # quantities
    ("quantity-zero", lambda c: order(c, lines=[line(c.sku, 0)]), 422, "validation_error"),
    ("quantity-negative", lambda c: order(c, lines=[line(c.sku, -1)]), 422, "validation_error"),
    ("quantity-10000", lambda c: order(c, lines=[line(c.sku, 10_000)]), 422, "validation_error"),
    ("quantity-huge", lambda c: order(c, lines=[line(c.sku, 2**70)]), 422, "validation_error"),
    ("quantity-over-shop-limit", lambda c: order(c, lines=[line(c.sku, 100)]), 422, "quantity_limit_exceeded"),
    ("quantity-over-limit-across-lines", lambda c: order(c, lines=[line(c.sku, 50), line(c.sku, 50)]),
     422, "quantity_limit_exceeded"),
    # SKUs
    ("sku-id-zero", lambda c: order(c, lines=[line(0)]), 422, "validation_error"),
    ("sku-id-negative", lambda c: order(c, lines=[line(-5)]), 422, "validation_error"),
    ("sku-id-2**70", lambda c: order(c, lines=[line(2**70)]), 422, "validation_error"),
    ("sku-id-2**63", lambda c: order(c, lines=[line(2**63)]), 422, "validation_error"),
    ("sku-unknown", lambda c: order(c, lines=[line(c.foreign_sku + 1_000_000)]), 422, "sku_not_found"),
    ("sku-of-another-shop", lambda c: order(c, lines=[line(c.foreign_sku)]), 422, "sku_not_found"),
    ("sku-of-another-shop-beside-a-good-one", lambda c: order(c, lines=[line(c.sku), line(c.foreign_sku)]),
     422, "sku_not_found"),
    ("sku-of-an-unpublished-product", lambda c: order(c, lines=[line(c.hidden_sku)]), 422, "sku_not_available"),
    ("sku-unpublished-beside-a-good-one", lambda c: order(c, lines=[line(c.sku, 2), line(c.hidden_sku)]),
     422, "sku_not_available"),
    # lines
    ("lines-empty", lambda c: order(c, lines=[]), 422, "validation_error"),
    ("lines-missing", lambda c: order(c, lines=...), 422, "validation_error"),
    ("lines-null", lambda c: order(c, lines=None), 422, "validation_error"),
    ("lines-too-many", lambda c: order(c, lines=[line(c.sku)] * 201), 422, "validation_error"),
    # address
    ("address-missing", lambda c: order(c, address=...), 422, "address_required"),  # delivery needs one
    ("address-null", lambda c: order(c, address=None), 422, "address_required"),
    ("address-empty", lambda c: order(c, address={}), 422, "validation_error"),
    ("address-without-phone", lambda c: order(c, address=address(phone=...)), 422, "validation_error"),
    ("phone-too-short", lambda c: order(c, address=address(phone="1380013800")), 422, "validation_error"),
    ("phone-letters", lambda c: order(c, address=address(phone="138oo138ooo")), 422, "validation_error"),
    ("phone-not-chinese-mobile", lambda c: order(c, address=address(phone="23800138000")), 422, "validation_error"),
    ("phone-with-newline", lambda c: order(c, address=address(phone="13800138000\n")), 422, "validation_error"),
    ("phone-is-a-number", lambda c: order(c, address=address(phone=13800138000)), 422, "validation_error"),
    ("name-blank", lambda c: order(c, address=address(name="   ")), 422, "validation_error"),
    ("detail-empty", lambda c: order(c, address=address(detail="")), 422, "validation_error"),
    ("detail-201-chars", lambda c: order(c, address=address(detail="路" * 201)), 422, "validation_error"),
    ("name-51-chars", lambda c: order(c, address=address(name="张" * 51)), 422, "validation_error"),
    ("province-31-chars", lambda c: order(c, address=address(province="省" * 31)), 422, "validation_error"),
    # other fields
    ("note-201-chars", lambda c: order(c, note="备" * 201), 422, "validation_error"),
    ("share-code-65-chars", lambda c: order(c, share_code="s" * 65), 422, "validation_error"),
    ("share-code-empty", lambda c: order(c, share_code=""), 422, "validation_error"),
    ("payment-method-alipay", lambda c: order(c, payment_method="alipay"), 422, "validation_error"),
    ("payment-method-empty", lambda c: order(c, payment_method=""), 422, "validation_error"),
    ("promotion-unknown-kind", lambda c: order(c, promotion={"kind": "mystery"}), 422, "unknown_promotion"),
    ("promotion-without-kind", lambda c: order(c, promotion={"campaign_id": 1}), 422, "validation_error"),
    ("promotion-campaign-2**70", lambda c: order(c, promotion={"kind": "flashsale", "campaign_id": 2**70}),
     422, "validation_error"),
    ("promotion-extra-field", lambda c: order(c, promotion={"kind": "mystery", "price_fen": 1}),
     422, "validation_error"),
    ("coupon-unknown", lambda c: order(c, coupon_id=2**62), 404, "coupon_not_found"),
    ("coupon-id-zero", lambda c: order(c, coupon_id=0), 422, "validation_error"),
    ("coupon-id-2**70", lambda c: order(c, coupon_id=2**70), 422, "validation_error"),
]


@pytest.mark.parametrize(("make", "status", "code"), [pytest.param(m, s, c, id=i) for i, m, s, c in BAD_BODIES])
async def test_bad_order_bodies_are_refused_and_write_nothing(
    checkout: Checkout, make: Body, status: int, code: str
) -> None:
    before = await checkout.snapshot()
    assert_problem(await checkout.post(make(checkout)), status, code)
    assert await checkout.snapshot() == before


@pytest.mark.parametrize("raw", [
    '{"lines": [', "{lines: []}", "", "not json", '{"lines": [{"sku_id": 1, "quantity": 1}],}', "\x00",
])
async def test_malformed_json_is_refused(checkout: Checkout, raw: str) -> None:
    before = await checkout.snapshot()
    r = await checkout.post(raw=raw)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["code"] in (("invalid_json", "validation_error") if raw == "" else ("invalid_json",))
    assert await checkout.snapshot() == before


async def test_malformed_json_code(checkout: Checkout) -> None:
    before = await checkout.snapshot()
    assert_problem(await checkout.post(raw='{"lines": ['), 422, "invalid_json")
    assert await checkout.snapshot() == before


@pytest.mark.parametrize("key", [
    "short", "", "has space in it", "x" * 129, "emoji-🙂-key-123", "semi;colon;key", "slash/es/key",
])
async def test_bad_idempotency_keys_are_refused(checkout: Checkout, key: str) -> None:
    before = await checkout.snapshot()
    assert_problem(await checkout.post(order(checkout), headers={"Idempotency-Key": key.encode()}),
                   422, "invalid_idempotency_key")
    assert await checkout.snapshot() == before


async def test_an_idempotency_key_reused_with_another_body_is_refused(checkout: Checkout) -> None:
    key = "order-key-0001"
    first = await checkout.post(order(checkout), headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    before = await checkout.snapshot()

    other = order(checkout, lines=[line(checkout.sku, 2)])
    assert_problem(await checkout.post(other, headers={"Idempotency-Key": key}), 422, "idempotency_key_reused")
    assert_problem(await checkout.post(order(checkout, note="请放门口"), headers={"Idempotency-Key": key}),
                   422, "idempotency_key_reused")
    assert await checkout.snapshot() == before

    # The same body with the same key replays the first answer and writes nothing.
    again = await checkout.post(order(checkout), headers={"Idempotency-Key": key})
    assert again.status_code == 201, again.text
    assert again.json()["order_no"] == first.json()["order_no"]
    assert await checkout.snapshot() == before


async def test_a_refused_request_does_not_use_up_its_idempotency_key(checkout: Checkout) -> None:
    key = "order-key-0002"
    before = await checkout.snapshot()
    assert_problem(await checkout.post(order(checkout, lines=[line(checkout.foreign_sku)]),
                                       headers={"Idempotency-Key": key}), 422, "sku_not_found")
    assert await checkout.snapshot() == before
    r = await checkout.post(order(checkout), headers={"Idempotency-Key": key})
    assert r.status_code == 201, r.text
    assert await checkout.shop.count("orders") == before[f"{checkout.shop.slug}.orders"] + 1


async def test_out_of_stock_is_a_conflict_and_writes_nothing(checkout: Checkout) -> None:
    sku = await checkout.shop.sku(stock=2)
    before = await checkout.snapshot()
    assert_problem(await checkout.post(order(checkout, lines=[line(checkout.sku), line(sku, 3)])),
                   409, "stock_exhausted")
    assert await checkout.snapshot() == before
    assert await checkout.shop.stock(sku) == 2


async def test_orders_need_a_customer_of_this_shop(checkout: Checkout) -> None:
    before = await checkout.snapshot()
    r = await checkout.shop.client.post(f"{checkout.shop.base}/orders", json=order(checkout))
    assert_problem(r, 401, "not_authenticated")
    r = await checkout.shop.client.post(f"{checkout.shop.base}/orders", json=order(checkout),
                                        headers=checkout.shop.staff)
    assert_problem(r, 401, "invalid_token")
    assert await checkout.snapshot() == before


async def test_a_valid_order_still_goes_through(checkout: Checkout) -> None:
    """The baseline the refusals above are measured against: the same body, unchanged, is accepted."""
    before = await checkout.snapshot()
    r = await checkout.post(order(checkout, lines=[line(checkout.sku, 99)], note="备" * 200,
                                  address=address(detail="路" * 200)))
    assert r.status_code == 201, r.text
    after = await checkout.snapshot()
    assert after[f"stock.{checkout.sku}"] == before[f"stock.{checkout.sku}"] - 99
    assert after[f"{checkout.shop.slug}.orders"] == before[f"{checkout.shop.slug}.orders"] + 1


@pytest.mark.parametrize("path", [
    "/products/99999999999999999999", "/products/0", "/products/-1", "/products/abc", "/products/1.5",
    f"/products/{2**63}",
])
async def test_bad_path_ids_are_422(shop: ShopHarness, path: str) -> None:
    assert_problem(await shop.client.get(f"{shop.base}{path}"), 422, "validation_error")
    r = await shop.client.get(f"/api/v1/console{path}", headers=shop.staff)
    assert_problem(r, 422, "validation_error")


async def test_largest_path_id_is_a_plain_404(shop: ShopHarness) -> None:
    assert_problem(await shop.client.get(f"{shop.base}/products/{2**63 - 1}"), 404, "product_not_found")


@pytest.mark.parametrize("params", [
    {"limit": 0}, {"limit": 1000}, {"limit": "ten"}, {"offset": -1}, {"offset": 2**70}, {"category_id": 2**70},
    {"category_id": 0}, {"q": "茶" * 51},
])
async def test_bad_list_parameters_are_422(shop: ShopHarness, params: dict[str, Any]) -> None:
    assert_problem(await shop.client.get(f"{shop.base}/products", params=params), 422, "validation_error")


async def test_problem_bodies_name_the_bad_field(checkout: Checkout) -> None:
    r = await checkout.post(order(checkout, address=address(detail="路" * 201)))
    body = assert_problem(r, 422, "validation_error")
    assert any(e["loc"][-2:] == ["address", "detail"] for e in body["errors"]), json.dumps(body["errors"])




@pytest.mark.parametrize("make", [
    pytest.param(lambda c: order(c, note="请\x00放门口"), id="note"),
    pytest.param(lambda c: order(c, address=address(detail="科技园\x00")), id="address-detail"),
    pytest.param(lambda c: order(c, share_code="abc\x00def"), id="share-code"),
])
async def test_nul_characters_are_refused_not_a_crash(checkout: Checkout, make: Body) -> None:
    before = await checkout.snapshot()
    r = await checkout.post(make(checkout))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["code"]
    assert await checkout.snapshot() == before
