"""Phone numbers at rest (wechat.md §7.3): AES-256-GCM ciphertext, an HMAC lookup hash, a masked copy.

Both keys are derived from the app's secret key with HKDF under different labels, so a leaked lookup
pepper does not decrypt anything and neither is ever stored. Every value gets a fresh random nonce;
the associated data binds a ciphertext to its (shop, customer), so a row copied onto another
customer does not decrypt. Rotating the secret key makes stored numbers unreadable: they are asked
for again (``key_version`` is there for a re-encrypting migration if that is ever wanted).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_VERSION = 1
NONCE_BYTES = 12
_SALT = b"liebian/miniapp/phone"
_E164 = re.compile(r"\+[1-9]\d{5,15}")


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=label).derive(secret.encode())


def e164(pure_number: str, country_code: str) -> str:
    """``+8613800138000``: one spelling per number, so the lookup hash of a number is always the same."""
    digits = re.sub(r"\D", "", pure_number)
    code = re.sub(r"\D", "", country_code) or "86"
    number = f"+{code}{digits}"
    if not _E164.fullmatch(number):
        raise ValueError("not a phone number")
    return number


def mask(pure_number: str, country_code: str = "86") -> str:
    """``138****1234`` (a Chinese mobile); other countries keep their code: ``+1 415****2671``."""
    digits = re.sub(r"\D", "", pure_number)
    shown = f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else f"{digits[:1]}****{digits[-2:]}"
    code = re.sub(r"\D", "", country_code)
    return shown if code in ("", "86") else f"+{code} {shown}"


class PhoneVault:
    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(_derive(secret, b"phone-encryption/aes-256-gcm/v1"))
        self._pepper = _derive(secret, b"phone-lookup/hmac-sha256/v1")

    @staticmethod
    def _bound_to(shop_id: int, customer_id: int) -> bytes:
        return f"liebian/phone/v{KEY_VERSION}/{shop_id}/{customer_id}".encode()

    def encrypt(self, number: str, *, shop_id: int, customer_id: int) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, number.encode(), self._bound_to(shop_id, customer_id))

    def decrypt(self, blob: bytes, *, shop_id: int, customer_id: int) -> str:
        """Raises ``ValueError`` for a blob of another row, another key, or tampered bytes."""
        try:
            plain = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._bound_to(shop_id, customer_id))
        except InvalidTag as exc:
            raise ValueError("the phone ciphertext does not decrypt for this customer with this key") from exc
        return plain.decode()

    def lookup_hash(self, number: str) -> bytes:
        return hmac.new(self._pepper, number.encode(), hashlib.sha256).digest()
