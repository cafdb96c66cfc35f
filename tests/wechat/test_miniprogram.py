"""The mini-program OpenAPI client against the fake (wechat.md §9 items 8, 9, 22, 24, 25, 26, 28).

Everything runs in-process: the real ``MiniProgramClient`` talks HTTP to the fake's ASGI app.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import string
import struct
import zlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liebian.integrations.wechat.config import MiniProgramConfig
from liebian.integrations.wechat.errors import InvalidArgument, WeChatApiError, WeChatUnavailable
from liebian.integrations.wechat.fake import FakeWeChat
from liebian.integrations.wechat.fake import openapi as fake_api
from liebian.integrations.wechat.fake import pay as fake_pay
from liebian.integrations.wechat.miniprogram import (
    InvalidCode,
    LogisticsType,
    MiniProgramClient,
    Parcel,
    RateLimited,
    render_subscribe_data,
    validate_page,
    validate_scene,
)
from liebian.integrations.wechat.pay.client import PayClient
from liebian.integrations.wechat.pay.transactions import JsapiOrder, jsapi_prepay
from tests.wechat.conftest import ManualClock

BASE = "https://api.weixin.qq.com"
QR = "/wxa/getwxacodeunlimit"
TOKEN = "/cgi-bin/stable_token"
TEMPLATE = "tmpl-group-success"
SCENE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#$&'()*+,/:;=?@-._~"


class Recording(httpx.AsyncBaseTransport):
    """Delegates to the fake, optionally after a pause (so concurrent calls really overlap), and keeps
    every URL sent (to know which tokens and codes must never show up in a log)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, delay: float = 0.0) -> None:
        self.inner, self.delay, self.urls = inner, delay, list[str]()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        if self.delay:
            await asyncio.sleep(self.delay)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def transport(fake: FakeWeChat) -> Recording:
    return Recording(httpx.ASGITransport(app=fake.app), delay=0.005)


@pytest.fixture
async def mp(fake: FakeWeChat, manual_clock: ManualClock, transport: Recording) -> AsyncIterator[MiniProgramClient]:
    async with httpx.AsyncClient(transport=transport) as http:
        yield MiniProgramClient(fake.credentials.mini_program_config(BASE), http, now=manual_clock)


def token_calls(fake: FakeWeChat) -> list[bool]:
    """The ``force_refresh`` flag of every ``stable_token`` call the fake received."""
    return [bool(body.get("force_refresh")) for body in fake_api.calls(fake, TOKEN)]


# ---- login (item 8) ----

async def test_a_login_code_gives_the_openid_and_unionid_only_when_bound(fake: FakeWeChat,
                                                                         mp: MiniProgramClient) -> None:
    session = await mp.code2session(fake_api.issue_login_code(fake, "o_alice"))
    assert (session.openid, session.unionid) == ("o_alice", None)
    assert len(session.session_key) == 24  # base64 of 16 bytes, the open-data AES key
    bound = await mp.code2session(fake_api.issue_login_code(fake, "o_bob", unionid="u_bob"))
    assert (bound.openid, bound.unionid) == ("o_bob", "u_bob")
    assert "o_bob" not in repr(bound) and bound.session_key not in repr(bound)


