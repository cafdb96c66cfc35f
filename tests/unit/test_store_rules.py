"""Properties of the store rules: GCJ-02 <-> WGS-84, distances, opening hours, the pickup day."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from liebian.stores import rules
from liebian.stores.rules import Span

FAST = settings(max_examples=500, deadline=None)
# Inside China's rectangle, kept a little off its edges (the offset is under a kilometre).
china_lat = st.floats(min_value=18.0, max_value=53.0)
china_lng = st.floats(min_value=74.0, max_value=134.5)


@FAST
@given(china_lat, china_lng)
def test_wgs_to_gcj_and_back_lands_within_half_a_metre(lat: float, lng: float) -> None:
    g_lat, g_lng = rules.wgs84_to_gcj02(lat, lng)
    assert (g_lat, g_lng) != (lat, lng)
    assert rules.haversine_m(lat, lng, g_lat, g_lng) < 1500  # the offset is a few hundred metres
    w_lat, w_lng = rules.gcj02_to_wgs84(g_lat, g_lng)
    assert rules.haversine_m(lat, lng, w_lat, w_lng) < 0.5


@FAST
@given(st.floats(min_value=-89.0, max_value=89.0), st.floats(min_value=-179.0, max_value=179.0))
def test_outside_china_gcj_is_wgs(lat: float, lng: float) -> None:
    if rules.out_of_china(lat, lng):
        assert rules.wgs84_to_gcj02(lat, lng) == (lat, lng)
        assert rules.gcj02_to_wgs84(lat, lng) == (lat, lng)


def test_a_known_point_tiananmen() -> None:
    # WGS-84 of Tiananmen Square and its widely published GCJ-02 image (about 0.0013° N, 0.0062° E off).
    g_lat, g_lng = rules.wgs84_to_gcj02(39.9087, 116.3975)
    assert abs(g_lat - 39.9087 - 0.00140) < 0.0003 and abs(g_lng - 116.3975 - 0.00624) < 0.0003
    assert rules.to_wgs84(g_lat, g_lng, "wgs84") == (g_lat, g_lng)


@FAST
@given(china_lat, china_lng, china_lat, china_lng)
def test_haversine_is_a_metric(lat1: float, lng1: float, lat2: float, lng2: float) -> None:
    d = rules.haversine_m(lat1, lng1, lat2, lng2)
    assert d >= 0 and abs(d - rules.haversine_m(lat2, lng2, lat1, lng1)) < 1e-6
    assert rules.haversine_m(lat1, lng1, lat1, lng1) == 0
    assert d <= 3.1416 * rules.EARTH_RADIUS_M


def test_one_degree_of_latitude_is_about_111_km() -> None:
    assert abs(rules.haversine_m(30.0, 120.0, 31.0, 120.0) - 111_195) < 10


hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@FAST
@given(st.sets(st.integers(1, 7), min_size=1), hhmm, hhmm, st.integers(0, 6), st.integers(0, 23),
       st.integers(0, 59))
def test_open_at_matches_a_minute_by_minute_reading(days: set[int], opens: str, closes: str, day_offset: int,
                                                    hour: int, minute: int) -> None:
    local = datetime(2026, 11, 23 + day_offset, hour, minute, tzinfo=rules.SHANGHAI)  # 23 Nov 2026 is a Monday
    span = Span(tuple(sorted(days)), opens, closes)
    o, c = int(opens[:2]) * 60 + int(opens[3:]), int(closes[:2]) * 60 + int(closes[3:])
    now, weekday = hour * 60 + minute, local.isoweekday()
    yesterday = (weekday - 2) % 7 + 1
    if c > o:
        expected = weekday in days and o <= now < c
    else:  # past midnight
        expected = (weekday in days and now >= o) or (yesterday in days and now < c)
    assert rules.open_at((span,), local) is expected


def test_hours_edges() -> None:
    monday_9 = datetime(2026, 11, 23, 9, 0, tzinfo=rules.SHANGHAI)
    assert rules.open_at(None, monday_9)
    assert rules.open_at((Span((1,), "09:00", "21:00"),), monday_9)
    assert not rules.open_at((Span((1,), "09:01", "21:00"),), monday_9)
    assert not rules.open_at((Span((2,), "09:00", "21:00"),), monday_9)
    assert rules.open_at((Span((1,), "09:00", "24:00"),), monday_9.replace(hour=23, minute=59))
    assert rules.open_at((Span((7,), "22:00", "02:00"),), monday_9.replace(hour=1))  # Sunday night into Monday
    assert not rules.open_at((), monday_9)
    assert rules.valid_hhmm("24:00") and rules.valid_hhmm("00:00")
    assert not rules.valid_hhmm("24:01") and not rules.valid_hhmm("9:00") and not rules.valid_hhmm("12:60")


def test_the_pickup_day_turns_at_beijing_midnight() -> None:
    assert str(rules.pickup_day(datetime(2026, 11, 23, 15, 59, tzinfo=UTC))) == "2026-11-23"
    assert str(rules.pickup_day(datetime(2026, 11, 23, 16, 0, tzinfo=UTC))) == "2026-11-24"
