from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base


class Share(Base):
    """One share of a target on a channel; a re-share points at its parent, so the tree is exact."""

    __tablename__ = "fission_shares"
    __table_args__ = (
        CheckConstraint("depth >= 0", name="depth"),
        Index("ix_fission_shares_sharer", "shop_id", "sharer_id"),
        Index("ix_fission_shares_root", "root_id"),
        Index("ix_fission_shares_created", "shop_id", "created_at"),  # analytics reads a shop's time range
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    sharer_id: Mapped[int | None] = mapped_column(nullable=True)  # a customer; None for the shop's own codes
    target_type: Mapped[str] = mapped_column(String(16), nullable=False)
    target_id: Mapped[int] = mapped_column(nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    campaign: Mapped[str | None] = mapped_column(String(64), nullable=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("fission_shares.id"), nullable=True)
    root_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # None: this share is a root
    depth: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Visit(Base):
    """Every arrival through a share, kept for time; counting deduplicates by visitor."""

    __tablename__ = "fission_visits"
    __table_args__ = (
        CheckConstraint("customer_id IS NOT NULL OR device_id IS NOT NULL", name="someone"),
        Index("ix_fission_visits_share", "share_id", "created_at"),
        Index("ix_fission_visits_customer", "shop_id", "customer_id", "created_at"),
        Index("ix_fission_visits_device", "shop_id", "device_id", postgresql_where=text("customer_id IS NULL")),
        Index("ix_fission_visits_created", "shop_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    share_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sharer_id: Mapped[int | None] = mapped_column(nullable=True)
    customer_id: Mapped[int | None] = mapped_column(nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    scene: Mapped[int | None] = mapped_column(nullable=True)  # the mini-program entry scene (1007, 1047, ...)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Binding(Base):
    """The promoter a customer is bound to now (one row per customer); history is in binding events."""

    __tablename__ = "fission_bindings"

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    promoter_id: Mapped[int] = mapped_column(nullable=False)
    share_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    bound_at: Mapped[datetime] = mapped_column(nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    protected_until: Mapped[datetime | None] = mapped_column(nullable=True)


class BindingEvent(Base):
    """Append-only audit of every binding decision that changed something, or refused one."""

    __tablename__ = "fission_binding_events"
    __table_args__ = (Index("ix_fission_binding_events_customer", "shop_id", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    promoter_id: Mapped[int] = mapped_column(nullable=False)
    previous_promoter_id: Mapped[int | None] = mapped_column(nullable=True)
    action: Mapped[str] = mapped_column(String(8), nullable=False)  # bind, rebind, refuse
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    share_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    policy: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[datetime] = mapped_column(nullable=False)


class Attribution(Base):
    """What brought an order, fixed at placement: what commissions and analytics read."""

    __tablename__ = "fission_attributions"
    __table_args__ = (
        Index("ix_fission_attributions_sharer", "shop_id", "sharer_id"),
        Index("ix_fission_attributions_order_no", "shop_id", "order_no", unique=True),
        # The console's cascade tree reads a cascade's orders by its share ids.
        Index("ix_fission_attributions_share", "share_id", postgresql_where=text("share_id IS NOT NULL")),
    )

    order_id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    order_no: Mapped[str] = mapped_column(String(32), nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    source: Mapped[str] = mapped_column(String(12), nullable=False)  # share_code, last_visit, binding, none
    share_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sharer_id: Mapped[int | None] = mapped_column(nullable=True)
    channel: Mapped[str | None] = mapped_column(String(20), nullable=True)
    campaign: Mapped[str | None] = mapped_column(String(64), nullable=True)
    root_sharer_id: Mapped[int | None] = mapped_column(nullable=True)
    depth: Mapped[int | None] = mapped_column(nullable=True)
    bound_promoter_id: Mapped[int | None] = mapped_column(nullable=True)
    payable_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Fact(Base):
    """Append-only analytics facts (share, visit, bind, order); narrow, scanned by time range."""

    __tablename__ = "fission_facts"
    __table_args__ = (
        Index("ix_fission_facts_shop_at", "shop_id", "at"),
        Index("ix_fission_facts_at_brin", "at", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    at: Mapped[datetime] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # share, visit, bind, order
    customer_id: Mapped[int | None] = mapped_column(nullable=True)
    sharer_id: Mapped[int | None] = mapped_column(nullable=True)
    share_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    root_share_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    channel: Mapped[str | None] = mapped_column(String(20), nullable=True)
    target_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    target_id: Mapped[int | None] = mapped_column(nullable=True)
    order_id: Mapped[int | None] = mapped_column(nullable=True)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class MiniProgramCode(Base):
    """A share's mini-program code image: WeChat's codes never expire, so each is fetched once."""

    __tablename__ = "fission_codes"

    share_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("fission_shares.id"), primary_key=True)
    png: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
