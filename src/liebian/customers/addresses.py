"""A postal address as ``wx.chooseAddress`` gives it: one schema for every body that carries one (orders,
flash-sale entries), so a queued entry can never hold an address its order would refuse."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class AddressIn(BaseModel):
    """What ``wx.chooseAddress`` gives."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(pattern=r"^(\+?86)?1\d{10}$|^0\d{2,3}-?\d{7,8}$")
    province: str = Field(min_length=1, max_length=30)
    city: str = Field(min_length=1, max_length=30)
    district: str = Field(min_length=1, max_length=30)
    detail: str = Field(min_length=1, max_length=200)
    postal_code: str | None = Field(default=None, max_length=10)

    @field_validator("name", "province", "city", "district", "detail")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()
