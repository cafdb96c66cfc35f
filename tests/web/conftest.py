"""Browser journeys: the real app served over HTTP on 127.0.0.1, driven by the machine's Chromium.

The server is uvicorn on the test session's event loop serving the same app the API tests use (same
database, same sandbox fake WeChat). Chromium is Debian's ``/usr/bin/chromium`` (``make test`` installs it
when it can), never a browser Playwright downloads; without it these tests skip and say why.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.conftest import ShopHarness, make_shop

CHROMIUM_CANDIDATES = (os.environ.get("LIEBIAN_CHROMIUM", ""), "/usr/bin/chromium", "/usr/bin/chromium-browser")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-extensions", "--disable-sync", "--no-first-run", "--mute-audio"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN"}
DESKTOP = {"viewport": {"width": 1360, "height": 900}, "locale": "zh-CN"}


def chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
async def live_url(app: Any) -> AsyncIterator[str]:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning",
                            access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "the live server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium on this machine (/usr/bin/chromium): 'make browser' installs Debian's "
                    "chromium package; the browser journeys need it")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed ('make setup' installs the dev extras)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_ARGS)
        yield chromium
        await chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash.setdefault(_FAILED, False)
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()

ContextFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
async def new_context(browser: Any, live_url: str, request: pytest.FixtureRequest,
                      tmp_path: Path) -> AsyncIterator[ContextFactory]:
    """``await new_context(phone=True)``: a fresh browser profile (its own cookies), like a second phone.

    When the test fails, every page still open is saved as a PNG under the test's temporary directory.
    """
    contexts: list[Any] = []

    async def make(*, phone: bool = True, **options: Any) -> Any:
        context = await browser.new_context(base_url=live_url, **(PHONE if phone else DESKTOP), **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    failed = request.node.stash.get(_FAILED, False)
    for i, context in enumerate(contexts):
        if failed:
            for j, page in enumerate(context.pages):
                name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{request.node.name}-{i}-{j}.png")
                try:
                    await page.screenshot(path=str(tmp_path / name), full_page=True)
                    print(f"screenshot saved: {tmp_path / name}")
                except Exception as exc:  # a crashed page cannot be photographed; the failure says enough
                    print(f"no screenshot of page {j}: {exc}")
        await context.close()


async def login_customer(context: Any, shop_slug: str, name: str) -> Any:
    """A page of this context, logged into the storefront as the sandbox persona ``name``."""
    page = await context.new_page()
    await page.goto(f"/s/{shop_slug}/login")
    await page.get_by_test_id("persona-name").fill(name)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(re.compile(rf"/s/{re.escape(shop_slug)}/?$"))
    return page


async def login_staff(context: Any, email: str, password: str) -> Any:
    page = await context.new_page()
    await page.goto("/console/login")
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await page.wait_for_url(re.compile(r"/console/?$"))
    return page


@pytest.fixture
async def web_shop(client: httpx.AsyncClient, db: Any, live_url: str) -> ShopHarness:
    """A fresh sandbox shop (its owner's email and password in ``owner``), for a journey of its own."""
    return await make_shop(client, db)
