"""Page sessions: the API's own token kept in an HttpOnly cookie, with an anti-forgery value beside it.

The storefront's login picker and the console's login form call the ordinary JSON login endpoints, then hand
the token to ``POST /web/session``, which checks it and sets the cookies. Scripts never keep the token.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, Field

from liebian.kit.auth import Kind
from liebian.kit.errors import BadRequest, Forbidden
from liebian.kit.web import CSRF_COOKIES, SESSION_COOKIES, session_token, token_signer_of
from liebian.web.render import LANG_COOKIE

router = APIRouter(prefix="/web", tags=["pages"])
ONE_YEAR = 365 * 24 * 3600


class SessionIn(BaseModel):
    kind: Kind
    token: str = Field(min_length=10, max_length=2048)


class SessionOut(BaseModel):
    kind: Kind
    shop_id: int
    csrf: str


class LogoutIn(BaseModel):
    kind: Kind


class LanguageIn(BaseModel):
    lang: Literal["zh", "en"]


def _same_origin(request: Request) -> None:
    """Login CSRF: another site must not sign a visitor in as someone else. Browsers send Origin on POST."""
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
        raise Forbidden("cross_origin", "This request came from another site.")
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise BadRequest("json_required", "Send the session as application/json.")


@router.post("/session", response_model=SessionOut)
async def start_session(body: SessionIn, request: Request, response: Response) -> SessionOut:
    _same_origin(request)
    signer = token_signer_of(request)
    claims = signer.verify(body.token, body.kind)
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIES[body.kind], body.token, max_age=signer.lifetime_seconds, httponly=True,
                        samesite="lax", secure=secure, path="/")
    csrf = signer.csrf_for(body.token)
    # Readable by our scripts (they echo it in a header); other sites can neither read nor send it.
    response.set_cookie(CSRF_COOKIES[body.kind], csrf, max_age=signer.lifetime_seconds, httponly=False,
                        samesite="strict", secure=secure, path="/")
    return SessionOut(kind=body.kind, shop_id=claims.shop_id, csrf=csrf)


@router.post("/logout", status_code=204)
async def end_session(body: LogoutIn, request: Request, response: Response,
                      authorization: Annotated[str | None, Header()] = None) -> None:
    _same_origin(request)
    session_token(request, authorization, body.kind)  # a cookie session must show its anti-forgery value
    response.delete_cookie(SESSION_COOKIES[body.kind], path="/")
    response.delete_cookie(CSRF_COOKIES[body.kind], path="/")


@router.post("/language", status_code=204)
async def choose_language(body: LanguageIn, response: Response) -> None:
    response.set_cookie(LANG_COOKIE, body.lang, max_age=ONE_YEAR, samesite="lax", path="/")
