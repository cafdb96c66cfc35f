"""One pass over visits or orders for a funnel: per group, for the first hop and the whole cascade, the events,
their summed weight (GMV, new customers) and their distinct people, plus the distinct people overall.

A numba loop instead of NumPy masks and gathers: at ten million events each NumPy step is a pass over memory
larger than the caches, and a funnel needs a dozen of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

Ints = npt.NDArray[np.int64]
BITMAP_CELLS = 256_000_000  # one byte per (group, person) pair: beyond this, distinct pairs come from a sort


@njit(cache=True)
def _tally(at: Any, packed: Any, who: Any, weight: Any, groups: int, width: int,
           bitmap: bool) -> Any:  # pragma: no cover - compiled
    events = np.zeros((2, groups), np.int64)  # row 0: first hop, row 1: whole cascade
    total = np.zeros((2, groups), np.int64)
    distinct = np.zeros((2, groups), np.int64)
    overall = np.zeros(2, np.int64)
    seen_all = np.zeros(width, np.uint8)  # bit 1: seen on a first hop, bit 2: seen at all
    seen = np.zeros(groups * width if bitmap else 0, np.uint8)
    pairs = np.empty(0 if bitmap else at.size, np.int64)
    pair_hop = np.empty(0 if bitmap else at.size, np.bool_)
    count = 0
    for i in range(at.size):
        a = at[i]
        if a < 0:
            continue
        g, h, w = packed[a] >> 1, packed[a] & 1, who[i]
        events[1, g] += 1
        total[1, g] += weight[i]
        if seen_all[w] & 2 == 0:
            seen_all[w] |= 2
            overall[1] += 1
        if h:
            events[0, g] += 1
            total[0, g] += weight[i]
            if seen_all[w] & 1 == 0:
                seen_all[w] |= 1
                overall[0] += 1
        if bitmap:
            k = g * width + w
            if seen[k] & 2 == 0:
                seen[k] |= 2
                distinct[1, g] += 1
            if h and seen[k] & 1 == 0:
                seen[k] |= 1
                distinct[0, g] += 1
        else:
            pairs[count] = g * width + w
            pair_hop[count] = h
            count += 1
    return events, total, distinct, overall, pairs[:count], pair_hop[:count]


@dataclass
class Tally:
    events: Ints  # [first hop, cascade] x groups
    weight: Ints
    distinct: Ints
    overall: Ints  # distinct people, [first hop, cascade]


def _distinct_pairs(pairs: Ints, width: int, groups: int) -> Ints:
    x = np.sort(pairs)
    if x.size:
        x = x[np.concatenate([[True], x[1:] != x[:-1]])]
    return np.bincount(x // width, minlength=groups).astype(np.int64)


def tally(at: Ints, group: Ints, hop: npt.NDArray[np.bool_], who: Ints, weight: Ints, groups: int) -> Tally:
    """``at``: each event's share (-1: none); ``group``, ``hop``: per share; ``who``: dense people numbers."""
    width = int(who.max()) + 1 if who.size else 1
    bitmap = groups * width <= BITMAP_CELLS
    packed = group * 2 + hop  # one load per event for both: the random reads are what costs
    events, total, distinct, overall, pairs, pair_hop = _tally(at, packed, who, weight, groups, width, bitmap)
    if not bitmap:
        distinct = np.stack([_distinct_pairs(pairs[pair_hop], width, groups), _distinct_pairs(pairs, width, groups)])
    return Tally(events=events, weight=total, distinct=distinct, overall=overall)
