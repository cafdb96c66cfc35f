"""The security plumbing of a process (API, worker, CLI): the data vault, log scrubbing, and the sweepers that
drop expired rate-limit counters and token revocations."""

from __future__ import annotations

from liebian.customers import links
from liebian.events import CustomerIdentified
from liebian.kit import crypto, jobs, ratelimit, redact, revocation
from liebian.kit.events import bus
from liebian.settings import Settings


def install(settings: Settings) -> None:
    redact.install(s for s in (settings.secret_key, settings.data_key, settings.wechat_app_secret,
                               settings.wechat_apiv3_key) if s)
    key = settings.resolved_data_key()
    redact.install([key, settings.resolved_secret_key()])
    crypto.install(crypto.Vault(key))
    bus.subscribe(CustomerIdentified, links.on_customer_identified)  # the devices alt-account rings are found by
    jobs.register_sweeper("kit.rate_limits", ratelimit.sweep_old_counters)
    jobs.register_sweeper("kit.token_revocations", revocation.sweep_expired)
