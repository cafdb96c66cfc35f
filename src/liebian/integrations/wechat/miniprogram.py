"""The mini-program OpenAPI client (wechat.md §1, §2.12, §3, §4): login, access_token, phone number,
unlimited mini-program codes, subscribe messages and the order-shipping upload.

Arguments WeChat would reject are refused here first (``InvalidArgument``), so a bad scene or an
over-long ``thing`` never costs a round trip or a one-time grant. Log lines carry the API path and the
errcode only: never an openid, phone number, session_key, secret, access_token or login/phone code —
and because WeChat wants several of those in the query string, a filter scrubs them from httpx's own
request log line as well.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import httpx

from liebian.integrations.wechat.config import MiniProgramConfig
from liebian.integrations.wechat.errors import InvalidArgument, WeChatApiError, WeChatUnavailable

log = logging.getLogger("liebian.wechat.miniprogram")

Clock = Callable[[], float]
FieldKind = Literal["thing", "number", "letter", "symbol", "character_string", "time", "date", "amount",
                    "phone_number", "car_number", "name", "phrase"]
FieldValue = str | int | Decimal | dt.date | dt.datetime | dt.time
MiniProgramState = Literal["developer", "trial", "formal"]
EnvVersion = Literal["release", "trial", "develop"]

TOKEN_REFRESH_MARGIN = 300  # WeChat renews 5 min early; a token with less left may die mid-request
INVALID_CODE_ERRCODES = frozenset({40029, 40163})
RATE_LIMIT_ERRCODES = frozenset({45011})
TOKEN_REJECTED_ERRCODES = frozenset({40001, 42001})
ERRCODE_NO_SUBSCRIPTION = 43101
ERRCODE_FIELD_INVALID = 47003
ERRCODE_PHONE_QUOTA = 1400001

SCENE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
PAGE = re.compile(r"[0-9A-Za-z_\-.]+(/[0-9A-Za-z_\-.]+)*")
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
CHINA = dt.timezone(dt.timedelta(hours=8))  # no DST in China: a fixed offset is exact
_SECRET_QUERY = re.compile(r"(?<=[?&])(access_token|secret|js_code|code)=[^&\s\"']*")


class InvalidCode(WeChatApiError):
    """A login or phone code that is unknown, expired (5 min) or already used (40029/40163)."""


class RateLimited(WeChatApiError):
    """WeChat's per-user or per-API frequency limit (45011)."""


@dataclass(frozen=True)
class Session:
    openid: str = field(repr=False)
    unionid: str | None = field(repr=False)
    session_key: str = field(repr=False)


@dataclass(frozen=True)
class PhoneInfo:
    phone_number: str = field(repr=False)  # with the area code for numbers outside China
    pure_phone_number: str = field(repr=False)
    country_code: str


class LogisticsType(enum.IntEnum):
    EXPRESS = 1
    SAME_CITY = 2
    VIRTUAL = 3
    SELF_PICKUP = 4


@dataclass(frozen=True)
class Parcel:
    """One ``shipping_list`` entry; express parcels need the tracking number and the company code."""

    item_desc: str
    tracking_no: str | None = None
    express_company: str | None = None
    receiver_contact: str | None = field(default=None, repr=False)  # masked phone, required by SF Express

    def body(self, logistics_type: LogisticsType) -> dict[str, Any]:
        if not 0 < len(self.item_desc) <= 120:
            raise InvalidArgument("item_desc must be 1-120 characters")
        entry: dict[str, Any] = {"item_desc": self.item_desc}
        if logistics_type is LogisticsType.EXPRESS:
            if not (self.tracking_no and self.express_company):
                raise InvalidArgument("an express parcel needs tracking_no and express_company")
            if len(self.tracking_no) > 128 or len(self.express_company) > 128:
                raise InvalidArgument("tracking_no and express_company are at most 128 characters")
            entry.update(tracking_no=self.tracking_no, express_company=self.express_company)
        if self.receiver_contact:
            entry["contact"] = {"receiver_contact": self.receiver_contact}
        return entry


