"""Cascades as trees of shares: subtree sizes, depth, breadth and structural virality in O(n).

Structural virality (Goel, Anderson, Hofman, Watts 2016) is the mean distance between two distinct nodes of
the tree. Each edge (a non-root node with a subtree of ``s`` nodes, in a tree of ``n``) lies on the path of
exactly ``s·(n − s)`` unordered pairs, so ν = 2·Σ s(n − s) / (n(n − 1)): one pass over subtree sizes instead of
all pairs. A star of n nodes gives 2(n − 1)/n, a chain (n + 1)/3.

The tree passes are numba loops in reverse topological order: a child's index is larger than its parent's
(see :mod:`liebian.analytics.log`), so walking indices downwards sees every child before its parent.
numba is imported here only; the API and the CLI import this module lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@njit(cache=True)
def _subtree_sums(parent: Any, values: Any) -> Any:  # pragma: no cover - compiled
    total = values.copy()
    for i in range(parent.size - 1, -1, -1):
        p = parent[i]
        if p >= 0:
            total[p] += total[i]
    return total


@njit(cache=True)
def _per_cascade(parent: Any, cascade: Any, depth: Any, size: Any, count: int) -> Any:  # pragma: no cover
    """Per cascade: its node count, its deepest level and Σ s(n − s) over its non-root nodes (exact int64)."""
    nodes = np.zeros(count, np.int64)
    deepest = np.zeros(count, np.int64)
    for i in range(parent.size):
        c = cascade[i]
        nodes[c] += 1
        deepest[c] = max(deepest[c], depth[i])
    pairs = np.zeros(count, np.int64)
    for i in range(parent.size):
        if parent[i] >= 0:
            c = cascade[i]
            pairs[c] += size[i] * (nodes[c] - size[i])
    return nodes, deepest, pairs


@njit(cache=True)
def _topmost_of_sharer(parent: Any, sharer: Any) -> Any:  # pragma: no cover - compiled
    """True for a share none of whose ancestors has the same sharer: a promoter's team counts each of their
    subtrees once, even when they re-share inside their own cascade."""
    out = np.zeros(parent.size, np.bool_)
    for i in range(parent.size):
        who = sharer[i]
        if who < 0:
            continue
        p = parent[i]
        top = True
        while p >= 0:
            if sharer[p] == who:
                top = False
                break
            p = parent[p]
        out[i] = top
    return out


def subtree_sums(parent: Ints, values: Ints) -> Ints:
    """Each node's value plus all its descendants' (``parent[i] < i``, -1 for roots)."""
    return _subtree_sums(parent, values.astype(np.int64))  # type: ignore[no-any-return]


def topmost_of_sharer(parent: Ints, sharer: Ints) -> npt.NDArray[np.bool_]:
    return _topmost_of_sharer(parent, sharer)  # type: ignore[no-any-return]


@dataclass
class Forest:
    """Cascades as dense arrays: node ``i`` (0..n-1) has ``parent[i] < i`` and belongs to ``cascade[i]``;
    cascade ``c`` is rooted at node ``roots[c]``."""

    parent: Ints
    depth: Ints
    cascade: Ints
    roots: Ints
    size: Ints  # each node's subtree size
    nodes: Ints  # per cascade
    deepest: Ints
    breadth: Ints
    pairs: Ints  # Σ s(n − s)


def forest(parent: Ints, depth: Ints) -> Forest:
    """Cascade statistics for a forest given by parent indices (each smaller than its child's)."""
    n = parent.size
    if n and (parent >= np.arange(n)).any():
        raise ValueError("a parent must come before its child")
    is_root = parent < 0
    roots = np.flatnonzero(is_root).astype(np.int64)
    cascade = _cascade_of(parent, is_root, roots)
    size = subtree_sums(parent, np.ones(n, np.int64))
    nodes, deepest, pairs = _per_cascade(parent, cascade, depth, size, roots.size)
    return Forest(parent=parent, depth=depth, cascade=cascade, roots=roots, size=size, nodes=nodes,
                  deepest=deepest, breadth=_max_breadth(cascade, depth, deepest), pairs=pairs)


@njit(cache=True)
def _cascade_walk(parent: Any, label: Any) -> Any:  # pragma: no cover - compiled
    for i in range(parent.size):  # parents come first, so a parent's label is known
        if parent[i] >= 0:
            label[i] = label[parent[i]]
    return label


def _cascade_of(parent: Ints, is_root: npt.NDArray[np.bool_], roots: Ints) -> Ints:
    label = np.full(parent.size, -1, np.int64)
    label[roots] = np.arange(roots.size, dtype=np.int64)
    return _cascade_walk(parent, label)  # type: ignore[no-any-return]


def _max_breadth(cascade: Ints, depth: Ints, deepest: Ints) -> Ints:
    """The widest level of each cascade. Every level from 0 to the deepest has a node, so the levels of all
    cascades fit in one array of at most n cells: one bincount and one reduceat."""
    if cascade.size == 0:
        return np.zeros(0, np.int64)
    levels = deepest + 1
    offset = np.zeros(levels.size, np.int64)
    np.cumsum(levels[:-1], out=offset[1:])
    counts = np.bincount(offset[cascade] + depth, minlength=int(levels.sum()))
    return np.maximum.reduceat(counts, offset).astype(np.int64)


def virality(f: Forest) -> Floats:
    """Structural virality per cascade; NaN for a single share (no pair of nodes)."""
    n = f.nodes.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 2.0 * f.pairs / (n * (n - 1.0))
    out[f.nodes < 2] = np.nan
    return out
