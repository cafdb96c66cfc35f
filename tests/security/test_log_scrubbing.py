"""Logs carry no openid, phone number, token or key: a full flow runs with every logger at DEBUG (SQLAlchemy's
statements with their parameters, httpx's calls to the fake WeChat, uvicorn's access lines) and the captured text
is searched for each secret the flow used."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from uvicorn.logging import AccessFormatter

from tests.conftest import ADDRESS, SECRET, ShopHarness

CONSOLE = "/api/v1/console"
PHONE = "13912345678"


def _captured(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) + (r.exc_text or "") for r in caplog.records)


async def _flow(shop: ShopHarness) -> dict[str, str]:
    """Login, an address, an order paid through the fake WeChat, the console's reads, logout."""
    c, base = shop.client, shop.base
    r = await c.post(f"{base}/auth/wechat-login", json={"code": "sandbox:日志里的人", "device_id": "log-device-01"})
    token = r.json()["access_token"]
    me = {"Authorization": f"Bearer {token}"}
    assert (await c.post(f"{base}/me/addresses", headers=me, json={**ADDRESS, "phone": PHONE})).status_code == 201
    order = await shop.place(me, [{"sku_id": await shop.sku(), "quantity": 1}], address={**ADDRESS, "phone": PHONE})
    await shop.pay(order)
    staff = await c.post(f"{CONSOLE}/auth/login", json=shop.owner)
    staff_token = staff.json()["access_token"]
    console = {"Authorization": f"Bearer {staff_token}"}
    assert (await c.get(f"{CONSOLE}/orders/{order['order_no']}/contact", headers=console)).status_code == 200
    assert (await c.get(f"{base}/orders", headers=me)).status_code == 200
    assert (await c.post(f"{base}/auth/logout", headers=me)).status_code == 204
    assert (await c.get(f"{base}/orders", headers=me)).status_code == 401  # a refused token is not logged either
    openid = await shop.scalar("SELECT openid FROM customers WHERE shop_id = :shop")
    return {"openid": openid, "token": token, "staff_token": staff_token}


async def test_a_full_run_at_debug_logs_no_personal_data_or_secret(shop: ShopHarness,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    product_first = await shop.product()  # the shop's own setup, before capture starts
    assert product_first["id"]
    caplog.set_level(logging.DEBUG)
    for noisy in ("sqlalchemy.engine", "httpx", "httpcore", "liebian", "uvicorn", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    secrets = await _flow(shop)
    # The access log's own format, with what a careless client might put in a URL.
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET",
                f"/s/{shop.slug}?token={secrets['token']}&phone={PHONE}&openid={secrets['openid']}", "1.1", 200)
    try:
        raise ValueError(f"boom for {PHONE} with Bearer {secrets['token']}")
    except ValueError:
        logging.getLogger("liebian.test").exception("an error that quotes what it should not")

    fake: Any = shop.fake
    logged = _captured(caplog)
    lines = [AccessFormatter("%(client_addr)s - \"%(request_line)s\" %(status_code)s").format(r)
             for r in caplog.records if r.name == "uvicorn.access"]
    logged += "\n" + "\n".join(lines)
    assert len(caplog.records) > 50 and "SELECT" in logged  # the capture saw the statements
    forbidden = {"openid": secrets["openid"], "phone": PHONE, "customer token": secrets["token"],
                 "staff token": secrets["staff_token"], "secret key": SECRET,
                 "WeChat app secret": fake.credentials.app_secret, "WeChat Pay APIv3 key": fake.credentials.apiv3_key}
    found = {name: value for name, value in forbidden.items() if value in logged}
    assert not found, f"in the logs: {sorted(found)}"
    assert "139****5678" in logged and "[token]" in logged  # scrubbed, not dropped


def test_the_filter_keeps_ordinary_records_as_they_were() -> None:
    from liebian.kit import redact

    redact.install([])
    record = logging.getLogRecordFactory()("liebian", logging.INFO, __file__, 1, "order %s paid %d fen",
                                           ("2611246929882275", 1000), None)
    assert record.msg == "order %s paid %d fen" and record.args == ("2611246929882275", 1000)
