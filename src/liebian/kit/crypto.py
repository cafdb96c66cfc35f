"""Personal data at rest: phone numbers sealed with AES-256-GCM, found by an HMAC lookup hash, shown masked.

Both keys come from ``LIEBIAN_DATA_KEY`` (else the signing key) through HKDF under different labels, so the
lookup pepper decrypts nothing and neither key is ever stored. Each value gets a fresh 12-byte nonce; the
associated data names where the value belongs (``address:{shop}:{customer}``), so a sealed value copied onto
another customer's row does not open. The first byte is the format's version, for a re-encrypting migration.

The process's vault is installed once (``liebian.wiring``: the API, the worker, the CLI) and read with
:func:`vault`.
"""

from __future__ import annotations

import base64
import hmac
import os
import re
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_BYTES = 12
_SALT = b"liebian/kit/crypto"
TEXT_PREFIX = "v1:"


def _derive(material: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=label).derive(material.encode())


def normalize_phone(phone: str) -> str:
    """One spelling per number (``+86 138-0013-8000`` and ``13800138000`` are one), so its hash is one."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    return digits


def mask_phone(phone: str) -> str:
    """``138****8000``: enough to recognise one's own number, not enough to call it."""
    digits = normalize_phone(phone)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****"


class Vault:
    def __init__(self, key_material: str) -> None:
        self._aead = AESGCM(_derive(key_material, b"pii/aes-256-gcm/v1"))
        self._pepper = _derive(key_material, b"pii/lookup/hmac-sha256/v1")
        self._lookup_hmac = hmac.new(self._pepper, digestmod="sha256")

    def seal(self, plain: str, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plain.encode(), context.encode())

    def open(self, blob: bytes, context: str) -> str:
        """Raises ``ValueError`` for another row's value, another key, or tampered bytes."""
        if blob[:1] != VERSION:
            raise ValueError("unknown sealed-value format")
        try:
            return self._aead.decrypt(blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:], context.encode()).decode()
        except InvalidTag as exc:
            raise ValueError("the sealed value does not open here with this key") from exc

    def seal_text(self, plain: str, context: str) -> str:
        """The same as text, for JSON documents (an order's address)."""
        return TEXT_PREFIX + base64.urlsafe_b64encode(self.seal(plain, context)).decode()

    def open_text(self, sealed: str, context: str) -> str:
        if not sealed.startswith(TEXT_PREFIX):
            raise ValueError("not a sealed value")
        return self.open(base64.urlsafe_b64decode(sealed[len(TEXT_PREFIX):]), context)

    def phone_hash(self, phone: str) -> bytes:
        """HMAC-SHA256 of the normalized number: equality search without reading any number."""
        keyed = self._lookup_hmac.copy()  # the key schedule done once (``hmac.new`` redoes it per call)
        keyed.update(normalize_phone(phone).encode())
        return keyed.digest()

    def seal_contact(self, contact: dict[str, Any], context: str) -> dict[str, Any]:
        """A JSON contact (``{name, phone, ...}``) as it is stored: the phone sealed, hashed and masked; the
        ``phone`` key holds the masked copy, so whatever reads the document shows no number by mistake."""
        phone = contact.get("phone")
        if not isinstance(phone, str) or "phone_sealed" in contact:
            return contact
        return {**contact, "phone": mask_phone(phone), "phone_sealed": self.seal_text(phone, context),
                "phone_hash": self.phone_hash(phone).hex()}

    def open_contact(self, contact: dict[str, Any], context: str) -> dict[str, Any]:
        """The contact with its phone in clear (for delivery), without the sealed and hashed copies."""
        sealed = contact.get("phone_sealed")
        plain = {k: v for k, v in contact.items() if k not in ("phone_sealed", "phone_hash")}
        return plain if not isinstance(sealed, str) else {**plain, "phone": self.open_text(sealed, context)}


def public_contact(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact as an answer shows it: the masked phone, no sealed value or hash."""
    shown = {k: v for k, v in contact.items() if k not in ("phone_sealed", "phone_hash")}
    if isinstance(shown.get("phone"), str) and "****" not in shown["phone"]:
        shown["phone"] = mask_phone(shown["phone"])  # a row written before sealing: still never shown in clear
    return shown


_installed: list[Vault] = []


def install(v: Vault) -> None:
    _installed[:] = [v]


def vault() -> Vault:
    if not _installed:
        raise RuntimeError("no data vault installed: liebian.wiring.install(settings) makes it")
    return _installed[0]