# --- log hygiene ---------------------------------------------------------------------------------

class RedactWeChatSecrets(logging.Filter):
    """httpx logs every request URL at INFO; WeChat puts the secret, codes and token in the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_QUERY.sub(r"\1=[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_log_redaction() -> None:
    """Idempotent; called by every client so no construction path can forget it."""
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, RedactWeChatSecrets) for f in httpx_log.filters):
        httpx_log.addFilter(RedactWeChatSecrets())


# --- access_token cache (wechat.md §1.2) ---------------------------------------------------------

@dataclass
class _Token:
    value: str = field(repr=False)
    expires_at: float


class AccessTokenCache:
    """One access_token per appid; share one instance between clients of the same process.

    The per-appid lock makes refreshes single-flight: a burst of callers that all find the token stale
    wait for one ``stable_token`` call instead of each making their own (which burns the 10k/min
    quota and, for forced refreshes, the 30-second spacing).
    """

    def __init__(self) -> None:
        self._tokens: dict[str, _Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def fresh(self, appid: str, now: float) -> str | None:
        token = self._tokens.get(appid)
        if token is None or token.expires_at - now < TOKEN_REFRESH_MARGIN:
            return None
        return token.value

    def lock(self, appid: str) -> asyncio.Lock:
        return self._locks.setdefault(appid, asyncio.Lock())

    def store(self, appid: str, value: str, expires_at: float) -> None:
        self._tokens[appid] = _Token(value, expires_at)


# --- the client ----------------------------------------------------------------------------------

class MiniProgramClient:
    def __init__(self, config: MiniProgramConfig, http: httpx.AsyncClient, now: Clock = time.time, *,
                 tokens: AccessTokenCache | None = None) -> None:
        self.config = config
        self._http = http
        self._now = now
        self._tokens = tokens or AccessTokenCache()
        self._base = config.base_url
        install_log_redaction()

    # --- login (§1.1) ---
    async def code2session(self, code: str) -> Session:
        """``GET /sns/jscode2session``: the only trustworthy source of a user's openid."""
        if not code or len(code) > 128:
            raise InvalidCode(40029, "invalid code (rejected before calling)")
        path = "/sns/jscode2session"
        params = {"appid": self.config.appid, "secret": self.config.secret, "js_code": code,
                  "grant_type": "authorization_code"}
        try:
            response = await self._http.get(self._base + path, params=params)
        except httpx.HTTPError as exc:
            raise _unreachable(path, exc) from exc
        data = _json_answer(response, path)
        if not isinstance(data.get("openid"), str) or not isinstance(data.get("session_key"), str):
            raise WeChatUnavailable("jscode2session answered without openid/session_key")
        unionid = data.get("unionid")
        return Session(openid=data["openid"], unionid=unionid if isinstance(unionid, str) else None,
                       session_key=data["session_key"])

    # --- access_token (§1.2) ---
    async def access_token(self) -> str:
        appid = self.config.appid
        cached = self._tokens.fresh(appid, self._now())
        if cached is not None:
            return cached
        async with self._tokens.lock(appid):
            cached = self._tokens.fresh(appid, self._now())  # refreshed while we waited for the lock
            if cached is not None:
                return cached
            return await self._fetch_token(force=False)

    async def _replace_rejected(self, rejected: str) -> str:
        """After 40001/42001: one forced refresh, shared by every caller that saw the same dead token."""
        appid = self.config.appid
        async with self._tokens.lock(appid):
            current = self._tokens.fresh(appid, self._now())
            if current is not None and current != rejected:
                return current
            try:
                return await self._fetch_token(force=True)
            except RateLimited:
                # Another process forced a refresh less than 30 s ago; normal mode hands out its new token.
                return await self._fetch_token(force=False)

    async def _fetch_token(self, *, force: bool) -> str:
        path = "/cgi-bin/stable_token"
        body = {"grant_type": "client_credential", "appid": self.config.appid, "secret": self.config.secret,
                "force_refresh": force}
        asked_at = self._now()
        try:
            response = await self._http.post(self._base + path, json=body)
        except httpx.HTTPError as exc:
            raise _unreachable(path, exc) from exc
        data = _json_answer(response, path)
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int):
            raise WeChatUnavailable("stable_token answered without access_token/expires_in")
        # Measured from when we asked: the lifetime started at WeChat before the answer reached us.
        self._tokens.store(self.config.appid, token, asked_at + expires_in)
        log.info("wechat %s: new access_token (force_refresh=%s, expires_in=%s)", path, force, expires_in)
        return token

    async def _with_token(self, path: str, body: Mapping[str, Any]) -> httpx.Response:
        """POST with the cached token; on 40001/42001 refresh once and retry once."""
        token = await self.access_token()
        response = await self._post(path, token, body)
        errcode = _peek_errcode(response)
        if errcode in TOKEN_REJECTED_ERRCODES:
            log.info("wechat %s: access_token rejected (errcode %s); refreshing once", path, errcode)
            response = await self._post(path, await self._replace_rejected(token), body)
        return response

    async def _post(self, path: str, token: str, body: Mapping[str, Any]) -> httpx.Response:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            return await self._http.post(self._base + path, params={"access_token": token}, content=content,
                                         headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise _unreachable(path, exc) from exc

    async def _call(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return _json_answer(await self._with_token(path, body), path)

    # --- phone number (§1.3) ---
    async def get_phone_number(self, code: str, openid: str | None = None) -> PhoneInfo:
        """Exchange the ``getPhoneNumber`` button's code; with ``openid``, WeChat also checks who it was for."""
        if not code or len(code) > 128:
            raise InvalidCode(40029, "invalid code (rejected before calling)")
        body: dict[str, Any] = {"code": code}
        if openid:
            body["openid"] = openid
        info = (await self._call("/wxa/business/getuserphonenumber", body)).get("phone_info")
        if not isinstance(info, dict) or not isinstance(info.get("purePhoneNumber"), str):
            raise WeChatUnavailable("getuserphonenumber answered without phone_info")
        return PhoneInfo(phone_number=str(info.get("phoneNumber") or info["purePhoneNumber"]),
                         pure_phone_number=info["purePhoneNumber"], country_code=str(info.get("countryCode", "")))

    # --- unlimited mini-program codes (§3.1) ---
    async def get_unlimited_qrcode(self, scene: str, page: str | None = None, width: int = 430,
                                   check_path: bool = True, env_version: EnvVersion = "release") -> bytes:
        """The image bytes of a code that opens ``page`` with ``scene``; store it, it never expires."""
        if not 280 <= width <= 1280:
            raise InvalidArgument("width must be 280-1280 pixels")
        if env_version not in ("release", "trial", "develop"):
            raise InvalidArgument("env_version must be release, trial or develop")
        body: dict[str, Any] = {"scene": validate_scene(scene), "width": width, "check_path": check_path,
                                "env_version": env_version}
        if page is not None:
            body["page"] = validate_page(page)
        path = "/wxa/getwxacodeunlimit"
        response = await self._with_token(path, body)
        # Success is the image itself; an error is JSON (sometimes labelled text/plain).
        if response.status_code == 200 and response.headers.get("content-type", "").startswith("image/"):
            log.info("wechat %s -> image (%d bytes)", path, len(response.content))
            return response.content
        _json_answer(response, path)
        raise WeChatUnavailable("getwxacodeunlimit answered neither an image nor an error")

    # --- subscribe messages (§4) ---
    async def send_subscribe_message(self, openid: str, template_id: str, data: Mapping[str, Mapping[str, str]],
                                     page: str | None = None, state: MiniProgramState = "formal") -> None:
        """Send one message; ``data`` comes from ``render_subscribe_data``. 43101: the user has no grant left."""
        if not openid or not template_id:
            raise InvalidArgument("openid and template_id are required")
        if state not in ("developer", "trial", "formal"):
            raise InvalidArgument("state must be developer, trial or formal")
        if not data:
            raise InvalidArgument("a subscribe message needs at least one data field")
        body: dict[str, Any] = {"touser": openid, "template_id": template_id,
                                "data": {k: dict(v) for k, v in data.items()}, "miniprogram_state": state,
                                "lang": "zh_CN"}
        if page is not None:
            if not page or page.startswith("/") or len(page) > 1024:
                raise InvalidArgument("page is a mini-program path without a leading '/' (a query is allowed)")
            body["page"] = page
        await self._call("/cgi-bin/message/subscribe/send", body)

    # --- order shipping (§2.12) ---
    async def upload_shipping_info(self, *, mchid: str, out_trade_no: str, payer_openid: str,
                                   logistics_type: LogisticsType, parcels: Sequence[Parcel],
                                   is_all_delivered: bool | None = None,
                                   upload_time: dt.datetime | None = None) -> None:
        """Report fulfilment so WeChat releases the funds; one re-upload is allowed, then WeChat refuses.

        One parcel and no ``is_all_delivered`` is a unified delivery; several parcels (or an explicit
        ``is_all_delivered``) is a split delivery, which WeChat only accepts for express.
        """
        if not OUT_TRADE_NO.fullmatch(out_trade_no) or not re.fullmatch(r"\d{6,32}", mchid):
            raise InvalidArgument("order_key needs the merchant's mchid and a valid out_trade_no")
        if not payer_openid:
            raise InvalidArgument("the payer's openid is required")
        if not 1 <= len(parcels) <= 10:
            raise InvalidArgument("shipping_list holds 1-10 parcels")
        split = is_all_delivered is not None or len(parcels) > 1
        if split and logistics_type is not LogisticsType.EXPRESS:
            raise InvalidArgument("only express deliveries can be split into several parcels")
        moment = upload_time or dt.datetime.fromtimestamp(self._now(), CHINA)
        if moment.tzinfo is None:
            raise InvalidArgument("upload_time must carry a timezone")
        body: dict[str, Any] = {
            "order_key": {"order_number_type": 1, "mchid": mchid, "out_trade_no": out_trade_no},
            "logistics_type": int(logistics_type), "delivery_mode": 2 if split else 1,
            "shipping_list": [parcel.body(logistics_type) for parcel in parcels],
            "upload_time": rfc3339_millis(moment), "payer": {"openid": payer_openid},
        }
        if split:
            body["is_all_delivered"] = True if is_all_delivered is None else is_all_delivered
        await self._call("/wxa/sec/order/upload_shipping_info", body)


def rfc3339_millis(moment: dt.datetime) -> str:
    """``2022-12-15T13:29:35.120+08:00``, the shape of the shipping API's examples."""
    return moment.astimezone(CHINA).isoformat(timespec="milliseconds")


# --- answers -------------------------------------------------------------------------------------

def _unreachable(path: str, exc: httpx.HTTPError) -> WeChatUnavailable:
    log.warning("wechat %s unreachable: %s", path, type(exc).__name__)
    return WeChatUnavailable(f"WeChat could not be reached ({type(exc).__name__})")


def _peek_errcode(response: httpx.Response) -> int:
    if response.headers.get("content-type", "").startswith("image/"):
        return 0
    try:
        data = response.json()
    except ValueError:
        return 0
    errcode = data.get("errcode", 0) if isinstance(data, dict) else 0
    return errcode if isinstance(errcode, int) else 0


def _json_answer(response: httpx.Response, path: str) -> dict[str, Any]:
    """The JSON object of an answer, or the typed error it carries. Content-Type is not trusted:
    ``jscode2session`` labels its JSON ``text/plain``."""
    if response.status_code >= 500:
        log.warning("wechat %s -> HTTP %s", path, response.status_code)
        raise WeChatUnavailable(f"WeChat answered HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        log.warning("wechat %s -> HTTP %s, not a JSON object", path, response.status_code)
        raise WeChatUnavailable("WeChat answered something that is not JSON")
    errcode = data.get("errcode", 0)
    if not isinstance(errcode, int):
        raise WeChatUnavailable("WeChat answered a non-numeric errcode")
    log.info("wechat %s -> errcode %s", path, errcode)
    if errcode:
        errmsg = str(data.get("errmsg", ""))
        if errcode in INVALID_CODE_ERRCODES:
            raise InvalidCode(errcode, errmsg)
        if errcode in RATE_LIMIT_ERRCODES:
            raise RateLimited(errcode, errmsg)
        raise WeChatApiError(errcode, errmsg)
    return data


# --- arguments WeChat would reject ---------------------------------------------------------------

def validate_scene(scene: str) -> str:
    """≤32 visible characters of ``[0-9A-Za-z]`` and ``!#$&'()*+,/:;=?@-._~`` (no ``%``, so no URL-encoding)."""
    if not SCENE.fullmatch(scene):
        raise InvalidArgument("scene must be 1-32 characters of [0-9A-Za-z] and !#$&'()*+,/:;=?@-._~")
    return scene


def validate_page(page: str) -> str:
    """A page path such as ``pages/group/detail``: no leading ``/``, no query (the scene carries data)."""
    if page.startswith("/"):
        raise InvalidArgument("page must not start with '/' (write pages/x/y)")
    if "?" in page or "#" in page:
        raise InvalidArgument("page must not carry a query; put the data into scene")
    if len(page) > 128 or not PAGE.fullmatch(page):
        raise InvalidArgument("page must be a path such as pages/group/detail")
    return page


# --- subscribe message fields (§4) ---------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_KEY = re.compile(r"(thing|number|letter|symbol|character_string|time|date|amount|phone_number|car_number|name"
                  r"|phrase)\d+")
_CLOCK = r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?"
_DAY = r"\d{4}年(1[0-2]|0?[1-9])月(3[01]|[12]\d|0?[1-9])日"


def _text(value: FieldValue) -> str:
    """Printable, single-line text: WeChat rejects control characters and the card shows one line."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidArgument("this field takes text")
    spaced = "".join(" " if unicodedata.category(c) in ("Zl", "Zp") or c in "\t\r\n\v\f" else c for c in value)
    kept = "".join(c for c in spaced if unicodedata.category(c)[0] != "C")
    return " ".join(kept.split())


def _limited(value: str, limit: int, what: str) -> str:
    if not 0 < len(value) <= limit:
        raise InvalidArgument(f"{what} must be 1-{limit} characters")
    return value


def _thing(value: FieldValue) -> str:
    text = _text(value)
    if not text:
        raise InvalidArgument("thing must not be empty")
    return text if len(text) <= 20 else text[:19] + "…"


def _number(value: FieldValue) -> str:
    if isinstance(value, bool):
        raise InvalidArgument("number takes a number")
    if isinstance(value, int | Decimal):
        if (isinstance(value, Decimal) and not value.is_finite()) or value < 0:
            raise InvalidArgument("number must be a finite number ≥ 0")
        text = format(value, "f") if isinstance(value, Decimal) else str(value)
    else:
        text = _text(value)
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        raise InvalidArgument("number takes digits with an optional decimal part")
    return _limited(text, 32, "number")


def _pattern(kind: str, pattern: str, limit: int) -> Callable[[FieldValue], str]:
    def render(value: FieldValue) -> str:
        text = _text(value)
        if not re.fullmatch(pattern, text):
            raise InvalidArgument(f"{kind} has characters WeChat does not accept")
        return _limited(text, limit, kind)

    return render


def _when(value: FieldValue, *, date_only: bool) -> str:
    """``2019年10月1日 15:01``: aware datetimes are shown in China time, where the reader is."""
    if isinstance(value, dt.datetime):
        try:
            moment = value.astimezone(CHINA) if value.tzinfo else value
        except OverflowError as exc:
            raise InvalidArgument("time/date is out of range") from exc
        text = f"{moment.year}年{moment.month}月{moment.day}日 {moment.hour:02d}:{moment.minute:02d}"
    elif isinstance(value, dt.date):
        text = f"{value.year}年{value.month}月{value.day}日"
    elif isinstance(value, dt.time):
        if date_only:
            raise InvalidArgument("date needs a date")
        text = f"{value.hour:02d}:{value.minute:02d}"
    else:
        text = _text(value)
    point = f"{_DAY}( {_CLOCK})?" if date_only else f"({_DAY} )?{_CLOCK}"
    # Checked after formatting too: a year before 1000 would not have the 4 digits WeChat expects.
    if not re.fullmatch(f"{point}(~{point})?", text):
        raise InvalidArgument("time/date must look like 2019年10月1日 15:01")
    return text


def _amount(value: FieldValue) -> str:
    """``int`` is fen (Liebian's unit), ``Decimal`` is yuan; both render as ``¥25.90``."""
    if isinstance(value, bool):
        raise InvalidArgument("amount takes fen or yuan")
    if isinstance(value, int | Decimal):
        try:
            yuan = Decimal(value) / 100 if isinstance(value, int) else value.quantize(Decimal("0.01"))
        except InvalidOperation as exc:
            raise InvalidArgument("amount is not a finite number") from exc
        if not yuan.is_finite() or yuan < 0 or yuan >= 10**10:
            raise InvalidArgument("amount must be 0 to 9,999,999,999.99 yuan")
        return f"¥{yuan + 0:.2f}"  # + 0 turns Decimal("-0.00") into 0.00
    text = _text(value)
    if not re.fullmatch(r"[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?", text):
        raise InvalidArgument("amount is one currency sign and at most 10 digits, e.g. ¥25.90")
    return text


def _name(value: FieldValue) -> str:
    """≤10 characters when Chinese (mixed counts as Chinese), else ≤20 letters; no digits. Cut, not refused."""
    text = _text(value)
    if not text or not re.fullmatch(rf"[{_CJK}A-Za-z ·.'\-]+", text):
        raise InvalidArgument("name takes Chinese characters or letters only")
    limit = 10 if _CJK_CHAR.search(text) else 20
    return text[:limit].rstrip()


_car_number = _pattern("car_number", f"[{_CJK}A-Z0-9][A-Z0-9]{{0,6}}[{_CJK}A-Z0-9]?", 8)  # 粤A8Z888挂


def _phrase(value: FieldValue) -> str:
    text = _text(value)
    if not re.fullmatch(f"[{_CJK}]{{1,5}}", text):
        raise InvalidArgument("phrase is 1-5 Chinese characters, e.g. 已退款")
    return text


_RENDERERS: dict[str, Callable[[FieldValue], str]] = {
    "thing": _thing,
    "number": _number,
    "letter": _pattern("letter", r"[A-Za-z]+", 32),
    "symbol": _pattern("symbol", r"[!-/:-@\[-`{-~]+", 5),
    "character_string": _pattern("character_string", r"[!-~]+", 32),
    "time": lambda v: _when(v, date_only=False),
    "date": lambda v: _when(v, date_only=True),
    "amount": _amount,
    "phone_number": _pattern("phone_number", r"\+?[0-9][0-9\- ()]*", 17),
    "car_number": lambda v: _car_number(_text(v).upper()),
    "name": _name,
    "phrase": _phrase,
}


def render_subscribe_data(fields: Mapping[str, tuple[FieldKind, FieldValue]]) -> dict[str, dict[str, str]]:
    """``{"thing1": ("thing", "...")}`` → WeChat's ``data``, every value made valid for its type or refused.

    ``thing`` is cut to 19 characters + "…", ``name`` to its limit; values whose meaning a cut would
    change (numbers, amounts, order numbers, phrases) raise ``InvalidArgument`` instead.
    """
    data: dict[str, dict[str, str]] = {}
    for key, (kind, value) in fields.items():
        match = _KEY.fullmatch(key)
        if match is None or match.group(1) != kind:
            raise InvalidArgument(f"data key {key!r} must be '{kind}' followed by its number, e.g. {kind}1")
        try:
            data[key] = {"value": _RENDERERS[kind](value)}
        except InvalidArgument as exc:
            raise InvalidArgument(f"{key}: {exc}") from exc
    return data
