"""Distribution over HTTP: the promoter centre for customers, settings and approvals for the console."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from liebian.catalog import service as catalog
from liebian.distribution import commissions, promoters, queries, withdrawals
from liebian.distribution.rules import mask_nickname
from liebian.kit import idempotency
from liebian.kit.errors import Invalid, not_found
from liebian.kit.web import DbSession, IdempotencyKeyHeader, IdPath, Limit, Offset, OptionalCustomerClaims
from liebian.payouts import service as payouts
from liebian.shops.deps import ConsoleShop, CurrentShop, ShopCustomer

router = APIRouter(prefix="/api/v1/shops/{shop}/promoter", tags=["customer: distribution"])
console = APIRouter(prefix="/api/v1/console/distribution", tags=["console: distribution"])

CommissionStatus = Literal["pending", "settled", "cancelled"]
WithdrawalState = Literal["pending_review", "rejected", "transferring", "paid", "failed"]


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=4, max_length=12, pattern=r"^[A-Za-z0-9]+$")


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_fen: int = Field(gt=0, le=10**10)


class PromoterLevelOut(BaseModel):
    name: str
    min_sales_fen: int
    multiplier_bps: int


class ProgrammeOut(BaseModel):
    enabled: bool
    promoter_qualification: Literal["everyone", "apply", "threshold"]
    qualification_threshold_fen: int
    levels: int
    level_rates_bps: list[int]
    promoter_levels: list[PromoterLevelOut]
    settle_after_days: int
    withdrawal_min_fen: int
    withdrawal_fee_bps: int
    withdrawal_daily_limit_fen: int
    withdrawal_max_fen: int
    withdrawal_auto_approve_fen: int
    withdrawn_today_fen: int | None  # signed in only


@router.get("/programme", response_model=ProgrammeOut)
async def programme(shop: CurrentShop, session: DbSession, claims: OptionalCustomerClaims) -> ProgrammeOut:
    """The shop's distribution programme as a customer may read it (no login needed): how to become a
    promoter, default rates, ranks, settlement delay and the withdrawal terms (minimum, fee, limits)."""
    viewer = claims.subject_id if claims is not None and claims.shop_id == shop.id else None
    return ProgrammeOut(**await queries.programme(session, shop.id, viewer))


@router.post("/apply")
async def apply(shop: CurrentShop, claims: ShopCustomer, session: DbSession) -> dict[str, Any]:
    await promoters.apply(session, shop.id, claims.subject_id)
    return await queries.me(session, shop.id, claims.subject_id)


@router.get("/me")
async def me(shop: CurrentShop, claims: ShopCustomer, session: DbSession) -> dict[str, Any]:
    return await queries.me(session, shop.id, claims.subject_id)


@router.post("/invitations")
async def accept_invitation(body: InvitationIn, shop: CurrentShop, claims: ShopCustomer,
                            session: DbSession) -> dict[str, Any]:
    """Enter a promoter's invitation code: bound to them under the shop's binding policy (nothing is paid)."""
    bound = await promoters.accept_invitation(session, shop.id, claims.subject_id, body.code)
    return {"bound_promoter_id": bound}


@router.get("/commissions")
async def my_commissions(shop: CurrentShop, claims: ShopCustomer, session: DbSession,
                         status: CommissionStatus | None = None, limit: Limit = 20,
                         offset: Offset = 0) -> dict[str, Any]:
    return {"items": await queries.commissions(session, shop.id, beneficiary_id=claims.subject_id, status=status,
                                               limit=limit, offset=offset)}


@router.get("/team")
async def my_team(shop: CurrentShop, claims: ShopCustomer, session: DbSession,
                  level: Annotated[int, Query(ge=1, le=2)] = 1, limit: Limit = 20,
                  offset: Offset = 0) -> dict[str, Any]:
    return await promoters.team_of(session, shop.id, claims.subject_id, level=level, limit=limit, offset=offset)


@router.get("/leaderboard")
async def leaderboard(shop: CurrentShop, session: DbSession, limit: Limit = 20) -> dict[str, Any]:
    # Customers see masked nicknames and amounts only (no ids, no full names of other customers).
    rows = await queries.leaderboard(session, shop.id, limit=limit)
    return {"items": [{"rank": r["rank"], "nickname": mask_nickname(r["nickname"]), "settled_fen": r["settled_fen"],
                       "orders": r["orders"]} for r in rows]}


@router.post("/withdrawals", status_code=201)
async def request_withdrawal(body: WithdrawalIn, shop: CurrentShop, claims: ShopCustomer, session: DbSession,
                             key: IdempotencyKeyHeader) -> JSONResponse:
    scope = f"distribution.withdraw:{claims.subject_id}"
    if key is not None:
        replay = await idempotency.claim(session, shop_id=shop.id, scope=scope, key=key,
                                         fingerprint=idempotency.request_hash(body.model_dump()))
        if replay is not None:
            return JSONResponse(replay.body, status_code=replay.status_code)
    made = jsonable_encoder(await withdrawals.request(session, shop.id, claims.subject_id, body.amount_fen))
    if key is not None:
        await idempotency.store(session, shop_id=shop.id, scope=scope, key=key, status_code=201, body=made)
    return JSONResponse(made, status_code=201)


@router.get("/withdrawals")
async def my_withdrawals(shop: CurrentShop, claims: ShopCustomer, session: DbSession, limit: Limit = 20,
                         offset: Offset = 0) -> dict[str, Any]:
    return {"items": await withdrawals.list_withdrawals(session, shop.id, customer_id=claims.subject_id,
                                                        limit=limit, offset=offset)}


@router.get("/withdrawals/{withdrawal_id}")
async def my_withdrawal(withdrawal_id: IdPath, shop: CurrentShop, claims: ShopCustomer,
                        session: DbSession) -> dict[str, Any]:
    found = await withdrawals.get(session, shop.id, withdrawal_id, claims.subject_id)
    if found["out_bill_no"]:
        bill = await payouts.get_transfer(session, shop_id=shop.id, out_bill_no=found["out_bill_no"])
        found["transfer"] = {"state": bill.state, "created_at": bill.created_at, "finished_at": bill.finished_at}
    return found


@router.get("/withdrawals/{withdrawal_id}/confirm-params")
async def confirm_params(withdrawal_id: IdPath, shop: CurrentShop, claims: ShopCustomer,
                         session: DbSession) -> dict[str, str]:
    """What ``wx.requestMerchantTransfer`` needs for the promoter to accept the transfer (within 24 h)."""
    found = await withdrawals.get(session, shop.id, withdrawal_id, claims.subject_id)
    if not found["out_bill_no"]:
        raise Invalid("withdrawal_not_approved", "This withdrawal has not been approved yet.")
    return await payouts.confirm_params(session, shop_id=shop.id, customer_id=claims.subject_id,
                                        out_bill_no=found["out_bill_no"])


# --- console ----------------------------------------------------------------------------------------------

@console.get("/settings")
async def get_settings(shop: ConsoleShop, session: DbSession) -> dict[str, Any]:
    return await promoters.settings_view(session, shop.id)


@console.put("/settings")
async def put_settings(body: dict[str, Any], shop: ConsoleShop, session: DbSession) -> dict[str, Any]:
    """Partial or whole: the given fields replace the current ones, and the result is validated as a whole
    (``levels`` above 2 is refused with ``commission_depth_exceeded``)."""
    return await promoters.update_settings(session, shop.id, dict(body))


class ProductCommissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["rate", "fixed", "none"]
    level_values: list[Annotated[int, Field(ge=0, le=10**8)]] = Field(default_factory=lambda: [0, 0], min_length=1,
                                                                      max_length=2)


@console.put("/products/{product_id}/commission")
async def put_product_commission(product_id: IdPath, body: ProductCommissionIn, shop: ConsoleShop,
                                 session: DbSession) -> dict[str, Any]:
    """A rate (bp of what the line paid) or a fixed amount (fen per unit) per level, or ``none``."""
    if body.mode == "rate" and any(v > 10_000 for v in body.level_values):
        raise Invalid("invalid_commission_rate", "A rate is 0-10000 basis points.")
    await catalog.get_product(session, shop.id, product_id, public=False)
    values = [*body.level_values, 0][:2]
    await commissions.set_product_rule(session, shop.id, product_id, body.mode, (values[0], values[1]))
    return {"product_id": product_id, "mode": body.mode, "level_values": values}


@console.delete("/products/{product_id}/commission", status_code=204)
async def delete_product_commission(product_id: IdPath, shop: ConsoleShop, session: DbSession) -> None:
    await catalog.get_product(session, shop.id, product_id, public=False)  # another shop's product is 404
    await commissions.set_product_rule(session, shop.id, product_id, None, (0, 0))


@console.get("/promoters")
async def list_promoters(shop: ConsoleShop, session: DbSession,
                         status: Literal["pending", "active", "rejected", "disabled"] | None = None,
                         limit: Limit = 20, offset: Offset = 0) -> dict[str, Any]:
    """Each with nickname, rank, team size, commission pending and settled, and withdrawable balance."""
    return await queries.console_promoters(session, shop.id, status=status, limit=limit, offset=offset)


@console.get("/promoters/{customer_id}")
async def promoter_detail(customer_id: IdPath, shop: ConsoleShop, session: DbSession) -> dict[str, Any]:
    if await promoters.get(session, shop.id, customer_id) is None:
        raise not_found("promoter")
    return await queries.me(session, shop.id, customer_id)


@console.post("/promoters/{customer_id}/{action}")
async def decide_promoter(customer_id: IdPath, action: Literal["approve", "reject", "disable", "enable"],
                          shop: ConsoleShop, session: DbSession) -> dict[str, Any]:
    return asdict(await promoters.decide(session, shop.id, customer_id, action))


@console.get("/commissions")
async def list_commissions(shop: ConsoleShop, session: DbSession,
                           beneficiary_id: Annotated[int | None, Query(ge=1)] = None,
                           order_no: Annotated[str | None, Query(max_length=32)] = None,
                           status: CommissionStatus | None = None, limit: Limit = 20,
                           offset: Offset = 0) -> dict[str, Any]:
    return {"items": await queries.commissions(session, shop.id, beneficiary_id=beneficiary_id, order_no=order_no,
                                               status=status, limit=limit, offset=offset)}


@console.get("/leaderboard")
async def console_leaderboard(shop: ConsoleShop, session: DbSession, limit: Limit = 20) -> dict[str, Any]:
    return {"items": await queries.leaderboard(session, shop.id, limit=limit)}


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200)


@console.get("/withdrawals")
async def list_withdrawals(shop: ConsoleShop, session: DbSession, state: WithdrawalState | None = None,
                           limit: Limit = 20, offset: Offset = 0) -> dict[str, Any]:
    """Waiting ones first (oldest first), then the rest newest first; with nickname and the transfer's state."""
    return await withdrawals.console_list(session, shop.id, state=state, limit=limit, offset=offset)


@console.post("/withdrawals/{withdrawal_id}/approve")
async def approve_withdrawal(withdrawal_id: IdPath, shop: ConsoleShop, session: DbSession) -> dict[str, Any]:
    return await withdrawals.approve(session, shop.id, withdrawal_id)


@console.post("/withdrawals/{withdrawal_id}/reject")
async def reject_withdrawal(withdrawal_id: IdPath, body: RejectIn, shop: ConsoleShop,
                            session: DbSession) -> dict[str, Any]:
    return await withdrawals.reject(session, shop.id, withdrawal_id, body.reason)
