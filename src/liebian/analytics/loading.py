"""Loading a shop's fission log for a range in bulk: binary ``COPY ... TO STDOUT`` statements read as NumPy
columns, not rows through the ORM.

Every column is sent as a non-null 8-byte integer (``coalesce(x, -1)``; timestamps are PostgreSQL's binary
timestamps, microseconds since 2000-01-01), so a whole result is one fixed-width record array parsed by
``np.frombuffer``. Channel names travel as indexes into an array sent as a parameter, campaign keys as hashes.

Each statement is a plain range scan (shares made, visits made, orders paid in the range); what they refer to
outside the range (older shares that a visit or order came through, roots and parents of shares) and what
decides a new customer (an older visit, an earlier paid order) is fetched by id for the few ids concerned.
Joins and de-duplication happen in memory: a ``UNION`` of visit share ids or a ``DISTINCT ON`` over visits
costs the database several times the scan itself.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.analytics.log import Log, Orders, Shares, Visits, micros
from liebian.analytics.metrics import dense, lookup
from liebian.campaigns.rules import day_bounds
from liebian.fission.rules import Channel
from liebian.kit.sql import text

Ints = npt.NDArray[np.int64]
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"

# A share's own columns; its root's attributes and its parent's sharer are looked up in memory (the roots and
# parents outside the range come in a second, small statement). A campaign travels as the hash of its key.
_SHARE_COLUMNS = (
    "SELECT s.id, coalesce(s.parent_id, -1), coalesce(s.root_id, s.id), s.depth::int8, coalesce(s.sharer_id, -1), "
    "s.created_at, (s.created_at >= $2)::int::int8, "
    "coalesce(array_position($3::text[], s.channel::text) - 1, -1)::int8, "
    "coalesce(hashtextextended(s.campaign, 0), 0), "
    "CASE WHEN s.target_type = 'product' THEN s.target_id ELSE -1 END::int8 FROM fission_shares s ")
_SHARES = f"{_SHARE_COLUMNS} WHERE s.shop_id = $1 AND s.created_at >= $2 AND s.created_at < $4"
_SHARES_BY_ID = f"{_SHARE_COLUMNS} WHERE s.shop_id = $1 AND s.id = ANY($4::int8[])"
_CAMPAIGNS = ("SELECT DISTINCT campaign, hashtextextended(campaign, 0) AS hash FROM fission_shares "
              "WHERE shop_id = :s AND id = ANY(:ids) AND campaign IS NOT NULL ORDER BY campaign")

# A visitor is a customer (positive id) or an anonymous device (a negative number from its id's hash).
_VISITS = (
    "SELECT v.share_id, CASE WHEN v.customer_id IS NOT NULL THEN v.customer_id "
    "ELSE -1 - (hashtextextended(v.device_id, 0) & 4611686018427387903) END::int8, v.created_at, v.id "
    "FROM fission_visits v WHERE v.shop_id = $1 AND v.created_at >= $2 AND v.created_at < $3")
# Of the customers whose first visit of the range is a candidate: who visited before the range, and when each
# first placed an order that was paid (placement time, as campaigns' reports compare).
_VISITED_BEFORE = ("SELECT DISTINCT customer_id FROM fission_visits WHERE shop_id = $1 "
                   "AND customer_id = ANY($2::int8[]) AND created_at < $3")
_FIRST_PAID = ("SELECT customer_id, min(created_at) FROM orders WHERE shop_id = $1 AND customer_id = ANY($2::int8[]) "
               "AND paid_at IS NOT NULL AND created_at < $3 GROUP BY customer_id")

_ORDERS = (
    "SELECT coalesce(a.share_id, -1), o.customer_id::int8, (o.payable_fen - o.refunded_fen)::int8, o.paid_at, "
    "(a.source IS NOT NULL AND a.source <> 'none')::int::int8 FROM orders o "
    "LEFT JOIN fission_attributions a ON a.order_id = o.id AND a.shop_id = $1 "
    "WHERE o.shop_id = $1 AND o.paid_at >= $2 AND o.paid_at < $3")


def parse_binary(data: bytes, columns: int) -> list[Ints]:
    """Columns of a binary COPY whose every field is a non-null 8-byte integer."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a binary COPY")
    extension = int.from_bytes(data[15:19], "big")
    body = data[19 + extension:-2]  # the trailer is a field count of -1
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i in range(columns):
        fields += [(f"len{i}", ">i4"), (f"col{i}", ">i8")]
    rows = np.frombuffer(body, np.dtype(fields))
    if rows.size and ((rows["count"] != columns).any() or any((rows[f"len{i}"] != 8).any() for i in range(columns))):
        raise ValueError("a field is not an 8-byte integer")
    return [rows[f"col{i}"].astype(np.int64) for i in range(columns)]


async def _copy(session: AsyncSession, sql: str, columns: int, *args: Any) -> list[Ints]:
    connection = await (await session.connection()).get_raw_connection()
    driver: Any = connection.driver_connection
    buffer = io.BytesIO()
    await driver.copy_from_query(sql, *args, output=buffer, format="binary")
    return parse_binary(buffer.getvalue(), columns)


