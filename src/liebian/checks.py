"""``liebian check``: the invariants that must hold whatever happened (crashes, races, retries)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.bargain import queries as bargain
from liebian.campaigns import queries as campaigns
from liebian.catalog import service as catalog
from liebian.community import queries as community
from liebian.coupons import queries as coupons
from liebian.distribution import queries as distribution
from liebian.flashsale import queries as flashsale
from liebian.groupbuy import queries as groupbuy
from liebian.kit.checks import Violation
from liebian.ledger import service as ledger
from liebian.orders import queries as orders
from liebian.payments import service as payments
from liebian.payouts import service as payouts
from liebian.stores import queries as stores

CHECKS = (
    ("ledger sums to zero, every transaction balanced", ledger.invariant_violations),
    ("no negative stock", catalog.stock_violations),
    ("every paid payment has its ledger entries", payments.ledger_violations),
    ("paid orders have payments, refunds within orders", orders.consistency_violations),
    ("transfer bills match the ledger; no negative customer balance", payouts.ledger_violations),
    ("groups never over-filled; failed groups refunded in full once", groupbuy.violations),
    ("commission rows agree with the ledger", distribution.ledger_violations),
    ("settled commissions trace to completed sales, refunds reversed", distribution.settled_trace_violations),
    ("coupons never over-issued or used twice; red-packet parts sum to their total", coupons.violations),
    ("bargains never below floor; cuts follow the plan and sum to start - current", bargain.violations),
    ("flash sales never oversold; counts equal live orders; limits held", flashsale.violations),
    ("pickup numbers unique per store and day; pickup orders name their store", stores.violations),
    ("likes, comments, members and replies counted exactly; posts carry their share", community.violations),
    ("campaign spend never negative and only for the shop's own campaigns", campaigns.violations),
)


async def run(session: AsyncSession) -> list[tuple[str, list[Violation]]]:
    return [(name, await check(session)) for name, check in CHECKS]
