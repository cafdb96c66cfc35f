"""What a merchant holds (wechat.md §2.1), loaded once and validated before anything starts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from liebian.integrations.wechat import crypto

PUBLIC_KEY_ID = re.compile(r"^PUB_KEY_ID_[0-9A-Za-z_]+$")


@dataclass(frozen=True)
class MiniProgramConfig:
    appid: str
    secret: str = field(repr=False)
    base_url: str = "https://api.weixin.qq.com"

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))


@dataclass(frozen=True)
class PayConfig:
    """A direct merchant's WeChat Pay v3 credentials.

    ``verifiers`` maps every ``Wechatpay-Serial`` we accept to its key: the WeChat Pay public key
    (``PUB_KEY_ID_...``) and/or platform certificates, so a certificate → public-key migration, when
    WeChat signs with either at random, is accepted. ``wechatpay_serial`` is what we send in the
    ``Wechatpay-Serial`` request header (it selects the response signer and the key of encrypted fields).
    """

    mchid: str
    appid: str
    merchant_serial: str
    merchant_key: rsa.RSAPrivateKey = field(repr=False)
    apiv3_key: str = field(repr=False)
    verifiers: dict[str, rsa.RSAPublicKey] = field(repr=False)
    wechatpay_serial: str
    notify_url: str
    base_url: str = "https://api.mch.weixin.qq.com"

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))  # paths start with "/"
        problems = pay_config_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def encryption_key(self) -> rsa.RSAPublicKey:
        return self.verifiers[self.wechatpay_serial]


def pay_config_problems(config: PayConfig) -> list[str]:
    problems: list[str] = []
    if not re.fullmatch(r"\d{6,32}", config.mchid):
        problems.append("mchid must be the digits of a WeChat Pay merchant id")
    if len(config.apiv3_key.encode()) != 32:
        problems.append("the APIv3 key must be exactly 32 ASCII characters")
    if not config.verifiers:
        problems.append("configure the WeChat Pay public key (and id) or at least one platform certificate")
    if config.wechatpay_serial not in config.verifiers:
        problems.append("the Wechatpay-Serial to send must be one of the configured verifiers")
    if config.merchant_key.key_size < 2048:
        problems.append("the merchant API key must be RSA-2048 or larger")
    if "?" in config.notify_url or len(config.notify_url) > 255:
        problems.append("notify_url must have no query string and at most 255 characters")
    return problems


def load_verifiers(public_key_id: str | None, public_key_path: Path | None,
                   certificate_paths: list[Path]) -> dict[str, rsa.RSAPublicKey]:
    """Both schemes at once during a migration; each platform certificate is keyed by its serial."""
    verifiers: dict[str, rsa.RSAPublicKey] = {}
    if public_key_id or public_key_path:
        if not (public_key_id and public_key_path):
            raise ValueError("the WeChat Pay public key needs both its id and its file")
        if not PUBLIC_KEY_ID.match(public_key_id):
            raise ValueError("the WeChat Pay public key id looks like PUB_KEY_ID_0112345678...")
        verifiers[public_key_id] = crypto.load_public_key(public_key_path.read_bytes())
    for path in certificate_paths:
        pem = path.read_bytes()
        verifiers[crypto.certificate_serial(pem)] = crypto.load_public_key(pem)
    return verifiers
