"""Content and community through the API: posts attributed to their author, likes, comments, reports,
moderation, rate limits, communities with roles, topics, announcements and the community red packet."""

from __future__ import annotations

from typing import Any

from tests.api.community_helpers import (
    CONSOLE,
    check_invariants,
    community,
    counts,
    feed,
    get_post,
    join,
    promoter,
    shop_post,
    to_shanghai_noon,
    write_post,
)
from tests.api.distribution_helpers import enable, whoami
from tests.conftest import ShopHarness, assert_problem

# --- attribution: the proof ----------------------------------------------------------------------------------


async def test_a_post_brings_a_buyer_the_order_is_the_posts_and_its_author_earns(shop: ShopHarness) -> None:
    """Promoter writes a post; a new customer opens it, records the view, buys; the order is attributed to the
    post's share and author, and distribution accrues the author's commission when it is paid."""
    await enable(shop)  # 10% level 1, everyone qualifies
    sku = await shop.sku(price_fen=5000)
    product_id = int(await shop.scalar("SELECT product_id FROM skus WHERE id = :id", id=sku))
    author = await shop.login("kol")
    author_id = whoami(shop, author)
    post = await write_post(shop, author, product_ids=[product_id], images=["https://img.example.com/a.jpg"])
    assert post["author"] == {"type": "promoter", "id": author_id, "nickname": "kol"}
    assert post["product_ids"] == [product_id] and post["share_code"]

    buyer = await shop.login("newbie")
    seen = await get_post(shop, post["id"], buyer)
    assert seen["share_code"] == post["share_code"]
    r = await shop.client.post(f"{shop.base}/visits", headers=buyer, json={"share_code": seen["share_code"]})
    assert r.status_code == 201, r.text
    assert r.json()["bound_promoter_id"] == author_id
    assert (r.json()["target_type"], r.json()["target_id"]) == ("post", post["id"])

    order = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}])  # no code: last-visit attribution
    await shop.pay(order)
    r = await shop.client.get(f"{CONSOLE}/orders/{order['order_no']}/attribution", headers=shop.staff)
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["share_code"] == post["share_code"] and found["sharer_id"] == author_id
    assert found["channel"] == "community" and found["bound_promoter_id"] == author_id
    assert found["source"] == "last_visit"
    assert await shop.rows("SELECT target_type, target_id FROM fission_facts WHERE shop_id = :shop "
                           "AND kind = 'order'") == [("post", post["id"])]
    rows = await shop.rows("SELECT beneficiary_id, level, amount_fen FROM distribution_commissions "
                           "WHERE shop_id = :shop AND order_no = :no", no=order["order_no"])
    assert rows == [(author_id, 1, 500)]

    # The same post's code carried by the order itself: attributed by code.
    order2 = await shop.place(buyer, [{"sku_id": sku, "quantity": 1}], share_code=post["share_code"])
    r = await shop.client.get(f"{CONSOLE}/orders/{order2['order_no']}/attribution", headers=shop.staff)
    assert r.json()["source"] == "share_code" and r.json()["sharer_id"] == author_id
    await check_invariants(shop)


async def test_a_shop_post_is_the_shops_own_share(shop: ShopHarness) -> None:
    post = await shop_post(shop, video_url="https://channels.weixin.qq.com/v/abc")
    assert post["author"]["type"] == "shop" and post["author"]["id"] is None
    assert post["video_url"] == "https://channels.weixin.qq.com/v/abc"
    assert await shop.rows("SELECT sharer_id, target_type, target_id, channel FROM fission_shares "
                           "WHERE shop_id = :shop AND code = :c", c=post["share_code"]) == [
        (None, "post", post["id"], "community")]
    buyer = await shop.login("b")
    r = await shop.client.post(f"{shop.base}/visits", headers=buyer, json={"share_code": post["share_code"]})
    assert r.status_code == 201 and r.json()["bound_promoter_id"] is None
    # Anyone may re-share a visible post through fission (the registered target check).
    r = await shop.client.post(f"{shop.base}/shares", headers=buyer, json={
        "target_type": "post", "target_id": post["id"], "channel": "friend", "parent_code": post["share_code"]})
    assert r.status_code == 201, r.text
    await check_invariants(shop)


