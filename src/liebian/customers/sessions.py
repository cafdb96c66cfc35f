"""A customer's sessions: "log out" (this token) and "log out everywhere" (every token issued until now)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response

from liebian.kit import audit
from liebian.kit.web import DbSession, Signer
from liebian.shops.deps import ShopCustomer

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: account"])


@router.post("/auth/logout", status_code=204)
async def logout(claims: ShopCustomer, session: DbSession, signer: Signer) -> Response:
    """This token stops working (at once in this process, within a second in the others)."""
    if claims.token_id is not None:
        await signer.revocations.revoke_token(session, kind="customer", shop_id=claims.shop_id,
                                              subject_id=claims.subject_id, token_id=claims.token_id,
                                              expires_at=datetime.fromtimestamp(claims.expires_at, UTC))
    else:  # a token from before token ids: all of this customer's go
        await signer.revocations.revoke_subject(session, kind="customer", shop_id=claims.shop_id,
                                                subject_id=claims.subject_id, lifetime=signer.lifetime)
    return Response(status_code=204)


@router.post("/auth/logout-all", status_code=204)
async def logout_everywhere(claims: ShopCustomer, session: DbSession, signer: Signer) -> Response:
    """Every token of this customer issued until now stops working (a lost phone); logging in again works."""
    await signer.revocations.revoke_subject(session, kind="customer", shop_id=claims.shop_id,
                                            subject_id=claims.subject_id, lifetime=signer.lifetime)
    await audit.record(session, audit.Event(shop_id=claims.shop_id, kind=audit.TOKENS_REVOKED,
                                            reason="logout_everywhere", actor=f"customer:{claims.subject_id}"))
    return Response(status_code=204)