async def test_a_login_code_works_once(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    code = fake_api.issue_login_code(fake, "o_once")
    await mp.code2session(code)
    with pytest.raises(InvalidCode) as caught:
        await mp.code2session(code)
    assert caught.value.errcode == 40029
    with pytest.raises(InvalidCode):
        await mp.code2session("never-issued")
    with pytest.raises(InvalidCode):
        await mp.code2session("")  # refused before calling
    assert len(fake_api.calls(fake, "/sns/jscode2session")) == 3


async def test_a_login_code_expires_after_five_minutes(fake: FakeWeChat, mp: MiniProgramClient,
                                                       manual_clock: ManualClock) -> None:
    fresh, stale = fake_api.issue_login_code(fake, "o_a"), fake_api.issue_login_code(fake, "o_b")
    manual_clock.advance(299)
    assert (await mp.code2session(fresh)).openid == "o_a"
    manual_clock.advance(2)
    with pytest.raises(InvalidCode):
        await mp.code2session(stale)


async def test_a_wrong_appid_or_secret_is_an_api_error_not_a_bad_code(fake: FakeWeChat,
                                                                      manual_clock: ManualClock) -> None:
    creds = fake.credentials
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as http:
        for appid, secret, errcode in ((creds.appid, "0" * 32, 40125), ("wx0000000000000000", creds.app_secret, 40013)):
            client = MiniProgramClient(MiniProgramConfig(appid, secret, BASE), http, now=manual_clock)
            with pytest.raises(WeChatApiError) as caught:
                await client.code2session(fake_api.issue_login_code(fake, "o_x"))
            assert caught.value.errcode == errcode and not isinstance(caught.value, InvalidCode)
            with pytest.raises(WeChatApiError) as caught:
                await client.access_token()
            assert caught.value.errcode == errcode


async def test_logins_are_limited_to_100_per_user_per_minute(fake: FakeWeChat, mp: MiniProgramClient,
                                                             manual_clock: ManualClock) -> None:
    for _ in range(100):
        await mp.code2session(fake_api.issue_login_code(fake, "o_busy"))
    code = fake_api.issue_login_code(fake, "o_busy")
    with pytest.raises(RateLimited) as caught:
        await mp.code2session(code)
    assert caught.value.errcode == 45011
    assert (await mp.code2session(fake_api.issue_login_code(fake, "o_other"))).openid == "o_other"
    manual_clock.advance(60)
    assert (await mp.code2session(code)).openid == "o_busy"  # a refused code was not consumed


async def test_jscode2session_json_is_read_whatever_its_content_type(fake: FakeWeChat) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url=BASE) as http:
        r = await http.get("/sns/jscode2session", params={"appid": fake.credentials.appid, "js_code": "x"})
    assert r.headers["content-type"].startswith("text/plain")  # as WeChat does
    assert r.json()["errcode"] == 40125


@pytest.mark.parametrize("answer", [
    httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
    {"status_code": 200, "text": "<html>gateway</html>"}, {"status_code": 502, "json": {"errcode": -1}},
    {"status_code": 200, "json": {"errcode": "x"}}, {"status_code": 200, "json": {"unionid": "u"}},
])
async def test_unreachable_or_garbled_wechat_is_unavailable(fake: FakeWeChat, answer: Any) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(**answer)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = MiniProgramClient(fake.credentials.mini_program_config(BASE), http)
        with pytest.raises(WeChatUnavailable):
            await client.code2session("code")
        with pytest.raises(WeChatUnavailable):
            await client.get_unlimited_qrcode("s=abc")


