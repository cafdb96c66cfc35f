"""Campaign rules as plain functions: Asia/Shanghai days, exact money parsing, the spend CSV, CAC and ROI.

No database and no floats here: amounts are parsed digit by digit into integer fen, and CAC and ROI are
integer divisions rounded by the project's one rule (``kit.money.round_half_up``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from liebian.kit.money import BPS_DENOMINATOR, MAX_FEN, round_half_up

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_REPORT_DAYS = 366
MAX_CSV_ROWS = 10_000
KEY_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"  # never all digits: a CSV's campaign column may be an id or a key
# ASCII digits only: ``\d`` would also take full-width and other scripts' digits, which int() accepts.
_YUAN = re.compile(r"^([0-9]{1,12})(?:\.([0-9]{1,2}))?$")
_FEN = re.compile(r"^[0-9]{1,14}$")
_DATE = re.compile(r"^([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})$")
UNIT_COLUMNS = {"amount_yuan": "yuan", "amount_fen": "fen"}


# --- days ------------------------------------------------------------------------------------------

def local_day(at: datetime) -> date:
    """The Asia/Shanghai calendar day of an instant: campaigns, spend and reports count in these days."""
    return at.astimezone(SHANGHAI).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """``[first 00:00, last + 1 day 00:00)`` in Asia/Shanghai, as instants."""
    return day_start(first), day_start(last + timedelta(days=1))


def range_problem(first: date, last: date) -> str | None:
    if last < first:
        return "to is before from"
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        return f"a report covers at most {MAX_REPORT_DAYS} days"
    return None


def spend_day_problem(day: date, *, starts_on: date, ends_on: date, today: date) -> str | None:
    """Spend is booked on a day the campaign ran, never in the future."""
    if day > today:
        return f"{day} is in the future"
    if day < starts_on or day > ends_on:
        return f"{day} is outside the campaign's dates ({starts_on} to {ends_on})"
    return None


def parse_day(text: str) -> date:
    """``2026-11-23`` (or ``2026/11/23``, as some ad platforms export); ValueError otherwise."""
    found = _DATE.match(text.strip())
    if found is None:
        raise ValueError(f"date {text.strip()!r} is not YYYY-MM-DD")
    return date(int(found[1]), int(found[2]), int(found[3]))


# --- money -----------------------------------------------------------------------------------------

def parse_yuan(text: str) -> int:
    """``"1234.5"`` yuan → ``123450`` fen, exactly: at most two decimals, no sign, no exponent, no float."""
    found = _YUAN.match(text.strip())
    if found is None:
        raise ValueError(f"amount {text.strip()!r} is not a yuan amount like 1234.56")
    fen = int(found[1]) * 100 + int((found[2] or "").ljust(2, "0"))
    if fen > MAX_FEN:
        raise ValueError("amount is too large")
    return fen


def parse_fen(text: str) -> int:
    if _FEN.match(text.strip()) is None:
        raise ValueError(f"amount {text.strip()!r} is not a whole number of fen")
    fen = int(text.strip())
    if fen > MAX_FEN:
        raise ValueError("amount is too large")
    return fen


def cac_fen(spend_fen: int, new_paying_customers: int) -> int | None:
    """Customer acquisition cost: spend per new paying customer, in fen; None when nobody was acquired."""
    if new_paying_customers <= 0:
        return None
    return round_half_up(spend_fen, new_paying_customers)


def roi_bps(gmv_fen: int, spend_fen: int) -> int | None:
    """Return on investment ``(GMV − spend) / spend`` in basis points; None without spend."""
    if spend_fen <= 0:
        return None
    return round_half_up((gmv_fen - spend_fen) * BPS_DENOMINATOR, spend_fen)


def bps_decimal(bps: int | None) -> str | None:
    """``-6900`` → ``"-0.6900"``: the ratio as an exact decimal string."""
    if bps is None:
        return None
    sign = "-" if bps < 0 else ""
    whole, frac = divmod(abs(bps), BPS_DENOMINATOR)
    return f"{sign}{whole}.{frac:04d}"


# --- the spend CSV ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpendLine:
    line: int  # the line number in the file (the header is line 1), as a spreadsheet shows it
    day: date
    campaign: str  # a campaign id (digits) or key, resolved against the shop's campaigns later
    amount_fen: int


@dataclass(frozen=True)
class LineError:
    line: int
    errors: tuple[str, ...]


def _header(row: list[str]) -> tuple[dict[str, int], str] | str:
    names = [c.strip().lower() for c in row]
    units = [UNIT_COLUMNS[n] for n in names if n in UNIT_COLUMNS]
    unknown = [n for n in names if n not in ("date", "campaign", *UNIT_COLUMNS)]
    if unknown or len(units) != 1 or names.count("date") != 1 or names.count("campaign") != 1 or len(set(names)) != len(
            names):
        return "the header must be date,campaign and one of amount_yuan or amount_fen (any order)"
    return {n: i for i, n in enumerate(names)}, units[0]


def _row(line: int, row: list[str], columns: dict[str, int], unit: str) -> SpendLine | LineError:
    if len(row) != len(columns):
        return LineError(line, (f"expected {len(columns)} columns, found {len(row)}",))
    errors: list[str] = []
    day = campaign = amount = None
    try:
        day = parse_day(row[columns["date"]])
    except ValueError as exc:
        errors.append(str(exc))
    campaign = row[columns["campaign"]].strip()
    if not campaign or len(campaign) > 40:
        errors.append("campaign is empty or too long")
    raw = row[columns["amount_yuan" if unit == "yuan" else "amount_fen"]]
    try:
        amount = parse_yuan(raw) if unit == "yuan" else parse_fen(raw)
    except ValueError as exc:
        errors.append(str(exc))
    if errors or day is None or amount is None:
        return LineError(line, tuple(errors))
    return SpendLine(line, day, campaign, amount)


def parse_spend_csv(text: str) -> tuple[list[SpendLine], list[LineError]]:
    """Every line is checked; the caller imports nothing unless the error list is empty.

    A UTF-8 byte-order mark (Excel's) and blank lines are ignored; line 1 is the header.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header: tuple[dict[str, int], str] | str | None = None
    lines: list[SpendLine] = []
    errors: list[LineError] = []
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = _header(row)
                if isinstance(header, str):
                    return [], [LineError(number, (header,))]
                continue
            if len(lines) + len(errors) >= MAX_CSV_ROWS:
                return [], [LineError(number, (f"at most {MAX_CSV_ROWS} rows per import",))]
            parsed = _row(number, row, *header)
            (errors if isinstance(parsed, LineError) else lines).append(parsed)  # type: ignore[arg-type]
    except csv.Error as exc:
        return [], [LineError(reader.line_num, (f"not valid CSV: {exc}",))]
    if header is None:
        return [], [LineError(1, ("the file is empty: expected a header and rows",))]
    if not lines and not errors:
        return [], [LineError(1, ("no rows after the header",))]
    return lines, errors


def daily_totals(lines: list[SpendLine], campaign_ids: dict[str, int]) -> dict[tuple[int, date], int]:
    """One amount per campaign and day: several rows of one campaign and day in a file (ad groups, say) add up.
    Importing the same file again sets the same totals, so an import is idempotent."""
    totals: dict[tuple[int, date], int] = {}
    for line in lines:
        key = (campaign_ids[line.campaign], line.day)
        totals[key] = totals.get(key, 0) + line.amount_fen
    return totals
