"""FastAPI plumbing shared by every module's ``api.py``: the request's unit of work and identities."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit.auth import Claims, TokenSigner
from liebian.kit.clock import clock
from liebian.kit.db import Database
from liebian.kit.errors import Unauthorized
from liebian.kit.idempotency import validate_key


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def token_signer(request: Request) -> TokenSigner:
    signer: TokenSigner = request.app.state.signer
    return signer


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed after the endpoint returns and before the answer is sent."""
    async with database(request).unit_of_work() as session:
        if getattr(request.app.state, "clock_sync", False) and clock.needs_refresh():
            await clock.refresh(session)  # several API processes share the sandbox clock
        yield session


DbSession = Annotated[AsyncSession, Depends(request_session, scope="function")]
Signer = Annotated[TokenSigner, Depends(token_signer)]


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("not_authenticated", "Send 'Authorization: Bearer <token>'.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("invalid_token", "Send 'Authorization: Bearer <token>'.")
    return token.strip()


def customer_claims(signer: Signer, authorization: Annotated[str | None, Header()] = None) -> Claims:
    return signer.verify(_bearer(authorization), "customer")


def staff_claims(signer: Signer, authorization: Annotated[str | None, Header()] = None) -> Claims:
    return signer.verify(_bearer(authorization), "staff")


def optional_customer_claims(signer: Signer, authorization: Annotated[str | None, Header()] = None) -> Claims | None:
    """Anonymous visitors are welcome; a token that is sent must still be valid."""
    return None if authorization is None else signer.verify(_bearer(authorization), "customer")


CustomerClaims = Annotated[Claims, Depends(customer_claims)]
OptionalCustomerClaims = Annotated[Claims | None, Depends(optional_customer_claims)]
StaffClaims = Annotated[Claims, Depends(staff_claims)]


def idempotency_key(idempotency_key: Annotated[str | None, Header()] = None) -> str | None:
    return None if idempotency_key is None else validate_key(idempotency_key)


IdempotencyKeyHeader = Annotated[str | None, Depends(idempotency_key)]


MAX_ID = 2**63 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
