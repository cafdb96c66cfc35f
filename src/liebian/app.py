"""``create_app()``: routers, error handlers, the in-process worker."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from liebian import __version__, gateways, wiring
from liebian.analytics import api as analytics_api
from liebian.analytics import dashboard as analytics_dashboard
from liebian.analytics import seeding_api as analytics_seeding_api
from liebian.bargain import api as bargain_api
from liebian.campaigns import api as campaigns_api
from liebian.catalog import api as catalog_api
from liebian.catalog import uploads as catalog_uploads
from liebian.community import api as community_api
from liebian.coupons import api as coupons_api
from liebian.customers import api as customers_api
from liebian.customers import sessions as customers_sessions
from liebian.distribution import api as distribution_api
from liebian.fission import api as fission_api
from liebian.fission import landing as fission_landing
from liebian.flashsale import api as flashsale_api
from liebian.groupbuy import api as groupbuy_api
from liebian.integrations.remote_images import FetchPolicy, RemoteImages
from liebian.kit import ratelimit
from liebian.kit import redis as kit_redis
from liebian.kit.auth import TokenSigner
from liebian.kit.clock import clock
from liebian.kit.db import DRIVER_ERRORS, Database, make_engine, unavailable
from liebian.kit.errors import Problem
from liebian.kit.jobs import Worker
from liebian.kit.web import HotRoute
from liebian.miniapp import api as miniapp_api
from liebian.orders import api as orders_api
from liebian.orders import contact as orders_contact
from liebian.payments import api as payments_api
from liebian.sandbox import api as sandbox_api
from liebian.settings import ConfigurationError, Settings, get_settings
from liebian.shops import api as shops_api
from liebian.shops import sessions as shops_sessions
from liebian.stores import api as stores_api
from liebian.web import pages as web_pages
from liebian.web import session as web_session
from liebian.web.static_files import static_app

log = logging.getLogger("liebian")
PROBLEM = "application/problem+json"


def problem_response(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"https://liebian.dev/problems/{code}", "status": status, "code": code, "title": title,
            "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _sqlstate(exc: DBAPIError) -> str | None:
    original = exc.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    cause = getattr(original, "__cause__", None)
    return code or getattr(cause, "sqlstate", None)


class LiebianAPI(FastAPI):
    """FastAPI with a short way in for the hottest endpoints.

    A share visit's SQL costs less CPU than Starlette's middleware stack, FastAPI's routing and its parameter
    handling around it; a :class:`HotRoute` is matched first and its handler called directly, with the same
    exception handlers as every other route. Everything else goes through FastAPI unchanged.
    """

    hot_routes: tuple[HotRoute, ...] = ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.hot_routes:
                params = route.match(scope["method"], scope["path"])
                if params is not None:
                    await self._answer_hot(route, params, scope, receive, send)
                    return
        await super().__call__(scope, receive, send)

    async def _answer_hot(self, route: HotRoute, params: dict[str, str], scope: Scope, receive: Receive,
                          send: Send) -> None:
        scope["app"], scope["path_params"] = self, params
        request = Request(scope, receive)
        try:
            response = await route.handler(request)
        except Exception as exc:
            handler = next(self.exception_handlers[c] for c in type(exc).__mro__ if c in self.exception_handlers)
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)


def _database_unavailable(exc: Exception) -> JSONResponse:
    """PostgreSQL restarting or unreachable: 503 with Retry-After, never a dropped connection; the request's
    transaction did not commit (or, lost during COMMIT, is replayed by its Idempotency-Key on the retry)."""
    log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
    response = problem_response(503, "database_unavailable", "Temporarily unavailable",
                                "The database cannot be reached right now; retry in a moment.", retry_after=1)
    response.headers["Retry-After"] = "1"
    return response


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        body = exc.body()
        retry = body.get("retry_after")  # a rate limit says when to come back, in the header too (RFC 9110)
        headers = {"Retry-After": str(retry)} if isinstance(retry, int) and exc.status in (429, 503) else None
        return JSONResponse(body, status_code=exc.status, media_type=PROBLEM, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(422, "invalid_json", "Malformed JSON", "The request body is not valid JSON.",
                                    errors=errors)
        return problem_response(422, "validation_error", "Invalid request",
                                "Some fields are missing or have the wrong type or size.", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        return problem_response(exc.status_code, code, str(exc.detail), str(exc.detail))

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        # Text PostgreSQL cannot store (a NUL character, bytes invalid in UTF-8) is bad input, not our failure;
        # the request's transaction has already rolled back, so nothing was written.
        if _sqlstate(exc) in {"22021", "22P05"}:
            return problem_response(422, "validation_error", "Invalid request",
                                    "Text fields must not contain NUL or other unstorable characters.")
        if unavailable(exc):
            return _database_unavailable(exc)
        log.exception("database error", exc_info=exc)
        return problem_response(500, "internal_error", "Internal error", "Something went wrong on our side.")

    async def _driver(_: Request, exc: Exception) -> JSONResponse:
        # Registered per class (not as the catch-all below), so the answer goes out through the ordinary
        # exception middleware and the client's connection stays usable.
        if unavailable(exc):
            return _database_unavailable(exc)
        log.exception("unhandled error", exc_info=exc)
        return problem_response(500, "internal_error", "Internal error", "Something went wrong on our side.")

    for error in DRIVER_ERRORS:  # the driver's own errors (hot paths, and connecting, are not wrapped)
        app.add_exception_handler(error, _driver)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(500, "internal_error", "Internal error", "Something went wrong on our side.")


def _freeze_startup_objects() -> None:
    """What start-up made (modules, routes, models) lives as long as the process: kept out of the cyclic
    collector's sweeps, which otherwise walk all of it again and again under load."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, db: Database | None = None,
               run_worker: bool = False) -> FastAPI:
    settings = settings or get_settings()
    if db is None:
        if not settings.database_url:
            raise ConfigurationError("set LIEBIAN_DATABASE_URL, or start with 'liebian serve' (embedded PostgreSQL)")
        db = Database(make_engine(settings.database_url, pool_size=settings.pool_size,
                                  max_overflow=settings.pool_max_overflow), driver_pool_size=settings.hot_pool_size)
    wiring.install(settings)
    database = db

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with database.sessions() as session:
            await clock.refresh(session)
            await app.state.signer.revocations.refresh(session)
        _freeze_startup_objects()
        # Tokens revoked by the other API processes are picked up within a second (liebian.kit.revocation).
        following = asyncio.create_task(app.state.signer.revocations.follow(database))
        worker = Worker(database, settings.worker_poll_seconds) if run_worker else None
        task = asyncio.create_task(worker.run()) if worker else None
        try:
            yield
        finally:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            if worker and task:
                worker.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await app.state.wechat.aclose()
            await app.state.remote_images.aclose()
            await kit_redis.close(app.state.redis)
            await database.dispose()

    app = LiebianAPI(title="Liebian 裂变", version=__version__, lifespan=lifespan,
                  description="Social e-commerce engine: commerce core, fission, group buying, distribution.")
    app.state.db = database
    app.state.settings = settings
    # Optional (LIEBIAN_REDIS_URL): flash-sale stock; connects on first use, closed when the app stops.
    app.state.redis = kit_redis.connect(settings.redis_url) if settings.redis_url else None
    kit_redis.install(app.state.redis)
    app.state.signer = TokenSigner(settings.resolved_secret_key(), settings.access_token_minutes)
    app.state.rate_limits = ratelimit.RateLimits(
        {name: getattr(settings, f"limit_{name}") for name in ratelimit.RULE_NAMES}, database, app.state.redis)
    # Poster photos: loopback allowed only in the sandbox (its demo and tests serve photos locally).
    app.state.remote_images = RemoteImages(FetchPolicy(allow_private=settings.sandbox),
                                           settings.home / "cache" / "photos")
    _install_error_handlers(app)
    for router in (shops_api.console, shops_sessions.console, customers_sessions.router, customers_api.router,
                   catalog_api.router, catalog_api.console, orders_contact.console,
                   orders_api.router, orders_api.console, payments_api.callbacks, miniapp_api.router,
                   miniapp_api.console, fission_api.router, fission_api.console, fission_landing.router,
                   groupbuy_api.router, groupbuy_api.console, distribution_api.router,
                   distribution_api.console, coupons_api.router, coupons_api.console, bargain_api.router,
                   bargain_api.console, flashsale_api.router, flashsale_api.console, stores_api.router,
                   stores_api.console, campaigns_api.router, campaigns_api.console, community_api.router,
                   community_api.console, analytics_api.console, analytics_seeding_api.console,
                   analytics_dashboard.console, catalog_uploads.console, catalog_uploads.media, customers_api.console,
                   web_session.router, web_pages.storefront_router, web_pages.console_router):
        app.include_router(router)
    app.mount("/static", static_app(), name="static")
    app.hot_routes = fission_api.hot_routes + orders_api.hot_routes + flashsale_api.hot_routes
    app.state.wechat = gateways.install(settings, app)
    app.state.identity = app.state.wechat.identity
    if settings.sandbox:
        app.include_router(sandbox_api.router)
        if app.state.wechat.fake is not None:
            # The fake's own HTTP surface (its WeChat APIs and its /_fake controls), for curl and tests.
            app.mount("/api/v1/sandbox/wechat/fake", app.state.wechat.fake.app)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "mode": settings.mode.value, "version": __version__}

    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (``liebian serve --workers N``): every process runs a worker too."""
    app = create_app(run_worker=True)
    app.state.clock_sync = app.state.settings.sandbox
    return app