async def test_other_errcodes_are_api_errors(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    fake_api.inject_error(fake, "/sns/jscode2session", -1, "system error")
    with pytest.raises(WeChatApiError) as caught:
        await mp.code2session(fake_api.issue_login_code(fake, "o_x"))
    assert caught.value.errcode == -1


# ---- phone number (item 9) ----

async def test_a_phone_code_gives_the_number_once(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    code = fake_api.issue_phone_code(fake, "13800138000")
    info = await mp.get_phone_number(code)
    assert (info.phone_number, info.pure_phone_number, info.country_code) == ("13800138000", "13800138000", "86")
    assert "13800138000" not in repr(info)
    with pytest.raises(InvalidCode):
        await mp.get_phone_number(code)
    abroad = await mp.get_phone_number(fake_api.issue_phone_code(fake, "91234567", country_code="852"))
    assert (abroad.phone_number, abroad.pure_phone_number) == ("+852 91234567", "91234567")


async def test_a_phone_code_bound_to_a_user_is_refused_for_another(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    code = fake_api.issue_phone_code(fake, "13900000000", openid="o_owner")
    with pytest.raises(WeChatApiError) as caught:
        await mp.get_phone_number(code, openid="o_thief")
    assert caught.value.errcode == 40003
    assert (await mp.get_phone_number(code, openid="o_owner")).pure_phone_number == "13900000000"


async def test_the_paid_phone_quota_running_out_is_errcode_1400001(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    fake_api.set_phone_quota(fake, 1)
    await mp.get_phone_number(fake_api.issue_phone_code(fake, "13800000001"))
    code = fake_api.issue_phone_code(fake, "13800000002")
    with pytest.raises(WeChatApiError) as caught:
        await mp.get_phone_number(code)
    assert caught.value.errcode == 1400001
    fake_api.set_phone_quota(fake, None)  # the merchant bought more: the same code still works
    assert (await mp.get_phone_number(code)).pure_phone_number == "13800000002"


# ---- mini-program codes (item 22) ----

@pytest.mark.parametrize(("scene", "page"), [
    ("", None), ("x" * 33, None), ("s=中文", None), ("s=a%20b", None), ("s=a b", None), ("s=<x>", None),
    ("s=ok", "/pages/group/detail"), ("s=ok", "pages/group/detail?gid=1"), ("s=ok", "pages//x"),
    ("s=ok", "pages/x/"), ("s=ok", ""),
])
async def test_bad_scenes_and_pages_are_refused_before_calling(fake: FakeWeChat, mp: MiniProgramClient,
                                                               scene: str, page: str | None) -> None:
    with pytest.raises(InvalidArgument):
        await mp.get_unlimited_qrcode(scene, page=page)
    assert fake_api.calls(fake) == []  # not even an access_token


async def test_out_of_range_width_and_env_are_refused_before_calling(fake: FakeWeChat,
                                                                     mp: MiniProgramClient) -> None:
    for kwargs in ({"width": 279}, {"width": 1281}, {"env_version": "prod"}):
        with pytest.raises(InvalidArgument):
            await mp.get_unlimited_qrcode("s=ok", **kwargs)
    assert fake_api.calls(fake) == []


async def test_a_code_is_a_real_png_that_carries_its_scene(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    scene = "s=7fK2qLm9XaB"
    png = await mp.get_unlimited_qrcode(scene, page="pages/group/detail", width=430)
    assert fake_api.read_png_text(png) == {"scene": scene, "page": "pages/group/detail"}
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert width == height and 280 <= width <= 430 and (depth, colour) == (8, 0)
    idat_at = png.index(b"IDAT")
    (length,) = struct.unpack(">I", png[idat_at - 4:idat_at])
    assert len(zlib.decompress(png[idat_at + 4:idat_at + 4 + length])) == height * (width + 1)
    other = await mp.get_unlimited_qrcode("s=another", page="pages/group/detail")
    assert other != png  # the pattern depends on the scene


async def test_a_json_error_instead_of_an_image_is_raised(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    fake_api.release_pages(fake, ["pages/index/index"])
    with pytest.raises(WeChatApiError) as caught:
        await mp.get_unlimited_qrcode("s=abc", page="pages/group/new")
    assert caught.value.errcode == 41030
    png = await mp.get_unlimited_qrcode("s=abc", page="pages/group/new", check_path=False)
    assert fake_api.read_png_text(png)["page"] == "pages/group/new"


@pytest.mark.parametrize(("body", "errcode"), [
    ({"scene": "x" * 33}, 40169), ({"scene": "s=中"}, 40169), ({}, 40169),
    ({"scene": "ok", "page": "/pages/index/index"}, 41030), ({"scene": "ok", "page": "pages/a?b=1"}, 41030),
])
async def test_the_fake_itself_enforces_scene_and_page(fake: FakeWeChat, mp: MiniProgramClient,
                                                       body: dict[str, Any], errcode: int) -> None:
    token = await mp.access_token()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url=BASE) as http:
        r = await http.post(QR, params={"access_token": token}, json=body)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["errcode"] == errcode


# ---- subscribe messages (item 24) ----

async def test_each_grant_allows_exactly_one_message(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    data = render_subscribe_data({"thing1": ("thing", "超值拼团·云南小粒咖啡豆 500g 两袋装"),
                                  "amount2": ("amount", 2590),
                                  "time3": ("time", dt.datetime(2024, 10, 1, 7, 1, tzinfo=dt.UTC))})
    with pytest.raises(WeChatApiError) as caught:
        await mp.send_subscribe_message("o_sub", TEMPLATE, data)
    assert caught.value.errcode == 43101
    assert fake_api.grant_subscription(fake, "o_sub", TEMPLATE, n=2) == 2
    await mp.send_subscribe_message("o_sub", TEMPLATE, data, page="pages/group/detail?gid=1")
    await mp.send_subscribe_message("o_sub", TEMPLATE, data)
    with pytest.raises(WeChatApiError) as caught:
        await mp.send_subscribe_message("o_sub", TEMPLATE, data)
    assert caught.value.errcode == 43101
    assert fake_api.subscription_grants(fake, "o_sub", TEMPLATE) == 0
    sent = fake_api.sent_messages(fake)
    assert len(sent) == 2
    assert sent[0]["data"] == {"thing1": "超值拼团·云南小粒咖啡豆 500g 两…", "amount2": "¥25.90",
                               "time3": "2024年10月1日 15:01"}


async def test_an_over_long_thing_is_47003_at_the_fake_and_cut_by_the_renderer(fake: FakeWeChat,
                                                                                mp: MiniProgramClient) -> None:
    fake_api.grant_subscription(fake, "o_sub", TEMPLATE)
    title = "拼团成功：您参与的云南小粒咖啡豆拼团已成团，请留意发货"
    with pytest.raises(WeChatApiError) as caught:
        await mp.send_subscribe_message("o_sub", TEMPLATE, {"thing1": {"value": title}})
    assert caught.value.errcode == 47003 and "thing1" in caught.value.errmsg
    assert fake_api.subscription_grants(fake, "o_sub", TEMPLATE) == 1  # a refused message uses no grant
    await mp.send_subscribe_message("o_sub", TEMPLATE, render_subscribe_data({"thing1": ("thing", title)}))
    assert len(fake_api.sent_messages(fake)[0]["data"]["thing1"]) == 20


def test_the_renderer_on_the_group_buy_templates() -> None:
    assert render_subscribe_data({
        "thing1": ("thing", "  拼团失败\n人数不足  "), "amount2": ("amount", Decimal("99.5")),
        "phrase3": ("phrase", "已退款"), "character_string4": ("character_string", "LB20240101000123"),
        "date5": ("date", dt.date(2024, 1, 2)), "name6": ("name", "欧阳娜娜娜娜娜娜娜娜娜"),
        "number7": ("number", 3), "car_number8": ("car_number", "粤a8z888挂"), "phone_number9": ("phone_number",
                                                                                                  "+86-0766-66888866"),
    }) == {
        "thing1": {"value": "拼团失败 人数不足"}, "amount2": {"value": "¥99.50"}, "phrase3": {"value": "已退款"},
        "character_string4": {"value": "LB20240101000123"}, "date5": {"value": "2024年1月2日"},
        "name6": {"value": "欧阳娜娜娜娜娜娜娜娜"}, "number7": {"value": "3"}, "car_number8": {"value": "粤A8Z888挂"},
        "phone_number9": {"value": "+86-0766-66888866"},
    }


@pytest.mark.parametrize("fields", [
    {"phrase1": ("phrase", "refunded")}, {"phrase1": ("phrase", "退款已经完成")}, {"number1": ("number", -1)},
    {"amount1": ("amount", -5)}, {"amount1": ("amount", 10**12 * 100)}, {"character_string1": ("character_string",
                                                                                               "订单1")},
    {"character_string1": ("character_string", "A" * 33)}, {"thing1": ("thing", " \n ")},
    {"thing1": ("amount", 1)}, {"thing": ("thing", "x")}, {"name1": ("name", "小明123")},
    {"date1": ("date", dt.time(12, 0))}, {"time1": ("time", "25:00")}, {"symbol1": ("symbol", "!!!!!!")},
    {"letter1": ("letter", "abc1")}, {"number1": ("number", Decimal("NaN"))}, {"amount1": ("amount", True)},
])
def test_values_that_cannot_be_made_valid_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        render_subscribe_data(fields)


TEXT = st.text(max_size=40)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "thing": TEXT, "letter": TEXT | st.text(string.ascii_letters + "1 ", max_size=40),
    "symbol": TEXT | st.text("!#$%&*-~。a", max_size=7), "character_string": TEXT | st.text(string.printable),
    "phone_number": TEXT | st.text("0123456789+-() x", max_size=20),
    "car_number": TEXT | st.text(alphabet="粤京ABC0123挂", max_size=10),
    "phrase": TEXT | st.text("已退款发货中", max_size=7),
    "name": TEXT | st.text("欧阳娜Ann ·-", max_size=30),
    "number": st.integers(min_value=-5, max_value=10**40) | st.decimals() | TEXT,
    "amount": st.integers(min_value=-5, max_value=10**13) | st.decimals() | TEXT,
    "time": st.datetimes(timezones=st.timezones()) | st.times() | TEXT | st.just("2019年10月1日 15:01~16:30"),
    "date": st.dates() | st.datetimes() | TEXT,
}


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(sorted(VALUES)).flatmap(lambda kind: st.tuples(st.just(kind), VALUES[kind])))
def test_every_rendered_value_passes_the_fakes_field_check(case: tuple[str, Any]) -> None:
    kind, value = case
    try:
        data = render_subscribe_data({f"{kind}1": (kind, value)})
    except InvalidArgument:
        return
    assert fake_api.field_problem(f"{kind}1", data[f"{kind}1"]) is None


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=200).filter(lambda s: any(c.isprintable() and not c.isspace() for c in s)))
def test_any_visible_text_renders_as_a_thing(text: str) -> None:
    value = render_subscribe_data({"thing2": ("thing", text)})["thing2"]
    assert 0 < len(value["value"]) <= 20
    assert fake_api.field_problem("thing2", value) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=SCENE_ALPHABET, max_size=40) | st.text(max_size=40))
