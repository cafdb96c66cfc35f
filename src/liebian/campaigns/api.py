"""Campaigns over HTTP: the console's campaigns, their codes, spend (entered or imported) and reports.

Customers meet campaigns only through their codes (``POST visits``, the landing page, ``POST orders`` with a
``share_code``) and through product search (recorded by :mod:`liebian.campaigns.search`).
"""

from __future__ import annotations

from datetime import date, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from liebian.campaigns import reports, service, spend
from liebian.campaigns.schemas import (
    CampaignDetail,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    CampaignState,
    CodeIn,
    CodeOut,
    ImportOut,
    Report,
    SpendIn,
    SpendOut,
)
from liebian.fission import shares
from liebian.fission.api import share_out
from liebian.fission.rules import Channel
from liebian.kit.errors import Invalid, PayloadTooLarge
from liebian.kit.web import DbSession, IdPath, Limit, Offset
from liebian.shops.deps import ConsoleShop
from liebian.shops.service import ShopRef

router = APIRouter(prefix="/api/v1/shops/{shop}", tags=["customer: campaigns"])
console = APIRouter(prefix="/api/v1/console/campaigns", tags=["console: campaigns"])

MAX_CSV_BYTES = 1024 * 1024
From = Annotated[date | None, Query(alias="from", description="first Asia/Shanghai day (YYYY-MM-DD)")]
To = Annotated[date | None, Query(description="last Asia/Shanghai day, included")]
Format = Annotated[Literal["json", "csv"], Query()]
CSV_MEDIA = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel")


def _code_out(request: Request, shop: ShopRef, share: shares.ShareRow, label: str | None) -> CodeOut:
    links = share_out(request, shop, share)
    return CodeOut(code=links.code, label=label, url=links.url, scene=links.scene, qr_png_url=links.qr_png_url,
                   qr_svg_url=links.qr_svg_url, poster_png_url=links.poster_png_url,
                   wxacode_png_url=links.wxacode_png_url, channel=links.channel, campaign=links.campaign,
                   created_at=links.created_at)


async def _detail(request: Request, shop: ShopRef, session: DbSession, campaign_id: int) -> CampaignDetail:
    campaign, spent = await service.detail(session, shop.id, campaign_id)
    codes = [_code_out(request, shop, share, label) for share, label in
             await service.codes(session, shop.id, campaign_id)]
    return service.detail_out(campaign, spent, codes)


def _report_answer(result: Report, fmt: str, filename: str) -> Report | Response:
    if fmt == "csv":
        return Response(reports.as_csv(result), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return result


def _days(first: date | None, last: date | None, default_first: date) -> tuple[date, date]:
    last = last or max(service.today(), first or service.today())
    return first or min(default_first, last), last


@console.post("", response_model=CampaignDetail, status_code=201)
async def create_campaign(body: CampaignIn, request: Request, shop: ConsoleShop, session: DbSession) -> CampaignDetail:
    """A campaign and its first landing code (a shop-owned share on the campaign's channel)."""
    campaign, share = await service.create(session, shop.id, body)
    return service.detail_out(campaign, 0, [_code_out(request, shop, share, body.code_label)])


@console.get("", response_model=CampaignPage)
async def list_campaigns(shop: ConsoleShop, session: DbSession, channel: Channel | None = None,
                         status: CampaignState | None = None, limit: Limit = 20, offset: Offset = 0) -> CampaignPage:
    return await service.list_campaigns(session, shop.id, channel=channel.value if channel else None, state=status,
                                        limit=limit, offset=offset)


@console.get("/report", response_model=Report, responses={200: {"content": {"text/csv": {}}}})
async def shop_report(shop: ConsoleShop, session: DbSession, from_: From = None, to: To = None,
                      group_by: Literal["campaign", "channel"] = "campaign", format: Format = "json"
                      ) -> Report | Response:
    """Every campaign (or every channel with traffic or spend) over the range; default: the last 30 days."""
    first, last = _days(from_, to, service.today() - timedelta(days=29))
    result = await reports.report(session, shop.id, first=first, last=last, group_by=group_by)
    return _report_answer(result, format, f"campaigns-{group_by}-{first}-{last}.csv")


async def _csv_text(request: Request) -> str:
    content_type = request.headers.get("content-type", "")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_CSV_BYTES:
            raise PayloadTooLarge("payload_too_large", f"A spend file is at most {MAX_CSV_BYTES} bytes.")
    data = bytes(body)
    if content_type.startswith("multipart/form-data"):
        data = _multipart_file(content_type, data)
    elif content_type.split(";")[0].strip().lower() not in CSV_MEDIA:
        raise Invalid("unsupported_media_type", "Send the CSV as text/csv, or as the 'file' field of a form.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")  # what Excel saves as "CSV" on a Chinese Windows
        except UnicodeDecodeError:
            raise Invalid("invalid_spend_csv", "The file is neither UTF-8 nor GB18030 text.", rows=[]) from None


def _multipart_file(content_type: str, data: bytes) -> bytes:
    message = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + data)
    parts: list[Message] = message.get_payload() if message.is_multipart() else []  # type: ignore[assignment]
    for part in parts:
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise Invalid("invalid_spend_csv", "The form has no 'file' field.", rows=[])


