"""Console sessions: the throttled login, "log out", "log out everywhere", and the shop's audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit import audit, ratelimit
from liebian.kit.auth import Claims, TokenSigner
from liebian.kit.sql import text
from liebian.kit.web import DbSession, Limit, Offset, Signer, StaffClaims
from liebian.shops import service
from liebian.shops.deps import ConsoleShop

console = APIRouter(prefix="/api/v1/console", tags=["console: shop"])

THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many attempts: `login_throttled`, with `Retry-After`"}}


async def throttled_login(request: Request, session: AsyncSession, signer: TokenSigner, *, email: str,
                          password: str) -> str:
    """At most ``LIEBIAN_LIMIT_CONSOLE_LOGIN`` failed (or concurrent) attempts per email and address.

    The attempt is counted before the password is checked, so a burst of parallel guesses cannot pass the
    count together, and given back when it succeeds: the owner who types well is never throttled.
    """
    limits = ratelimit.rate_limits(request)
    rule, ip = limits.rules["console_login"], ratelimit.client_ip(request)
    key = f"{email.strip().lower()}|{ip}"
    over = [v for v in await limits.shared.hit([(rule, key)]) if not v.allowed]
    if over:
        if over[0].first_refusal:
            shop_id = (await session.execute(text("SELECT shop_id FROM staff WHERE lower(email) = :e"),
                                             {"e": email.strip().lower()})).scalar()
            await audit.write(limits.db, [audit.Event(
                shop_id=shop_id, kind=audit.LOGIN_THROTTLED, reason="limit_console_login", actor=f"ip:{ip}",
                target="console_login", details={"limit": rule.limit, "window_seconds": rule.window_seconds})])
        raise ratelimit.refused(over[0], "login_throttled", "login attempts")
    token = await service.login(session, signer, email=email, password=password)
    await limits.shared.give_back(rule, key)
    return token


def _expiry(claims: Claims) -> datetime:
    return datetime.fromtimestamp(claims.expires_at, UTC)


@console.post("/auth/logout", status_code=204)
async def logout(claims: StaffClaims, session: DbSession, signer: Signer) -> Response:
    """This token stops working (at once in this process, within a second in the others)."""
    if claims.token_id is not None:
        await signer.revocations.revoke_token(session, kind="staff", shop_id=claims.shop_id,
                                              subject_id=claims.subject_id, token_id=claims.token_id,
                                              expires_at=_expiry(claims))
    else:  # a token from before token ids: all of this staff member's go
        await signer.revocations.revoke_subject(session, kind="staff", shop_id=claims.shop_id,
                                                subject_id=claims.subject_id, lifetime=signer.lifetime)
    return Response(status_code=204)


@console.post("/auth/logout-all", status_code=204)
async def logout_everywhere(claims: StaffClaims, session: DbSession, signer: Signer) -> Response:
    """Every token of this staff member issued until now stops working; logging in again gives a new one."""
    await signer.revocations.revoke_subject(session, kind="staff", shop_id=claims.shop_id,
                                            subject_id=claims.subject_id, lifetime=signer.lifetime)
    await audit.record(session, audit.Event(shop_id=claims.shop_id, kind=audit.TOKENS_REVOKED,
                                            reason="logout_everywhere", actor=f"staff:{claims.subject_id}"))
    return Response(status_code=204)


class AuditItem(BaseModel):
    id: int
    at: datetime
    kind: str
    actor: str | None
    target: str | None
    reason: str
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditItem]
    total: int
    limit: int
    offset: int


AuditKind = Annotated[str | None, Query(pattern="^(" + "|".join(audit.KINDS) + ")$")]


@console.get("/audit", response_model=AuditPage)
async def audit_trail(shop: ConsoleShop, session: DbSession, kind: AuditKind = None, limit: Limit = 50,
                      offset: Offset = 0) -> AuditPage:
    """What was refused in this shop and why (alt-account rings, self-referral, rate limits, throttled logins),
    and who read a customer's phone number, newest first."""
    items, total = await audit.page(session, shop.id, kind=kind, limit=limit, offset=offset)
    return AuditPage(items=[AuditItem(**i) for i in items], total=total, limit=limit, offset=offset)
