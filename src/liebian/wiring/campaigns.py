"""Wiring of campaigns: product searches published by the catalog (which sits below fission) become visits
through the shop's ``search`` code."""

from __future__ import annotations

from liebian.campaigns import search
from liebian.events import ProductsSearched
from liebian.kit.events import bus


def install() -> None:
    """Called once per process by :func:`liebian.wiring.install` (subscribing twice is harmless)."""
    bus.subscribe(ProductsSearched, search.on_products_searched)
