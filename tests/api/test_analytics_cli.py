"""``liebian analytics report`` on a seeded shop (JSON equal to the API's, and the tables), and a small run of
``liebian bench analytics``."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from liebian.cli import app as cli
from liebian.settings import Settings, get_settings
from tests.api.campaign_helpers import paid_order, today
from tests.api.test_fission import share, visit
from tests.conftest import ShopHarness

runner = CliRunner()


async def test_the_report_command_prints_what_the_api_answers(shop: ShopHarness, settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    sku = await shop.sku(price_fen=700)
    product = await shop.scalar("SELECT product_id FROM skus WHERE id = :id", id=sku)
    alice, bob = await shop.login("alice"), await shop.login("bob")
    a = await share(shop, alice, product)
    await visit(shop, bob, a["code"])
    await paid_order(shop, bob, sku, share_code=a["code"])
    assert settings.database_url
    monkeypatch.setenv("LIEBIAN_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    day = today().isoformat()
    try:
        got = await asyncio.to_thread(runner.invoke, cli, ["analytics", "report", "--shop", shop.slug, "--from", day,
                                                           "--to", day, "--json"])
        assert got.exit_code == 0, got.output
        body = json.loads(got.stdout)
        r = await shop.client.get("/api/v1/console/analytics/report", headers=shop.staff,
                                  params={"from": day, "to": day})
        assert body == r.json()
        assert body["funnel"]["total"]["cascade"]["gmv_fen"] == 700 and body["kfactor"]["shares"] == 1
        tables = await asyncio.to_thread(runner.invoke, cli, ["analytics", "report", "--shop", shop.slug])
        assert tables.exit_code == 0, tables.output
        assert "Funnel by channel" in tables.stdout and "friend" in tables.stdout
        bad = await asyncio.to_thread(runner.invoke, cli, ["analytics", "report", "--shop", shop.slug, "--from", day,
                                                           "--to", "2000-01-01"])
        assert bad.exit_code == 2 and "invalid_range" in bad.stdout
        unknown = await asyncio.to_thread(runner.invoke, cli, ["analytics", "report", "--shop", "no-such-shop"])
        assert unknown.exit_code == 2 and "shop_not_found" in unknown.stdout
    finally:
        get_settings.cache_clear()


def test_the_bench_prints_seconds_and_peak_rss_at_two_sizes() -> None:
    got = runner.invoke(cli, ["bench", "analytics", "--events", "100000"])
    assert got.exit_code == 0, got.output
    body = json.loads(got.stdout)
    assert body["events"] == 100_000 and body["tenth"]["events"] == 10_000
    for size in (body, body["tenth"]):
        assert size["seconds"] > 0 and size["peak_rss_mb"] > 0 and size["generate_seconds"] >= 0
        assert size["shares"] + size["visits"] + size["orders"] == size["events"]
