"""Shops (tenants), their settings and staff."""
