"""Distribution (分销): promoters, commissions and rebates on the ledger, withdrawals."""
