"""A broken invariant, as reported by ``liebian check``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    check: str
    detail: str
