"""WeChat Pay API v3: signed transport, transactions, refunds, notifications, profit sharing, transfers."""
