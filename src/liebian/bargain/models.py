"""bargain tables (owned by this module)."""

from __future__ import annotations
