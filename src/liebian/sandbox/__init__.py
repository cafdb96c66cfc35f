"""Sandbox-only endpoints: make shops, move the clock, run due jobs, complete payments (404 in live mode)."""