def test_scene_validation_agrees_with_the_fake(scene: str) -> None:
    try:
        validate_scene(scene)
        accepted = True
    except InvalidArgument:
        accepted = False
    assert accepted == (fake_api.scene_problem(scene) is None)


@given(st.from_regex(r"[a-z]{1,8}(/[a-z_]{1,8}){0,3}", fullmatch=True))
def test_page_paths_are_accepted(page: str) -> None:
    assert validate_page(page) == page


# ---- access_token (item 25) ----

async def test_the_token_is_cached_and_renewed_five_minutes_before_it_expires(
        fake: FakeWeChat, mp: MiniProgramClient, manual_clock: ManualClock) -> None:
    first = await mp.access_token()
    await mp.get_unlimited_qrcode("s=a")
    manual_clock.advance(7200 - 301)
    assert await mp.access_token() == first
    assert token_calls(fake) == [False]
    manual_clock.advance(2)
    second = await mp.access_token()
    assert second != first and token_calls(fake) == [False, False]
    assert len(second) >= 128
    # WeChat keeps the old token working through the overlap, so in-flight calls with it still succeed.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url=BASE) as http:
        r = await http.post(QR, params={"access_token": first}, json={"scene": "s=a"})
        assert r.headers["content-type"] == "image/png"
        manual_clock.advance(300)
        r = await http.post(QR, params={"access_token": first}, json={"scene": "s=a"})
        assert r.json()["errcode"] == 42001


