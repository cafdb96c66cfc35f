"""Properties of the campaign rules: exact yuan parsing, CAC and ROI arithmetic, days, and the spend CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liebian.campaigns import rules
from liebian.kit.money import MAX_FEN, yuan

FAST = settings(max_examples=300, deadline=None)
FEWER = settings(max_examples=60, deadline=None)
fens = st.integers(min_value=0, max_value=MAX_FEN)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


def _nearest(value: Fraction) -> int:
    """Round half away from zero, computed independently of the code under test."""
    whole = abs(value.numerator) // value.denominator
    if abs(value) - whole >= Fraction(1, 2):
        whole += 1
    return whole if value >= 0 else -whole


@FAST
@given(fens)
def test_yuan_text_parses_back_to_the_same_fen(fen: int) -> None:
    assert rules.parse_yuan(yuan(fen)) == fen
    assert rules.parse_fen(str(fen)) == fen


@FAST
@given(st.integers(min_value=0, max_value=10**11 - 1), st.integers(min_value=0, max_value=9))
def test_one_decimal_means_tenths_of_a_yuan(whole: int, tenth: int) -> None:
    assert rules.parse_yuan(f"{whole}.{tenth}") == whole * 100 + tenth * 10
    assert rules.parse_yuan(f" {whole} ") == whole * 100


@pytest.mark.parametrize("text", ["", "-1", "+1", "1.005", "1e3", "1,000", "¥1", "1.", ".5", "nan", "inf", "0x10",
                                  "１２", "100000000000.01", "1 000"])
def test_malformed_yuan_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        rules.parse_yuan(text)


@pytest.mark.parametrize("text", ["", "-1", "1.0", "1e3", "100000000000001"])
def test_malformed_fen_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        rules.parse_fen(text)


@FAST
@given(fens, st.integers(min_value=0, max_value=10**7))
def test_cac_is_spend_per_new_paying_customer_rounded_half_up(spend: int, customers: int) -> None:
    cac = rules.cac_fen(spend, customers)
    if customers == 0:
        assert cac is None
    else:
        assert cac == _nearest(Fraction(spend, customers))
        assert abs(cac * customers - spend) * 2 <= customers  # within half a fen per customer


@FAST
@given(st.integers(min_value=0, max_value=MAX_FEN), fens)
def test_roi_is_exact_basis_points_and_its_decimal_text(gmv: int, spend: int) -> None:
    bps = rules.roi_bps(gmv, spend)
    if spend == 0:
        assert bps is None and rules.bps_decimal(bps) is None
        return
    assert bps == _nearest(Fraction(gmv - spend, spend) * 10_000)
    assert bps >= -10_000  # never worse than losing the whole spend
    text = rules.bps_decimal(bps)
    assert text is not None and Fraction(text) == Fraction(bps, 10_000) and len(text.split(".")[1]) == 4


def test_known_figures() -> None:
    assert rules.cac_fen(12_345, 2) == 6_173  # 6172.5 rounds up
    assert rules.roi_bps(15_500, 50_000) == -6_900 and rules.bps_decimal(-6_900) == "-0.6900"
    assert rules.roi_bps(2_500, 1_000) == 15_000 and rules.bps_decimal(15_000) == "1.5000"
    assert rules.bps_decimal(-5) == "-0.0005"


@FAST
@given(days, st.integers(min_value=0, max_value=400))
def test_day_bounds_cover_whole_shanghai_days(first: date, span: int) -> None:
    last = first + timedelta(days=span)
    lo, hi = rules.day_bounds(first, last)
    assert hi - lo == timedelta(days=span + 1)
    assert rules.local_day(lo) == first and rules.local_day(hi - timedelta(microseconds=1)) == last
    assert lo.astimezone(UTC).hour == 16  # 00:00 in Shanghai is 16:00 UTC the day before
    assert (rules.range_problem(first, last) is None) == (span + 1 <= rules.MAX_REPORT_DAYS)
    assert rules.range_problem(last, first) is not None or span == 0


def test_local_day_is_shanghai() -> None:
    assert rules.local_day(datetime(2026, 11, 22, 16, 0, tzinfo=UTC)) == date(2026, 11, 23)
    assert rules.local_day(datetime(2026, 11, 22, 15, 59, tzinfo=UTC)) == date(2026, 11, 22)


@FAST
@given(days, days, days, days)
def test_spend_days_lie_within_the_campaign_and_not_ahead(day: date, a: date, b: date, today: date) -> None:
    starts, ends = min(a, b), max(a, b)
    ok = rules.spend_day_problem(day, starts_on=starts, ends_on=ends, today=today) is None
    assert ok == (starts <= day <= ends and day <= today)


rows = st.lists(st.tuples(days, st.sampled_from(["cmp-1", "7", "ad-nov"]), fens.filter(lambda f: f < 10**12)),
                min_size=1, max_size=30)


@FEWER
@given(rows, st.booleans())
def test_a_well_formed_csv_parses_to_its_rows_and_sums_per_day(data: list[tuple[date, str, int]], in_yuan: bool
                                                               ) -> None:
    header = "date,campaign,amount_yuan" if in_yuan else "amount_fen,campaign,date"
    lines = [header] + [f"{d.isoformat()},{c},{yuan(f)}" if in_yuan else f"{f},{c},{d.isoformat()}"
                        for d, c, f in data]
    parsed, errors = rules.parse_spend_csv("\ufeff" + "\r\n".join(lines) + "\r\n\r\n")
    assert errors == []
    assert [(p.day, p.campaign, p.amount_fen) for p in parsed] == data
    assert [p.line for p in parsed] == list(range(2, len(data) + 2))
    totals = rules.daily_totals(parsed, {"cmp-1": 1, "7": 7, "ad-nov": 3})
    assert sum(totals.values()) == sum(f for _, _, f in data)


@FEWER
@given(rows, st.data())
def test_every_bad_row_is_reported_by_its_line(data: list[tuple[date, str, int]], draw: st.DataObject) -> None:
    bad = draw.draw(st.sets(st.integers(min_value=0, max_value=len(data) - 1)))
    lines = ["date,campaign,amount_yuan"]
    for i, (d, c, f) in enumerate(data):
        amount = draw.draw(st.sampled_from(["-1", "1.234", "abc", "1e2", ""])) if i in bad else yuan(f)
        lines.append(f"{d.isoformat()},{c},{amount}")
    parsed, errors = rules.parse_spend_csv("\n".join(lines))
    assert [e.line for e in errors] == sorted(i + 2 for i in bad)
    assert len(parsed) == len(data) - len(bad)


@pytest.mark.parametrize("text", ["", "\n\n", "date,campaign\n2026-01-01,x\n", "date,campaign,amount_yuan,extra\n",
                                  "date,date,amount_yuan\n", "date,campaign,amount_yuan\n",
                                  'date,campaign,amount_yuan\n"2026-01-01,x,1\n'])
def test_a_file_without_a_proper_header_or_rows_is_refused(text: str) -> None:
    parsed, errors = rules.parse_spend_csv(text)
    assert parsed == [] and errors


def test_dates_in_both_common_spellings() -> None:
    assert rules.parse_day("2026/1/5") == rules.parse_day("2026-01-05") == date(2026, 1, 5)
    for text in ("2026-02-30", "20260105", "05/01/2026", "2026-1-5T00:00"):
        with pytest.raises(ValueError):
            rules.parse_day(text)
