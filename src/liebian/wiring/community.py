"""Wiring of community: posts as a share target, who may claim a community's red packet, and the sweeper of
old rate-limit windows."""

from __future__ import annotations

from liebian.community import communities, guard, posts
from liebian.coupons import redpackets
from liebian.fission import shares
from liebian.fission.rules import TargetType
from liebian.kit import jobs


def install() -> None:
    """Called once per process by :func:`liebian.wiring.install`."""
    shares.register_target(TargetType.POST, posts.exists)
    redpackets.register_audience(communities.SOURCE, communities.is_member)
    jobs.register_sweeper("community.forget_rate_windows", guard.sweep_counters)
