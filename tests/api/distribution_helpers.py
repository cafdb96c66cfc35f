"""Shared steps of the distribution tests: a shop with distribution on, promoters chained by invitation
codes, balances read from the ledger, and ``liebian check`` after every step."""

from __future__ import annotations

from typing import Any

from liebian.checks import run as run_checks
from liebian.ledger import service as ledger
from liebian.ledger.rules import commission_pending, payable_to_customer, promoter_debt
from tests.conftest import ShopHarness

DAY = 86_400


async def enable(shop: ShopHarness, **settings: Any) -> dict[str, Any]:
    body = {"enabled": True, "levels": 2, "level_rates_bps": [1000, 500], "promoter_qualification": "everyone",
            "settle_after_days": 7, **settings}
    r = await shop.client.put("/api/v1/console/distribution/settings", json=body, headers=shop.staff)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def me(shop: ShopHarness, who: dict[str, str]) -> dict[str, Any]:
    r = await shop.client.get(f"{shop.base}/promoter/me", headers=who)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def invite(shop: ShopHarness, inviter: dict[str, str], invitee: dict[str, str]) -> None:
    """The invitee enters the inviter's invitation code (and is bound to them)."""
    code = (await me(shop, inviter))["invite_code"]
    r = await shop.client.post(f"{shop.base}/promoter/invitations", json={"code": code}, headers=invitee)
    assert r.status_code == 200, r.text
    assert r.json()["bound_promoter_id"] is not None


def whoami(shop: ShopHarness, who: dict[str, str]) -> int:
    """The customer id inside one's own token (the app's signer reads it)."""
    transport: Any = shop.client._transport
    return int(transport.app.state.signer.verify(who["Authorization"].split()[1], "customer").subject_id)


async def money(shop: ShopHarness, customer: int) -> dict[str, int]:
    """(pending, withdrawable, debt) of one customer, from the ledger."""
    async with shop.db.sessions() as session:
        b = await ledger.account_balances(session, shop.shop_id, [
            commission_pending(customer), payable_to_customer(customer), promoter_debt(customer)])
    return {"pending": -b[commission_pending(customer)], "withdrawable": -b[payable_to_customer(customer)],
            "debt": b[promoter_debt(customer)]}


async def assert_checks(shop: ShopHarness) -> None:
    """``liebian check``: no violation anywhere (other tests' shops included: they must hold too)."""
    async with shop.db.sessions() as session:
        found = [(name, v) for name, vs in await run_checks(session) for v in vs]
    assert found == [], found


async def buy(shop: ShopHarness, buyer: dict[str, str], lines: list[dict[str, Any]]) -> dict[str, Any]:
    order = await shop.place(buyer, lines)
    await shop.pay(order)
    return order
