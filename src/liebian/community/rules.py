"""Pure rules of content and community: rate-limit windows, thread depth, roles, masking, text.

Plain functions over plain data, tested without a database (``tests/unit/test_community_rules.py``).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

Action = Literal["post", "comment", "topic", "reply"]
WindowKind = Literal["minute", "day"]
Role = Literal["owner", "admin", "member"]

MAX_TITLE = 60
MAX_POST_BODY = 2000
MAX_COMMENT = 500
MAX_REPLY = 1000
MAX_IMAGES = 9
MAX_PRODUCTS = 9
MAX_DEPTH = 2  # a reply to a topic is depth 1; a reply to that reply depth 2; no deeper


@dataclass(frozen=True)
class RateLimit:
    per_minute: int
    per_day: int


# Enough for a keen person, too few for a spam script; the same for everyone in every shop.
LIMITS: dict[Action, RateLimit] = {
    "post": RateLimit(per_minute=2, per_day=10),
    "comment": RateLimit(per_minute=6, per_day=100),
    "topic": RateLimit(per_minute=2, per_day=20),
    "reply": RateLimit(per_minute=6, per_day=200),
}


@dataclass(frozen=True)
class Window:
    kind: WindowKind
    started_at: datetime
    ends_at: datetime
    cap: int


def windows(limit: RateLimit, now: datetime) -> tuple[Window, Window]:
    """The minute (UTC, to the second) and the calendar day in Asia/Shanghai that ``now`` falls in."""
    minute = now.replace(second=0, microsecond=0)
    local = now.astimezone(SHANGHAI)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (Window("minute", minute, minute + timedelta(minutes=1), limit.per_minute),
            Window("day", day, day + timedelta(days=1), limit.per_day))  # Shanghai keeps no summer time


def retry_after(refused: Sequence[Window], now: datetime) -> int:
    """Whole seconds until every refused window has ended (at least 1)."""
    if not refused:
        return 0
    return max(1, *(math.ceil((w.ends_at - now).total_seconds()) for w in refused))


class TooDeep(ValueError):
    pass


def reply_depth(parent_depth: int | None) -> int:
    """The depth of a reply to a topic (``None``) or to a reply of ``parent_depth``."""
    depth = 1 if parent_depth is None else parent_depth + 1
    if depth > MAX_DEPTH:
        raise TooDeep(f"Replies go at most {MAX_DEPTH} levels deep.")
    return depth


_RANK: dict[str, int] = {"member": 0, "admin": 1, "owner": 2}


def may_remove(actor: str | None, target: str, *, shop: bool = False) -> bool:
    """The shop may remove anyone but a promoter community's owner; a member only someone of a lower role."""
    if target == "owner":
        return False
    if shop:
        return True
    return actor is not None and _RANK[actor] > _RANK[target]


def may_announce(role: str | None) -> bool:
    return role in ("owner", "admin")


def mask_nickname(nickname: str | None) -> str:
    """``张三丰`` → ``张*丰``, ``张三`` → ``张*``: members see who is there, not who they are."""
    name = (nickname or "").strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * min(len(name) - 2, 3) + name[-1]


def clean_text(value: str) -> str:
    """Trimmed, NFC-normalised, without control characters other than newlines and tabs."""
    value = unicodedata.normalize("NFC", value)
    kept = "".join(c for c in value if c in "\n\t" or unicodedata.category(c)[0] != "C")
    return kept.strip()


@dataclass
class Node:
    id: int
    parent_id: int | None
    children: list[Node] = field(default_factory=list)


def thread(replies: Sequence[tuple[int, int | None]]) -> list[Node]:
    """(id, parent id) in id order → the tree; replies whose parent is not shown (hidden) are dropped with it."""
    nodes = {rid: Node(rid, parent) for rid, parent in replies}
    roots: list[Node] = []
    for node in nodes.values():
        if node.parent_id is None:
            roots.append(node)
        elif node.parent_id in nodes:
            nodes[node.parent_id].children.append(node)
    return roots
