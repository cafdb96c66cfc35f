"""``liebian worker`` with small batches that take their time, so a test can SIGKILL it in the middle of one.

The sweeps are the real ones; only their batch size shrinks (``RELIABILITY_BATCH``) and each item is followed by
a pause (``RELIABILITY_DELAY`` seconds; ``RELIABILITY_REFUND_DELAY`` after a refund is asked) inside the
batch's transaction. Progress is appended to
``RELIABILITY_MARKERS`` as it happens (before the commit), one line per step:

    begin <sweep>            a batch's transaction started claiming rows
    item <sweep> <key>       one item of it done, not committed
    end <sweep> <n>          the batch returned; its commit follows
    refund-asked <id>        WeChat Pay was asked for refund <id>, not committed

Run as ``python -m tests.reliability.slow_worker`` with the environment of ``liebian worker``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

MARKERS = os.environ.get("RELIABILITY_MARKERS", "")
BATCH = int(os.environ.get("RELIABILITY_BATCH", "4"))
DELAY = float(os.environ.get("RELIABILITY_DELAY", "0.3"))
REFUND_DELAY = float(os.environ.get("RELIABILITY_REFUND_DELAY", str(DELAY)))


def mark(line: str) -> None:
    if MARKERS:
        fd = os.open(MARKERS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())  # one write(2): the line is there even if we are killed next
        finally:
            os.close(fd)


def _batch(name: str, sweep: Callable[..., Awaitable[int]]) -> Callable[..., Awaitable[int]]:
    async def wrapped(session: Any, now: Any) -> int:
        mark(f"begin {name}")
        handled = await sweep(session, now)
        mark(f"end {name} {handled}")
        return handled
    return wrapped


def _item(name: str, step: Callable[..., Awaitable[Any]], key: Callable[..., object]) -> Callable[..., Awaitable[Any]]:
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = await step(*args, **kwargs)
        mark(f"item {name} {key(*args, **kwargs)}")
        await asyncio.sleep(DELAY)
        return result
    return wrapped


def install() -> None:
    """Patch the module attributes before the wiring registers the sweepers and outbox handlers."""
    from liebian.distribution import commissions
    from liebian.groupbuy import groups
    from liebian.payments import service as payments

    commissions.SWEEP_BATCH = BATCH
    commissions._settle = _item("settle", commissions._settle, lambda s, shop, order, rows, now: order.order_no)
    commissions.sweep_settlements = _batch("settle", commissions.sweep_settlements)
    groups.SWEEP_BATCH = BATCH
    groups.close_at_deadline = _item("close", groups.close_at_deadline, lambda s, group, campaign, now: group.id)
    groups.sweep_due = _batch("close", groups.sweep_due)
    refund = payments.carry_out_refund

    async def carry_out_refund(session: Any, payload: dict[str, Any]) -> None:
        await refund(session, payload)
        mark(f"refund-asked {payload['refund_id']}")
        await asyncio.sleep(REFUND_DELAY)

    payments.carry_out_refund = carry_out_refund


def main() -> None:
    install()
    from liebian.cli import main as cli

    sys.argv = ["liebian", "worker"]
    cli()


if __name__ == "__main__":
    main()
