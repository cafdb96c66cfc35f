"""Random histories of a shop, driven by a Hypothesis state machine through the API: orders (with and without
coupons), payments, cancellations, shipping, full and partial refunds, group joins, bargains (start, help, buy),
coupon claims, withdrawals, and the clock moving on (unpaid orders expire, groups close, commissions settle,
transfers lapse) — by three customers, each the promoter of the next.

After every step the invariants hold (:func:`tests.reliability.stateful_world.broken_invariants`): stock
conserved, groups never over-filled, a coupon used at most once, bargains between floor and start, promoters'
balances equal to their commission and withdrawal rows, every ledger transaction balanced, refunds within
payments; and at the end of every history, everything ``liebian check`` verifies. Every answer is a success or a
documented 4xx problem: a 5xx, or a refusal with an unexpected code, fails the history (and Hypothesis shrinks it).

Profiles (``LIEBIAN_STATEFUL``): ``ci`` (default) — derandomized, 15 histories of up to 30 steps, the same on every run;
``deep`` — random, ``LIEBIAN_STATEFUL_EXAMPLES`` histories (default 100) of 50 steps.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from liebian.checks import run as run_checks
from liebian.kit.db import Database
from tests.reliability.stateful_world import CUSTOMERS, OUTCOMES, World, broken_invariants

PROFILES = {
    "ci": settings(max_examples=15, stateful_step_count=30, derandomize=True, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck), print_blob=True),
    "deep": settings(max_examples=int(os.environ.get("LIEBIAN_STATEFUL_EXAMPLES", "100")), stateful_step_count=50,
                     deadline=None, suppress_health_check=list(HealthCheck), print_blob=True),
}
PROFILE = PROFILES[os.environ.get("LIEBIAN_STATEFUL", "ci")]
HOUR, DAY = 3600, 86_400

customer = st.integers(0, CUSTOMERS - 1)
PENDING = frozenset({"pending_payment"})
PAID = frozenset({"paid"})
REFUNDABLE = frozenset({"paid", "shipped", "completed"})  # not "-held" (a group not full yet decides first)
pick = st.integers(0, 10_000)


def shop_machine(loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient, db: Database) -> type[Any]:
    """The machine's class, bound to the test's event loop: the rules run in Hypothesis's thread and hand each
    API call to the loop that owns the client and the connections."""

    class ShopMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.world: World | None = None

        def run(self, coro: Any) -> Any:
            return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=300)

        @property
        def w(self) -> World:
            assert self.world is not None
            return self.world

        @initialize()
        def open_shop(self) -> None:
            self.world = self.run(World.create(client, db))

        # --- buying ---
        @rule(c=customer, sku=st.sampled_from(["plain", "dear"]), quantity=st.integers(1, 3), coupon=st.booleans(),
              pay_now=st.booleans())
        def place_order(self, c: int, sku: str, quantity: int, coupon: bool, pay_now: bool) -> None:
            mine = [cid for cid, owner in self.w.coupons if owner == c]
            self.run(self.w.place(c, sku, quantity, mine[-1] if coupon and mine else None, pay_now))
            self.run(self.w.pay_placed())

        @precondition(lambda self: self.w.orders)
        @rule(i=pick, anyone=st.booleans())
        def pay(self, i: int, anyone: bool) -> None:
            self.run(self._on(i, PENDING, anyone, self.w.pay))

        @precondition(lambda self: self.w.orders)
        @rule(i=pick, anyone=st.booleans())
        def cancel(self, i: int, anyone: bool) -> None:
            self.run(self._on(i, PENDING, anyone, self.w.cancel))

        @precondition(lambda self: self.w.orders)
        @rule(i=pick)
        def ship_and_receive(self, i: int) -> None:
            self.run(self._on(i, PAID, False, self.w.ship_and_receive))

        @precondition(lambda self: self.w.orders)
        @rule(i=pick, half=st.booleans(), anyone=st.booleans())
        def refund(self, i: int, half: bool, anyone: bool) -> None:
            self.run(self._on(i, REFUNDABLE, anyone, lambda o: self.w.refund(o, half)))

        async def _on(self, i: int, wanted: frozenset[str], anyone: bool, step: Any) -> None:
            order = await self.w.choose(i, wanted, anyone)
            if order is not None:
                await step(order)

        # --- group buying, bargains, coupons, withdrawals ---
        @rule(c=customer, existing=st.booleans(), j=pick, pay_now=st.booleans())
        def join_group(self, c: int, existing: bool, j: int, pay_now: bool) -> None:
            groups = self.w.groups
            self.run(self.w.join_group(c, groups[j % len(groups)] if existing and groups else None, pay_now))
            self.run(self.w.pay_placed())

        @rule(c=customer)
        def start_bargain(self, c: int) -> None:
            self.run(self.w.start_bargain(c))

        @precondition(lambda self: self.w.bargains)
        @rule(c=customer, j=pick, buy_after=st.booleans())
        def help_bargain(self, c: int, j: int, buy_after: bool) -> None:
            self.run(self.w.help_bargain(c, *self.w.bargains[j % len(self.w.bargains)], buy_after))

        @precondition(lambda self: self.w.bargains)
        @rule(j=pick, pay_now=st.booleans())
        def buy_bargain(self, j: int, pay_now: bool) -> None:
            self.run(self.w.buy_bargain(*self.w.bargains[j % len(self.w.bargains)], pay_now))
            self.run(self.w.pay_placed())

        @rule(c=customer)
        def claim_coupon(self, c: int) -> None:
            self.run(self.w.claim_coupon(c))

        @rule(c=st.integers(0, CUSTOMERS - 2), everything=st.booleans())  # the promoters
        def withdraw(self, c: int, everything: bool) -> None:
            self.run(self.w.withdraw(c, None if everything else 100))

        # --- time ---
        @rule(seconds=st.sampled_from([31 * 60, 2 * HOUR, 2 * DAY]))
        def time_passes(self, seconds: int) -> None:
            self.run(self.w.advance(seconds))

        @rule()
        def worker_runs(self) -> None:
            self.run(self.w.run_due())

        @invariant(check_during_init=True)
        def invariants_hold(self) -> None:
            if self.world is not None:
                broken = self.run(broken_invariants(self.world))
                assert not broken, "\n".join([*broken, "-- steps:", *self.world.log])

        def teardown(self) -> None:
            if self.world is None:
                return
            self.run(self.w.run_due())  # let the outbox finish, then everything liebian check verifies

            async def check() -> list[Any]:
                async with db.sessions() as session:
                    return [(name, v) for name, found in await run_checks(session) for v in found]

            found = self.run(check())
            assert not found, found

    return ShopMachine


async def test_random_histories_keep_every_invariant(client: httpx.AsyncClient, db: Database, app: Any) -> None:
    machine = shop_machine(asyncio.get_running_loop(), client, db)
    OUTCOMES.clear()
    await asyncio.to_thread(run_state_machine_as_test, machine, settings=PROFILE)
    print(f"\nstate machine: {sum(OUTCOMES.values())} API answers: {dict(sorted(OUTCOMES.items()))}")
    # The histories must have done things, not only been refused: orders paid, refunded, groups, bargains...
    for done in ("place 201", "pay 204", "refund 201", "join 201", "start 201", "help 200", "buy 201", "claim 201",
                 "withdraw 201"):
        assert OUTCOMES[done] > 0, (done, OUTCOMES)
