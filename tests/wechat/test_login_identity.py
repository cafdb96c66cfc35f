"""``MiniProgramIdentity``: Liebian's login on the real ``jscode2session`` path (wechat.md §1.1, §9 item 8).

Sandbox codes (``sandbox:<name>``) become genuine one-time codes at the fake first, so the sandbox
login runs the same client, the same HTTP call and the same error mapping as live mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from liebian.customers.identity import (
    MiniProgramIdentity,
    SandboxIdentity,
    WeChatIdentity,
    sandbox_openid,
)
from liebian.integrations.wechat.fake import FakeWeChat
from liebian.integrations.wechat.fake import openapi as fake_api
from liebian.integrations.wechat.miniprogram import MiniProgramClient
from liebian.kit.errors import BadGateway, Problem, TooManyRequests, Unauthorized
from tests.wechat.conftest import ManualClock

BASE = "https://api.weixin.qq.com"
LOGIN = "/sns/jscode2session"


@pytest.fixture
async def mp(fake: FakeWeChat, manual_clock: ManualClock) -> AsyncIterator[MiniProgramClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as http:
        yield MiniProgramClient(fake.credentials.mini_program_config(BASE), http, now=manual_clock)


@pytest.fixture
def sandbox(fake: FakeWeChat, mp: MiniProgramClient) -> MiniProgramIdentity:
    return MiniProgramIdentity(mp, sandbox_codes=fake_api.login_code_issuer(fake))


@pytest.fixture
def live(mp: MiniProgramClient) -> MiniProgramIdentity:
    return MiniProgramIdentity(mp)


async def refused(identity: MiniProgramIdentity, code: str) -> Problem:
    with pytest.raises(Problem) as caught:
        await identity.code2session(code)
    return caught.value


async def test_a_sandbox_name_logs_in_its_stable_customer_through_jscode2session(
        fake: FakeWeChat, sandbox: MiniProgramIdentity) -> None:
    first = await sandbox.code2session("sandbox:小明")
    again = await sandbox.code2session("sandbox:小明")
    assert first == again == WeChatIdentity(openid=sandbox_openid("小明"), unionid=None, nickname="小明")
    assert first == await SandboxIdentity().code2session("sandbox:小明")  # same customers as before the switch
    assert first.openid == "sbx_" + first.openid[4:] and len(first.openid) == 28
    sent = fake_api.calls(fake, LOGIN)
    assert len(sent) == 2 and len({s["js_code"] for s in sent}) == 2  # a fresh one-time code each time
    assert all(not s["js_code"].startswith("sandbox:") for s in sent)


async def test_real_codes_work_in_sandbox_mode_too(fake: FakeWeChat, sandbox: MiniProgramIdentity) -> None:
    identity = await sandbox.code2session(fake_api.issue_login_code(fake, "o_real", unionid="u_real"))
    assert identity == WeChatIdentity(openid="o_real", unionid="u_real", nickname=None)


async def test_a_reused_or_expired_code_is_401(fake: FakeWeChat, live: MiniProgramIdentity,
                                               manual_clock: ManualClock) -> None:
    code = fake_api.issue_login_code(fake, "o_once")
    assert (await live.code2session(code)).openid == "o_once"
    problem = await refused(live, code)
    assert isinstance(problem, Unauthorized) and problem.status == 401 and problem.code == "invalid_login_code"
    late = fake_api.issue_login_code(fake, "o_late")
    manual_clock.advance(301)
    assert (await refused(live, late)).code == "invalid_login_code"


@pytest.mark.parametrize("code", ["sandbox:", "sandbox:" + "x" * 33, "sandbox:\n", "sandbox:a\tb"])
async def test_malformed_sandbox_codes_are_401_without_calling_wechat(fake: FakeWeChat, sandbox: MiniProgramIdentity,
                                                                      code: str) -> None:
    problem = await refused(sandbox, code)
    assert problem.status == 401 and problem.code == "invalid_login_code"
    assert fake_api.calls(fake, LOGIN) == []


@pytest.mark.parametrize("code", ["foo", "sandbox", ":小明", "wechat:小明", ""])
async def test_unknown_codes_are_401(sandbox: MiniProgramIdentity, code: str) -> None:
    assert (await refused(sandbox, code)).code == "invalid_login_code"


async def test_sandbox_codes_are_plain_invalid_codes_outside_sandbox_mode(fake: FakeWeChat,
                                                                          live: MiniProgramIdentity) -> None:
    assert (await refused(live, "sandbox:小明")).code == "invalid_login_code"
    assert [c["js_code"] for c in fake_api.calls(fake, LOGIN)] == ["sandbox:小明"]  # WeChat said 40029


async def test_wechat_rate_limit_is_429(fake: FakeWeChat, sandbox: MiniProgramIdentity) -> None:
    fake_api.inject_error(fake, LOGIN, 45011, "api minute-quota reach limit")
    problem = await refused(sandbox, "sandbox:忙")
    assert isinstance(problem, TooManyRequests) and problem.status == 429 and problem.code == "login_rate_limited"


async def test_other_wechat_refusals_are_502(fake: FakeWeChat, sandbox: MiniProgramIdentity) -> None:
    fake_api.inject_error(fake, LOGIN, -1, "system error")
    problem = await refused(sandbox, "sandbox:忙")
    assert isinstance(problem, BadGateway) and problem.code == "wechat_login_failed" and "-1" in problem.detail


async def test_unreachable_wechat_is_502(fake: FakeWeChat) -> None:
    def down(_: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as http:
        identity = MiniProgramIdentity(MiniProgramClient(fake.credentials.mini_program_config(BASE), http))
        problem = await refused(identity, "any-code")
    assert isinstance(problem, BadGateway) and problem.status == 502 and problem.code == "wechat_unavailable"


async def test_a_code_issued_over_the_fakes_control_api_logs_in(fake: FakeWeChat, live: MiniProgramIdentity) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url=BASE) as http:
        r = await http.post("/_fake/openapi/login-codes", json={"openid": "o_http", "unionid": "u_http"})
        assert r.status_code == 200
        assert (await http.post("/_fake/openapi/login-codes", json={})).status_code == 400
    assert await live.code2session(r.json()["code"]) == WeChatIdentity("o_http", "u_http")
