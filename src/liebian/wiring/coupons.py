"""Wiring of coupons: its price source, event reactions, sweepers and outbox handlers."""

from __future__ import annotations


def install() -> None:
    """Called once per process by :func:`liebian.wiring.install`."""
