"""Properties of the flash-sale rules: slot states and countdowns, what an entry may take, the counters rebuilt
for Redis, and a simulated sale in which the rules never sell past the stock or a customer past the limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from liebian.flashsale import rules
from liebian.flashsale.stock import campaign_of_entry, new_entry_id

FAST = settings(max_examples=100, deadline=None)
T0 = datetime(2026, 11, 11, tzinfo=UTC)
seconds = st.integers(min_value=-10**6, max_value=10**6)


@FAST
@given(seconds, st.integers(min_value=1, max_value=10**6), seconds, st.booleans(), st.integers(-5, 100))
def test_the_window_decides_before_the_stock(start: int, length: int, at: int, open_: bool, remaining: int) -> None:
    starts, now = T0 + timedelta(seconds=start), T0 + timedelta(seconds=at)
    ends = starts + timedelta(seconds=length)
    state = rules.slot_state(now, starts, ends, open_=open_, remaining=remaining)
    if not open_ or now >= ends:
        assert state == "ended"
    elif now < starts:
        assert state == "upcoming"
    else:
        assert state == ("running" if remaining > 0 else "sold_out")
    to_start, to_end = rules.countdown(now, starts, ends)
    assert to_start >= 0 and to_end >= to_start
    assert (to_start == 0) == (now >= starts) and (to_end == 0) == (now >= ends)


@FAST
@given(st.integers(0, 50), st.integers(0, 20), st.integers(1, 20), st.integers(1, 20))
def test_an_entry_is_taken_only_within_stock_and_limit(left: int, bought: int, limit: int, quantity: int) -> None:
    code = rules.refusal(T0, T0 - timedelta(seconds=1), T0 + timedelta(seconds=1), open_=True, left=left,
                         bought=bought, limit=limit, quantity=quantity)
    if code is None:
        assert quantity <= left and bought + quantity <= limit
    elif code == "flashsale_sold_out":
        assert quantity > left
    else:
        assert code == "flashsale_limit_reached" and quantity <= left and bought + quantity > limit


def test_window_refusals() -> None:
    kw = {"open_": True, "left": 5, "bought": 0, "limit": 1, "quantity": 1}
    assert rules.refusal(T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=9), **kw) == "flashsale_not_started"
    assert rules.refusal(T0, T0 - timedelta(seconds=9), T0, **kw) == "flashsale_ended"  # the end is exclusive
    assert rules.refusal(T0, T0, T0 + timedelta(seconds=9), **kw) is None  # the start is inclusive
    assert rules.refusal(T0, T0, T0 + timedelta(seconds=9), **{**kw, "open_": False}) == "flashsale_ended"


@FAST
@given(st.integers(1, 1000), st.integers(1, 50), st.lists(st.tuples(st.integers(1, 30), st.integers(1, 3)),
                                                          max_size=300))
def test_a_simulated_sale_never_oversells_nor_passes_a_limit(stock: int, limit: int,
                                                             attempts: list[tuple[int, int]]) -> None:
    left, bought = stock, dict[int, int]()
    for customer, quantity in attempts:
        if rules.refusal(T0, T0, T0 + timedelta(hours=1), open_=True, left=left, bought=bought.get(customer, 0),
                         limit=limit, quantity=quantity) is None:
            left -= quantity
            bought[customer] = bought.get(customer, 0) + quantity
    assert 0 <= left <= stock and sum(bought.values()) == stock - left
    assert all(units <= limit for units in bought.values())


@FAST
@given(st.integers(0, 1000), st.data())
def test_rebuilt_counters_account_for_every_unit_once(stock: int, data: st.DataObject) -> None:
    sold = data.draw(st.integers(0, stock))
    pg = data.draw(st.dictionaries(st.integers(1, 50), st.integers(0, 5), max_size=20))
    queued = data.draw(st.lists(st.tuples(st.integers(1, 50), st.integers(1, 3)), max_size=20))
    counters = rules.rebuild(stock, sold, pg, queued)
    waiting = sum(q for _, q in queued)
    assert counters.left == max(0, stock - sold - waiting) and counters.left >= 0
    for customer in set(pg) | {c for c, _ in queued}:
        expected = pg.get(customer, 0) + sum(q for c, q in queued if c == customer)
        assert counters.bought.get(customer, 0) == expected
    assert all(units > 0 for units in counters.bought.values())


def test_campaign_problems_name_each_mistake() -> None:
    def codes(**kw: object) -> list[str]:
        base: dict[str, object] = {"price_fen": 500, "list_price_fen": 1000, "stock": 10, "per_customer_limit": 1,
                                   "starts_at": T0, "ends_at": T0 + timedelta(hours=1), "now": T0}
        return [c for c, _ in rules.campaign_problems(**{**base, **kw})]  # type: ignore[arg-type]
    assert codes() == []
    assert codes(price_fen=1000) == ["flashsale_price_not_below_list_price"]
    assert codes(per_customer_limit=11) == ["limit_above_stock"]
    assert codes(ends_at=T0) == ["invalid_window"]
    assert codes(starts_at=T0 - timedelta(hours=3), ends_at=T0 - timedelta(hours=1)) == ["invalid_window"]
    assert codes(ends_at=T0 + timedelta(days=8)) == ["invalid_window"]
    assert rules.returned_at_end(10, 4) == 6 and rules.returned_at_end(10, 10) == 0


@FAST
@given(st.integers(1, 2**62))
def test_an_entry_id_names_its_campaign(campaign_id: int) -> None:
    entry_id = new_entry_id(campaign_id)
    assert campaign_of_entry(entry_id) == campaign_id and len(entry_id) <= 48
    assert campaign_of_entry("x" + entry_id) is None and campaign_of_entry(entry_id + "0") is None
