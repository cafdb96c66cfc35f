"""Pure rules of the mini-program services: what a subscribe message may show, and how a shipment is named."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal, cast, get_args

from liebian.integrations.wechat.miniprogram import FieldKind, FieldValue

Event = Literal["order_paid", "order_shipped", "order_refunded", "group_succeeded", "group_failed"]
Source = Literal["product", "amount", "time", "order_no", "status", "carrier", "tracking_no"]
EVENTS: tuple[Event, ...] = get_args(Event)
MAX_FIELDS = 10

# Which template keyword types can show which fact; anything else WeChat would refuse (47003) or garble.
SOURCE_KINDS: dict[str, frozenset[str]] = {
    "product": frozenset({"thing"}),
    "amount": frozenset({"amount"}),
    "time": frozenset({"time", "date"}),
    "order_no": frozenset({"character_string"}),
    "status": frozenset({"phrase", "thing"}),
    "carrier": frozenset({"thing"}),
    "tracking_no": frozenset({"character_string"}),
}
SHIPMENT_SOURCES: frozenset[Source] = frozenset({"carrier", "tracking_no"})

# Used when the merchant gives only a template id: the keyword layout of the common library templates
# (订单支付成功通知, 订单发货通知, 退款成功通知). Templates laid out otherwise need their own ``fields``.
DEFAULT_FIELDS: dict[Event, dict[str, Source]] = {
    "order_paid": {"thing1": "product", "amount2": "amount", "time3": "time", "character_string4": "order_no"},
    "order_shipped": {"thing1": "product", "thing2": "carrier", "character_string3": "tracking_no", "time4": "time"},
    "order_refunded": {"thing1": "product", "amount2": "amount", "phrase3": "status", "time4": "time"},
    # 拼团成功通知 / 拼团失败通知 (a failed group's amount is the refund: the whole payment).
    "group_succeeded": {"thing1": "product", "amount2": "amount", "phrase3": "status", "character_string4": "order_no"},
    "group_failed": {"thing1": "product", "amount2": "amount", "phrase3": "status", "character_string4": "order_no"},
}
STATUS_WORDS: dict[Event, str] = {"order_paid": "已支付", "order_shipped": "已发货", "order_refunded": "已退款",
                                  "group_succeeded": "拼团成功", "group_failed": "拼团失败"}
PARTIAL_REFUND_WORDS = "部分退款"

_KEY = re.compile(r"(thing|number|letter|symbol|character_string|time|date|amount|phone_number|car_number|name"
                  r"|phrase)(\d{1,2})")


def field_problems(event: Event, fields: Mapping[str, str]) -> list[str]:
    """Why this keyword → fact layout cannot work for ``event`` (empty when it can)."""
    if not fields:
        return ["a template needs at least one field"]
    if len(fields) > MAX_FIELDS:
        return [f"a template has at most {MAX_FIELDS} fields"]
    problems = []
    for key, source in fields.items():
        match = _KEY.fullmatch(key)
        if match is None:
            problems.append(f"{key!r} is not a template keyword such as thing1 or amount2")
        elif source not in SOURCE_KINDS:
            problems.append(f"{key}: unknown fact {source!r}; use one of {', '.join(SOURCE_KINDS)}")
        elif match.group(1) not in SOURCE_KINDS[source]:
            kinds = " or ".join(sorted(SOURCE_KINDS[source]))
            problems.append(f"{key}: {source} can only fill a {kinds} keyword")
        elif source in SHIPMENT_SOURCES and event != "order_shipped":
            problems.append(f"{key}: {source} is only known when an order is shipped")
    return problems


def in_keyword_order(fields: Mapping[str, Source]) -> dict[str, Source]:
    """``thing1, amount2, time3``: the order the card shows them in (JSONB keeps keys in its own order)."""
    return dict(sorted(fields.items(), key=lambda item: (int(m.group(2)) if (m := _KEY.fullmatch(item[0])) else 0,
                                                         item[0])))


def field_values(fields: Mapping[str, Source], facts: Mapping[Source, FieldValue | None]
                 ) -> dict[str, tuple[FieldKind, FieldValue]]:
    """The input of ``render_subscribe_data``; a fact that is unknown becomes a dash rather than a gap."""
    values: dict[str, tuple[FieldKind, FieldValue]] = {}
    for key, source in fields.items():
        match = _KEY.fullmatch(key)
        if match is None:
            raise ValueError(f"{key!r} is not a template keyword")
        kind = cast(FieldKind, match.group(1))
        value = facts.get(source)
        values[key] = (kind, "-" if value is None else value)
    return values


def product_summary(titles: Sequence[str]) -> str:
    """``潮汕牛肉丸 等3件``: the first product, and how many there are (the ``thing`` cut keeps the start)."""
    if not titles:
        return "订单商品"
    return titles[0] if len(titles) == 1 else f"{titles[0]} 等{len(titles)}件"


def item_desc(titles: Sequence[str]) -> str:
    """The shipping upload's ``item_desc``: 1-120 characters."""
    text = "、".join(titles) or "订单商品"
    return text if len(text) <= 120 else text[:119] + "…"


# WeChat names carriers by its delivery ids (运力 id, ``get_delivery_list``); shops type the Chinese name.
_CARRIERS: tuple[tuple[str, str], ...] = (
    ("顺丰", "SF"), ("中通", "ZTO"), ("圆通", "YTO"), ("申通", "STO"), ("韵达", "YD"), ("极兔", "JTSD"),
    ("京东", "JD"), ("德邦", "DBL"), ("邮政", "YZPY"), ("EMS", "EMS"), ("百世", "HTKY"), ("天天", "HHTT"),
)


def express_company(carrier: str) -> str:
    """The delivery id for a carrier name; a name already written as an id (``SF``) is kept."""
    name = carrier.strip()
    for word, code in _CARRIERS:
        if word in name.upper():
            return code
    return name.upper() if re.fullmatch(r"[A-Za-z0-9_]{1,20}", name) else name


def national_number(phone: str) -> str:
    """``+86 138 0013 8000`` → ``13800138000``: a Chinese mobile without its country code."""
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if len(digits) == 13 and digits.startswith("861") else digits


def needs_receiver_contact(company: str) -> bool:
    """SF Express only accepts uploads that carry the receiver's (masked) phone."""
    return company == "SF"
