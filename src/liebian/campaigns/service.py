"""Campaigns: the console creates, lists, changes and ends them; each has its own landing codes.

A landing code is a fission share owned by the shop (no sharer), on the campaign's channel, carrying the
campaign's key in ``campaign``; ``campaign_codes`` lists them, so reports find exactly this campaign's
visits and orders whatever else uses the ``campaign`` label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from liebian.campaigns import rules
from liebian.campaigns.schemas import (
    CampaignDetail,
    CampaignIn,
    CampaignOut,
    CampaignPage,
    CampaignPatch,
    CampaignState,
    GeoIn,
    GeoOut,
    LandingOut,
)
from liebian.fission import shares
from liebian.fission.rules import TargetType
from liebian.kit.clock import clock
from liebian.kit.errors import Conflict, Invalid, NotFound
from liebian.kit.sql import text
from liebian.stores import service as stores

COLUMNS = ("id, shop_id, key, name, channel, starts_on, ends_on, landing_type, landing_id, geo_store_id, "
           "geo_radius_m, budget_fen, note, status, created_at, ended_at")
_SPENT = "(SELECT coalesce(sum(amount_fen), 0) FROM campaign_spend WHERE campaign_id = c.id) AS spend_fen"


def campaign_not_found() -> NotFound:
    return NotFound("campaign_not_found", "No such campaign in this shop.")


@dataclass(frozen=True)
class CampaignRow:
    id: int
    shop_id: int
    key: str
    name: str
    channel: str
    starts_on: date
    ends_on: date
    landing_type: str
    landing_id: int
    geo_store_id: int | None
    geo_radius_m: int | None
    budget_fen: int | None
    note: str | None
    status: str
    created_at: datetime
    ended_at: datetime | None

    def state(self, today: date) -> CampaignState:
        if self.status == "ended" or today > self.ends_on:
            return "ended"
        return "scheduled" if today < self.starts_on else "active"


def _row(r: Any) -> CampaignRow:
    return CampaignRow(**{k: v for k, v in r._mapping.items() if k != "spend_fen"})


def out(c: CampaignRow, spend_fen: int, today: date) -> CampaignOut:
    geo = GeoOut(store_id=c.geo_store_id, radius_m=c.geo_radius_m) if c.geo_store_id and c.geo_radius_m else None
    return CampaignOut(id=c.id, key=c.key, name=c.name, channel=c.channel, status=c.state(today),
                       starts_on=c.starts_on, ends_on=c.ends_on,
                       landing=LandingOut(target_type=c.landing_type, target_id=c.landing_id), geo=geo,
                       budget_fen=c.budget_fen, spend_fen=spend_fen, note=c.note, created_at=c.created_at,
                       ended_at=c.ended_at)


def today() -> date:
    return rules.local_day(clock.now())


async def get_row(session: AsyncSession, shop_id: int, campaign_id: int, *, lock: bool = False) -> CampaignRow:
    """Another shop's campaign is not found, like a missing one."""
    row = (await session.execute(
        text(f"SELECT {COLUMNS} FROM campaigns WHERE id = :id AND shop_id = :s" + (" FOR UPDATE" if lock else "")),
        {"id": campaign_id, "s": shop_id})).first()
    if row is None:
        raise campaign_not_found()
    return _row(row)


async def _check_geo(session: AsyncSession, shop_id: int, geo: GeoIn | None) -> None:
    if geo is not None and not await stores.store_exists(session, shop_id, geo.store_id):
        raise NotFound("store_not_found", f"No store {geo.store_id} in this shop.")


