"""Wiring of campaigns: product searches heard from the catalog (which sits below fission) become visits
through the shop's ``search`` code."""

from __future__ import annotations

from liebian.campaigns import search
from liebian.catalog import api as catalog_api


def install() -> None:
    """Called once per process by :func:`liebian.wiring.install` (registering twice is harmless)."""
    catalog_api.on_search(search.on_search)
