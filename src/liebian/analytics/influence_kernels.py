"""The compiled inner loops of influence maximization (numba): reverse-reachable sets, greedy max coverage and
Monte Carlo spread under the Independent Cascade model.

Every kernel is compiled with ``cache=True`` (the compile is paid once per machine, then loaded from
``__pycache__``) and ``nogil=True`` (so the API's worker thread does not hold the event loop's GIL). Randomness is
a xorshift64* generator whose whole state is one ``uint64`` in a 1-element array the caller owns: the same seed
gives the same RR sets and the same seeds on every machine, and consecutive calls continue one stream.

Import this module lazily: importing numba costs about half a second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]

_MASK64 = (1 << 64) - 1


def _jit(fn: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


def rng_state(seed: int) -> U64:
    """A non-zero xorshift state from any integer seed (splitmix64 spreads nearby seeds apart)."""
    z = (seed * 0x9E3779B97F4A7C15 + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return np.array([z or 0x2545F4914F6CDD1D], dtype=np.uint64)


@_jit
def _next(state: U64) -> np.uint64:
    """xorshift64* (Vigna 2016): passes BigCrush on its high bits, which are the ones used."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    out: np.uint64 = x * np.uint64(2685821657736338717)
    return out


@_jit
def _uniform(state: U64) -> float:
    """A double in [0, 1) from the top 53 bits."""
    return float(_next(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@_jit
def _below(state: U64, n: int) -> int:
    """An integer in [0, n) (the bias of a 53-bit multiply is below 2^-30 for any graph that fits in memory)."""
    return int(_uniform(state) * n)


@_jit
def _grow(buf: I32, need: int) -> I32:
    if need <= buf.shape[0]:
        return buf
    bigger = np.empty(max(need, 2 * buf.shape[0]), dtype=np.int32)
    bigger[: buf.shape[0]] = buf
    return bigger


@_jit
def rr_sets(indptr: I64, indices: I32, probs: F64, count: int, state: U64) -> tuple[I32, I64]:
    """``count`` random reverse-reachable sets: a uniform root, then a BFS over the REVERSE graph keeping each
    in-arc (u, v) with probability p(u, v). Returned flat: the nodes of set r are ``nodes[offsets[r]:offsets[r+1]]``,
    root first."""
    n = indptr.shape[0] - 1
    mark = np.zeros(n, dtype=np.int32)  # mark[v] == r + 1: v is already in set r (no clearing between sets)
    nodes = np.empty(max(1024, 4 * count), dtype=np.int32)
    offsets = np.empty(count + 1, dtype=np.int64)
    pos = 0
    for r in range(count):
        offsets[r] = pos
        tag = r + 1
        root = _below(state, n)
        nodes = _grow(nodes, pos + 1)
        nodes[pos] = root
        pos += 1
        mark[root] = tag
        head = offsets[r]
        while head < pos:
            w = nodes[head]
            head += 1
            for e in range(indptr[w], indptr[w + 1]):
                u = indices[e]
                if mark[u] != tag and _uniform(state) < probs[e]:
                    mark[u] = tag
                    nodes = _grow(nodes, pos + 1)
                    nodes[pos] = u
                    pos += 1
    offsets[count] = pos
    return nodes[:pos].copy(), offsets


@_jit
def _sift_down(heap: I64, keys: F64, size: int, i: int) -> None:
    node, key = heap[i], keys[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] > keys[child]:
            child += 1
        if keys[child] <= key:
            break
        heap[i], keys[i] = heap[child], keys[child]
        i = child
    heap[i], keys[i] = node, key


@_jit
def _inverted(nodes: I32, offsets: I64, n: int) -> tuple[I64, I64]:
    """node -> the RR sets holding it, as CSR (counting sort: O(total size))."""
    start = np.zeros(n + 1, dtype=np.int64)
    for i in range(nodes.shape[0]):
        start[nodes[i] + 1] += 1
    for v in range(n):
        start[v + 1] += start[v]
    fill = start[:-1].copy()
    sets = np.empty(nodes.shape[0], dtype=np.int64)
    for r in range(offsets.shape[0] - 1):
        for j in range(offsets[r], offsets[r + 1]):
            v = nodes[j]
            sets[fill[v]] = r
            fill[v] += 1
    return start, sets


@_jit
def greedy_cover(nodes: I32, offsets: I64, degree: I64, order: I64, costs: F64, budget: float,
                 kmax: int) -> tuple[I64, I64]:
    """Greedy maximum coverage of RR sets: repeatedly take the node covering the most uncovered sets per unit cost
    (cost 1 and budget k is plain top-k greedy). Lazy (CELF) evaluation: a max-heap of possibly stale ratios;
    coverage only falls, so a stale key is an upper bound and a popped node whose key is current is the best.
    Covering a set decrements the count of every node in it once, through the inverted index, so the whole run is
    O(total RR size + n log n). Nodes that no longer fit in the budget are dropped (cost-effective greedy).
    ``degree`` is each node's coverage (it is consumed), ``order`` the nodes by decreasing degree / cost (a sorted
    array is a valid max-heap; NumPy sorts it outside). Returns (chosen nodes in order, their marginal coverage)."""
    n = degree.shape[0]
    start, sets = _inverted(nodes, offsets, n)
    heap = order.copy()
    keys = np.empty(n, dtype=np.float64)
    for i in range(n):
        keys[i] = degree[heap[i]] / costs[heap[i]]
    covered = np.zeros(offsets.shape[0] - 1, dtype=np.bool_)
    chosen = np.empty(min(kmax, n), dtype=np.int64)
    gains = np.empty(min(kmax, n), dtype=np.int64)
    picked, size, spent = 0, n, 0.0
    while size > 0 and picked < chosen.shape[0]:
        v = heap[0]
        current = degree[v] / costs[v]
        if current < keys[0]:  # stale: re-key and let it sink
            keys[0] = current
            _sift_down(heap, keys, size, 0)
            continue
        size -= 1
        heap[0], keys[0] = heap[size], keys[size]
        _sift_down(heap, keys, size, 0)
        if spent + costs[v] > budget:
            continue
        spent += costs[v]
        chosen[picked], gains[picked] = v, degree[v]
        picked += 1
        for e in range(start[v], start[v + 1]):
            r = sets[e]
            if not covered[r]:
                covered[r] = True
                for j in range(offsets[r], offsets[r + 1]):
                    degree[nodes[j]] -= 1
    return chosen[:picked].copy(), gains[:picked].copy()


@_jit
def coverage(nodes: I32, offsets: I64, n: int, seeds: I64) -> int:
    """How many RR sets contain at least one seed."""
    is_seed = np.zeros(n, dtype=np.bool_)
    for s in seeds:
        is_seed[s] = True
    hit = 0
    for r in range(offsets.shape[0] - 1):
        for j in range(offsets[r], offsets[r + 1]):
            if is_seed[nodes[j]]:
                hit += 1
                break
    return hit


@_jit
def cascade_sizes(indptr: I64, indices: I32, probs: F64, seeds: I64, runs: int, state: U64) -> I64:
    """``runs`` simulations of the Independent Cascade from ``seeds`` over the FORWARD graph: each newly active
    node gets one chance to activate each inactive out-neighbour v with probability p(u, v). Returns each run's
    number of active nodes (seeds included)."""
    n = indptr.shape[0] - 1
    mark = np.zeros(n, dtype=np.int32)
    queue = np.empty(n, dtype=np.int32)
    sizes = np.empty(runs, dtype=np.int64)
    for r in range(runs):
        tag = r + 1
        tail = 0
        for s in seeds:
            if mark[s] != tag:
                mark[s] = tag
                queue[tail] = s
                tail += 1
        head = 0
        while head < tail:
            u = queue[head]
            head += 1
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                if mark[v] != tag and _uniform(state) < probs[e]:
                    mark[v] = tag
                    queue[tail] = v
                    tail += 1
        sizes[r] = tail
    return sizes
