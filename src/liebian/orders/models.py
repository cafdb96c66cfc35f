from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

ORDER_STATUSES = ("pending_payment", "paid", "shipped", "completed", "cancelled", "refunding", "refunded")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN {ORDER_STATUSES!r}", name="status"),
        CheckConstraint("payment_method IN ('wechat', 'cod')", name="payment_method"),
        CheckConstraint("payable_fen >= 0 AND discount_fen >= 0 AND total_fen >= 0", name="amounts"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= payable_fen", name="refund_cap"),
        Index("ix_orders_customer", "shop_id", "customer_id", "id"),
        Index("ix_orders_shop_status", "shop_id", "status", "id"),
        # Analytics and campaign reports read a shop's paid orders by time.
        Index("ix_orders_paid", "shop_id", "paid_at", postgresql_where=text("paid_at IS NOT NULL")),
        Index("ix_orders_payment_due", "payment_deadline", postgresql_where=text("status = 'pending_payment'")),
        Index("ix_orders_complete_due", "auto_complete_at", postgresql_where=text("status = 'shipped'")),
        # Pickup at a store (migration 0011, module stores): the store is named, and the queue number is unique
        # per store and Beijing day.
        CheckConstraint("fulfilment IN ('delivery', 'pickup') AND (fulfilment = 'pickup') = (store_id IS NOT NULL) "
                        "AND (pickup_no IS NULL) = (pickup_day IS NULL) AND (pickup_no IS NULL OR store_id IS NOT "
                        "NULL)", name="fulfilment"),
        Index("uq_orders_pickup_no", "store_id", "pickup_day", "pickup_no", unique=True,
              postgresql_where=text("pickup_no IS NOT NULL")),
        Index("ix_orders_store", "store_id", "id", postgresql_where=text("store_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    order_no: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    status_before_refund: Mapped[str | None] = mapped_column(String(20), nullable=True)
    payment_method: Mapped[str] = mapped_column(String(16), nullable=False)
    total_fen: Mapped[int] = mapped_column(nullable=False)
    discount_fen: Mapped[int] = mapped_column(nullable=False)
    shipping_fen: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    payable_fen: Mapped[int] = mapped_column(nullable=False)
    refunded_fen: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))
    address: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    promotion: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    share_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    out_trade_no: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    payment_deadline: Mapped[datetime | None] = mapped_column(nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(nullable=True)
    shipped_at: Mapped[datetime | None] = mapped_column(nullable=True)
    carrier: Mapped[str | None] = mapped_column(String(50), nullable=True)
    tracking_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    auto_complete_at: Mapped[datetime | None] = mapped_column(nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(50), nullable=True)
    # A promotion's hold on fulfilment (a paid group order waits for its group): no shipping, no refund
    # request until it is lifted. Generic: orders only know that someone holds it, and why.
    fulfilment_hold: Mapped[str | None] = mapped_column(String(32), nullable=True)
    fulfilment: Mapped[str] = mapped_column(String(8), nullable=False, server_default="delivery")
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), nullable=True)
    pickup_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    pickup_no: Mapped[int | None] = mapped_column(Integer, nullable=True)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= payable_fen", name="refund_cap"),
        Index("ix_order_lines_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    sku_id: Mapped[int] = mapped_column(nullable=False)
    product_id: Mapped[int] = mapped_column(nullable=False)
    title: Mapped[str] = mapped_column(String(120), nullable=False)
    specs: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    image: Mapped[str | None] = mapped_column(String(500), nullable=True)
    unit_price_fen: Mapped[int] = mapped_column(nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    total_fen: Mapped[int] = mapped_column(nullable=False)
    discount_fen: Mapped[int] = mapped_column(nullable=False)
    payable_fen: Mapped[int] = mapped_column(nullable=False)
    refunded_fen: Mapped[int] = mapped_column(nullable=False, server_default=text("0"))


class RefundRequest(Base):
    """A customer's after-sales request; the money moves through ``payments`` once it is approved."""

    __tablename__ = "refund_requests"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'succeeded')", name="status"
        ),
        # At most one open request per order: two concurrent requests cannot both pass.
        Index("uq_refund_requests_open", "order_id", unique=True,
              postgresql_where=text("status IN ('pending', 'approved')")),
        Index("ix_refund_requests_shop_status", "shop_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False)
    customer_id: Mapped[int | None] = mapped_column(nullable=True)
    amount_fen: Mapped[int] = mapped_column(nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    initiated_by: Mapped[str] = mapped_column(String(16), nullable=False)
    reject_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    succeeded_at: Mapped[datetime | None] = mapped_column(nullable=True)
