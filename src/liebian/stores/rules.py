"""Pure rules of stores: GCJ-02 <-> WGS-84, great-circle distance, opening hours, the pickup day.

No database here, so each rule is property-tested (tests/unit/test_store_rules.py).

GCJ-02 ("Mars coordinates") is the obfuscated system Chinese maps and ``wx.getLocation({type: "gcj02"})`` use:
WGS-84 plus a smooth, published offset of a few hundred metres inside China and nothing outside it. Stores are
kept in WGS-84 so that distances are true; GCJ-02 input is converted back by iterating the forward offset
(a fixed point converging to well under a millimetre in a few steps).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

CoordSystem = Literal["wgs84", "gcj02"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Krasovsky 1940, the ellipsoid the GCJ-02 offset formula is built on.
_A = 6378245.0
_EE = 0.00669342162296594323
EARTH_RADIUS_M = 6371008.8  # mean radius; earthdistance's earth() is 6378168 m, 0.11% apart
DEFAULT_RADIUS_M = 5000
MAX_RADIUS_M = 50_000
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


def out_of_china(lat: float, lng: float) -> bool:
    """The rectangle the GCJ-02 offset applies in (outside it GCJ-02 equals WGS-84)."""
    return not (73.66 < lng < 135.05 and 3.86 < lat < 53.55)


def _shift_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _shift_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _offset(lat: float, lng: float) -> tuple[float, float]:
    """The GCJ-02 offset (degrees) at a WGS-84 point, with no China test (the inverse needs it unbroken)."""
    dlat = _shift_lat(lng - 105.0, lat - 35.0)
    dlng = _shift_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlat, dlng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    if out_of_china(lat, lng):
        return lat, lng
    dlat, dlng = _offset(lat, lng)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """The WGS-84 point whose GCJ-02 image is (lat, lng): iterate w <- w - (gcj(w) - g) from w = g.

    The offset changes by far less than a metre per metre, so each step gains several digits; 1e-10 degrees
    (about 0.01 mm) is reached in 3-5 steps."""
    if out_of_china(lat, lng):
        return lat, lng
    w_lat, w_lng = lat, lng
    for _ in range(30):
        dlat, dlng = _offset(w_lat, w_lng)
        err_lat, err_lng = w_lat + dlat - lat, w_lng + dlng - lng
        w_lat, w_lng = w_lat - err_lat, w_lng - err_lng
        if abs(err_lat) < 1e-10 and abs(err_lng) < 1e-10:
            break
    return w_lat, w_lng


def to_wgs84(lat: float, lng: float, system: CoordSystem) -> tuple[float, float]:
    return gcj02_to_wgs84(lat, lng) if system == "gcj02" else (lat, lng)


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# -- opening hours ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    """Open on ``weekdays`` (ISO: 1 = Monday ... 7 = Sunday) from ``opens`` to ``closes`` (HH:MM, local time).
    ``closes`` at or before ``opens`` runs past midnight into the next day; "24:00" closes at midnight."""

    weekdays: tuple[int, ...]
    opens: str
    closes: str


def valid_hhmm(value: str) -> bool:
    return bool(_HHMM.match(value))


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def open_at(spans: tuple[Span, ...] | None, local: datetime) -> bool:
    """Whether a store with these hours is open at this local (Asia/Shanghai) time; no hours: always open."""
    if spans is None:
        return True
    weekday, minute = local.isoweekday(), local.hour * 60 + local.minute
    yesterday = 7 if weekday == 1 else weekday - 1
    for span in spans:
        opens, closes = _minutes(span.opens), _minutes(span.closes)
        overnight = closes <= opens
        if weekday in span.weekdays and opens <= minute < (24 * 60 if overnight else closes):
            return True
        if overnight and yesterday in span.weekdays and minute < closes:
            return True
    return False


def local_time(at: datetime) -> datetime:
    return at.astimezone(SHANGHAI)


def pickup_day(at: datetime) -> date:
    """Queue numbers start again at 1 every Asia/Shanghai day."""
    return local_time(at).date()

