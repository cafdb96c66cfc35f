"""The fake's control API (not part of WeChat): what a tester or the sandbox asks the fake to do.

Mounted under ``/_fake`` on the fake's ASGI app; the same actions are plain methods for in-process use.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from liebian.integrations.wechat.fake import pay
from liebian.integrations.wechat.fake.core import FakeError

if TYPE_CHECKING:
    from liebian.integrations.wechat.fake.core import FakeWeChat


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    return data if isinstance(data, dict) else {}


def install(fake: FakeWeChat) -> None:
    async def pay_order(request: Request) -> Response:
        body = await _json(request)
        try:
            txn = pay.pay(fake, request.path_params["out_trade_no"], body.get("client_params"))
        except FakeError as exc:
            return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)
        delivered = await fake.deliver_due()
        return JSONResponse({"trade_state": txn.state, "transaction_id": txn.transaction_id,
                             "delivered": delivered})

    async def callbacks(request: Request) -> Response:
        body = await _json(request)
        c = fake.controls
        c.drop_callbacks += int(body.get("drop", 0))
        c.duplicate_callbacks += int(body.get("duplicate", 0))
        c.delay_callbacks_seconds = float(body.get("delay_seconds", c.delay_callbacks_seconds))
        c.tamper_callbacks += int(body.get("tamper", 0))
        return JSONResponse({"drop": c.drop_callbacks, "duplicate": c.duplicate_callbacks,
                             "delay_seconds": c.delay_callbacks_seconds, "tamper": c.tamper_callbacks})

    async def fail_next(request: Request) -> Response:
        body = await _json(request)
        fake.inject_failure(int(body.get("status", 500)), after_processing=bool(body.get("after_processing")),
                            count=int(body.get("count", 1)))
        return JSONResponse({"pending_failures": len(fake.controls.fail_calls)})

    async def complete_refund(request: Request) -> Response:
        body = await _json(request)
        try:
            refund = pay.complete_refund(fake, request.path_params["out_refund_no"], str(body.get("status", "SUCCESS")))
        except FakeError as exc:
            return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)
        await fake.deliver_due()
        return JSONResponse({"status": refund.status})

    async def probe(request: Request) -> Response:
        body = await _json(request)
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return JSONResponse({"code": "PARAM_ERROR", "message": "url (the notify_url) is required"},
                                status_code=400)
        return JSONResponse({"answered": await fake.send_probe(url)})

    async def tick(_: Request) -> Response:
        return JSONResponse({"delivered": await fake.tick()})

    fake.add_routes([
        Route("/_fake/payments/{out_trade_no}/pay", pay_order, methods=["POST"]),
        Route("/_fake/callbacks", callbacks, methods=["POST"]),
        Route("/_fake/callbacks/probe", probe, methods=["POST"]),
        Route("/_fake/fail-next", fail_next, methods=["POST"]),
        Route("/_fake/refunds/{out_refund_no}/complete", complete_refund, methods=["POST"]),
        Route("/_fake/tick", tick, methods=["POST"]),
    ])