async def test_fifty_concurrent_callers_share_one_refresh(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    pngs = await asyncio.gather(*(mp.get_unlimited_qrcode(f"s={i}", width=280) for i in range(50)))
    assert {fake_api.read_png_text(p)["scene"] for p in pngs} == {f"s={i}" for i in range(50)}
    assert token_calls(fake) == [False]


async def test_a_rejected_token_is_force_refreshed_once_and_the_call_retried(
        fake: FakeWeChat, mp: MiniProgramClient) -> None:
    old = await mp.access_token()
    fake_api.expire_access_tokens(fake)
    png = await mp.get_unlimited_qrcode("s=retry")
    assert fake_api.read_png_text(png)["scene"] == "s=retry"
    assert token_calls(fake) == [False, True]
    assert await mp.access_token() != old
    assert len(fake_api.calls(fake, QR)) == 2


async def test_concurrent_rejections_share_one_forced_refresh(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    await mp.access_token()
    fake_api.expire_access_tokens(fake)
    await asyncio.gather(*(mp.get_unlimited_qrcode(f"s={i}", width=280) for i in range(20)))
    assert token_calls(fake) == [False, True]


async def test_a_token_rejected_again_after_the_refresh_is_not_retried_forever(
        fake: FakeWeChat, mp: MiniProgramClient) -> None:
    fake_api.inject_error(fake, QR, 40001, "invalid credential", count=3)
    with pytest.raises(WeChatApiError) as caught:
        await mp.get_unlimited_qrcode("s=x")
    assert caught.value.errcode == 40001
    assert len(fake_api.calls(fake, QR)) == 2 and token_calls(fake) == [False, True]


async def test_a_forced_refresh_refused_within_30_seconds_falls_back_to_the_current_token(
        fake: FakeWeChat, mp: MiniProgramClient, manual_clock: ManualClock) -> None:
    await mp.access_token()
    fake_api.expire_access_tokens(fake)
    await mp.get_unlimited_qrcode("s=one")
    fake_api.expire_access_tokens(fake)  # e.g. another process forced a refresh a moment ago
    manual_clock.advance(10)
    await mp.get_unlimited_qrcode("s=two")
    assert token_calls(fake) == [False, True, True, False]  # the second force was refused (45011): normal mode


async def test_the_fake_limits_forced_refreshes(fake: FakeWeChat, manual_clock: ManualClock) -> None:
    creds = fake.credentials
    body = {"grant_type": "client_credential", "appid": creds.appid, "secret": creds.app_secret,
            "force_refresh": True}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url=BASE) as http:
        assert "access_token" in (await http.post(TOKEN, json=body)).json()
        manual_clock.advance(29)
        assert (await http.post(TOKEN, json=body)).json()["errcode"] == 45011
        for _ in range(19):
            manual_clock.advance(30)
            assert "access_token" in (await http.post(TOKEN, json=body)).json()
        manual_clock.advance(30)
        assert (await http.post(TOKEN, json=body)).json()["errcode"] == 45009
        r = await http.post(QR, json={"scene": "x"})
        assert r.json()["errcode"] == 41001


# ---- order shipping (item 26) ----

async def paid_order(fake: FakeWeChat, pay_client: PayClient, out_trade_no: str, openid: str) -> None:
    await jsapi_prepay(pay_client, JsapiOrder(out_trade_no, "云南小粒咖啡豆", 2590, openid))
    fake_pay.pay(fake, out_trade_no, None, notify=False)


async def test_shipping_is_uploaded_once_and_corrected_at_most_once(
        fake: FakeWeChat, mp: MiniProgramClient, pay_client: PayClient) -> None:
    await paid_order(fake, pay_client, "LB20240001", "o_payer")
    mchid = fake.credentials.mchid
    parcel = Parcel("云南小粒咖啡豆 ×1", tracking_no="SF1234567890", express_company="SF",
                    receiver_contact="189****1234")
    await mp.upload_shipping_info(mchid=mchid, out_trade_no="LB20240001", payer_openid="o_payer",
                                  logistics_type=LogisticsType.EXPRESS, parcels=[parcel])
    corrected = Parcel("云南小粒咖啡豆 ×1", tracking_no="YT000111", express_company="YTO")
    await mp.upload_shipping_info(mchid=mchid, out_trade_no="LB20240001", payer_openid="o_payer",
                                  logistics_type=LogisticsType.EXPRESS, parcels=[corrected])
    with pytest.raises(WeChatApiError) as caught:
        await mp.upload_shipping_info(mchid=mchid, out_trade_no="LB20240001", payer_openid="o_payer",
                                      logistics_type=LogisticsType.EXPRESS, parcels=[parcel])
    assert caught.value.errcode == 10060003
    uploads = fake_api.shipping_uploads(fake, "LB20240001")
    assert [u["shipping_list"][0]["tracking_no"] for u in uploads] == ["SF1234567890", "YT000111"]
    assert dt.datetime.fromisoformat(uploads[0]["upload_time"]).utcoffset() == dt.timedelta(hours=8)


async def test_a_split_delivery_may_arrive_in_parts(fake: FakeWeChat, mp: MiniProgramClient,
                                                    pay_client: PayClient) -> None:
    await paid_order(fake, pay_client, "LB20240002", "o_payer")
    args: dict[str, Any] = {"mchid": fake.credentials.mchid, "out_trade_no": "LB20240002", "payer_openid": "o_payer",
                            "logistics_type": LogisticsType.EXPRESS}
    box = Parcel("咖啡豆", tracking_no="SF1", express_company="SF")
    await mp.upload_shipping_info(**args, parcels=[box], is_all_delivered=False)
    await mp.upload_shipping_info(**args, parcels=[box, Parcel("滤杯", "SF2", "SF")], is_all_delivered=True)
    await mp.upload_shipping_info(**args, parcels=[box, Parcel("滤杯", "SF3", "SF")])  # the one correction
    with pytest.raises(WeChatApiError):
        await mp.upload_shipping_info(**args, parcels=[box])
    assert [u["delivery_mode"] for u in fake_api.shipping_uploads(fake, "LB20240002")] == [2, 2, 2]


async def test_shipping_needs_a_paid_order_of_that_payer(fake: FakeWeChat, mp: MiniProgramClient,
                                                         pay_client: PayClient) -> None:
    await jsapi_prepay(pay_client, JsapiOrder("LB20240003", "未付款", 100, "o_payer"))
    await paid_order(fake, pay_client, "LB20240004", "o_payer")
    pickup = [Parcel("到店自提")]
    for out_trade_no, openid, errcode in (("LB20249999", "o_payer", 10060001), ("LB20240003", "o_payer", 10060004),
                                          ("LB20240004", "o_someone", 10060014)):
        with pytest.raises(WeChatApiError) as caught:
            await mp.upload_shipping_info(mchid=fake.credentials.mchid, out_trade_no=out_trade_no,
                                          payer_openid=openid, logistics_type=LogisticsType.SELF_PICKUP,
                                          parcels=pickup)
        assert caught.value.errcode == errcode
    await mp.upload_shipping_info(mchid=fake.credentials.mchid, out_trade_no="LB20240004", payer_openid="o_payer",
                                  logistics_type=LogisticsType.SELF_PICKUP, parcels=pickup)


@pytest.mark.parametrize(("changes", "parcels"), [
    ({}, [Parcel("x", "T", "SF")] * 11), ({}, []), ({}, [Parcel("x")]), ({}, [Parcel("", "T", "SF")]),
    ({}, [Parcel("x" * 121, "T", "SF")]), ({"logistics_type": LogisticsType.VIRTUAL}, [Parcel("a"), Parcel("b")]),
    ({"out_trade_no": "短"}, [Parcel("x", "T", "SF")]), ({"mchid": "abc"}, [Parcel("x", "T", "SF")]),
    ({"payer_openid": ""}, [Parcel("x", "T", "SF")]),
    ({"upload_time": dt.datetime(2024, 1, 1)}, [Parcel("x", "T", "SF")]),  # naive: refused
])
async def test_shipping_arguments_are_checked_before_calling(fake: FakeWeChat, mp: MiniProgramClient,
                                                             changes: dict[str, Any], parcels: list[Parcel]) -> None:
    args: dict[str, Any] = {"mchid": fake.credentials.mchid, "out_trade_no": "LB20240005", "payer_openid": "o_p",
                            "logistics_type": LogisticsType.EXPRESS, **changes}
    with pytest.raises(InvalidArgument):
        await mp.upload_shipping_info(**args, parcels=parcels)
    assert fake_api.calls(fake) == []


# ---- log hygiene (item 28) ----

async def test_logs_never_carry_identifiers_codes_or_secrets(
        fake: FakeWeChat, mp: MiniProgramClient, pay_client: PayClient, transport: Recording,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")
    login_code = fake_api.issue_login_code(fake, "o_private_openid", unionid="u_private_unionid")
    session = await mp.code2session(login_code)
    with pytest.raises(InvalidCode):
        await mp.code2session(login_code)
    phone_code = fake_api.issue_phone_code(fake, "13712345678", openid="o_private_openid")
    await mp.get_phone_number(phone_code, openid="o_private_openid")
    fake_api.expire_access_tokens(fake)
    await mp.get_unlimited_qrcode("s=LogScene1")
    fake_api.grant_subscription(fake, "o_private_openid", TEMPLATE)
    await mp.send_subscribe_message("o_private_openid", TEMPLATE, render_subscribe_data({"thing1": ("thing", "好")}))
    await paid_order(fake, pay_client, "LB20240006", "o_private_openid")
    await mp.upload_shipping_info(mchid=fake.credentials.mchid, out_trade_no="LB20240006",
                                  payer_openid="o_private_openid", logistics_type=LogisticsType.VIRTUAL,
                                  parcels=[Parcel("电子券")])

    sensitive = {"o_private_openid", "u_private_unionid", session.session_key, login_code, phone_code, "13712345678",
               fake.credentials.app_secret}
    for url in transport.urls:
        query = parse_qs(urlsplit(url).query)
        sensitive.update(query.get("access_token", []))
    assert len(sensitive) >= 9  # at least two distinct access tokens were used
    records = caplog.records
    assert any(r.name == "httpx" for r in records) and any("[redacted]" in r.getMessage() for r in records)
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        leaked = [s for s in sensitive if s in text]
        assert not leaked, f"{record.name}: {text}"


# ---- the fake's HTTP controls ----

async def test_the_http_controls_mirror_the_python_ones(fake: FakeWeChat, mp: MiniProgramClient) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url=BASE) as http:
        async def control(path: str, body: dict[str, Any] | None = None) -> Any:
            r = await http.post(f"/_fake/openapi/{path}", json=body or {})
            assert r.status_code == 200, r.text
            return r.json()

        phone = await control("phone-codes", {"phone": "13800000009"})
        assert (await mp.get_phone_number(phone["code"])).pure_phone_number == "13800000009"
        assert (await http.post("/_fake/openapi/phone-codes", json={"phone": "x"})).status_code == 400
        assert await control("subscriptions", {"openid": "o_h", "template_id": TEMPLATE, "n": 2}) == {"remaining": 2}
        await mp.send_subscribe_message("o_h", TEMPLATE, render_subscribe_data({"phrase1": ("phrase", "已发货")}))
        messages = (await http.get("/_fake/openapi/messages")).json()["messages"]
        assert [m["data"] for m in messages] == [{"phrase1": "已发货"}]
        await control("expire-tokens")
        await mp.get_unlimited_qrcode("s=after")
        assert token_calls(fake) == [False, True]
        await control("phone-quota", {"remaining": 0})
        with pytest.raises(WeChatApiError):
            await mp.get_phone_number(fake_api.issue_phone_code(fake, "13800000010"))
        await control("phone-quota", {"remaining": None})
        assert await control("fail-next", {"path": QR, "errcode": 45009, "errmsg": "quota"}) == {"pending": 1}
        with pytest.raises(WeChatApiError) as caught:
            await mp.get_unlimited_qrcode("s=x")
        assert caught.value.errcode == 45009
