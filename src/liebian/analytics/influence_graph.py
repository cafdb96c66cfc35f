"""Influence graphs for the Independent Cascade model: arcs (u, v, p) held as CSR twice (forward for simulation,
reverse for reverse-reachable sets), the ``u v p`` file format of the IMM code, the weighted cascade, and the two
classic baselines (top-k out-degree, top-k PageRank).

NumPy only (no numba), vectorized; import lazily from the CLI and the API.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class GraphFormatError(ValueError):
    """The graph file is not ``u v p`` lines."""


@dataclass(frozen=True)
class InfluenceGraph:
    """Nodes are 0..n-1; ``labels[i]`` is node i's id outside (a file's id, a customer id)."""

    n: int
    labels: I64
    src: I32
    dst: I32
    prob: F64
    fwd_indptr: I64
    fwd_indices: I32
    fwd_probs: F64
    rev_indptr: I64
    rev_indices: I32
    rev_probs: F64

    @property
    def m(self) -> int:
        return int(self.src.shape[0])

    def index_of(self, labels: npt.ArrayLike) -> I64:
        """Node indices of outside ids (KeyError for an unknown one)."""
        wanted = np.asarray(labels, dtype=np.int64)
        at = np.searchsorted(self.labels, wanted)
        ok = (at < self.n) & (self.labels[np.minimum(at, max(self.n - 1, 0))] == wanted) if self.n else at < 0
        if not np.all(ok):
            raise KeyError(f"unknown node id(s): {wanted[~ok][:5].tolist()}")
        return at.astype(np.int64)


def _csr(keys: I32, other: I32, prob: F64, n: int) -> tuple[I64, I32, F64]:
    order = np.argsort(keys, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=indptr[1:])
    return indptr, np.ascontiguousarray(other[order]), np.ascontiguousarray(prob[order])


def from_arcs(src: npt.ArrayLike, dst: npt.ArrayLike, prob: npt.ArrayLike, *, n: int | None = None,
              labels: npt.ArrayLike | None = None) -> InfluenceGraph:
    """A graph from dense node indices (``labels`` default to the indices). Probabilities must lie in [0, 1]."""
    s = np.asarray(src, dtype=np.int32)
    d = np.asarray(dst, dtype=np.int32)
    p = np.asarray(prob, dtype=np.float64)
    if not (s.shape == d.shape == p.shape and s.ndim == 1):
        raise GraphFormatError("src, dst and prob must be 1-D arrays of one length")
    size = int(max(int(s.max(initial=-1)), int(d.max(initial=-1))) + 1) if n is None else n
    if s.size and (min(int(s.min()), int(d.min())) < 0 or max(int(s.max()), int(d.max())) >= size):
        raise GraphFormatError("node index out of range")
    if p.size and (not np.all(np.isfinite(p)) or float(p.min()) < 0 or float(p.max()) > 1):
        raise GraphFormatError("probabilities must lie in [0, 1]")
    names = np.arange(size, dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
    fwd = _csr(s, d, p, size)
    rev = _csr(d, s, p, size)
    return InfluenceGraph(size, names, s, d, p, *fwd, *rev)


def from_labelled_arcs(src: npt.ArrayLike, dst: npt.ArrayLike, prob: npt.ArrayLike,
                       extra_nodes: npt.ArrayLike = ()) -> InfluenceGraph:
    """A graph from arbitrary integer ids (customer ids...): ids are mapped to 0..n-1 in ascending order."""
    s, d = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    labels, inverse = np.unique(np.concatenate([s, d, np.asarray(extra_nodes, dtype=np.int64)]), return_inverse=True)
    return from_arcs(inverse[: s.size], inverse[s.size: s.size + d.size], prob, n=labels.size, labels=labels)


def weighted_cascade(src: npt.ArrayLike, dst: npt.ArrayLike, n: int) -> F64:
    """p(u, v) = 1 / indeg(v) (Kempe et al. 2003): what the IMM paper uses on every data set."""
    d = np.asarray(dst, dtype=np.int64)
    indegree = np.bincount(d, minlength=n)
    return 1.0 / indegree[d]


def read_graph(path: Path) -> InfluenceGraph:
    """``u v p`` lines (the IMM distribution's ``graph_ic.inf``). A first line of two numbers is an ``n m`` header
    (the node count is then taken from it); blank lines and ``#`` comments are ignored. Ids that are exactly
    0..n-1 are kept as they are, anything else is remapped (the labels keep the file's ids)."""
    raw = path.read_bytes()
    if b"#" in raw:  # the rare commented file takes the slow path
        raw = b"\n".join(line for line in raw.splitlines() if not line.lstrip().startswith(b"#"))
    body = raw.lstrip()
    first = body.split(b"\n", 1)[0]
    header_n: int | None = None
    if len(first.split()) == 2:
        header_n = int(first.split()[0])
        body = body[len(first):]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy only warns when the text stops parsing half way
        try:
            values = np.fromstring(body, sep=" ") if body.strip() else np.empty(0)  # C parser: 10M arcs in seconds
        except (DeprecationWarning, ValueError) as exc:
            raise GraphFormatError(f"{path}: expected 'u v p' on every line") from exc
    if values.size % 3:
        raise GraphFormatError(f"{path}: expected 'u v p' on every line")
    triples = values.reshape(-1, 3)
    ids = triples[:, :2]
    if ids.size and not np.array_equal(ids, np.floor(ids)):
        raise GraphFormatError(f"{path}: node ids must be integers")
    src, dst, prob = ids[:, 0].astype(np.int64), ids[:, 1].astype(np.int64), triples[:, 2]
    top = int(max(src.max(initial=-1), dst.max(initial=-1))) + 1
    if ids.size == 0 or (int(min(src.min(), dst.min())) >= 0 and (header_n is None or top <= header_n)):
        n = header_n if header_n is not None else top
        if header_n is not None or top == np.unique(np.concatenate([src, dst])).size:
            return from_arcs(src, dst, prob, n=n)
    return from_labelled_arcs(src, dst, prob)


def top_degree(graph: InfluenceGraph, k: int) -> I64:
    """The k nodes with the most out-arcs (ties: lower index first)."""
    degree = np.diff(graph.fwd_indptr)
    return np.argsort(-degree, kind="stable")[:k].astype(np.int64)


def pagerank(graph: InfluenceGraph, *, damping: float = 0.85, tol: float = 1e-10, max_iter: int = 200) -> F64:
    """PageRank of the REVERSED graph, each arc weighted by its probability: a node ranks high when it points at
    nodes that rank high, which is the direction influence flows. Dangling mass is spread uniformly."""
    n = graph.n
    if n == 0:
        return np.empty(0)
    # The walk goes v -> u along arc (u, v): out-weights of the reversed graph are v's in-probabilities.
    out_weight = np.bincount(graph.dst, weights=graph.prob, minlength=n)
    nonzero = out_weight[graph.dst] > 0
    share = np.zeros(graph.m)
    share[nonzero] = graph.prob[nonzero] / out_weight[graph.dst[nonzero]]
    dangling = out_weight == 0
    rank = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        flow = np.bincount(graph.src, weights=rank[graph.dst] * share, minlength=n)
        new = (1 - damping) / n + damping * (flow + rank[dangling].sum() / n)
        done = float(np.abs(new - rank).sum()) < tol
        rank = new
        if done:
            break
    return rank


def top_pagerank(graph: InfluenceGraph, k: int) -> I64:
    return np.argsort(-pagerank(graph), kind="stable")[:k].astype(np.int64)
