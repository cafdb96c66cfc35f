from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("shop_id", "openid"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    openid: Mapped[str] = mapped_column(String(64), nullable=False)
    unionid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    nickname: Mapped[str] = mapped_column(String(64), nullable=False)
    avatar_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    is_new: Mapped[bool] = mapped_column(nullable=False, server_default=text("true"))
    first_completed_order_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    last_login_at: Mapped[datetime] = mapped_column(nullable=False)


class CustomerAddress(Base):
    """A customer's saved shipping address (what ``wx.chooseAddress`` gives), at most one of them the default:
    the checkout page starts from it and saves the address an order was sent to."""

    __tablename__ = "customer_addresses"
    __table_args__ = (
        Index("ix_customer_addresses_owner", "shop_id", "customer_id", "id"),
        Index("uq_customer_addresses_default", "shop_id", "customer_id", unique=True,
              postgresql_where=text("is_default")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    # Sealed (liebian.kit.crypto, bound to the shop and customer), found by its keyed hash, shown masked.
    phone_ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    phone_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    phone_masked: Mapped[str] = mapped_column(String(24), nullable=False)
    province: Mapped[str] = mapped_column(String(30), nullable=False)
    city: Mapped[str] = mapped_column(String(30), nullable=False)
    district: Mapped[str] = mapped_column(String(30), nullable=False)
    detail: Mapped[str] = mapped_column(String(200), nullable=False)
    postal_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    is_default: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
