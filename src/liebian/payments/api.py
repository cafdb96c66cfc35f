from __future__ import annotations

from fastapi import APIRouter, Request, Response

from liebian.kit.web import DbSession
from liebian.payments import service
from liebian.payments.providers import registry

callbacks = APIRouter(prefix="/api/v1/callbacks", tags=["callbacks"])


@callbacks.post("/wechat/pay", status_code=204)
async def wechat_pay_notification(request: Request, session: DbSession) -> Response:
    """WeChat Pay notifications (payment, refund): verified, stored once by event id, processed once.

    A duplicate, or a concurrent copy of one being processed, answers 204 and changes nothing.
    """
    provider = registry.for_method("wechat")
    await service.handle_notification(session, provider.name, dict(request.headers), await request.body())
    return Response(status_code=204)
