"""Double-entry ledger in integer fen."""
