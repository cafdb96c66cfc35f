"""Payments through providers (sandbox, cash on delivery, WeChat Pay v3), callbacks and refunds."""
