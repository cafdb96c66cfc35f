"""Shop settings: what a merchant can configure, with defaults and bounds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ShopSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # shared between requests (shops.service._settings)

    auto_cancel_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    auto_complete_days: int = Field(default=7, ge=1, le=60)
    max_quantity_per_line: int = Field(default=99, ge=1, le=9999)
    max_lines_per_order: int = Field(default=50, ge=1, le=200)
    cod_enabled: bool = True
    shipping_fee_fen: int = Field(default=0, ge=0, le=100_000)
    free_shipping_threshold_fen: int | None = Field(default=None, ge=0)
    refund_window_days: int = Field(default=15, ge=0, le=365)
    # Fission: who a visitor is bound to (锁客), and how far back an order looks for the share that brought it.
    binding_policy: Literal["first_touch", "validity_days", "last_touch"] = "first_touch"
    binding_days: int = Field(default=30, ge=1, le=3650)
    protection_days: int = Field(default=0, ge=0, le=365)
    bind_new_customers_only: bool = False
    attribution_window_days: int = Field(default=7, ge=1, le=90)
    # Group buying: a buyer whose chosen group filled while they were paying is seated in another open group
    # of the campaign, or opens a new group (as its leader), or is refused with ``group_full``.
    groupbuy_overflow: Literal["other_group", "new_group", "refuse"] = "other_group"
