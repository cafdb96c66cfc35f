"""Tables of the mini-program services.

Nothing here holds a phone number in clear: ``customer_phones`` keeps it AES-256-GCM encrypted, with a
keyed hash for lookups and a masked copy for display. Openids are not copied either: jobs read them
from ``customers`` when they run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, LargeBinary, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

SUBSCRIBE_EVENTS = ("order_paid", "order_shipped", "order_refunded", "group_succeeded", "group_failed")
MESSAGE_STATUSES = ("pending", "sent", "refused", "failed")
REPORT_STATUSES = ("pending", "uploaded", "failed")


class CustomerPhone(Base):
    """A customer's phone number from ``getPhoneNumber``: ciphertext, lookup hash and masked display only."""

    __tablename__ = "customer_phones"
    __table_args__ = (Index("ix_customer_phones_lookup", "shop_id", "phone_hash"),)

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    # 12-byte nonce ‖ AES-256-GCM ciphertext and tag of the E.164 number, bound to (shop, customer).
    phone_ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    # HMAC-SHA256(pepper, E.164 number): finds a number without being able to read any.
    phone_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    phone_masked: Mapped[str] = mapped_column(String(24), nullable=False)
    key_version: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default=text("1"))
    bound_at: Mapped[datetime] = mapped_column(nullable=False)


class SubscribeTemplate(Base):
    """The shop's template for one event, and which data key shows what (``{"thing1": "product"}``)."""

    __tablename__ = "subscribe_templates"
    __table_args__ = (CheckConstraint(f"event IN {SUBSCRIBE_EVENTS!r}", name="event"),)

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(32), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(128), nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    page: Mapped[str | None] = mapped_column(String(128), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class SubscribeGrant(Base):
    """How many more one-time messages of a template a customer accepted (``wx.requestSubscribeMessage``)."""

    __tablename__ = "subscribe_grants"
    __table_args__ = (CheckConstraint("remaining >= 0", name="remaining_not_negative"),)

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    remaining: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)


class SubscribeMessage(Base):
    """One message owed to a customer for one event of one order; the unique key makes it once."""

    __tablename__ = "subscribe_messages"
    __table_args__ = (
        UniqueConstraint("shop_id", "event", "ref"),
        CheckConstraint(f"status IN {MESSAGE_STATUSES!r}", name="status"),
        Index("ix_subscribe_messages_customer", "shop_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    ref: Mapped[str] = mapped_column(String(64), nullable=False)
    template_id: Mapped[str] = mapped_column(String(128), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(nullable=False)  # rendered, within WeChat's field limits
    page: Mapped[str | None] = mapped_column(String(256), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    errcode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ShippingReport(Base):
    """What WeChat is told about an order's shipment (wechat.md §2.12): one upload and one correction.

    ``uploads`` counts the uploads WeChat accepted (it takes two at most); ``version`` counts the
    details recorded, and each upload job carries the version it was made for, so a job for
    superseded details does nothing.
    """

    __tablename__ = "shipping_reports"
    __table_args__ = (
        CheckConstraint("uploads BETWEEN 0 AND 2", name="uploads"),
        CheckConstraint(f"status IN {REPORT_STATUSES!r}", name="status"),
        UniqueConstraint("shop_id", "order_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    order_id: Mapped[int] = mapped_column(nullable=False, unique=True)
    order_no: Mapped[str] = mapped_column(String(32), nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    out_trade_no: Mapped[str] = mapped_column(String(32), nullable=False)
    carrier: Mapped[str] = mapped_column(String(50), nullable=False)
    express_company: Mapped[str] = mapped_column(String(50), nullable=False)
    tracking_no: Mapped[str] = mapped_column(String(64), nullable=False)
    item_desc: Mapped[str] = mapped_column(String(120), nullable=False)
    receiver_contact: Mapped[str | None] = mapped_column(String(24), nullable=True)  # masked, for SF Express
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    uploads: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default=text("0"))
    errcode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    updated_at: Mapped[datetime] = mapped_column(nullable=False)
    uploaded_at: Mapped[datetime | None] = mapped_column(nullable=True)
