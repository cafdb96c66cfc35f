"""Payouts to customers (transfers to WeChat balance)."""
