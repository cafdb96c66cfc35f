"""Access tokens (signed JWT, no personal data in the claims) and password hashing (argon2)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from liebian.kit.clock import clock
from liebian.kit.errors import Unauthorized
from liebian.kit.revocation import Revocations

Kind = Literal["customer", "staff"]
_ALGORITHM = "HS256"
VERIFIED_TOKENS_KEPT = 16_384
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Claims:
    kind: Kind
    subject_id: int
    shop_id: int
    role: str | None = None
    token_id: str | None = None  # the ``jti``: what "log out" revokes
    issued_ms: int = 0
    expires_at: int = 0  # epoch seconds


class TokenSigner:
    def __init__(self, secret: str, minutes: int) -> None:
        self._secret = secret
        self._lifetime = timedelta(minutes=minutes)
        # A token's signature is checked once per process: PyJWT's checks cost as much CPU as the rest of a
        # share visit. Only valid signatures are kept (an exception is never cached); expiry and kind are
        # still checked on every call, against the clock.
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._signed_payload)
        # Revocation is checked on every call too, in memory (see liebian.kit.revocation).
        self.revocations = Revocations()

    @property
    def lifetime(self) -> timedelta:
        return self._lifetime

    @property
    def lifetime_seconds(self) -> int:
        return int(self._lifetime.total_seconds())

    def csrf_for(self, token: str) -> str:
        """The anti-forgery value of a cookie session: derived from its token, so there is nothing to store."""
        return hmac.new(self._secret.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]

    def issue(self, claims: Claims) -> str:
        now = clock.now()
        payload = {
            "sub": str(claims.subject_id),
            "knd": claims.kind,
            "shp": claims.shop_id,
            "rol": claims.role,
            "iat": int(now.timestamp()),
            "ims": int(now.timestamp() * 1000),
            "exp": int((now + self._lifetime).timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(payload, self._secret, algorithm=_ALGORITHM)

    def _signed_payload(self, token: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                # Expiry is checked below against our clock (which the sandbox can move), not the wall clock.
                options={"verify_exp": False, "verify_iat": False, "require": ["sub", "knd", "shp", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized("invalid_token", "The access token is not valid.") from exc
        return payload

    def verify(self, token: str, kind: Kind) -> Claims:
        payload = self._verified(token)
        if payload["exp"] < clock.now().timestamp():
            raise Unauthorized("token_expired", "The access token has expired; log in again.")
        if payload["knd"] != kind:
            raise Unauthorized("invalid_token", f"This endpoint needs a {kind} token.")
        subject_id, token_id = int(payload["sub"]), payload.get("jti")
        issued_ms = int(payload.get("ims") or int(payload.get("iat") or 0) * 1000)
        if self.revocations.revoked(kind, subject_id, token_id, issued_ms):
            raise Unauthorized("token_revoked", "This session was logged out; log in again.")
        return Claims(kind=kind, subject_id=subject_id, shop_id=int(payload["shp"]), role=payload.get("rol"),
                      token_id=token_id, issued_ms=issued_ms, expires_at=int(payload["exp"]))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
