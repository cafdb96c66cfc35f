from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from liebian.miniapp.rules import Source

TemplateId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")]
PAGE = r"^[0-9A-Za-z_\-.]+(/[0-9A-Za-z_\-.]+)*$"  # a mini-program path: no leading '/', no query


class PhoneCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=128)


class PhoneOut(BaseModel):
    phone_masked: str | None
    bound_at: datetime | None = None


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template_id: TemplateId
    # Template keyword → the fact it shows, e.g. {"thing1": "product", "amount2": "amount"}; the default
    # is the layout of WeChat's common library template for the event.
    fields: dict[Annotated[str, Field(max_length=24)], Source] | None = None
    page: str | None = Field(default=None, max_length=128, pattern=PAGE)


class TemplateOut(BaseModel):
    template_id: str
    fields: dict[str, Source]
    page: str | None


class TemplatesIn(BaseModel):
    """Each event given is set (a template id alone, or with its fields and page) or removed (``null``)."""

    model_config = ConfigDict(extra="forbid")
    order_paid: TemplateId | TemplateIn | None = None
    order_shipped: TemplateId | TemplateIn | None = None
    order_refunded: TemplateId | TemplateIn | None = None
    group_succeeded: TemplateId | TemplateIn | None = None
    group_failed: TemplateId | TemplateIn | None = None


class TemplatesOut(BaseModel):
    order_paid: TemplateOut | None
    order_shipped: TemplateOut | None
    order_refunded: TemplateOut | None
    group_succeeded: TemplateOut | None = None
    group_failed: TemplateOut | None = None


class AcceptedIn(BaseModel):
    """The ``accept`` results of one ``wx.requestSubscribeMessage`` call (it asks for three at most)."""

    model_config = ConfigDict(extra="forbid")
    accepted: list[TemplateId] = Field(max_length=3)


class GrantOut(BaseModel):
    template_id: str
    remaining: int


class SubscriptionsOut(BaseModel):
    # What to pass to wx.requestSubscribeMessage for each event (null: the shop sends none).
    templates: dict[str, str | None]
    grants: list[GrantOut]
    ignored: list[str] = Field(default_factory=list)


class ShippingCorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Stripped first: a blank carrier would be stored and only refused later by WeChat's shipping upload.
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    tracking_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


class ShippingReportOut(BaseModel):
    order_no: str
    out_trade_no: str
    carrier: str
    express_company: str
    tracking_no: str
    status: str
    uploads: int
    corrections_left: int
    errcode: int | None
    last_error: str | None
    uploaded_at: datetime | None