def _sorted(columns: list[Ints]) -> list[Ints]:
    order = np.argsort(columns[0], kind="stable")
    return [c[order] for c in columns]


def _missing(ids: Ints, wanted: Ints) -> Ints:
    found = lookup(ids, wanted)
    return np.unique(wanted[(wanted >= 0) & (found < 0)])


async def _share_columns(session: AsyncSession, shop_id: int, lo: datetime, hi: datetime, channels: list[str],
                         referenced: Ints) -> list[Ints]:
    """Shares made in the range, then by id the older ones referenced (by visits and orders, and as roots and
    parents): three rounds reach every root, since a root's root is itself."""
    cols = _sorted(await _copy(session, _SHARES, 10, shop_id, lo, channels, hi))
    wanted = referenced
    for _ in range(3):
        outside = _missing(cols[0], np.concatenate([wanted, cols[1], cols[2]]))
        if outside.size == 0:
            break
        more = await _copy(session, _SHARES_BY_ID, 10, shop_id, lo, channels, outside.tolist())
        cols = _sorted([np.concatenate([a, b]) for a, b in zip(cols, more, strict=True)])
        wanted = outside[:0]
    return cols


async def _shares(session: AsyncSession, shop_id: int, lo: datetime, hi: datetime, channels: list[str],
                  referenced: Ints) -> tuple[Shares, list[str]]:
    cols = await _share_columns(session, shop_id, lo, hi, channels, referenced)
    ids, parent, root = cols[0], cols[1], cols[2]
    root_at, parent_at = lookup(ids, root), lookup(ids, parent)
    if (root_at < 0).any():
        raise RuntimeError("a share's root is missing from the share tree")
    sharer, campaign_hash = cols[4], cols[8]
    campaign_roots = np.unique(ids[root_at][campaign_hash[root_at] != 0])
    names = (await session.execute(text(_CAMPAIGNS), {"s": shop_id, "ids": campaign_roots.tolist()})).all()
    code = {int(row.hash): i for i, row in enumerate(names)}
    campaign = np.array([code.get(int(h), -1) for h in campaign_hash], np.int64) if code else \
        np.full(ids.size, -1, np.int64)
    shares = Shares(id=ids, parent=parent, root=root, depth=cols[3], sharer=sharer,
                    parent_sharer=np.where(parent_at >= 0, sharer[np.maximum(parent_at, 0)], -1), created=cols[5],
                    in_range=cols[6], root_created=cols[5][root_at], root_sharer=sharer[root_at],
                    root_channel=cols[7][root_at], root_campaign=campaign[root_at], root_target=cols[9][root_at])
    return shares, [row.campaign for row in names]


async def _new_visits(session: AsyncSession, shop_id: int, lo: datetime, hi: datetime, visitor: Ints,
                      created: Ints, visit_id: Ints) -> Ints:
    """1 for a visit that is its customer's first in the shop ever (the first of the range, by time then id,
    with none before the range) made before any paid order of theirs was placed."""
    new = np.zeros(visitor.size, np.int64)
    order = np.lexsort((visit_id, created, visitor))
    who = visitor[order]
    first = order[np.concatenate([[True], who[1:] != who[:-1]]) & (who > 0)] if who.size else order
    if first.size == 0:
        return new
    customers = visitor[first]
    before = await _copy(session, _VISITED_BEFORE, 1, shop_id, customers.tolist(), lo)
    paid = await _copy(session, _FIRST_PAID, 2, shop_id, customers.tolist(), hi)
    paid_at = np.full(customers.size, np.iinfo(np.int64).max)
    found = lookup(customers, paid[0])  # customers are sorted: they come from a sort by visitor
    paid_at[found[found >= 0]] = paid[1][found >= 0]
    fresh = lookup(np.sort(before[0]), customers) < 0
    new[first[fresh & (paid_at >= created[first])]] = 1
    return new


async def load(session: AsyncSession, shop_id: int, first: date, last: date) -> Log:
    lo, hi = day_bounds(first, last)
    channels = [c.value for c in Channel]
    await session.execute(text("SET LOCAL work_mem = '128MB'"))  # the few sorts stay in memory
    v = await _copy(session, _VISITS, 4, shop_id, lo, hi)
    o = await _copy(session, _ORDERS, 5, shop_id, lo, hi)
    shares, campaigns = await _shares(session, shop_id, lo, hi, channels, np.concatenate([v[0], o[0]]))
    new = await _new_visits(session, shop_id, lo, hi, v[1], v[2], v[3])
    visits = Visits(share=v[0], visitor=dense(v[1])[1], created=v[2], new=new)
    orders = Orders(share=o[0], customer=o[1], gmv_fen=o[2], paid=o[3], referred=o[4])
    return Log(lo=micros(lo), hi=micros(hi), shares=shares, visits=visits, orders=orders, channels=channels,
               campaigns=campaigns)
