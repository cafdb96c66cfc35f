from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from liebian.integrations.wechat.fake import FakeError
from liebian.kit import jobs
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict
from liebian.kit.web import DbSession, Signer, database
from liebian.payments import service as payments
from liebian.shops import service as shops

router = APIRouter(prefix="/api/v1/sandbox", tags=["sandbox"])


class SandboxShopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(min_length=3, max_length=40)
    name: str = Field(min_length=1, max_length=100)


@router.post("/shops", status_code=201)
async def create_shop(body: SandboxShopIn, session: DbSession, signer: Signer) -> dict[str, Any]:
    password = secrets.token_urlsafe(12)
    shop, owner = await shops.create_shop(session, slug=body.slug, name=body.name,
                                          owner_email=f"owner@{body.slug}.sandbox", owner_password=password)
    return {
        "shop": {"id": shop.id, "slug": shop.slug, "name": shop.name, "settings": shop.settings.model_dump()},
        "staff_token": shops.staff_token(signer, owner),
        "owner": {"email": owner.email, "password": password},
    }


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(gt=0, le=10 * 365 * 24 * 3600)


@router.post("/clock/advance")
async def advance_clock(body: AdvanceIn, session: DbSession) -> dict[str, str]:
    now = await clock.advance(session, body.seconds)
    return {"now": now.isoformat()}


@router.post("/jobs/run-due")
async def run_due(request: Request) -> dict[str, int]:
    return {"ran": await jobs.run_due(database(request))}


@router.post("/wechat/payments/{out_trade_no}/succeed", status_code=204)
async def succeed_payment(
    out_trade_no: Annotated[str, Path(min_length=1, max_length=32)], request: Request, session: DbSession
) -> Response:
    """The payer confirms in WeChat: the fake checks the order's paySign, takes the money and delivers
    the signed, encrypted ``TRANSACTION.SUCCESS`` notification to our callback route."""
    row = await payments.payment_by_out_trade_no(session, out_trade_no)
    if row.provider != "wechat":
        raise Conflict("not_a_wechat_payment", "Only WeChat Pay payments are completed here.")
    if row.status == "closed":
        raise Conflict("payment_closed", "This payment was closed (its order was cancelled).")
    if row.status == "paid":
        return Response(status_code=204)
    try:
        await request.app.state.wechat.control.pay(out_trade_no, row.client_params)
    except FakeError as exc:
        raise Conflict(f"wechat_{exc.code.lower()}", f"WeChat Pay refused the payment: {exc.message}") from exc
    return Response(status_code=204)
