"""The binding policy over arbitrary histories: no self-binding, never a cycle, protection and locks honoured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from liebian.fission import rules

T0 = datetime(2026, 1, 1, tzinfo=UTC)

touches = st.lists(st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(0, 20 * 24)), min_size=1,
                   max_size=60)
rule_sets = st.builds(rules.BindingRules, policy=st.sampled_from(list(rules.BindingPolicy)),
                      binding_days=st.integers(1, 10), protection_days=st.integers(0, 5),
                      new_customers_only=st.booleans())


def ancestors(bindings: dict[int, rules.Binding], start: int, now: datetime) -> frozenset[int]:
    found: set[int] = set()
    node = start
    while node in bindings and bindings[node].active(now) and bindings[node].promoter_id not in found:
        node = bindings[node].promoter_id
        found.add(node)
    return frozenset(found)


@settings(max_examples=300, deadline=None)
@given(rules_=rule_sets, history=touches, returning=st.frozensets(st.integers(1, 6)))
def test_any_history_keeps_the_binding_graph_sound(rules_: rules.BindingRules,
                                                   history: list[tuple[int, int, int]],
                                                   returning: frozenset[int]) -> None:
    bindings: dict[int, rules.Binding] = {}
    now = T0
    for customer, promoter, hours in history:
        now += timedelta(hours=hours)
        before = bindings.get(customer)
        decision = rules.decide(rules_, customer_id=customer, promoter_id=promoter, current=before,
                                promoter_ancestors=ancestors(bindings, promoter, now),
                                customer_is_new=customer not in returning, now=now)
        if decision.outcome != "keep":
            bindings[customer] = rules.new_binding(rules_, promoter, now)
        after = bindings.get(customer)
        # Nobody is bound to themselves.
        assert all(b.promoter_id != c for c, b in bindings.items())
        # No cycle at any depth among active bindings.
        for c in bindings:
            assert c not in ancestors(bindings, c, now)
        if before is not None and before.active(now) and after is not before:
            # A live binding only moves under last touch, and never inside its protection window.
            assert rules_.policy is rules.BindingPolicy.LAST_TOUCH
            assert before.protected_until is None or now >= before.protected_until
        if (before is None or not before.active(now)) and after is not before:
            assert not (rules_.new_customers_only and customer in returning)


def test_each_policy_over_time() -> None:
    day = timedelta(days=1)
    first = rules.BindingRules(rules.BindingPolicy.FIRST_TOUCH)
    a = rules.new_binding(first, 1, T0)
    assert a.expires_at is None
    assert rules.decide(first, customer_id=9, promoter_id=2, current=a, promoter_ancestors=frozenset(),
                        customer_is_new=True, now=T0 + 400 * day).reason == "first_touch"
    lock = rules.BindingRules(rules.BindingPolicy.VALIDITY_DAYS, binding_days=7)
    a = rules.new_binding(lock, 1, T0)
    assert rules.decide(lock, customer_id=9, promoter_id=2, current=a, promoter_ancestors=frozenset(),
                        customer_is_new=True, now=T0 + 6 * day).reason == "locked"
    assert rules.decide(lock, customer_id=9, promoter_id=2, current=a, promoter_ancestors=frozenset(),
                        customer_is_new=True, now=T0 + 7 * day) == rules.Decision("bind", "expired")
    last = rules.BindingRules(rules.BindingPolicy.LAST_TOUCH, protection_days=3)
    a = rules.new_binding(last, 1, T0)
    assert rules.decide(last, customer_id=9, promoter_id=2, current=a, promoter_ancestors=frozenset(),
                        customer_is_new=True, now=T0 + 2 * day).reason == "protected"
    assert rules.decide(last, customer_id=9, promoter_id=2, current=a, promoter_ancestors=frozenset(),
                        customer_is_new=True, now=T0 + 3 * day) == rules.Decision("rebind", "last_touch")
    assert rules.decide(last, customer_id=9, promoter_id=9, current=None, promoter_ancestors=frozenset(),
                        customer_is_new=True, now=T0).reason == "self"
    assert rules.decide(last, customer_id=9, promoter_id=2, current=None, promoter_ancestors=frozenset({5, 9}),
                        customer_is_new=True, now=T0).reason == "cycle"


@given(st.text(max_size=40))
def test_scene_round_trip_and_codes(text: str) -> None:
    code = rules.new_code()
    assert rules.is_code(code) and len(rules.scene_for(code)) <= 32
    assert rules.code_from_scene(rules.scene_for(code)) == code
    parsed = rules.code_from_scene(text)
    assert parsed is None or rules.scene_for(parsed) == text
