"""FastAPI plumbing shared by every module's ``api.py``: the request's unit of work and identities."""

from __future__ import annotations

import hmac
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from liebian.kit import audit, jsonx
from liebian.kit.auth import Claims, Kind, TokenSigner
from liebian.kit.clock import clock
from liebian.kit.db import Database
from liebian.kit.errors import Forbidden, PayloadTooLarge, Unauthorized
from liebian.kit.idempotency import validate_key

ModelT = TypeVar("ModelT", bound=BaseModel)


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def token_signer_of(request: Request) -> TokenSigner:
    signer: TokenSigner = request.app.state.signer
    return signer


# Dependencies are ``async def`` even when they do not await: FastAPI runs a plain ``def`` dependency in a
# worker thread, and that thread hop cost more than the rest of a share visit.
async def token_signer(request: Request) -> TokenSigner:
    return token_signer_of(request)


@asynccontextmanager
async def _request_unit(request: Request, *, driver: bool) -> AsyncIterator[AsyncSession]:
    db = database(request)
    holder: list[AsyncSession] = []
    try:
        async with (db.driver_unit_of_work() if driver else db.unit_of_work()) as session:
            holder.append(session)
            if getattr(request.app.state, "clock_sync", False) and clock.needs_refresh():
                await clock.refresh(session)  # several API processes share the sandbox clock
            yield session
            await audit.record(session, *audit.take_pending(session))
    except Exception:
        if holder:
            await audit.write(db, audit.take_pending(holder[0]))
        raise


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed after the endpoint returns and before the answer is sent.

    Refusals kept for the audit trail (``audit.refusal``) are written whether it commits or rolls back.
    """
    async with _request_unit(request, driver=False) as session:
        yield session


def hot_session(request: Request) -> AbstractAsyncContextManager[AsyncSession]:
    """What :func:`request_session` gives an endpoint, on a driver session (``Database.driver_unit_of_work``):
    for a :class:`HotRoute` that runs the ordinary services (placing an order, a flash-sale entry)."""
    return _request_unit(request, driver=True)


async def refresh_shared_clock(request: Request) -> None:
    """For endpoints that do not take a :data:`DbSession` (hot paths): the same clock refresh."""
    if getattr(request.app.state, "clock_sync", False) and clock.needs_refresh():
        async with database(request).unit_of_work() as session:
            await clock.refresh(session)


DbSession = Annotated[AsyncSession, Depends(request_session, scope="function")]
Signer = Annotated[TokenSigner, Depends(token_signer)]


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("not_authenticated", "Send 'Authorization: Bearer <token>'.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("invalid_token", "Send 'Authorization: Bearer <token>'.")
    return token.strip()


HotHandler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class HotRoute:
    """An endpoint answered before FastAPI's middleware, routing and parameter machinery (see ``app.py``).

    It stays registered as an ordinary route too, with the same handler: that documents it in OpenAPI.
    """

    method: str
    pattern: re.Pattern[str]
    handler: HotHandler

    @classmethod
    def of(cls, method: str, path: str, handler: HotHandler) -> HotRoute:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        return cls(method, re.compile(f"^{regex}$"), handler)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.match(path)
        return None if found is None else found.groupdict()


class CompactJSONResponse(Response):
    """Starlette's ``JSONResponse`` rendered in C: the same bytes (compact, UTF-8) for a fraction of the CPU.
    For the hot routes' answers."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return jsonx.dumps_bytes(content)


