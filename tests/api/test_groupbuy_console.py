"""Group buying: every bad input is a 4xx that changes nothing; the console's campaigns and groups; the
public pages; notifications of outcomes."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from liebian.integrations.wechat.fake import openapi as fake_openapi
from tests.api.groupbuy_helpers import CONSOLE, campaign, group, order, paid_order, promotion, setup
from tests.conftest import ADDRESS, ShopHarness, assert_problem


async def _snapshot(shop: ShopHarness, sku: int) -> tuple[Any, ...]:
    return (await shop.count("orders"), await shop.count("groupbuy_groups"), await shop.count("groupbuy_members"),
            await shop.stock(sku), await shop.scalar("SELECT coalesce(sum(slots_taken), 0) FROM groupbuy_groups "
                                                     "WHERE shop_id = :shop"),
            await shop.scalar("SELECT coalesce(sum(units), 0) FROM groupbuy_usage WHERE shop_id = :shop"))


async def test_bad_group_orders_are_refused_and_change_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=3, duration_seconds=600)
    other_sku = await shop.sku()
    leader, buyer = await shop.login("leader"), await shop.login("buyer")
    gid = (await paid_order(shop, leader, sku, c["id"]))["promotion"]["group_id"]
    _, theirs = await setup(other_shop)
    their_group = (await paid_order(other_shop, await other_shop.login("x"), theirs["sku_id"], theirs["id"]))
    second = await campaign(shop, other_sku)
    second_group = (await paid_order(shop, await shop.login("y"), other_sku, second["id"]))["promotion"]["group_id"]
    before = await _snapshot(shop, sku)

    async def refused(status: int, code: str, *, lines: list[dict[str, Any]] | None = None,
                      promo: dict[str, Any] | None = None, who: dict[str, str] = buyer, **body: Any) -> None:
        r = await shop.client.post(f"{shop.base}/orders", headers=who, json={
            "lines": lines or [{"sku_id": sku, "quantity": 1}], "address": ADDRESS,
            "promotion": promo if promo is not None else promotion(c["id"], gid), **body})
        assert_problem(r, status, code)

    await refused(422, "campaign_required", promo={"kind": "groupbuy"})
    await refused(422, "groupbuy_one_line",
                  lines=[{"sku_id": sku, "quantity": 1}, {"sku_id": other_sku, "quantity": 1}])
    await refused(422, "sku_not_in_campaign", lines=[{"sku_id": other_sku, "quantity": 1}])
    await refused(404, "campaign_not_found", promo=promotion(theirs["id"]))
    await refused(404, "campaign_not_found", promo=promotion(999_999_999))
    await refused(404, "group_not_found", promo=promotion(c["id"], their_group["promotion"]["group_id"]))
    await refused(404, "group_not_found", promo=promotion(c["id"], second_group))
    await refused(404, "group_not_found", promo=promotion(c["id"], 999_999_999))
    await refused(409, "already_in_group", who=leader)
    await refused(422, "validation_error", promo={"kind": "groupbuy", "campaign_id": c["id"], "price_fen": 1})
    await refused(422, "validation_error", promo={"kind": "groupbuy", "campaign_id": 0})
    await refused(422, "unknown_promotion", promo={"kind": "group-buy", "campaign_id": c["id"]})
    await refused(422, "payment_method_not_allowed", payment_method="cod")
    await refused(422, "validation_error", lines=[{"sku_id": sku, "quantity": 0}])
    assert await _snapshot(shop, sku) == before

    later = await campaign(shop, sku, starts_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    await refused(409, "campaign_not_started", promo=promotion(later["id"]))
    await shop.advance(601)  # the group's deadline passed; the sweeper has not run yet
    await refused(409, "group_closed")
    assert await _snapshot(shop, sku) == before


async def test_bad_campaigns_are_refused_and_change_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    sku = await shop.sku(price_fen=1000, stock=10)
    their_sku = await other_shop.sku()
    base = {"sku_id": sku, "group_size": 3, "group_price_fen": 800, "duration_seconds": 3600}
    soon = datetime.now(UTC) + timedelta(hours=1)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"group_size": 1}, 422, "validation_error"),
        ({"group_size": 101}, 422, "validation_error"),
        ({"group_price_fen": 0}, 422, "validation_error"),
        ({"duration_seconds": 59}, 422, "validation_error"),
        ({"auto_complete_percent": 100}, 422, "validation_error"),
        ({"stock": 0}, 422, "validation_error"),
        ({"starts_at": "2030-01-01T00:00:00"}, 422, "validation_error"),  # no offset
        ({"surprise": 1}, 422, "validation_error"),
        ({"leader_price_fen": 900}, 422, "leader_price_above_group_price"),
        ({"group_price_fen": 1001}, 422, "group_price_above_list_price"),
        ({"sku_id": their_sku}, 422, "sku_not_found"),
        ({"ends_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}, 422, "invalid_window"),
        ({"starts_at": soon.isoformat(), "ends_at": (soon - timedelta(minutes=1)).isoformat()}, 422, "invalid_window"),
        ({"stock": 11}, 409, "sku_stock_insufficient"),
        ({"ladder": [{"size": 2, "price_fen": 800}]}, 422, "invalid_ladder"),
        ({"ladder": [{"size": 2, "price_fen": 700}, {"size": 3, "price_fen": 600}]}, 422, "invalid_ladder"),
        ({"ladder": [{"size": 2, "price_fen": 800}, {"size": 4, "price_fen": 600}]}, 422, "invalid_ladder"),
        ({"ladder": [{"size": 2, "price_fen": 800}, {"size": 3, "price_fen": 800}]}, 422, "invalid_ladder"),
        ({"group_size": 4, "ladder": [{"size": 2, "price_fen": 800}, {"size": 3, "price_fen": 700},
                                      {"size": 3, "price_fen": 600}, {"size": 4, "price_fen": 500}]},
         422, "invalid_ladder"),
    ]
    for change, status, code in cases:
        r = await shop.client.post(f"{CONSOLE}/campaigns", headers=shop.staff, json={**base, **change})
        assert_problem(r, status, code)
    buyer = await shop.login("not-staff")
    assert_problem(await shop.client.post(f"{CONSOLE}/campaigns", headers=buyer, json=base), 401, "invalid_token")
    assert_problem(await shop.client.post(f"{CONSOLE}/campaigns", json=base), 401, "not_authenticated")
    assert await shop.count("groupbuy_campaigns") == 0 and await shop.stock(sku) == 10


async def test_the_console_lists_changes_closes_and_deletes_campaigns(shop: ShopHarness,
                                                                      other_shop: ShopHarness) -> None:
    sku, running = await setup(shop, sku_stock=20, group_size=2, stock=5, new_customers_only=True, title="两人团")
    later = await campaign(shop, sku, starts_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    ending = await campaign(shop, sku, ends_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat())
    other_sku, plain = await setup(shop)

    async def listed(**params: Any) -> list[int]:
        r = await shop.client.get(f"{CONSOLE}/campaigns", headers=shop.staff, params=params)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert await listed() == [plain["id"], ending["id"], later["id"], running["id"]]
    assert await listed(status="scheduled") == [later["id"]]
    assert await listed(sku_id=sku, status="active") == [ending["id"], running["id"]]
    assert await listed(product_id=plain["product_id"]) == [plain["id"]]
    assert await listed(new_customers_only=True) == [running["id"]]
    assert await listed(limit=1, offset=1) == [ending["id"]]
    assert_problem(await shop.client.get(f"{CONSOLE}/campaigns", headers=shop.staff, params={"status": "x"}),
                   422, "validation_error")

    r = await shop.client.patch(f"{CONSOLE}/campaigns/{running['id']}", headers=shop.staff,
                                json={"per_customer_limit": 3, "add_stock": 4, "title": "限时两人团"})
    assert r.status_code == 200, r.text
    assert (r.json()["per_customer_limit"], r.json()["stock"], r.json()["stock_left"], r.json()["title"]) == (
        3, 9, 9, "限时两人团")
    assert await shop.stock(sku) == 11
    r = await shop.client.patch(f"{CONSOLE}/campaigns/{running['id']}", headers=shop.staff, json={"add_stock": -2})
    assert r.json()["stock_left"] == 7 and await shop.stock(sku) == 13
    for body, status, code in (({"add_stock": -8}, 409, "stock_would_go_negative"),
                               ({"add_stock": 14}, 409, "sku_stock_insufficient"),
                               ({"ends_at": "2020-01-01T00:00:00+08:00"}, 422, "invalid_window"),
                               ({"title": None}, 422, "invalid_field"),
                               ({"group_size": 5}, 422, "validation_error")):
        assert_problem(await shop.client.patch(f"{CONSOLE}/campaigns/{running['id']}", headers=shop.staff,
                                               json=body), status, code)
    assert_problem(await shop.client.patch(f"{CONSOLE}/campaigns/{plain['id']}", headers=shop.staff,
                                           json={"add_stock": 1}), 409, "campaign_has_no_own_stock")
    assert await shop.stock(sku) == 13

    await paid_order(shop, await shop.login("a"), sku, running["id"])
    r = await shop.client.get(f"{CONSOLE}/campaigns/{running['id']}", headers=shop.staff)
    assert r.json()["stats"] == {"groups": 1, "pending": 0, "open": 1, "succeeded": 0, "failed": 0,
                                 "completed_by_shop": 0, "members_paid": 1, "members_refunded": 0}
    assert_problem(await shop.client.delete(f"{CONSOLE}/campaigns/{running['id']}", headers=shop.staff),
                   409, "campaign_has_groups")
    assert (await shop.client.delete(f"{CONSOLE}/campaigns/{later['id']}", headers=shop.staff)).status_code == 204
    assert_problem(await shop.client.get(f"{CONSOLE}/campaigns/{later['id']}", headers=shop.staff),
                   404, "campaign_not_found")

    for method, path in (("GET", ""), ("PATCH", ""), ("POST", "/close"), ("DELETE", "")):
        r = await other_shop.client.request(method, f"{CONSOLE}/campaigns/{running['id']}{path}",
                                            headers=other_shop.staff, json={} if method == "PATCH" else None)
        assert_problem(r, 404, "campaign_not_found")
    await shop.advance(3 * 3600)  # `ending` ends; the sweeper gives its stock back (it has none of its own)
    await shop.run_due()
    assert await listed(status="ended") == [ending["id"]]
    r = await shop.client.post(f"{CONSOLE}/campaigns/{running['id']}/close", headers=shop.staff)
    # The lone member's group failed meanwhile and gave its unit back: all 7 go back to the SKU.
    assert r.json()["status"] == "closed" and await shop.stock(sku) == 20
    assert await listed(status="closed") == [running["id"]]
    assert_problem(await shop.client.get(f"{CONSOLE}/groups/999999999", headers=shop.staff), 404, "group_not_found")
    assert other_sku


async def test_the_public_pages_show_joinable_groups_and_masked_members(shop: ShopHarness,
                                                                         other_shop: ShopHarness) -> None:
    sku, c = await setup(shop, group_size=3)
    names = ("张三丰", "Tom", "李")
    people = {n: await shop.login(n) for n in names}
    g1 = (await paid_order(shop, people["张三丰"], sku, c["id"]))["promotion"]["group_id"]
    await paid_order(shop, people["Tom"], sku, c["id"], g1)
    g2 = (await paid_order(shop, people["李"], sku, c["id"]))["promotion"]["group_id"]
    pending = (await order(shop, await shop.login("p"), sku, c["id"]))["promotion"]["group_id"]
    full = (await paid_order(shop, await shop.login("f1"), sku, c["id"]))["promotion"]["group_id"]
    for n in ("f2", "f3"):
        await paid_order(shop, await shop.login(n), sku, c["id"], full)

    r = await shop.client.get(f"{shop.base}/groupbuy/campaigns/{c['id']}/groups")
    assert r.status_code == 200, r.text
    assert [(g["id"], g["slots_left"], g["leader"]["nickname"]) for g in r.json()] == [(g1, 1, "张**"), (g2, 2, "*")]
    page = await group(shop, g1)
    assert [m["nickname"] for m in page["members"]] == ["张**", "T**"]
    assert all(n not in str(page) for n in ("张三丰", "Tom", "openid"))
    assert pending not in [g["id"] for g in r.json()]
    r = await shop.client.get(f"{shop.base}/groupbuy/campaigns", params={"product_id": c["product_id"]})
    assert [x["id"] for x in r.json()["items"]] == [c["id"]]
    assert (await shop.client.get(f"{shop.base}/groupbuy/campaigns/{c['id']}")).json()["group_size"] == 3
    assert_problem(await other_shop.client.get(f"{other_shop.base}/groupbuy/groups/{g1}"), 404, "group_not_found")
    assert_problem(await other_shop.client.get(f"{other_shop.base}/groupbuy/campaigns/{c['id']}/groups"),
                   404, "campaign_not_found")
    assert_problem(await shop.client.get(f"{shop.base}/groupbuy/groups/0"), 422, "validation_error")

    await shop.advance(3601)  # expired, not swept yet: no longer listed
    r = await shop.client.get(f"{shop.base}/groupbuy/campaigns/{c['id']}/groups")
    assert r.json() == []


async def test_a_group_never_runs_past_its_campaigns_end(shop: ShopHarness) -> None:
    ends = datetime.now(UTC) + timedelta(minutes=10)
    sku, c = await setup(shop, group_size=2, duration_seconds=24 * 3600, ends_at=ends.isoformat())
    gid = (await paid_order(shop, await shop.login("a"), sku, c["id"]))["promotion"]["group_id"]
    expires = datetime.fromisoformat((await group(shop, gid))["expires_at"])
    assert abs((expires - ends).total_seconds()) < 1


async def test_outcomes_are_sent_as_subscribe_messages_through_the_outbox(shop: ShopHarness) -> None:
    ok, ko = f"tpl_{secrets.token_hex(8)}", f"tpl_{secrets.token_hex(8)}"
    r = await shop.client.put("/api/v1/console/wechat/subscribe-templates", headers=shop.staff,
                              json={"group_succeeded": ok, "group_failed": ko})
    assert r.status_code == 200 and r.json()["group_succeeded"]["fields"]["phrase3"] == "status"
    sku, c = await setup(shop, group_size=2, duration_seconds=600)
    a, b, lonely = await shop.login("a"), await shop.login("b"), await shop.login("lonely")
    for who, name in ((a, "a"), (b, "b"), (lonely, "lonely")):
        assert (await shop.client.post(f"{shop.base}/subscriptions", headers=who,
                                       json={"accepted": [ok, ko]})).status_code == 200
        openid = await shop.scalar("SELECT openid FROM customers WHERE shop_id = :shop AND nickname = :n", n=name)
        for tid in (ok, ko):
            fake_openapi.grant_subscription(shop.fake, openid, tid, 1)
    gid = (await paid_order(shop, a, sku, c["id"]))["promotion"]["group_id"]
    joined = await paid_order(shop, b, sku, c["id"], gid)
    failed = await paid_order(shop, lonely, sku, c["id"])
    assert await shop.scalar("SELECT count(*) FROM kit_outbox WHERE shop_id = :shop AND topic = "
                             "'miniapp.subscribe_send' AND done_at IS NULL") >= 2
    await shop.advance(601)
    await shop.run_due()
    sent = fake_openapi.sent_messages(shop.fake)
    succeeded = [m for m in sent if m["template_id"] == ok]
    assert len(succeeded) == 2 and {m["data"]["phrase3"] for m in succeeded} == {"拼团成功"}
    assert joined["order_no"] in {m["data"]["character_string4"] for m in succeeded}
    [lost] = [m for m in sent if m["template_id"] == ko]
    assert lost["data"]["phrase3"] == "拼团失败" and lost["data"]["character_string4"] == failed["order_no"]
    assert await shop.scalar("SELECT count(*) FROM subscribe_messages WHERE shop_id = :shop AND event LIKE 'group_%' "
                             "AND status = 'sent'") == 3