_IMPORT_DOC: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}, "example": "date,campaign,amount_yuan\n2026-11-20,cmp-1,300.00\n"},
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                  "format": "binary"}}}}}}}


@console.post("/spend/import", response_model=ImportOut, openapi_extra=_IMPORT_DOC)
async def import_spend(request: Request, shop: ConsoleShop, session: DbSession) -> ImportOut:
    """A daily spend CSV: header ``date,campaign,amount_yuan`` (or ``amount_fen``); all rows or none."""
    return await spend.import_csv(session, shop.id, await _csv_text(request))


@console.get("/{campaign_id}", response_model=CampaignDetail)
async def get_campaign(campaign_id: IdPath, request: Request, shop: ConsoleShop, session: DbSession
                       ) -> CampaignDetail:
    return await _detail(request, shop, session, campaign_id)


@console.patch("/{campaign_id}", response_model=CampaignOut)
async def update_campaign(campaign_id: IdPath, body: CampaignPatch, shop: ConsoleShop,
                          session: DbSession) -> CampaignOut:
    campaign = await service.update(session, shop.id, campaign_id, body)
    return service.out(campaign, await service.spent(session, campaign_id), service.today())


@console.post("/{campaign_id}/end", response_model=CampaignOut)
async def end_campaign(campaign_id: IdPath, shop: ConsoleShop, session: DbSession) -> CampaignOut:
    campaign = await service.end(session, shop.id, campaign_id)
    return service.out(campaign, await service.spent(session, campaign_id), service.today())


@console.post("/{campaign_id}/codes", response_model=CodeOut, status_code=201)
async def add_code(campaign_id: IdPath, request: Request, shop: ConsoleShop, session: DbSession,
                   body: CodeIn | None = None) -> CodeOut:
    """Another placement's code (an official-account article or menu entry, another ad creative)."""
    label = body.label if body else None
    return _code_out(request, shop, await service.new_code(session, shop.id, campaign_id, label), label)


@console.get("/{campaign_id}/codes", response_model=list[CodeOut])
async def list_codes(campaign_id: IdPath, request: Request, shop: ConsoleShop, session: DbSession) -> list[CodeOut]:
    await service.get_row(session, shop.id, campaign_id)
    return [_code_out(request, shop, share, label) for share, label in
            await service.codes(session, shop.id, campaign_id)]


@console.put("/{campaign_id}/spend/{day}", response_model=SpendOut)
async def put_spend(campaign_id: IdPath, day: Annotated[date, Path()], body: SpendIn, shop: ConsoleShop,
                    session: DbSession) -> SpendOut:
    """Sets the day's spend (entering it again changes nothing)."""
    return await spend.put_day(session, shop.id, campaign_id, day, body.amount_fen)


@console.get("/{campaign_id}/spend", response_model=list[SpendOut])
async def list_spend(campaign_id: IdPath, shop: ConsoleShop, session: DbSession) -> list[SpendOut]:
    await service.get_row(session, shop.id, campaign_id)
    return await spend.list_days(session, shop.id, campaign_id)


@console.get("/{campaign_id}/report", response_model=Report, responses={200: {"content": {"text/csv": {}}}})
async def campaign_report(campaign_id: IdPath, shop: ConsoleShop, session: DbSession, from_: From = None,
                          to: To = None, format: Format = "json") -> Report | Response:
    """One campaign over the range; default: from its first day to today."""
    campaign = await service.get_row(session, shop.id, campaign_id)
    first, last = _days(from_, to, campaign.starts_on)
    result = await reports.report(session, shop.id, first=first, last=last, group_by="campaign", only=campaign_id)
    return _report_answer(result, format, f"campaign-{campaign.key}-{first}-{last}.csv")
