"""Throw-away identities for the fake: a mini-program, a merchant and WeChat Pay's own keys.

Generated fresh at start-up (like WeChat's own SDK tests do), so nothing secret is ever committed and
every sandbox run signs, verifies and decrypts with real RSA and AES keys.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import string
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from liebian.integrations.wechat import crypto
from liebian.integrations.wechat.config import MiniProgramConfig, PayConfig

_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class SandboxCredentials:
    appid: str
    app_secret: str = field(repr=False)
    mchid: str
    merchant_serial: str
    merchant_key_pem: str = field(repr=False)
    apiv3_key: str = field(repr=False)
    public_key_id: str
    platform_key_pem: str = field(repr=False)  # WeChat Pay's public-key-mode signing key
    certificate_pem: str  # the legacy platform certificate (certificate mode)
    certificate_key_pem: str = field(repr=False)

    @classmethod
    def generate(cls, now: dt.datetime | None = None) -> SandboxCredentials:
        merchant, platform, legacy = (crypto.generate_private_key() for _ in range(3))
        cert = crypto.self_signed_certificate(legacy, "Tenpay.com Root CA (sandbox)",
                                              now or dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
        made = cls(
            appid="wx" + secrets.token_hex(8), app_secret=secrets.token_hex(16),
            mchid=str(1_900_000_000 + secrets.randbelow(99_999_999)),
            merchant_serial=secrets.token_hex(20).upper(),
            merchant_key_pem=crypto.private_key_pem(merchant).decode(),
            apiv3_key="".join(secrets.choice(_ALNUM) for _ in range(32)),
            public_key_id="PUB_KEY_ID_" + "".join(secrets.choice(string.digits) for _ in range(30)),
            platform_key_pem=crypto.private_key_pem(platform).decode(),
            certificate_pem=cert.decode(), certificate_key_pem=crypto.private_key_pem(legacy).decode(),
        )
        # The keys in hand need not be parsed back from their PEM (a few tens of milliseconds each).
        made.__dict__.update(merchant_key=merchant, platform_key=platform, certificate_key=legacy)
        return made

    @cached_property
    def merchant_key(self) -> rsa.RSAPrivateKey:
        return crypto.load_private_key(self.merchant_key_pem.encode())

    # --- WeChat's side ---
    @cached_property
    def merchant_public_key(self) -> rsa.RSAPublicKey:
        return self.merchant_key.public_key()

    @cached_property
    def platform_key(self) -> rsa.RSAPrivateKey:
        return crypto.load_private_key(self.platform_key_pem.encode())

    @cached_property
    def certificate_key(self) -> rsa.RSAPrivateKey:
        return crypto.load_private_key(self.certificate_key_pem.encode())

    @cached_property
    def certificate_serial(self) -> str:
        return crypto.certificate_serial(self.certificate_pem.encode())

    def signing_key(self, serial: str) -> rsa.RSAPrivateKey | None:
        return {self.public_key_id: self.platform_key, self.certificate_serial: self.certificate_key}.get(serial)

    # --- the merchant's side ---
    def pay_config(self, *, notify_url: str, base_url: str, accept_certificate: bool = True) -> PayConfig:
        verifiers = {self.public_key_id: self.platform_key.public_key()}
        if accept_certificate:
            verifiers[self.certificate_serial] = crypto.load_public_key(self.certificate_pem.encode())
        return PayConfig(
            mchid=self.mchid, appid=self.appid, merchant_serial=self.merchant_serial,
            merchant_key=self.merchant_key, apiv3_key=self.apiv3_key,
            verifiers=verifiers, wechatpay_serial=self.public_key_id, notify_url=notify_url, base_url=base_url,
        )

    def mini_program_config(self, base_url: str) -> MiniProgramConfig:
        return MiniProgramConfig(appid=self.appid, secret=self.app_secret, base_url=base_url)

    # --- sharing between processes (``serve --workers N``) ---
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.chmod(0o600)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SandboxCredentials:
        return cls(**json.loads(path.read_text()))