async def create(session: AsyncSession, shop_id: int, body: CampaignIn) -> tuple[CampaignRow, shares.ShareRow]:
    """The campaign and its first landing code. A landing target of another shop (or none) is refused by
    fission's target check, and the request's transaction takes the campaign row back with it."""
    if body.ends_on < body.starts_on:
        raise Invalid("invalid_dates", "ends_on must not be before starts_on.")
    landing_id = body.landing.target_id
    if body.landing.target_type == TargetType.SHOP:  # the shop itself, as fission stores it: the shop's id
        if landing_id not in (0, shop_id):
            raise Invalid("invalid_target", "A shop landing targets this shop (target_id 0 or the shop's id).")
        landing_id = shop_id
    await _check_geo(session, shop_id, body.geo)
    row = (await session.execute(
        text("WITH n AS (SELECT nextval(pg_get_serial_sequence('campaigns', 'id')) AS id) "
             "INSERT INTO campaigns (id, shop_id, key, name, channel, starts_on, ends_on, landing_type, landing_id, "
             "geo_store_id, geo_radius_m, budget_fen, note, status, created_at) "
             "SELECT n.id, :s, coalesce(:key, 'cmp-' || n.id), :name, :ch, :starts, :ends, :lt, :lid, :store, "
             f":radius, :budget, :note, 'active', :now FROM n ON CONFLICT DO NOTHING RETURNING {COLUMNS}"),
        {"s": shop_id, "key": body.key, "name": body.name, "ch": body.channel.value, "starts": body.starts_on,
         "ends": body.ends_on, "lt": body.landing.target_type.value, "lid": landing_id,
         "store": body.geo.store_id if body.geo else None, "radius": body.geo.radius_m if body.geo else None,
         "budget": body.budget_fen, "note": body.note or None, "now": clock.now()})).first()
    if row is None:
        raise Conflict("campaign_key_taken", f"Another campaign of this shop has the key {body.key!r}.")
    campaign = _row(row)
    return campaign, await add_code(session, campaign, body.code_label)


async def add_code(session: AsyncSession, campaign: CampaignRow, label: str | None) -> shares.ShareRow:
    """Another placement of the campaign (an article, a menu entry): a new code, counted with the others."""
    share = await shares.create(session, shop_id=campaign.shop_id, sharer_id=None, target_type=campaign.landing_type,
                                target_id=campaign.landing_id, channel=campaign.channel, campaign=campaign.key,
                                parent_code=None)
    added = (await session.execute(
        text("INSERT INTO campaign_codes (share_id, shop_id, campaign_id, code, label, created_at) "
             "VALUES (:share, :s, :c, :code, :label, :now) ON CONFLICT DO NOTHING RETURNING share_id"),
        {"c": campaign.id, "share": share.id, "s": campaign.shop_id, "code": share.code,
         "label": label, "now": share.created_at})).first()
    if added is None:  # the unique label decides, so two consoles adding the same label cannot both win
        raise Conflict("code_label_taken", f"This campaign already has a code labelled {label!r}.")
    return share


async def new_code(session: AsyncSession, shop_id: int, campaign_id: int, label: str | None) -> shares.ShareRow:
    campaign = await get_row(session, shop_id, campaign_id)
    if campaign.state(today()) == "ended":
        raise Conflict("campaign_ended", "This campaign has ended; its codes keep working but no new ones are made.")
    return await add_code(session, campaign, label)


async def codes(session: AsyncSession, shop_id: int, campaign_id: int) -> list[tuple[shares.ShareRow, str | None]]:
    """The campaign's codes with their labels, oldest first (one statement)."""
    rows = await session.execute(
        text(f"SELECT q.*, k.label AS code_label FROM ({shares.SELECT_SHARE}) q JOIN campaign_codes k "
             "ON k.share_id = q.id WHERE k.campaign_id = :c AND k.shop_id = :s ORDER BY k.created_at, k.share_id"),
        {"c": campaign_id, "s": shop_id})
    result = []
    for r in rows:
        values = dict(r._mapping)
        label = values.pop("code_label")
        result.append((shares.ShareRow(**values), label))
    return result


async def spent(session: AsyncSession, campaign_id: int) -> int:
    return int((await session.execute(
        text("SELECT coalesce(sum(amount_fen), 0) FROM campaign_spend WHERE campaign_id = :c"),
        {"c": campaign_id})).scalar_one())


