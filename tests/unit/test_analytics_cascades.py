"""Cascade trees: structural virality in O(n) against exact cases and all-pairs BFS, breadth, depth."""

from __future__ import annotations

from collections import deque
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liebian.analytics import cascades as trees


def _forest(parents: list[int]) -> trees.Forest:
    parent = np.array(parents, np.int64)
    depth = np.zeros(parent.size, np.int64)
    for i, p in enumerate(parents):
        depth[i] = depth[p] + 1 if p >= 0 else 0
    return trees.forest(parent, depth)


def _all_pairs_mean(parents: list[int]) -> float:
    n = len(parents)
    adjacent: list[list[int]] = [[] for _ in range(n)]
    for child, p in enumerate(parents):
        if p >= 0:
            adjacent[child].append(p)
            adjacent[p].append(child)
    total = 0
    for source in range(n):
        distance = [-1] * n
        distance[source] = 0
        queue = deque([source])
        while queue:
            node = queue.popleft()
            for other in adjacent[node]:
                if distance[other] < 0:
                    distance[other] = distance[node] + 1
                    queue.append(other)
        total += sum(distance)
    return total / (n * (n - 1))


def test_a_star_has_virality_two_n_minus_one_over_n() -> None:
    for n in (2, 3, 5, 10, 101):
        f = _forest([-1] + [0] * (n - 1))
        assert trees.virality(f)[0] == float(Fraction(2 * (n - 1), n))
        assert f.nodes[0] == n and f.deepest[0] == 1 and f.breadth[0] == n - 1


def test_a_chain_has_virality_n_plus_one_over_three() -> None:
    for n in (2, 3, 4, 7, 50):
        f = _forest([-1, *list(range(n - 1))])
        assert abs(trees.virality(f)[0] - (n + 1) / 3) < 1e-12
        assert f.deepest[0] == n - 1 and f.breadth[0] == 1


def test_a_single_share_has_no_virality_and_forests_keep_cascades_apart() -> None:
    # cascade 0: root 0 with children 1, 3; cascade 1: root 2 alone; cascade 2: root 4 -> 5 -> 6, 4 -> 7
    f = _forest([-1, 0, -1, 0, -1, 4, 5, 4])
    assert list(f.roots) == [0, 2, 4] and list(f.cascade) == [0, 0, 1, 0, 2, 2, 2, 2]
    assert list(f.nodes) == [3, 1, 4] and list(f.deepest) == [1, 0, 2] and list(f.breadth) == [2, 1, 2]
    nu = trees.virality(f)
    assert nu[0] == 2 * (2 * 2) / 6 and np.isnan(nu[1])
    assert abs(nu[2] - _all_pairs_mean([-1, 0, 1, 0])) < 1e-12
    assert list(f.size) == [3, 1, 1, 1, 4, 2, 1, 1]


def test_a_parent_after_its_child_is_refused() -> None:
    try:
        trees.forest(np.array([1, -1], np.int64), np.array([1, 0], np.int64))
    except ValueError:
        return
    raise AssertionError("expected ValueError")


def test_subtree_sums_and_the_topmost_share_of_each_sharer() -> None:
    parent = np.array([-1, 0, 1, 2, 0], np.int64)
    assert list(trees.subtree_sums(parent, np.array([1, 2, 3, 4, 5], np.int64))) == [15, 9, 7, 4, 5]
    sharer = np.array([7, 8, 7, -1, 8], np.int64)  # 7 re-shares under their own tree: counted once
    assert list(trees.topmost_of_sharer(parent, sharer)) == [True, True, False, False, True]


@st.composite
def random_trees(draw: st.DrawFn) -> list[int]:
    n = draw(st.integers(2, 40))
    return [-1] + [draw(st.integers(0, i - 1)) for i in range(1, n)]


@settings(max_examples=150, deadline=None)
@given(random_trees())
def test_virality_from_subtree_sizes_equals_the_all_pairs_mean_distance(parents: list[int]) -> None:
    f = _forest(parents)
    assert abs(trees.virality(f)[0] - _all_pairs_mean(parents)) < 1e-9
    depth = np.array([0] * len(parents))
    for i, p in enumerate(parents):
        depth[i] = depth[p] + 1 if p >= 0 else 0
    assert f.deepest[0] == depth.max() and f.breadth[0] == np.bincount(depth).max()
