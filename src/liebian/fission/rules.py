"""Fission rules as plain data and functions: share codes, channels, targets, and the binding policy.

No database here, so the binding decision is property-tested over arbitrary histories.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 10  # 62^10 ≈ 8·10^17: unguessable, and "s=" + code fits a mini-program scene (≤ 32)
CODE_PATTERN = re.compile(r"^[0-9A-Za-z]{10}$")
SCENE_PREFIX = "s="


class Channel(StrEnum):
    FRIEND = "friend"
    GROUP_CHAT = "group_chat"
    MOMENTS = "moments"
    POSTER = "poster"
    OFFLINE_QR = "offline_qr"
    MOMENTS_AD = "moments_ad"
    OFFICIAL_ACCOUNT = "official_account"
    SEARCH = "search"
    NEARBY = "nearby"
    COMMUNITY = "community"


class TargetType(StrEnum):
    PRODUCT = "product"
    GROUP = "group"
    BARGAIN = "bargain"
    RED_PACKET = "red_packet"
    POST = "post"
    STORE = "store"
    SHOP = "shop"


class BindingPolicy(StrEnum):
    FIRST_TOUCH = "first_touch"  # the first promoter keeps the customer for good
    VALIDITY_DAYS = "validity_days"  # 锁客: kept for N days, then anyone can bind them again
    LAST_TOUCH = "last_touch"  # the latest promoter takes over, outside the protection window


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def is_code(value: str) -> bool:
    return bool(CODE_PATTERN.match(value))


def scene_for(code: str) -> str:
    return SCENE_PREFIX + code


def code_from_scene(scene: str) -> str | None:
    """``s=<code>`` as the mini-program receives it in ``query.scene`` (already URL-decoded)."""
    if not scene.startswith(SCENE_PREFIX):
        return None
    code = scene[len(SCENE_PREFIX):]
    return code if is_code(code) else None


@dataclass(frozen=True)
class BindingRules:
    policy: BindingPolicy = BindingPolicy.FIRST_TOUCH
    binding_days: int = 30
    protection_days: int = 0
    new_customers_only: bool = False


@dataclass(frozen=True)
class Binding:
    promoter_id: int
    bound_at: datetime
    expires_at: datetime | None
    protected_until: datetime | None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


Outcome = Literal["bind", "rebind", "keep"]


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str  # new, expired, last_touch / self, cycle, not_new, same, first_touch, locked, protected


def settled_without_lock(rules: BindingRules, *, customer_id: int, promoter_id: int, current: Binding | None,
                         now: datetime) -> bool:
    """True when a touch cannot change the binding whatever else happens: self-referral, or an active
    binding that only last touch could move (and only to someone else). The common case; no lock needed."""
    if promoter_id == customer_id:
        return True
    if current is None or not current.active(now):
        return False
    return rules.policy is not BindingPolicy.LAST_TOUCH or current.promoter_id == promoter_id


def decide(rules: BindingRules, *, customer_id: int, promoter_id: int, current: Binding | None,
           promoter_ancestors: frozenset[int], customer_is_new: bool, now: datetime) -> Decision:
    """Should a visit through ``promoter_id``'s share (re)bind ``customer_id``?

    ``promoter_ancestors`` are the promoters above ``promoter_id`` by active bindings; binding the
    customer under someone whose chain already contains the customer would close a cycle.
    """
    if promoter_id == customer_id:
        return Decision("keep", "self")
    if customer_id in promoter_ancestors:
        return Decision("keep", "cycle")
    if current is not None and current.active(now) and current.promoter_id == promoter_id:
        return Decision("keep", "same")
    if current is None or not current.active(now):
        if rules.new_customers_only and not customer_is_new:
            return Decision("keep", "not_new")
        return Decision("bind", "new" if current is None else "expired")
    if rules.policy is BindingPolicy.FIRST_TOUCH:
        return Decision("keep", "first_touch")
    if rules.policy is BindingPolicy.VALIDITY_DAYS:
        return Decision("keep", "locked")
    if current.protected_until is not None and now < current.protected_until:
        return Decision("keep", "protected")
    return Decision("rebind", "last_touch")


def new_binding(rules: BindingRules, promoter_id: int, now: datetime) -> Binding:
    expires = now + timedelta(days=rules.binding_days) if rules.policy is BindingPolicy.VALIDITY_DAYS else None
    protected = now + timedelta(days=rules.protection_days) if rules.protection_days else None
    return Binding(promoter_id=promoter_id, bound_at=now, expires_at=expires, protected_until=protected)
