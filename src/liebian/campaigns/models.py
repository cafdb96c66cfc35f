"""Tables of ad and placement campaigns: the campaigns, their landing codes, daily spend, and each shop's
search code.

Visits, attributions and orders are not copied here: reports read them where fission and orders keep
them, through the share ids listed in ``campaign_codes``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

CAMPAIGN_STATUSES = ("active", "ended")
SPEND_SOURCES = ("manual", "import")


class Campaign(Base):
    """A paid or placed entry point (a Moments ad, an official-account placement...) over a range of
    Asia/Shanghai days, landing on one target. ``key`` is what its shares carry in their ``campaign``."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(f"status IN {CAMPAIGN_STATUSES!r}", name="status"),
        CheckConstraint("ends_on >= starts_on", name="dates"),
        CheckConstraint("budget_fen IS NULL OR budget_fen >= 0", name="budget"),
        CheckConstraint("(geo_store_id IS NULL) = (geo_radius_m IS NULL) AND (geo_radius_m IS NULL OR "
                        "geo_radius_m BETWEEN 100 AND 50000)", name="geo"),
        Index("uq_campaigns_key", "shop_id", "key", unique=True),
        Index("ix_campaigns_shop", "shop_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    key: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(60), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    landing_type: Mapped[str] = mapped_column(String(16), nullable=False)
    landing_id: Mapped[int] = mapped_column(nullable=False)
    geo_store_id: Mapped[int | None] = mapped_column(nullable=True)
    geo_radius_m: Mapped[int | None] = mapped_column(Integer, nullable=True)
    budget_fen: Mapped[int | None] = mapped_column(nullable=True)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(8), nullable=False, server_default="active")
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)


class CampaignCode(Base):
    """One landing code of a campaign (a fission share owned by the shop): one per placement, e.g. per
    official-account article or menu entry. Reports find a campaign's traffic through these share ids."""

    __tablename__ = "campaign_codes"
    __table_args__ = (
        Index("ix_campaign_codes_campaign", "campaign_id", "share_id"),
        Index("uq_campaign_codes_label", "campaign_id", "label", unique=True),
    )

    share_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), nullable=False)
    code: Mapped[str] = mapped_column(String(16), nullable=False)
    label: Mapped[str | None] = mapped_column(String(60), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Spend(Base):
    """What a campaign cost on one Asia/Shanghai day, in fen: set (not added) by each entry or import."""

    __tablename__ = "campaign_spend"
    __table_args__ = (
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        CheckConstraint(f"source IN {SPEND_SOURCES!r}", name="source"),
        Index("ix_campaign_spend_shop_day", "shop_id", "day"),
    )

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    amount_fen: Mapped[int] = mapped_column(nullable=False)
    source: Mapped[str] = mapped_column(String(8), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class SearchCode(Base):
    """The shop's one ``search`` share, made at the first identified search: product searches are
    recorded as visits through it, so orders after a search are attributed to the search channel."""

    __tablename__ = "campaign_search_codes"

    shop_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    share_id: Mapped[int | None] = mapped_column(nullable=True)  # NULL only inside the creating transaction
    code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