# Hot paths declare no parameters to FastAPI (its parameter and body handling cost as much CPU as a share
# visit's SQL) and read the request themselves with these; errors are FastAPI's own 422s.
async def _read_body(request: Request, max_bytes: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadTooLarge("payload_too_large", f"The request body is larger than {max_bytes} bytes.")
    return bytes(body)


def _body_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [{**e, "loc": ("body", *e["loc"]) if e["type"] != "json_invalid" else ("body",)} for e in exc.errors()]


async def json_body(request: Request, model: type[ModelT], *, max_bytes: int = 16 * 1024) -> ModelT:
    try:
        return model.model_validate_json(await _read_body(request, max_bytes))
    except ValidationError as exc:
        raise RequestValidationError(_body_errors(exc)) from None


async def json_body_later(request: Request, model: type[ModelT], *,
                          max_bytes: int = 64 * 1024) -> Callable[[], ModelT]:
    """The body read now and validated when the returned function is called, in FastAPI's order: malformed
    JSON is refused at once, a field's problems only after the path, headers and identity are checked."""
    body = await _read_body(request, max_bytes)
    if not body:  # as FastAPI answers a required body that was not sent
        errors: list[dict[str, Any]] = [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
    else:
        try:
            parsed = model.model_validate_json(body)
        except ValidationError as exc:
            errors = _body_errors(exc)
            if any(e["type"] == "json_invalid" for e in errors):
                raise RequestValidationError(errors) from None
        else:
            return lambda: parsed

    def refuse() -> ModelT:
        raise RequestValidationError(errors)
    return refuse


def path_id_errors(value: str, name: str) -> tuple[int, list[dict[str, Any]]]:
    """An id from the path as FastAPI checks :data:`IdPath` (an integer, 1 to :data:`MAX_ID`): the id, or 0 and
    the errors, to be reported with the body's (FastAPI reports a route's own parameters and its body together)."""
    try:
        return _PATH_ID.validate_python(value), []
    except ValidationError as exc:
        return 0, [{**e, "loc": ("path", name)} for e in exc.errors()]


def validated(body: Callable[[], ModelT], errors: list[dict[str, Any]]) -> ModelT:
    """The body from :func:`json_body_later`, or every error of the route's own parameters and of the body."""
    try:
        parsed = body()
    except RequestValidationError as exc:
        raise RequestValidationError([*errors, *exc.errors()]) from None
    if errors:
        raise RequestValidationError(errors)
    return parsed


def checked_param(value: str | None, where: str, name: str, *, max_length: int,
                  pattern: re.Pattern[str] | None = None) -> str | None:
    if value is not None and (len(value) > max_length or (pattern is not None and not pattern.match(value))):
        raise RequestValidationError([{"type": "string_pattern_mismatch", "loc": (where, name),
                                       "msg": f"Invalid {name}", "input": value}])
    return value


def claims_from_header(request: Request, authorization: str | None, kind: Kind) -> Claims | None:
    """For hot paths that read the header themselves: no token is None, a token sent must be valid."""
    token = session_token(request, authorization, kind)
    return None if token is None else token_signer_of(request).verify(token, kind)


# The storefront and console pages sign in with an HttpOnly cookie holding the same token (see liebian.web).
# A cookie is sent by the browser on its own, so a request that changes something must also carry the
# session's anti-forgery value in a header, which another site's page can neither read nor set.
SESSION_COOKIES: dict[Kind, str] = {"customer": "lb_ct", "staff": "lb_st"}
CSRF_COOKIES: dict[Kind, str] = {"customer": "lb_csrf_c", "staff": "lb_csrf_s"}
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_token(request: Request, authorization: str | None, kind: Kind) -> str | None:
    """The bearer token if one is sent, else the page session's cookie (checked against forgery)."""
    if authorization is not None:
        return _bearer(authorization)
    cookie = request.cookies.get(SESSION_COOKIES[kind])
    if not cookie:
        return None
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), token_signer_of(request).csrf_for(cookie).encode()):
            raise Forbidden("csrf_failed", "This form's anti-forgery token is missing or stale; reload the page.")
    return cookie


def customer_claims_of(request: Request) -> Claims:
    """For hot routes that read their own headers: the customer's claims, or 401 as :data:`CustomerClaims`."""
    return _claims(request, request.headers.get("authorization"), "customer")


def _claims(request: Request, authorization: str | None, kind: Kind) -> Claims:
    token = session_token(request, authorization, kind)
    if token is None:
        raise Unauthorized("not_authenticated", "Send 'Authorization: Bearer <token>'.")
    return token_signer_of(request).verify(token, kind)


async def customer_claims(request: Request, authorization: Annotated[str | None, Header()] = None) -> Claims:
    return _claims(request, authorization, "customer")


async def staff_claims(request: Request, authorization: Annotated[str | None, Header()] = None) -> Claims:
    return _claims(request, authorization, "staff")


async def optional_customer_claims(request: Request,
                                   authorization: Annotated[str | None, Header()] = None) -> Claims | None:
    """Anonymous visitors are welcome; a token that is sent must still be valid."""
    token = session_token(request, authorization, "customer")
    return None if token is None else token_signer_of(request).verify(token, "customer")


CustomerClaims = Annotated[Claims, Depends(customer_claims)]
OptionalCustomerClaims = Annotated[Claims | None, Depends(optional_customer_claims)]
StaffClaims = Annotated[Claims, Depends(staff_claims)]


async def idempotency_key(idempotency_key: Annotated[str | None, Header()] = None) -> str | None:
    return None if idempotency_key is None else validate_key(idempotency_key)


IdempotencyKeyHeader = Annotated[str | None, Depends(idempotency_key)]


MAX_ID = 2**63 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
_PATH_ID: TypeAdapter[int] = TypeAdapter(Annotated[int, Field(ge=1, le=MAX_ID)])
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
