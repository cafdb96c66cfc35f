"""Spend: what a campaign cost per Asia/Shanghai day, entered one day at a time or imported as a CSV.

Both set the day's amount (an upsert), so entering or importing the same figures again changes nothing.
Each write holds a share lock on its campaigns' rows (``FOR SHARE``), so a console moving a campaign's end
date at the same moment cannot leave spend outside the campaign's dates (it locks the row ``FOR UPDATE``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.campaigns import rules
from liebian.campaigns.schemas import ImportOut, SpendOut
from liebian.campaigns.service import campaign_not_found, today
from liebian.kit.clock import clock
from liebian.kit.errors import Invalid
from liebian.kit.money import MAX_FEN
from liebian.kit.sql import text

_UPSERT = ("INSERT INTO campaign_spend (campaign_id, day, shop_id, amount_fen, source, updated_at) "
           "SELECT c.id, u.day, c.shop_id, u.amount, :source, :now FROM unnest(CAST(:ids AS bigint[]), "
           "CAST(:days AS date[]), CAST(:amounts AS bigint[])) AS u(id, day, amount) "
           "JOIN campaigns c ON c.id = u.id AND c.shop_id = :s AND u.day BETWEEN c.starts_on AND c.ends_on "
           "FOR SHARE OF c "
           "ON CONFLICT (campaign_id, day) DO UPDATE SET amount_fen = EXCLUDED.amount_fen, source = EXCLUDED.source, "
           "updated_at = EXCLUDED.updated_at RETURNING campaign_id, day, amount_fen, source, updated_at")


async def put_day(session: AsyncSession, shop_id: int, campaign_id: int, day: date, amount_fen: int) -> SpendOut:
    row = (await session.execute(
        text("SELECT starts_on, ends_on FROM campaigns WHERE id = :c AND shop_id = :s"),
        {"c": campaign_id, "s": shop_id})).first()
    if row is None:
        raise campaign_not_found()
    problem = rules.spend_day_problem(day, starts_on=row.starts_on, ends_on=row.ends_on, today=today())
    if problem is not None:
        raise Invalid("invalid_spend_date", f"Spend cannot be booked on {day}: {problem}.")
    written = (await session.execute(text(_UPSERT), {
        "ids": [campaign_id], "days": [day], "amounts": [amount_fen], "s": shop_id, "source": "manual",
        "now": clock.now()})).first()
    if written is None:  # the dates moved between the read and the lock
        raise Invalid("invalid_spend_date", f"Spend cannot be booked on {day}: outside the campaign's dates.")
    return SpendOut(campaign_id=written.campaign_id, date=written.day, amount_fen=written.amount_fen,
                    source=written.source, updated_at=written.updated_at)


async def list_days(session: AsyncSession, shop_id: int, campaign_id: int) -> list[SpendOut]:
    rows = await session.execute(
        text("SELECT campaign_id, day, amount_fen, source, updated_at FROM campaign_spend "
             "WHERE campaign_id = :c AND shop_id = :s ORDER BY day"), {"c": campaign_id, "s": shop_id})
    return [SpendOut(campaign_id=r.campaign_id, date=r.day, amount_fen=r.amount_fen, source=r.source,
                     updated_at=r.updated_at) for r in rows]


def _bad_rows(errors: list[rules.LineError]) -> Invalid:
    lines = sorted(errors, key=lambda e: e.line)
    return Invalid("invalid_spend_csv", f"{len(lines)} row(s) are wrong (lines "
                   f"{', '.join(str(e.line) for e in lines[:20])}); nothing was imported.",
                   rows=[{"line": e.line, "errors": list(e.errors)} for e in lines[:200]])


async def _campaigns(session: AsyncSession, shop_id: int, refs: set[str]) -> dict[str, Any]:
    """Each reference (an id or a key) to the campaign row it names in this shop; unknown ones are left out."""
    ids = [int(r) for r in refs if r.isdigit() and len(r) <= 18]
    keys = [r for r in refs if not r.isdigit()]
    rows = (await session.execute(
        text("SELECT id, key, starts_on, ends_on FROM campaigns WHERE shop_id = :s AND (id = ANY(:ids) "
             "OR key = ANY(:keys))"), {"s": shop_id, "ids": ids, "keys": keys})).all()
    found: dict[str, Any] = {}
    for r in rows:
        found[str(r.id)] = r
        found[r.key] = r
    return {ref: found[ref] for ref in refs if ref in found}


async def import_csv(session: AsyncSession, shop_id: int, content: str) -> ImportOut:
    """All or nothing: every row is checked first (format, campaign of this shop, a day the campaign ran and
    not in the future), and one bad row refuses the whole file with the line numbers of every bad row."""
    lines, errors = rules.parse_spend_csv(content)
    known = await _campaigns(session, shop_id, {line.campaign for line in lines})
    day = today()
    for line in lines:
        campaign = known.get(line.campaign)
        problem = ("no campaign with this id or key in this shop" if campaign is None else rules.spend_day_problem(
            line.day, starts_on=campaign.starts_on, ends_on=campaign.ends_on, today=day))
        if problem is not None:
            errors.append(rules.LineError(line.line, (problem,)))
    if errors:
        raise _bad_rows(errors)
    totals = rules.daily_totals(lines, {ref: int(c.id) for ref, c in known.items()})
    if any(amount > MAX_FEN for amount in totals.values()):
        raise Invalid("invalid_spend_csv", "A campaign's total for one day is too large; nothing was imported.",
                      rows=[])
    keys = sorted(totals)  # campaign, then day: the same lock order for every import
    written = (await session.execute(text(_UPSERT), {
        "ids": [k[0] for k in keys], "days": [k[1] for k in keys], "amounts": [totals[k] for k in keys],
        "s": shop_id, "source": "import", "now": clock.now()})).all()
    if len(written) != len(keys):  # a campaign's dates moved under the import: refuse it whole
        raise Invalid("invalid_spend_csv", "A campaign's dates changed during the import; nothing was imported.",
                      rows=[])
    return ImportOut(rows=len(lines), days=len(keys), campaigns=len({k[0] for k in keys}),
                     total_fen=sum(totals.values()))
