"""Checkout, orders, fulfilment and after-sales refunds."""
