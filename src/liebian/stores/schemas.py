"""Request and response bodies of stores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from liebian.stores.rules import CoordSystem, valid_hhmm

StoreStatus = Literal["open", "closed"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{3,30}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=30)]
# Rounded to 1e-7 degree (about a centimetre): a subnormal float (5e-324) underflows PostgreSQL's geo functions.
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False), AfterValidator(lambda v: round(v, 7))]
Lng = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False), AfterValidator(lambda v: round(v, 7))]
MAX_SPANS = 14


class HoursIn(BaseModel):
    """Open on ``weekdays`` (1 = Monday ... 7 = Sunday) from ``opens`` to ``closes`` ("HH:MM", Beijing time;
    ``closes`` at or before ``opens`` runs past midnight, "24:00" is midnight)."""

    model_config = ConfigDict(extra="forbid")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default=[1, 2, 3, 4, 5, 6, 7], min_length=1,
                                                             max_length=7)
    opens: str
    closes: str

    @field_validator("opens", "closes")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not valid_hhmm(value):
            raise ValueError("a time is HH:MM between 00:00 and 24:00")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> HoursIn:
        self.weekdays = sorted(set(self.weekdays))
        if self.opens == "24:00":
            raise ValueError("a store cannot open at 24:00")
        return self


class StoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    address: Address
    lat: Lat
    lng: Lng
    coord_system: CoordSystem = Field(default="wgs84", description="gcj02: as Chinese maps and "
                                      "wx.getLocation({type: 'gcj02'}) give it; stored converted to WGS-84")
    pickup: bool = Field(default=True, description="customers may order for pickup here")
    phone: Phone | None = None
    hours: list[HoursIn] | None = Field(default=None, max_length=MAX_SPANS, description="none: always open")


class StorePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    address: Address | None = None
    lat: Lat | None = None
    lng: Lng | None = None
    coord_system: CoordSystem = "wgs84"
    pickup: bool | None = None
    phone: Phone | None = None
    hours: list[HoursIn] | None = Field(default=None, max_length=MAX_SPANS)
    status: StoreStatus | None = None

    @model_validator(mode="after")
    def _both_coordinates(self) -> StorePatch:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("lat and lng change together")
        return self


class HoursOut(BaseModel):
    weekdays: list[int]
    opens: str
    closes: str


class StoreOut(BaseModel):
    id: int
    name: str
    address: str
    lat: float = Field(description="WGS-84")
    lng: float = Field(description="WGS-84")
    gcj02_lat: float = Field(description="the same point in GCJ-02, for Chinese map SDKs")
    gcj02_lng: float
    phone: str | None
    hours: list[HoursOut] | None
    pickup: bool
    status: StoreStatus
    open_now: bool
    share_code: str | None = Field(description="the store's offline QR code (channel offline_qr)")
    created_at: datetime


class NearbyStore(StoreOut):
    distance_m: int


class NearbyPage(BaseModel):
    items: list[NearbyStore]
    radius_m: int


class StorePage(BaseModel):
    items: list[StoreOut]
    total: int


class TableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Label


class CodeOut(BaseModel):
    code: str
    url: str = Field(description="the landing page the QR code opens")
    qr_png_url: str


class TableOut(BaseModel):
    id: int
    store_id: int
    label: str
    share_code: str | None
    qr: CodeOut | None
    created_at: datetime


class StoreCodes(BaseModel):
    store: CodeOut | None
    tables: list[TableOut]


class PickedUpOut(BaseModel):
    order_no: str
    status: str
    store_id: int
    pickup_no: int | None
    completed_at: datetime | None
