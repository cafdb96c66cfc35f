"""Phone numbers at rest: sealed (AES-256-GCM) with a lookup hash in saved addresses and in orders' address
snapshots, masked in every answer but the owner's own address book, read in clear by staff only through an
audited view; rows stored before sealing are sealed by migration 0018."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from sqlalchemy import text

from liebian.kit.crypto import Vault, mask_phone, normalize_phone
from liebian.kit.db import Database, make_engine
from liebian.kit.migrate import upgrade
from tests.conftest import ADDRESS, SECRET, ShopHarness, _asyncpg_dsn, create_database, drop_database

PHONE = ADDRESS["phone"]  # 13800138000
CONSOLE = "/api/v1/console"


async def raw(shop: ShopHarness, sql: str) -> str:
    """Every matching row as text, as a database dump would show it."""
    async with shop.db.sessions() as session:
        rows = await session.execute(text(sql), {"shop": shop.shop_id})
        return "\n".join(str(tuple(r)) for r in rows)


async def test_saved_addresses_keep_the_phone_sealed_and_show_it_to_their_owner(shop: ShopHarness) -> None:
    owner = await shop.login("存地址的人")
    r = await shop.client.post(f"{shop.base}/me/addresses", headers=owner, json=ADDRESS)
    assert r.status_code == 201, r.text
    assert r.json()["phone"] == PHONE  # the owner's own edit form
    stored = await raw(shop, "SELECT a.*, row_to_json(a)::text FROM customer_addresses a WHERE shop_id = :shop")
    assert PHONE not in stored and "13800138000" not in stored.replace("\\x", "")
    assert await shop.scalar("SELECT phone_masked FROM customer_addresses WHERE shop_id = :shop") == "138****8000"
    columns = await raw(shop, "SELECT column_name FROM information_schema.columns "
                              "WHERE table_name = 'customer_addresses' AND column_name = 'phone'")
    assert columns == ""
    # Equality still works, through the keyed hash: the same address is kept once.
    again = await shop.client.post(f"{shop.base}/me/addresses", headers=owner, json=ADDRESS)
    assert again.json()["id"] == r.json()["id"]
    listed = (await shop.client.get(f"{shop.base}/me/addresses", headers=owner)).json()
    assert [a["phone"] for a in listed] == [PHONE]


async def test_orders_keep_the_phone_sealed_and_answers_mask_it(shop: ShopHarness) -> None:
    buyer = await shop.login("下单的人")
    order = await shop.place(buyer, [{"sku_id": await shop.sku(), "quantity": 1}])
    stored = await raw(shop, "SELECT address::text FROM orders WHERE shop_id = :shop")
    assert PHONE not in stored and "phone_sealed" in stored and "138****8000" in stored
    answers = [
        (await shop.client.get(f"{shop.base}/orders/{order['order_no']}", headers=buyer)).json(),
        (await shop.client.get(f"{shop.base}/orders", headers=buyer)).json(),
        (await shop.client.get(f"{CONSOLE}/orders/{order['order_no']}", headers=shop.staff)).json(),
        (await shop.client.get(f"{CONSOLE}/orders", headers=shop.staff)).json(),
    ]
    for answer in answers:
        dumped = json.dumps(answer, ensure_ascii=False)
        assert PHONE not in dumped and "phone_sealed" not in dumped and "phone_hash" not in dumped, dumped
        assert "138****8000" in dumped
    # Staff read it in clear for the courier, and each look is audited.
    r = await shop.client.get(f"{CONSOLE}/orders/{order['order_no']}/contact", headers=shop.staff)
    assert r.status_code == 200, r.text
    assert r.json()["address"]["phone"] == PHONE and r.json()["address"]["city"] == ADDRESS["city"]
    events = (await shop.client.get(f"{CONSOLE}/audit", params={"kind": "pii_revealed"},
                                    headers=shop.staff)).json()["items"]
    assert [(e["target"], e["reason"]) for e in events] == [(f"order:{order['order_no']}", "order_contact")]
    # A customer token does not open it.
    assert (await shop.client.get(f"{CONSOLE}/orders/{order['order_no']}/contact", headers=buyer)).status_code == 401


def test_the_vault_binds_a_value_to_its_place_and_key() -> None:
    vault = Vault(SECRET)
    sealed = vault.seal(PHONE, "address:1:2")
    assert vault.open(sealed, "address:1:2") == PHONE
    assert vault.seal(PHONE, "address:1:2") != sealed  # a fresh nonce every time
    with pytest.raises(ValueError, match="does not open"):
        vault.open(sealed, "address:1:3")  # copied onto another customer
    with pytest.raises(ValueError, match="does not open"):
        Vault("another-key-that-is-long-enough-0123456789").open(sealed, "address:1:2")
    assert vault.phone_hash("+86 138-0013-8000") == vault.phone_hash(PHONE) != vault.phone_hash("13800138001")
    assert normalize_phone("8613800138000") == PHONE and mask_phone("0755-12345678") == "075****5678"


async def test_migration_0018_seals_the_numbers_already_stored(server_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LIEBIAN_DATA_KEY", "LIEBIAN_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    url = await create_database(server_url)
    try:
        await asyncio.to_thread(upgrade, url, "0017")
        conn = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            shop = await conn.fetchval("INSERT INTO shops (slug, name, created_at) VALUES ('mig-shop', 'm', now()) "
                                       "RETURNING id")
            customer = await conn.fetchval(
                "INSERT INTO customers (shop_id, openid, nickname, created_at, last_login_at) VALUES ($1, 'o1', 'n', "
                "now(), now()) RETURNING id", shop)
            await conn.execute(
                "INSERT INTO customer_addresses (shop_id, customer_id, name, phone, province, city, district, detail, "
                "created_at, updated_at) VALUES ($1, $2, '张三', $3, '省', '市', '区', '路', now(), now())",
                shop, customer, PHONE)
            await conn.execute(
                "INSERT INTO orders (shop_id, order_no, customer_id, status, payment_method, total_fen, discount_fen, "
                "payable_fen, address, created_at) VALUES ($1, 'MIG1', $2, 'paid', 'wechat', 1, 0, 1, $3::jsonb, "
                "now())", shop, customer, json.dumps(ADDRESS, ensure_ascii=False))
        finally:
            await conn.close()
        with pytest.raises(RuntimeError, match="data key"):
            await asyncio.to_thread(upgrade, url)  # rows to seal, no key: it stops, in one transaction
        await asyncio.to_thread(lambda: upgrade(url, data_key=SECRET))
        db = Database(make_engine(url, pool_size=1, max_overflow=0))
        try:
            async with db.sessions() as session:
                row = (await session.execute(text("SELECT * FROM customer_addresses"))).one()
                order = (await session.execute(text("SELECT address FROM orders"))).scalar_one()
        finally:
            await db.dispose()
        vault = Vault(SECRET)
        assert vault.open(bytes(row.phone_ciphertext), f"address:{row.shop_id}:{row.customer_id}") == PHONE
        assert bytes(row.phone_hash) == vault.phone_hash(PHONE) and row.phone_masked == "138****8000"
        assert PHONE not in json.dumps(order) and order["phone"] == "138****8000"
        assert vault.open_contact(order, f"order:{row.shop_id}:{row.customer_id}")["phone"] == PHONE
    finally:
        await drop_database(server_url, url)
