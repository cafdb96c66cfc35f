"""Plumbing with no business rules: db, money, clock, ids, errors, events, jobs, auth."""