async def test_only_approved_promoters_write_posts_and_own_communities(shop: ShopHarness) -> None:
    ann = await shop.login("ann")
    before = await counts(shop)
    assert_problem(await shop.client.post(f"{shop.base}/posts", headers=ann, json={"title": "x"}), 403,
                   "not_a_promoter")  # distribution is off
    await enable(shop, promoter_qualification="apply")
    r = await shop.client.post(f"{shop.base}/promoter/apply", headers=ann)
    assert r.status_code in (200, 201) and r.json()["status"] == "pending", r.text
    assert_problem(await shop.client.post(f"{shop.base}/posts", headers=ann, json={"title": "x"}), 403,
                   "not_a_promoter")
    assert_problem(await shop.client.post(f"{shop.base}/communities", headers=ann, json={"name": "x"}), 403,
                   "not_a_promoter")
    assert await counts(shop) == before
    r = await shop.client.post(f"/api/v1/console/distribution/promoters/{whoami(shop, ann)}/approve",
                               headers=shop.staff)
    assert r.status_code == 200, r.text
    await write_post(shop, ann)


async def test_bad_posts_change_nothing(shop: ShopHarness, other_shop: ShopHarness) -> None:
    author = await promoter(shop, "kol")
    foreign = int((await other_shop.product())["id"])
    mine = int((await shop.product())["id"])
    await write_post(shop, author)  # the promoter row exists; the counts below compare like with like
    before = await counts(shop)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"title": "x", "product_ids": [foreign]}, 422, "product_not_found"),
        ({"title": "x", "product_ids": [mine, 999_999_999]}, 422, "product_not_found"),
        ({"title": "   "}, 422, "validation_error"),
        ({"title": "x" * 61}, 422, "validation_error"),
        ({"title": "x", "body": "字" * 2001}, 422, "validation_error"),
        ({"title": "x", "images": ["https://a/b.jpg"] * 10}, 422, "validation_error"),
        ({"title": "x", "images": ["javascript:alert(1)"]}, 422, "validation_error"),
        ({"title": "x", "video_url": "ftp://x/y"}, 422, "validation_error"),
        ({"title": "x", "product_ids": list(range(1, 11))}, 422, "validation_error"),
        ({"title": "x", "author_id": 1}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        assert_problem(await shop.client.post(f"{shop.base}/posts", headers=author, json=body), status, code)
    assert await counts(shop) == before
    await check_invariants(shop)


# --- the feed -------------------------------------------------------------------------------------------------

async def test_feed_newest_first_by_pages_and_filters(shop: ShopHarness) -> None:
    a = await promoter(shop, "a")
    b = await shop.login("b")
    p1 = int((await shop.product())["id"])
    p2 = int((await shop.product())["id"])
    made = [await write_post(shop, a, product_ids=[p1]), await shop_post(shop, product_ids=[p1, p2])]
    await shop.advance(61)  # the per-minute post limit
    made += [await write_post(shop, b, product_ids=[p2]), await write_post(shop, a)]
    ids = [p["id"] for p in made]
    page = await feed(shop, limit=3)
    assert [p["id"] for p in page["items"]] == ids[::-1][:3]
    rest = await feed(shop, limit=3, before=page["next_before"])
    assert [p["id"] for p in rest["items"]] == [ids[0]] and rest["next_before"] is None
    assert [p["id"] for p in (await feed(shop, product_id=p1))["items"]] == [ids[1], ids[0]]
    assert [p["id"] for p in (await feed(shop, product_id=p2))["items"]] == [ids[2], ids[1]]
    assert [p["id"] for p in (await feed(shop, author_id=whoami(shop, a)))["items"]] == [ids[3], ids[0]]
    assert [p["id"] for p in (await feed(shop, author_type="shop"))["items"]] == [ids[1]]
    assert all(p["liked"] is None for p in page["items"])
    r = await shop.client.get(f"{shop.base}/posts", params={"limit": 0})
    assert_problem(r, 422, "validation_error")


# --- likes, comments, reports ---------------------------------------------------------------------------------

async def test_likes_are_once_per_customer_and_idempotent(shop: ShopHarness) -> None:
    post = await shop_post(shop)
    ann, bob = await shop.login("ann"), await shop.login("bob")
    url = f"{shop.base}/posts/{post['id']}/like"
    for _ in range(3):
        r = await shop.client.post(url, headers=ann)
        assert r.status_code == 200 and r.json() == {"post_id": post["id"], "liked": True, "like_count": 1}
    r = await shop.client.post(url, headers=bob)
    assert r.json()["like_count"] == 2
    assert (await get_post(shop, post["id"], ann))["liked"] is True
    for _ in range(2):
        r = await shop.client.delete(url, headers=ann)
        assert r.status_code == 200 and r.json()["like_count"] == 1 and r.json()["liked"] is False
    assert (await get_post(shop, post["id"], ann))["liked"] is False
    assert_problem(await shop.client.post(url), 401, "not_authenticated")
    assert_problem(await shop.client.post(f"{shop.base}/posts/999999999/like", headers=ann), 404, "post_not_found")
    await check_invariants(shop)


async def test_like_spends_one_statement(shop: ShopHarness, count_statements: Any) -> None:
    post = await shop_post(shop)
    ann = await shop.login("ann")
    with count_statements() as counter:
        r = await shop.client.post(f"{shop.base}/posts/{post['id']}/like", headers=ann)
    assert r.status_code == 200
    statements = [s for s in counter.statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    print(f"\nlike: {len(statements)} SQL statements")
    assert len(statements) <= 2, "\n".join(statements)  # the shop, then the like with its counter


async def test_comments_and_reports(shop: ShopHarness) -> None:
    post = await shop_post(shop)
    ann, bob = await shop.login("ann"), await shop.login("bob")
    url = f"{shop.base}/posts/{post['id']}"
    r = await shop.client.post(f"{url}/comments", headers=ann, json={"body": "  好看！  "})
    assert r.status_code == 201, r.text
    assert r.json()["body"] == "好看！" and r.json()["nickname"] == "a*n" and r.json()["mine"] is True
    await shop.client.post(f"{url}/comments", headers=bob, json={"body": "同款"})
    r = await shop.client.get(f"{url}/comments", headers=bob)
    assert [(c["body"], c["mine"]) for c in r.json()] == [("好看！", False), ("同款", True)]
    assert (await get_post(shop, post["id"]))["comment_count"] == 2
    before = await counts(shop)
    assert_problem(await shop.client.post(f"{url}/comments", headers=ann, json={"body": " "}), 422,
                   "validation_error")
    assert_problem(await shop.client.post(f"{url}/comments", headers=ann, json={"body": "x" * 501}), 422,
                   "validation_error")
    assert await counts(shop) == before

    r = await shop.client.post(f"{url}/reports", headers=ann, json={"reason": "广告"})
    assert r.status_code == 201, r.text
    assert_problem(await shop.client.post(f"{url}/reports", headers=ann, json={"reason": "again"}), 409,
                   "already_reported")
    await shop.client.post(f"{url}/reports", headers=bob, json={"reason": "虚假宣传"})
    other = await shop_post(shop)
    r = await shop.client.get(f"{CONSOLE}/posts", headers=shop.staff, params={"reported": "true"})
    assert [(p["id"], p["report_count"]) for p in r.json()["items"]] == [(post["id"], 2)]
    assert other["id"] not in [p["id"] for p in r.json()["items"]]
    r = await shop.client.get(f"{CONSOLE}/posts/{post['id']}/reports", headers=shop.staff)
    assert sorted(x["reason"] for x in r.json()) == ["广告", "虚假宣传"]
    await check_invariants(shop)


# --- moderation -------------------------------------------------------------------------------------------------

async def test_hidden_posts_vanish_except_for_their_author(shop: ShopHarness) -> None:
    author = await promoter(shop, "kol")
    post = await write_post(shop, author)
    ann = await shop.login("ann")
    r = await shop.client.post(f"{CONSOLE}/posts/{post['id']}/hide", headers=shop.staff)
    assert r.status_code == 200 and r.json()["hidden"] is True and r.json()["hidden_at"]
    assert post["id"] not in [p["id"] for p in (await feed(shop, ann))["items"]]
    assert post["id"] not in [p["id"] for p in (await feed(shop))["items"]]
    await get_post(shop, post["id"], ann, expect=404)
    await get_post(shop, post["id"], expect=404)
    assert (await get_post(shop, post["id"], author))["hidden"] is True
    assert [p["id"] for p in (await feed(shop, author))["items"]] == [post["id"]]
    for method, path, body in (("post", "like", None), ("post", "comments", {"body": "x"}),
                               ("post", "reports", {"reason": "x"}), ("get", "comments", None)):
        r = await shop.client.request(method.upper(), f"{shop.base}/posts/{post['id']}/{path}", headers=ann, json=body)
        assert_problem(r, 404, "post_not_found")
    r = await shop.client.post(f"{shop.base}/shares", headers=ann, json={
        "target_type": "post", "target_id": post["id"], "channel": "friend"})
    assert_problem(r, 404, "target_not_found")
    r = await shop.client.post(f"{CONSOLE}/posts/{post['id']}/unhide", headers=shop.staff)
    assert r.json()["hidden"] is False
    assert (await get_post(shop, post["id"], ann))["hidden"] is False
    await check_invariants(shop)


async def test_hidden_comments_vanish_and_leave_the_count(shop: ShopHarness) -> None:
    post = await shop_post(shop)
    ann = await shop.login("ann")
    c = (await shop.client.post(f"{shop.base}/posts/{post['id']}/comments", headers=ann, json={"body": "spam"})).json()
    for _ in range(2):  # idempotent
        r = await shop.client.post(f"{CONSOLE}/comments/{c['id']}/hide", headers=shop.staff)
        assert r.status_code == 200 and r.json()["hidden"] is True
    assert (await shop.client.get(f"{shop.base}/posts/{post['id']}/comments")).json() == []
    assert (await get_post(shop, post["id"]))["comment_count"] == 0
    r = await shop.client.get(f"{CONSOLE}/posts/{post['id']}/comments", headers=shop.staff)
    assert [x["hidden"] for x in r.json()] == [True]
    await shop.client.post(f"{CONSOLE}/comments/{c['id']}/unhide", headers=shop.staff)
    assert (await get_post(shop, post["id"]))["comment_count"] == 1
    await check_invariants(shop)


async def test_banned_customers_cannot_write_until_unbanned(shop: ShopHarness) -> None:
    author = await promoter(shop, "kol")
    post = await shop_post(shop)
    space = await community(shop, author, join="open")
    r = await shop.client.post(f"{shop.base}/communities/{space['id']}/topics", headers=author, json={"title": "t"})
    topic = r.json()
    r = await shop.client.post(f"{CONSOLE}/community/bans", headers=shop.staff,
                               json={"customer_id": whoami(shop, author), "reason": "刷屏"})
    assert r.status_code == 201 and r.json()["reason"] == "刷屏"
    before = await counts(shop)
    for path, body in (("posts", {"title": "x"}), (f"posts/{post['id']}/comments", {"body": "x"}),
                       (f"communities/{space['id']}/topics", {"title": "x"}),
                       (f"topics/{topic['id']}/replies", {"body": "x"})):
        assert_problem(await shop.client.post(f"{shop.base}/{path}", headers=author, json=body), 403,
                       "banned_from_community")
    assert await counts(shop) == before
    r = await shop.client.get(f"{CONSOLE}/community/bans", headers=shop.staff)
    assert [b["customer_id"] for b in r.json()] == [whoami(shop, author)]
    assert (await shop.client.delete(f"{CONSOLE}/community/bans/{whoami(shop, author)}",
                                     headers=shop.staff)).status_code == 204
    assert_problem(await shop.client.delete(f"{CONSOLE}/community/bans/{whoami(shop, author)}", headers=shop.staff),
                   404, "ban_not_found")
    await write_post(shop, author)


async def test_rate_limits_per_minute_and_per_day(shop: ShopHarness) -> None:
    await to_shanghai_noon(shop)  # windows are whole minutes and Shanghai days: start well inside both
    author = await promoter(shop, "kol")
    post = await shop_post(shop)
    url = f"{shop.base}/posts/{post['id']}/comments"
    for i in range(6):
        assert (await shop.client.post(url, headers=author, json={"body": f"c{i}"})).status_code == 201
    before = await counts(shop)
    refused = await shop.client.post(url, headers=author, json={"body": "too fast"})
    body = assert_problem(refused, 429, "rate_limited")
    assert 1 <= body["retry_after"] <= 60 and body["action"] == "comment"
    assert refused.headers["retry-after"] == str(body["retry_after"])
    assert await counts(shop) == before
    await shop.advance(60)
    assert (await shop.client.post(url, headers=author, json={"body": "later"})).status_code == 201

    # Posts: 2 a minute, 10 a day.
    for minute in range(5):
        for _ in range(2):
            await write_post(shop, author)
        if minute == 0:
            assert_problem(await shop.client.post(f"{shop.base}/posts", headers=author, json={"title": "x"}), 429,
                           "rate_limited")
        await shop.advance(60)
    body = assert_problem(await shop.client.post(f"{shop.base}/posts", headers=author, json={"title": "x"}), 429,
                          "rate_limited")
    assert body["retry_after"] > 60  # until midnight in Shanghai
    other = await shop.login("other")
    r = await shop.client.post(f"{url}", headers=other, json={"body": "others are not limited by him"})
    assert r.status_code == 201
    await check_invariants(shop)


# --- isolation --------------------------------------------------------------------------------------------------

async def test_another_shops_posts_and_communities_are_not_found(shop: ShopHarness, other_shop: ShopHarness) -> None:
    theirs = await shop_post(other_shop)
    their_space = await community(other_shop)
    ann = await shop.login("ann")
    await get_post(shop, theirs["id"], ann, expect=404)
    for method, path, body in (("POST", f"posts/{theirs['id']}/like", None),
                               ("POST", f"posts/{theirs['id']}/comments", {"body": "x"}),
                               ("POST", f"posts/{theirs['id']}/reports", {"reason": "x"})):
        assert_problem(await shop.client.request(method, f"{shop.base}/{path}", headers=ann, json=body), 404,
                       "post_not_found")
    assert_problem(await shop.client.post(f"{CONSOLE}/posts/{theirs['id']}/hide", headers=shop.staff), 404,
                   "post_not_found")
    assert_problem(await shop.client.get(f"{shop.base}/communities/{their_space['id']}", headers=ann), 404,
                   "community_not_found")
    assert_problem(await shop.client.post(f"{shop.base}/communities/join", headers=ann,
                                          json={"invite_code": their_space["invite_code"]}), 404,
                   "invite_code_not_found")
    assert_problem(await shop.client.post(f"{CONSOLE}/communities/{their_space['id']}/red-packets",
                                          headers=shop.staff, json={"total_fen": 100, "parts": 2}), 404,
                   "community_not_found")
    r = await shop.client.post(f"{shop.base}/visits", headers=ann, json={"share_code": theirs["share_code"]})
    assert_problem(r, 404, "share_not_found")
    assert_problem(await shop.client.post(f"{CONSOLE}/community/bans", headers=shop.staff,
                                          json={"customer_id": whoami(other_shop, await other_shop.login("z"))}),
                   404, "customer_not_found")
    assert (await feed(shop))["items"] == []


# --- communities -----------------------------------------------------------------------------------------------

async def test_join_by_invite_roles_members_and_leaving(shop: ShopHarness) -> None:
    owner = await promoter(shop, "群主大人")
    space = await community(shop, owner)
    assert space["my_role"] == "owner" and space["member_count"] == 1 and len(space["invite_code"]) == 12
    assert space["invite_url"].endswith(f"/s/{shop.slug}/c/{space['invite_code']}")
    ann, bob = await shop.login("安娜贝尔"), await shop.login("bob")
    assert_problem(await shop.client.get(f"{shop.base}/communities/{space['id']}", headers=ann), 404,
                   "community_not_found")  # invite-only: not seen before joining
    r = await shop.client.get(f"{shop.base}/communities/invite/{space['invite_code'].lower()}")
    assert r.status_code == 200 and r.json()["rules"] == "禁止广告" and r.json()["invite_code"] is None
    r = await shop.client.get(f"{shop.base}/communities/invite/{space['invite_code']}/qr.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    joined = await join(shop, ann, space["invite_code"])
    assert joined["my_role"] == "member" and joined["rules"] == "禁止广告" and joined["invite_code"] is None
    assert (await join(shop, ann, space["invite_code"]))["member_count"] == 2  # idempotent
    await join(shop, bob, space["invite_code"])
    r = await shop.client.get(f"{shop.base}/communities/{space['id']}/members", headers=ann)
    assert [(m["nickname"], m["role"]) for m in r.json()["items"]] == [("群**人", "owner"), ("安**尔", "member"),
                                                                        ("b*b", "member")]
    assert r.json()["total"] == 3
    assert all(set(m) == {"member_id", "nickname", "avatar", "role", "joined_at"} for m in r.json()["items"])

    ann_id, bob_id = whoami(shop, ann), whoami(shop, bob)
    members = f"{shop.base}/communities/{space['id']}/members"
    assert_problem(await shop.client.put(f"{members}/{bob_id}/role", headers=ann, json={"role": "admin"}), 403,
                   "not_allowed")
    r = await shop.client.put(f"{members}/{ann_id}/role", headers=owner, json={"role": "admin"})
    assert r.status_code == 200 and r.json()["role"] == "admin"
    assert (await join(shop, ann, space["invite_code"]))["invite_code"] == space["invite_code"]  # admins see it
    assert_problem(await shop.client.delete(f"{members}/{whoami(shop, owner)}", headers=ann), 403, "not_allowed")
    assert (await shop.client.delete(f"{members}/{bob_id}", headers=ann)).status_code == 204
    assert_problem(await shop.client.post(f"{shop.base}/communities/join", headers=bob,
                                          json={"invite_code": space["invite_code"]}), 403, "removed_from_community")
    assert_problem(await shop.client.get(members, headers=bob), 404, "community_not_found")

    assert_problem(await shop.client.post(f"{shop.base}/communities/{space['id']}/leave", headers=owner), 409,
                   "owner_cannot_leave")
    for _ in range(2):
        assert (await shop.client.post(f"{shop.base}/communities/{space['id']}/leave", headers=ann)).status_code == 204
    r = await shop.client.get(f"{CONSOLE}/communities/{space['id']}", headers=shop.staff)
    assert r.json()["member_count"] == 1 and r.json()["invite_code"] == space["invite_code"]
    await check_invariants(shop)


async def test_open_communities_and_the_shops_own(shop: ShopHarness) -> None:
    space = await community(shop, join="open", name="官方粉丝群")
    assert space["owner_type"] == "shop" and space["member_count"] == 0
    ann = await shop.login("ann")
    listed = (await shop.client.get(f"{shop.base}/communities", headers=ann)).json()
    assert [c["id"] for c in listed] == [space["id"]] and listed[0]["my_role"] is None
    r = await shop.client.post(f"{shop.base}/communities/{space['id']}/join", headers=ann)
    assert r.status_code == 200 and r.json()["my_role"] == "member"
    assert [c["id"] for c in (await shop.client.get(f"{shop.base}/communities", headers=ann,
                                                    params={"mine": "true"})).json()] == [space["id"]]
    r = await shop.client.put(f"{CONSOLE}/communities/{space['id']}/members/{whoami(shop, ann)}/role",
                              headers=shop.staff, json={"role": "admin"})
    assert r.json()["role"] == "admin"
    invite_only = await community(shop)
    assert_problem(await shop.client.post(f"{shop.base}/communities/{invite_only['id']}/join", headers=ann), 404,
                   "community_not_found")
    assert (await shop.client.delete(f"{CONSOLE}/communities/{space['id']}/members/{whoami(shop, ann)}",
                                     headers=shop.staff)).status_code == 204
    await check_invariants(shop)


async def test_announcements_topics_and_threads(shop: ShopHarness) -> None:
    owner = await promoter(shop, "kol")
    space = await community(shop, owner)
    ann, bob, eve = await shop.login("ann"), await shop.login("bob"), await shop.login("eve")
    await join(shop, ann, space["invite_code"])
    await join(shop, bob, space["invite_code"])
    base = f"{shop.base}/communities/{space['id']}"
    assert_problem(await shop.client.post(f"{base}/announcements", headers=ann, json={"title": "x"}), 403,
                   "not_allowed")
    await shop.client.post(f"{base}/announcements", headers=owner, json={"title": "旧", "pinned": False})
    await shop.client.post(f"{base}/announcements", headers=owner, json={"title": "置顶", "pinned": True})
    await shop.client.post(f"{CONSOLE}/communities/{space['id']}/announcements", headers=shop.staff,
                           json={"title": "店铺通知", "pinned": False})
    r = await shop.client.get(f"{base}/announcements", headers=ann)
    assert [(a["title"], a["by_shop"]) for a in r.json()] == [("置顶", False), ("店铺通知", True), ("旧", False)]
    assert_problem(await shop.client.get(f"{base}/announcements", headers=eve), 404, "community_not_found")

    t = (await shop.client.post(f"{base}/topics", headers=ann, json={"title": "求推荐奶粉", "body": "六个月"})).json()
    replies = f"{shop.base}/topics/{t['id']}/replies"
    r1 = (await shop.client.post(replies, headers=bob, json={"body": "试试这个"})).json()
    assert r1["depth"] == 1
    r2 = (await shop.client.post(f"{shop.base}/topics/{t['id']}/replies", headers=ann,
                                 json={"body": "谢谢", "parent_id": r1["id"]})).json()
    assert r2["depth"] == 2 and r2["parent_id"] == r1["id"]
    before = await counts(shop)
    assert_problem(await shop.client.post(f"{shop.base}/topics/{t['id']}/replies", headers=bob,
                                          json={"body": "再深", "parent_id": r2["id"]}), 422, "thread_too_deep")
    assert_problem(await shop.client.post(f"{shop.base}/topics/{t['id']}/replies", headers=bob,
                                          json={"body": "x", "parent_id": 999_999_999}), 404, "reply_not_found")
    assert_problem(await shop.client.post(f"{shop.base}/topics/{t['id']}/replies", headers=eve, json={"body": "x"}),
                   404, "community_not_found")
    assert_problem(await shop.client.post(f"{base}/topics", headers=eve, json={"title": "x"}), 404,
                   "community_not_found")
    assert await counts(shop) == before
    detail = (await shop.client.get(f"{shop.base}/topics/{t['id']}", headers=owner)).json()
    assert detail["reply_count"] == 2 and detail["nickname"] == "a*n"
    assert [(r["body"], [c["body"] for c in r["replies"]]) for r in detail["replies"]] == [("试试这个", ["谢谢"])]
    listed = (await shop.client.get(f"{base}/topics", headers=bob)).json()
    assert [x["id"] for x in listed["items"]] == [t["id"]]

    # The shop hides a reply (its answers go with it) and a topic.
    r = await shop.client.post(f"{CONSOLE}/replies/{r1['id']}/hide", headers=shop.staff)
    assert r.status_code == 200 and r.json()["hidden"] is True
    detail = (await shop.client.get(f"{shop.base}/topics/{t['id']}", headers=owner)).json()
    assert detail["replies"] == [] and detail["reply_count"] == 1
    await shop.client.post(f"{CONSOLE}/topics/{t['id']}/hide", headers=shop.staff)
    assert_problem(await shop.client.get(f"{shop.base}/topics/{t['id']}", headers=owner), 404, "topic_not_found")
    assert (await shop.client.get(f"{base}/topics", headers=bob)).json()["items"] == []
    r = await shop.client.get(f"{CONSOLE}/communities/{space['id']}/topics", headers=shop.staff)
    assert [x["id"] for x in r.json()["items"]] == [t["id"]]
    await check_invariants(shop)


async def test_community_red_packet_is_for_members_only(shop: ShopHarness) -> None:
    space = await community(shop, join="open")
    ann, bob, eve = await shop.login("ann"), await shop.login("bob"), await shop.login("eve")
    for who in (ann, bob):
        await shop.client.post(f"{shop.base}/communities/{space['id']}/join", headers=who)
    before = await counts(shop)
    url = f"{CONSOLE}/communities/{space['id']}/red-packets"
    assert_problem(await shop.client.post(url, headers=shop.staff, json={"total_fen": 5, "parts": 10}), 422,
                   "total_below_minimum")
    assert_problem(await shop.client.post(url, headers=shop.staff, json={"total_fen": 100, "parts": 101}), 422,
                   "validation_error")
    assert await counts(shop) == before
    r = await shop.client.post(url, headers=shop.staff, json={"title": "中秋红包", "total_fen": 1000, "parts": 3,
                                                              "min_part_fen": 100, "claim_hours": 48})
    assert r.status_code == 201, r.text
    notice, packet = r.json()["announcement"], r.json()["red_packet"]
    assert notice["pinned"] and notice["by_shop"] and notice["red_packet_code"] == packet["code"]
    assert notice["title"] == "中秋红包" and packet["parts"] == 3 and packet["total_fen"] == 1000
    r = await shop.client.get(f"{shop.base}/communities/{space['id']}/announcements", headers=ann)
    assert r.json()[0]["red_packet_code"] == packet["code"]
    r = await shop.client.get(f"{shop.base}/communities/{space['id']}/red-packets", headers=ann)
    assert [p["code"] for p in r.json()] == [packet["code"]]

    claim = f"{shop.base}/red-packets/{packet['code']}/claim"
    assert_problem(await shop.client.post(claim, headers=eve), 403, "red_packet_members_only")
    r = await shop.client.post(claim, headers=ann)
    assert r.status_code == 201, r.text
    assert r.json()["coupon"]["name"].startswith("社群红包") and r.json()["amount_fen"] >= 100
    assert_problem(await shop.client.post(claim, headers=ann), 409, "red_packet_already_claimed")
    await shop.client.post(f"{shop.base}/communities/{space['id']}/leave", headers=bob)
    assert_problem(await shop.client.post(claim, headers=bob), 403, "red_packet_members_only")
    assert await shop.scalar("SELECT count(*) FROM coupons WHERE shop_id = :shop AND red_packet_id = :p",
                             p=packet["id"]) == 1
    # The red-packet page is the coupons module's, as for a buyer's packet.
    r = await shop.client.get(f"{shop.base}/red-packets/{packet['code']}")
    assert r.status_code == 200 and r.json()["parts_claimed"] == 1
    await check_invariants(shop)
