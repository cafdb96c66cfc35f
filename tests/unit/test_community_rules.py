"""The pure rules of content and community, over arbitrary inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liebian.community import rules

moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC))
limits = st.builds(rules.RateLimit, per_minute=st.integers(1, 100), per_day=st.integers(1, 10_000))


@given(limits, moments)
def test_windows_contain_now_and_have_their_length(limit: rules.RateLimit, now: datetime) -> None:
    minute, day = rules.windows(limit, now)
    assert minute.started_at <= now < minute.ends_at and minute.ends_at - minute.started_at == timedelta(minutes=1)
    assert day.started_at <= now < day.ends_at and day.ends_at - day.started_at == timedelta(days=1)
    local = day.started_at.astimezone(rules.SHANGHAI)
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    assert (minute.cap, day.cap) == (limit.per_minute, limit.per_day)


@given(limits, moments, st.integers(0, 59))
def test_every_moment_of_a_window_shares_its_start(limit: rules.RateLimit, now: datetime, seconds: int) -> None:
    """Two writes in the same minute count in the same row (the counter's key)."""
    minute, _ = rules.windows(limit, now)
    later = minute.started_at + timedelta(seconds=seconds)
    assert rules.windows(limit, later)[0].started_at == minute.started_at


@given(limits, moments, st.sets(st.sampled_from(["minute", "day"]), min_size=1))
def test_retry_after_reaches_the_end_of_every_refused_window(limit: rules.RateLimit, now: datetime,
                                                              refused: set[str]) -> None:
    ws = [w for w in rules.windows(limit, now) if w.kind in refused]
    wait = rules.retry_after(ws, now)
    assert wait >= 1
    assert all(now + timedelta(seconds=wait) >= w.ends_at for w in ws)
    assert now + timedelta(seconds=wait - 1) < max(w.ends_at for w in ws)  # not a second longer than needed
    assert rules.retry_after([], now) == 0


@given(st.one_of(st.none(), st.integers(1, 10)))
def test_thread_depth_is_capped(parent: int | None) -> None:
    if parent is not None and parent >= rules.MAX_DEPTH:
        with pytest.raises(rules.TooDeep):
            rules.reply_depth(parent)
    else:
        depth = rules.reply_depth(parent)
        assert 1 <= depth <= rules.MAX_DEPTH and depth == (1 if parent is None else parent + 1)


@given(st.text(max_size=40))
def test_masking_keeps_at_most_the_first_and_last_character(name: str) -> None:
    masked = rules.mask_nickname(name)
    stripped = name.strip()
    assert "*" in masked
    assert len(masked) <= 5
    if len(stripped) >= 2:
        assert masked[0] == stripped[0]
        assert sum(c != "*" for c in masked) <= 2
    if len(stripped) >= 3:
        assert masked[-1] == stripped[-1]
    assert rules.mask_nickname("张三丰") == "张*丰" and rules.mask_nickname("张三") == "张*"
    assert rules.mask_nickname(None) == "*"


@given(st.text(max_size=200))
def test_clean_text_is_trimmed_without_control_characters(value: str) -> None:
    cleaned = rules.clean_text(value)
    assert cleaned == cleaned.strip()
    assert all(c in "\n\t" or not (ord(c) < 32 or 0x7F <= ord(c) < 0xA0) for c in cleaned)
    assert rules.clean_text(cleaned) == cleaned


@given(st.sets(st.sampled_from(["owner", "admin", "member"]) | st.none(), max_size=1), st.sampled_from(
    ["owner", "admin", "member"]))
def test_removal_goes_strictly_down_the_roles(actor_set: set[str | None], target: str) -> None:
    actor = next(iter(actor_set), None)
    allowed = rules.may_remove(actor, target)
    order = {"member": 0, "admin": 1, "owner": 2}
    assert allowed == (actor is not None and target != "owner" and order[actor] > order[target])
    assert rules.may_remove(None, target, shop=True) == (target != "owner")


@given(st.lists(st.integers(1, 50), unique=True, max_size=30), st.data())
def test_thread_keeps_every_reply_whose_ancestors_are_shown(ids: list[int], data: st.DataObject) -> None:
    """A hidden reply (left out of the input) takes its answers with it; every other reply is in the tree once."""
    ids.sort()
    replies: list[tuple[int, int | None]] = []
    for i, rid in enumerate(ids):
        parent = data.draw(st.one_of(st.none(), st.sampled_from(ids[:i]))) if i else None
        replies.append((rid, parent))
    hidden = data.draw(st.sets(st.sampled_from(ids))) if ids else set()
    visible = [(rid, parent) for rid, parent in replies if rid not in hidden]
    shown: set[int] = set()
    for rid, parent in visible:  # parents come first (ids ascend)
        if parent is None or parent in shown:
            shown.add(rid)
    seen: list[int] = []

    def walk(nodes: list[rules.Node]) -> None:
        for n in nodes:
            seen.append(n.id)
            walk(n.children)

    walk(rules.thread(visible))
    assert sorted(seen) == sorted(shown)
