"""Configuration from ``LIEBIAN_*`` environment variables."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LIMIT_SPEC = r"^(off|\d{1,9}/\d{1,7})$"


class Mode(StrEnum):
    SANDBOX = "sandbox"
    LIVE = "live"


class ConfigurationError(RuntimeError):
    """The configuration cannot run; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIEBIAN_", extra="ignore")

    mode: Mode = Mode.SANDBOX
    # Unset: an embedded PostgreSQL is started in ``{home}/pgdata``.
    database_url: str | None = None
    redis_url: str | None = None
    home: Path = Path(".liebian")
    secret_key: str | None = Field(default=None, repr=False)
    pool_size: int = Field(default=20, ge=1, le=500)
    pool_max_overflow: int = Field(default=40, ge=0, le=1000)
    # Transactions of the hot routes (orders, group joins, share visits) at once per process: more only waits
    # longer on the same CPU, and holds a hot row's lock longer (see README, Performance and guarantees).
    hot_pool_size: int = Field(default=8, ge=1, le=200)
    access_token_minutes: int = Field(default=120, ge=1, le=60 * 24 * 30)
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    public_base_url: str = "http://127.0.0.1:8000"
    # Personal data at rest (phone numbers): the AES-GCM and lookup-hash keys are derived from this, else from
    # the secret key. Set it separately so that rotating the token secret leaves stored numbers readable.
    data_key: str | None = Field(default=None, repr=False)
    # Abuse limits (liebian.kit.ratelimit): "<count>/<seconds>", a fixed window per key, or "off".
    limit_console_login: str = Field(default="10/900", pattern=LIMIT_SPEC)  # failed logins per email and IP
    limit_customer_login: str = Field(default="120/60", pattern=LIMIT_SPEC)  # WeChat logins per IP
    limit_visit_customer: str = Field(default="120/60", pattern=LIMIT_SPEC)  # share visits, per API process
    limit_visit_device: str = Field(default="120/60", pattern=LIMIT_SPEC)
    limit_visit_ip: str = Field(default="1200/60", pattern=LIMIT_SPEC)
    limit_help_customer: str = Field(default="30/60", pattern=LIMIT_SPEC)  # bargain helps
    limit_help_ip: str = Field(default="300/60", pattern=LIMIT_SPEC)
    limit_claim_customer: str = Field(default="30/60", pattern=LIMIT_SPEC)  # coupon and red-packet claims
    limit_claim_ip: str = Field(default="300/60", pattern=LIMIT_SPEC)

    # WeChat mini-program and WeChat Pay v3 credentials: required in live mode.
    wechat_appid: str | None = None
    wechat_app_secret: str | None = Field(default=None, repr=False)
    wechat_mchid: str | None = None
    wechat_apiv3_key: str | None = Field(default=None, repr=False)
    wechat_private_key_path: Path | None = None
    wechat_cert_serial: str | None = None
    wechat_pay_public_key_id: str | None = None
    wechat_pay_public_key_path: Path | None = None
    # Legacy platform certificates, accepted alongside the public key during a migration.
    wechat_platform_cert_paths: list[Path] = Field(default_factory=list)
    # Sandbox only: a fake WeChat shared by several processes (``liebian fake-wechat``); its keys are read
    # from ``{home}/sandbox/wechat-credentials.json``. Unset: each process embeds its own.
    sandbox_wechat_url: str | None = None
    wechat_api_base_url: str = "https://api.weixin.qq.com"
    wechat_pay_base_url: str = "https://api.mch.weixin.qq.com"

    @model_validator(mode="after")
    def _live_mode_needs_real_wechat(self) -> Settings:
        if self.mode is Mode.LIVE:
            missing = [name for name in LIVE_REQUIRED if not getattr(self, name)]
            if missing:
                names = ", ".join("LIEBIAN_" + name.upper() for name in missing)
                raise ConfigurationError(f"live mode needs real WeChat credentials; set {names}")
            if urlsplit(self.wechat_pay_base_url).netloc not in WECHAT_PAY_HOSTS or not \
                    self.wechat_pay_base_url.startswith("https://"):
                raise ConfigurationError("live mode talks to WeChat Pay itself: LIEBIAN_WECHAT_PAY_BASE_URL must be "
                                         "https://api.mch.weixin.qq.com (or the backup api2.mch.weixin.qq.com)")
            if urlsplit(self.wechat_api_base_url).netloc not in WECHAT_API_HOSTS or not \
                    self.wechat_api_base_url.startswith("https://"):
                raise ConfigurationError("live mode talks to WeChat itself: LIEBIAN_WECHAT_API_BASE_URL must be "
                                         "https://api.weixin.qq.com (or api2.weixin.qq.com)")
            if not self.secret_key:
                raise ConfigurationError("live mode needs LIEBIAN_SECRET_KEY (at least 32 characters)")
        elif self.wechat_private_key_path or self.wechat_apiv3_key:
            # A sandbox must never run with a real merchant's keys: it would fake payments for real orders.
            raise ConfigurationError("sandbox mode with real WeChat Pay credentials (LIEBIAN_WECHAT_PRIVATE_KEY_PATH, "
                                     "LIEBIAN_WECHAT_APIV3_KEY): set LIEBIAN_MODE=live, or unset them")
        if self.secret_key is not None and len(self.secret_key) < 32:
            raise ConfigurationError("LIEBIAN_SECRET_KEY must be at least 32 characters")
        if self.data_key is not None and len(self.data_key) < 32:
            raise ConfigurationError("LIEBIAN_DATA_KEY must be at least 32 characters")
        return self

    @property
    def sandbox(self) -> bool:
        return self.mode is Mode.SANDBOX

    def resolved_data_key(self) -> str:
        """What personal data at rest is encrypted with: ``LIEBIAN_DATA_KEY``, else the signing key."""
        return self.data_key or self.resolved_secret_key()

    def resolved_secret_key(self) -> str:
        """The signing key; in sandbox mode one is made once and kept in ``{home}/secret_key``."""
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.home.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


WECHAT_PAY_HOSTS = frozenset({"api.mch.weixin.qq.com", "api2.mch.weixin.qq.com"})
WECHAT_API_HOSTS = frozenset({"api.weixin.qq.com", "api2.weixin.qq.com"})
LIVE_REQUIRED = (
    "wechat_appid",
    "wechat_app_secret",
    "wechat_mchid",
    "wechat_apiv3_key",
    "wechat_private_key_path",
    "wechat_cert_serial",
)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