async def list_campaigns(session: AsyncSession, shop_id: int, *, channel: str | None, state: CampaignState | None,
                         limit: int, offset: int) -> CampaignPage:
    day = today()
    states = {
        None: "TRUE",
        "ended": "(status = 'ended' OR ends_on < :today)",
        "scheduled": "(status = 'active' AND starts_on > :today)",
        "active": "(status = 'active' AND starts_on <= :today AND ends_on >= :today)",
    }
    where = f"shop_id = :s AND {states[state]}" + (" AND channel = :ch" if channel else "")
    params = {"s": shop_id, "today": day, "ch": channel}
    total = int((await session.execute(text(f"SELECT count(*) FROM campaigns WHERE {where}"), params)).scalar_one())
    rows = await session.execute(
        text(f"SELECT {COLUMNS}, {_SPENT} FROM campaigns c WHERE {where} ORDER BY id DESC LIMIT :l OFFSET :o"),
        {**params, "l": limit, "o": offset})
    return CampaignPage(items=[out(_row(r), int(r.spend_fen), day) for r in rows], total=total, limit=limit,
                        offset=offset)


async def update(session: AsyncSession, shop_id: int, campaign_id: int, body: CampaignPatch) -> CampaignRow:
    """The row is locked first, so spend entered at the same moment cannot fall outside the new dates."""
    campaign = await get_row(session, shop_id, campaign_id, lock=True)
    ended = campaign.state(today()) == "ended"
    if (body.ends_on is not None or body.geo is not None or body.clear_geo) and ended:
        raise Conflict("campaign_ended", "An ended campaign's dates and audience cannot change.")
    if body.geo is not None and body.clear_geo:
        raise Invalid("invalid_geo", "Send geo or clear_geo, not both.")
    if body.ends_on is not None:
        if body.ends_on < campaign.starts_on:
            raise Invalid("invalid_dates", "ends_on must not be before starts_on.")
        last = (await session.execute(text("SELECT max(day) FROM campaign_spend WHERE campaign_id = :c"),
                                      {"c": campaign_id})).scalar()
        if last is not None and body.ends_on < last:
            raise Conflict("spend_after_end", f"Spend is booked on {last}; ends_on cannot move before it.")
    await _check_geo(session, shop_id, body.geo)
    geo = (None, None) if body.clear_geo else ((body.geo.store_id, body.geo.radius_m) if body.geo else
                                                (campaign.geo_store_id, campaign.geo_radius_m))
    fields = body.model_fields_set
    row = (await session.execute(
        text(f"UPDATE campaigns SET name = :name, ends_on = :ends, geo_store_id = :store, geo_radius_m = :radius, "
             f"budget_fen = :budget, note = :note WHERE id = :id RETURNING {COLUMNS}"),
        {"id": campaign_id, "name": body.name or campaign.name, "ends": body.ends_on or campaign.ends_on,
         "store": geo[0], "radius": geo[1],
         "budget": body.budget_fen if "budget_fen" in fields else campaign.budget_fen,
         "note": (body.note or None) if "note" in fields else campaign.note})).one()
    return _row(row)


async def end(session: AsyncSession, shop_id: int, campaign_id: int) -> CampaignRow:
    """Ends it today (a campaign not yet started ends on its first day, having run none); its codes keep
    working, since a printed or placed code cannot be taken back, and their visits keep counting."""
    day = today()
    row = (await session.execute(
        text(f"UPDATE campaigns SET status = 'ended', ended_at = :now, ends_on = least(ends_on, greatest(starts_on, "
             f":today)) WHERE id = :id AND shop_id = :s AND status = 'active' RETURNING {COLUMNS}"),
        {"now": clock.now(), "today": day, "id": campaign_id, "s": shop_id})).first()
    if row is None:
        await get_row(session, shop_id, campaign_id)  # not found, or:
        raise Conflict("campaign_ended", "This campaign has already ended.")
    return _row(row)


async def detail(session: AsyncSession, shop_id: int, campaign_id: int) -> tuple[CampaignRow, int]:
    campaign = await get_row(session, shop_id, campaign_id)
    return campaign, await spent(session, campaign_id)


def detail_out(campaign: CampaignRow, spend_fen: int, code_outs: list[Any]) -> CampaignDetail:
    base = out(campaign, spend_fen, today())
    return CampaignDetail(**base.model_dump(), codes=code_outs)
