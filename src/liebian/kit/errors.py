"""Status-carrying errors rendered as ``application/problem+json`` with a stable ``code``.

Services raise these; one handler in ``app.py`` turns them into responses, so no service knows HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Problem(Exception):
    status: ClassVar[int] = 400
    default_title: ClassVar[str] = "Bad request"

    def __init__(self, code: str, detail: str, *, title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.title = title or self.default_title
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "type": f"https://liebian.dev/problems/{self.code}",
            "status": self.status,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            **self.extra,
        }


class BadRequest(Problem):
    status = 400
    default_title = "Bad request"


class Unauthorized(Problem):
    status = 401
    default_title = "Not authenticated"


class Forbidden(Problem):
    status = 403
    default_title = "Not allowed"


class NotFound(Problem):
    status = 404
    default_title = "Not found"


class Conflict(Problem):
    status = 409
    default_title = "Conflict"


class Invalid(Problem):
    status = 422
    default_title = "Invalid request"


class PayloadTooLarge(Problem):
    status = 413
    default_title = "Request too large"


class TooManyRequests(Problem):
    status = 429
    default_title = "Too many requests"


class BadGateway(Problem):
    status = 502
    default_title = "Upstream failure"


class ServiceUnavailable(Problem):
    status = 503
    default_title = "Temporarily unavailable"


def not_found(what: str) -> NotFound:
    return NotFound(f"{what}_not_found", f"No such {what.replace('_', ' ')}.")
