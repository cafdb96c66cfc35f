"""Fake WeChat: the mini-program OpenAPI (wechat.md §1, §2.12, §3, §4, §6.2).

Behaves like ``api.weixin.qq.com``: HTTP 200 with ``{"errcode", "errmsg"}`` for errors, single-use
5-minute login and phone codes, ``stable_token`` with WeChat's renewal and force-refresh rules,
PNG mini-program codes, subscribe messages checked field by field against WeChat's type table,
one-time subscription grants, and the shipping upload with its single re-upload.

The field and scene checks here are written from WeChat's documented rules, independently of the
client's renderer and validators, so tests comparing the two catch a renderer that drifts.

Test controls (Python functions below, and HTTP under ``/_fake/openapi/...``) issue codes, grant
subscriptions, expire tokens, exhaust the phone quota and inject errcodes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import struct
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from liebian.integrations.wechat.fake.core import FakeWeChat

CODE_TTL = 300  # login and phone codes: 5 minutes, single use (§1.1, §1.3)
TOKEN_TTL = 7200
TOKEN_OVERLAP = 300  # after a renewal the old token keeps working for 5 minutes (§1.2)
FORCE_SPACING = 30
FORCE_PER_DAY = 20
LOGINS_PER_MINUTE = 100  # jscode2session: 100 per user per minute
MAX_PARCELS = 10
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_SCENE_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#$&'()*+,/:;=?@-._~")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CLOCK = r"[0-2]?\d:[0-5]\d(:[0-5]\d)?"
_DAY = r"\d{4}年[01]?\d月[0-3]?\d日"
FIELD_RULES: dict[str, tuple[re.Pattern[str], int]] = {  # wechat.md §4: pattern, max length
    "thing": (re.compile(r"[^\x00-\x1f\x7f]+"), 20),
    "number": (re.compile(r"\d+(\.\d+)?"), 32),
    "letter": (re.compile(r"[A-Za-z]+"), 32),
    "symbol": (re.compile(r"[!-/:-@\[-`{-~]+"), 5),
    "character_string": (re.compile(r"[!-~]+"), 32),
    "time": (re.compile(f"(({_DAY} )?{_CLOCK})(~({_DAY} )?{_CLOCK})?"), 64),
    "date": (re.compile(f"{_DAY}( {_CLOCK})?(~{_DAY}( {_CLOCK})?)?"), 64),
    "amount": (re.compile(r"[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?"), 16),
    "phone_number": (re.compile(r"[0-9+\-() ]*[0-9][0-9+\-() ]*"), 17),
    "car_number": (re.compile(f"[{_CJK}A-Za-z0-9][A-Za-z0-9]{{0,6}}[{_CJK}A-Za-z0-9]?"), 8),
    "name": (re.compile(rf"[{_CJK}A-Za-z ·.'\-]+"), 20),
    "phrase": (re.compile(f"[{_CJK}]+"), 5),
}
_FIELD_KEY = re.compile("(" + "|".join(FIELD_RULES) + r")\d+")


class ApiError(Exception):
    """An OpenAPI error answer: HTTP 200 with ``errcode``/``errmsg``, the way WeChat does it."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode, self.errmsg = errcode, errmsg


@dataclass
class IssuedCode:
    subject: str  # an openid (login code) or a phone number (phone code)
    issued_at: float
    unionid: str | None = None
    country_code: str = "86"
    openid: str | None = None  # a phone code may be bound to the user it was shown to
    used: bool = False


@dataclass
class ShippingRecord:
    uploads: list[dict[str, Any]] = field(default_factory=list)
    completions: int = 0  # a completed delivery may be corrected once (the re-upload), then never again


@dataclass
class OpenApiState:
    login_codes: dict[str, IssuedCode] = field(default_factory=dict)
    phone_codes: dict[str, IssuedCode] = field(default_factory=dict)
    session_keys: dict[str, str] = field(default_factory=dict)  # openid → latest session_key
    logins: dict[str, list[float]] = field(default_factory=dict)  # openid → recent logins (45011)
    tokens: dict[str, float] = field(default_factory=dict)  # access_token → valid until
    current_token: str | None = None
    forced_at: list[float] = field(default_factory=list)
    phone_quota: int | None = None  # None: unlimited; 0: every call answers 1400001
    released_pages: set[str] | None = None  # None: every well-formed page counts as released
    grants: dict[tuple[str, str], int] = field(default_factory=dict)  # (openid, template_id) → sends left
    messages: list[dict[str, Any]] = field(default_factory=list)
    shipping: dict[str, ShippingRecord] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, params/body) per request
    failures: list[tuple[str, int, str]] = field(default_factory=list)  # injected (path, errcode, errmsg)


def state(fake: FakeWeChat) -> OpenApiState:
    return fake.books("openapi", OpenApiState)


def _rid() -> str:
    return secrets.token_hex(4) + "-" + secrets.token_hex(4)


def _require(condition: bool, errcode: int, errmsg: str) -> None:
    if not condition:
        raise ApiError(errcode, errmsg)


# --- test controls (Python) ----------------------------------------------------------------------

def issue_login_code(fake: FakeWeChat, openid: str, unionid: str | None = None) -> str:
    """What ``wx.login`` gives the mini-program of user ``openid``."""
    code = secrets.token_urlsafe(24)
    state(fake).login_codes[code] = IssuedCode(openid, fake.now(), unionid=unionid)
    return code


def login_code_issuer(fake: FakeWeChat) -> Callable[[str], Awaitable[str]]:
    """``issue_login_code`` as the async ``openid → code`` callable the sandbox login takes."""

    async def issue(openid: str) -> str:
        return issue_login_code(fake, openid)

    return issue


def issue_phone_code(fake: FakeWeChat, phone: str, *, country_code: str = "86", openid: str | None = None) -> str:
    """What the ``getPhoneNumber`` button gives; with ``openid`` only that user may redeem it."""
    code = secrets.token_urlsafe(24)
    state(fake).phone_codes[code] = IssuedCode(phone, fake.now(), country_code=country_code, openid=openid)
    return code


def expire_access_tokens(fake: FakeWeChat) -> None:
    """Every token stops working at once (as after a secret reset): the next call gets 40001."""
    books = state(fake)
    books.tokens.clear()
    books.current_token = None


def set_phone_quota(fake: FakeWeChat, remaining: int | None) -> None:
    state(fake).phone_quota = remaining


def release_pages(fake: FakeWeChat, pages: Iterable[str] | None) -> None:
    """The pages of the released version (``check_path``); ``None`` accepts every well-formed page."""
    state(fake).released_pages = None if pages is None else set(pages)


def grant_subscription(fake: FakeWeChat, openid: str, template_id: str, n: int = 1) -> int:
    """The user tapped "accept" ``n`` times for a one-time template; returns the sends now allowed."""
    grants = state(fake).grants
    grants[(openid, template_id)] = grants.get((openid, template_id), 0) + n
    return grants[(openid, template_id)]


def subscription_grants(fake: FakeWeChat, openid: str, template_id: str) -> int:
    return state(fake).grants.get((openid, template_id), 0)


def inject_error(fake: FakeWeChat, path: str, errcode: int, errmsg: str = "injected", count: int = 1) -> None:
    """The next ``count`` calls to ``path`` (e.g. ``/sns/jscode2session``) answer ``errcode``."""
    state(fake).failures.extend([(path, errcode, errmsg)] * count)


def calls(fake: FakeWeChat, path: str | None = None) -> list[dict[str, Any]]:
    return [params for called, params in state(fake).calls if path is None or called == path]


def sent_messages(fake: FakeWeChat) -> list[dict[str, Any]]:
    return list(state(fake).messages)


def shipping_uploads(fake: FakeWeChat, out_trade_no: str) -> list[dict[str, Any]]:
    record = state(fake).shipping.get(out_trade_no)
    return list(record.uploads) if record else []


# --- validators, from WeChat's rules -------------------------------------------------------------

def scene_problem(scene: Any) -> str | None:
    if not isinstance(scene, str) or not scene:
        return "scene is required"
    if len(scene) > 32:
        return "invalid scene: more than 32 characters"
    if not set(scene) <= _SCENE_CHARS:
        return "invalid scene: characters outside [0-9A-Za-z!#$&'()*+,/:;=?@-._~]"
    return None


def field_problem(key: str, item: Any) -> str | None:
    """Why one ``data`` entry would get 47003, or ``None``; the kind is the key without its number."""
    match = _FIELD_KEY.fullmatch(key)
    if match is None:
        return f"argument invalid! data.{key} is not a template keyword"
    value = item.get("value") if isinstance(item, dict) else None
    if not isinstance(value, str) or not value.strip():
        return f"argument invalid! data.{key}.value is empty"
    kind = match.group(1)
    pattern, limit = FIELD_RULES[kind]
    if kind == "name" and re.search(f"[{_CJK}]", value):
        limit = 10  # a Chinese (or mixed) name: 10 characters
    if len(value) > limit or not pattern.fullmatch(value):
        return f"argument invalid! data.{key}.value invalid"
    return None


# --- the APIs ------------------------------------------------------------------------------------

Handler = Callable[["FakeWeChat", OpenApiState, dict[str, Any]], dict[str, Any] | bytes]


def _consume(codes: dict[str, IssuedCode], code: Any, now: float) -> IssuedCode:
    issued = codes.get(code) if isinstance(code, str) else None
    if issued is None or issued.used or now - issued.issued_at > CODE_TTL:
        raise ApiError(40029, f"invalid code, rid: {_rid()}")
    issued.used = True
    return issued


def jscode2session(fake: FakeWeChat, books: OpenApiState, params: dict[str, Any]) -> dict[str, Any]:
    creds = fake.credentials
    _require(params.get("appid") == creds.appid, 40013, "invalid appid")
    _require(params.get("secret") == creds.app_secret, 40125, "invalid appsecret")
    _require(params.get("grant_type") == "authorization_code", 40002, "invalid grant_type")
    _require(bool(params.get("js_code")), 41008, "missing code")
    now = fake.now()
    issued = books.login_codes.get(params["js_code"])
    if issued is not None and not issued.used:
        recent = [t for t in books.logins.get(issued.subject, []) if now - t < 60]
        books.logins[issued.subject] = recent
        _require(len(recent) < LOGINS_PER_MINUTE, 45011, "api minute-quota reach limit mustslower retry next minute")
    issued = _consume(books.login_codes, params["js_code"], now)
    books.logins.setdefault(issued.subject, []).append(now)
    session_key = base64.b64encode(secrets.token_bytes(16)).decode()  # rotates on every wx.login
    books.session_keys[issued.subject] = session_key
    answer = {"openid": issued.subject, "session_key": session_key}
    if issued.unionid:
        answer["unionid"] = issued.unionid
    return answer


def stable_token(fake: FakeWeChat, books: OpenApiState, body: dict[str, Any]) -> dict[str, Any]:
    creds = fake.credentials
    _require(body.get("grant_type") == "client_credential", 40002, "invalid grant_type")
    _require(body.get("appid") == creds.appid, 40013, "invalid appid")
    _require(body.get("secret") == creds.app_secret, 40125, "invalid appsecret")
    now = fake.now()
    force = body.get("force_refresh") is True
    current = books.current_token
    valid_until = books.tokens.get(current, 0.0) if current else 0.0
    if not force and valid_until - now > TOKEN_OVERLAP:
        return {"access_token": current, "expires_in": int(valid_until - now)}
    if force:
        books.forced_at = [t for t in books.forced_at if now - t < 86400]
        _require(not books.forced_at or now - books.forced_at[-1] >= FORCE_SPACING, 45011,
                 "api minute-quota reach limit: force_refresh at most once per 30 seconds")
        _require(len(books.forced_at) < FORCE_PER_DAY, 45009, "reach max api daily quota limit")
        books.forced_at.append(now)
    if current in books.tokens:
        books.tokens[current] = min(books.tokens[current], now + TOKEN_OVERLAP)
    token = secrets.token_urlsafe(96)  # real tokens are long: callers must store ≥512 characters
    books.tokens[token], books.current_token = now + TOKEN_TTL, token
    books.tokens = {t: until for t, until in books.tokens.items() if until > now}
    return {"access_token": token, "expires_in": TOKEN_TTL}


def check_token(fake: FakeWeChat, books: OpenApiState, token: str | None) -> None:
    _require(bool(token), 41001, "access_token missing")
    valid_until = books.tokens.get(token or "")
    _require(valid_until is not None, 40001, "invalid credential, access_token is invalid or not latest")
    _require(fake.now() < (valid_until or 0.0), 42001, "access_token expired")


def phone_number(fake: FakeWeChat, books: OpenApiState, body: dict[str, Any]) -> dict[str, Any]:
    _require(books.phone_quota is None or books.phone_quota > 0, 1400001,
             "该功能使用次数已达当前小程序上限，暂时无法使用")
    code = body.get("code")
    issued = books.phone_codes.get(code) if isinstance(code, str) else None
    if issued is not None and issued.openid and body.get("openid") not in (None, issued.openid):
        raise ApiError(40003, "invalid openid: the code was not issued to this user")
    issued = _consume(books.phone_codes, body.get("code"), fake.now())
    if books.phone_quota is not None:
        books.phone_quota -= 1  # charged per successful call (§1.3)
    local = f"+{issued.country_code} {issued.subject}" if issued.country_code != "86" else issued.subject
    return {"phone_info": {"phoneNumber": local, "purePhoneNumber": issued.subject,
                           "countryCode": issued.country_code,
                           "watermark": {"timestamp": int(fake.now()), "appid": fake.credentials.appid}}}


def wxacode_unlimit(fake: FakeWeChat, books: OpenApiState, body: dict[str, Any]) -> bytes:
    problem = scene_problem(body.get("scene"))
    _require(problem is None, 40169, problem or "")
    page = body.get("page", "")
    env = body.get("env_version", "release")
    _require(env in ("release", "trial", "develop"), 40097, "invalid args: env_version")
    if page:
        well_formed = (isinstance(page, str) and not page.startswith("/") and "?" not in page
                       and re.fullmatch(r"[0-9A-Za-z_\-.]+(/[0-9A-Za-z_\-.]+)*", page) is not None)
        _require(well_formed, 41030, "invalid page: no leading '/', no query, page must exist")
        released = books.released_pages
        if body.get("check_path", True) is not False and env == "release" and released is not None:
            _require(page in released, 41030, "invalid page: not in the released version (check_path)")
    width = body.get("width", 430)
    width = min(max(width if isinstance(width, int) else 430, 280), 1280)
    return code_png(str(body["scene"]), str(page or ""), width)


def subscribe_send(fake: FakeWeChat, books: OpenApiState, body: dict[str, Any]) -> dict[str, Any]:
    openid, template_id = body.get("touser"), body.get("template_id")
    _require(isinstance(openid, str) and bool(openid), 40003, "invalid openid")
    _require(isinstance(template_id, str) and bool(template_id), 40037, "invalid template_id")
    _require(body.get("miniprogram_state", "formal") in ("developer", "trial", "formal"), 47003,
             "argument invalid! miniprogram_state")
    page = body.get("page")
    _require(page is None or (isinstance(page, str) and not page.startswith("/")), 41030, "invalid page")
    data = body.get("data")
    _require(isinstance(data, dict) and bool(data), 47003, "argument invalid! data is empty")
    assert isinstance(data, dict)
    for key, item in data.items():
        problem = field_problem(key, item)
        _require(problem is None, 47003, problem or "")
    left = books.grants.get((str(openid), str(template_id)), 0)
    _require(left > 0, 43101, "user refuse to accept the msg")
    books.grants[(str(openid), str(template_id))] = left - 1  # one-time templates: one accept, one send
    books.messages.append({"touser": openid, "template_id": template_id, "page": page,
                           "data": {k: v["value"] for k, v in data.items()}, "sent_at": fake.now()})
    return {"errcode": 0, "errmsg": "ok", "msgid": 100_000 + len(books.messages)}


def _paid_order(fake: FakeWeChat, key: dict[str, Any]) -> Any:
    """The transaction the order key names, from the fake's Pay books (duck-typed: no import cycle)."""
    _require(key.get("order_number_type") in (1, 2), 10060014, "参数错误: order_key.order_number_type")
    books = fake.state.get("pay", {}).get("books")
    transactions: dict[str, Any] = getattr(books, "transactions", {}) or {}
    if key["order_number_type"] == 1:
        _require(key.get("mchid") == fake.credentials.mchid, 10060001, "支付单不存在 (mchid)")
        txn = transactions.get(str(key.get("out_trade_no")))
    else:
        txn = next((t for t in transactions.values()
                    if getattr(t, "transaction_id", None) == key.get("transaction_id")), None)
    _require(txn is not None, 10060001, "支付单不存在")
    _require(getattr(txn, "state", None) == "SUCCESS", 10060004, "支付单处于不可发货的状态")
    return txn


def _check_parcels(logistics_type: Any, mode: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    _require(logistics_type in (1, 2, 3, 4), 10060005, "物流模式有误 (logistics_type)")
    _require(mode in (1, 2), 10060014, "参数错误: delivery_mode")
    if mode == 2:
        _require(logistics_type == 1, 10060006, "非快递发货时，不允许分拆发货")
        _require(isinstance(body.get("is_all_delivered"), bool), 10060007, "分拆发货模式时必须填写 is_all_delivered")
    parcels = body.get("shipping_list")
    _require(isinstance(parcels, list) and 0 < len(parcels) <= MAX_PARCELS, 10060024, "物流信息列表数量有误")
    assert isinstance(parcels, list)
    _require(mode == 2 or len(parcels) == 1, 10060014, "参数错误: 统一发货只能有一个物流单")
    for parcel in parcels:
        desc = parcel.get("item_desc") if isinstance(parcel, dict) else None
        _require(isinstance(desc, str) and bool(desc), 10060008, "商品描述字段不能为空")
        _require(len(str(desc)) <= 120, 10060009, "商品描述字段长度超出限制")
        if logistics_type == 1:
            _require(bool(parcel.get("tracking_no")) and bool(parcel.get("express_company")), 10060014,
                     "参数错误: 快递发货需要 tracking_no 与 express_company")
    return parcels


def upload_shipping_info(fake: FakeWeChat, books: OpenApiState, body: dict[str, Any]) -> dict[str, Any]:
    key = body.get("order_key")
    _require(isinstance(key, dict), 10060014, "参数错误: order_key")
    assert isinstance(key, dict)
    txn = _paid_order(fake, key)
    payer = body.get("payer")
    _require(isinstance(payer, dict) and payer.get("openid") == getattr(txn, "openid", None), 10060014,
             "参数错误: payer.openid 与支付单不一致")
    parcels = _check_parcels(body.get("logistics_type"), body.get("delivery_mode"), body)
    try:
        uploaded = dt.datetime.fromisoformat(str(body.get("upload_time")))
    except ValueError:
        uploaded = None
    _require(uploaded is not None and uploaded.tzinfo is not None, 10060014, "参数错误: upload_time (RFC 3339)")
    record = books.shipping.setdefault(str(getattr(txn, "out_trade_no", "")), ShippingRecord())
    _require(record.completions < 2, 10060003, "支付单已使用重新发货机会")
    completes = body["delivery_mode"] == 1 or body.get("is_all_delivered") is True
    record.completions += 1 if (completes or record.completions) else 0
    record.uploads.append({"logistics_type": body["logistics_type"], "delivery_mode": body["delivery_mode"],
                           "shipping_list": parcels, "upload_time": body["upload_time"], "at": fake.now()})
    return {"errcode": 0, "errmsg": "ok"}


# --- the PNG -------------------------------------------------------------------------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def code_png(scene: str, page: str, width: int) -> bytes:
    """A real greyscale PNG of ``width``² pixels whose pattern derives from the scene, carrying the scene
    and page in ``tEXt`` chunks, so a test (or the sandbox) can "scan" it with ``read_png_text``."""
    modules = 25  # 21 data modules + a 2-module quiet zone on each side
    bits = "".join(f"{b:08b}" for i in range(2) for b in hashlib.sha256(f"{i}\0{page}\0{scene}".encode()).digest())
    scale = max(1, width // modules)
    rows = []
    for y in range(modules):
        line = bytes(0 if 2 <= x < 23 and 2 <= y < 23 and bits[(y - 2) * 21 + (x - 2)] == "1" else 255
                     for x in range(modules))
        rows.append((b"\x00" + bytes(v for v in line for _ in range(scale))) * scale)
    size = modules * scale
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"tEXt", b"scene\0" + scene.encode("latin-1"))
            + _chunk(b"tEXt", b"page\0" + page.encode("latin-1")) + _chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + _chunk(b"IEND", b""))


def read_png_text(png: bytes) -> dict[str, str]:
    """The ``tEXt`` entries of a PNG, after checking its signature and every chunk's CRC."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    texts: dict[str, str] = {}
    offset = len(PNG_SIGNATURE)
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset:offset + 4])
        kind, data = png[offset + 4:offset + 8], png[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length:offset + 12 + length])
        if zlib.crc32(kind + data) != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        if kind == b"tEXt":
            keyword, _, text = data.partition(b"\0")
            texts[keyword.decode("latin-1")] = text.decode("latin-1")
        offset += 12 + length
    return texts


# --- HTTP ----------------------------------------------------------------------------------------

def _answer(data: dict[str, Any], media_type: str = "application/json") -> Response:
    return Response(json.dumps(data, ensure_ascii=False), media_type=media_type)


def _endpoint(fake: FakeWeChat, path: str, handler: Handler, *, token: bool,
              media_type: str = "application/json") -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        books = state(fake)
        params: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            try:
                parsed = json.loads(await request.body() or b"{}")
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                return _answer({"errcode": 47001, "errmsg": f"data format error rid: {_rid()}"}, media_type)
            params = parsed
        books.calls.append((path, params))
        try:
            if token:
                check_token(fake, books, request.query_params.get("access_token"))
            injected = next((f for f in books.failures if f[0] == path), None)
            if injected is not None:
                books.failures.remove(injected)
                raise ApiError(injected[1], injected[2])
            result = handler(fake, books, params)  # synchronous: runs atomically on the event loop
        except ApiError as exc:
            return _answer({"errcode": exc.errcode, "errmsg": f"{exc.errmsg} rid: {_rid()}"}, media_type)
        if isinstance(result, bytes):
            return Response(result, media_type="image/png")
        return _answer(result, media_type)

    return endpoint


async def _control_body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _controls(fake: FakeWeChat) -> list[BaseRoute]:
    def bad(message: str) -> Response:
        return JSONResponse({"code": "PARAM_ERROR", "message": message}, status_code=400)

    async def login_codes(request: Request) -> Response:
        body = await _control_body(request)
        if not isinstance(body.get("openid"), str) or not body["openid"]:
            return bad("openid is required")
        unionid = body.get("unionid")
        return JSONResponse({"code": issue_login_code(fake, body["openid"], unionid if unionid else None)})

    async def phone_codes(request: Request) -> Response:
        body = await _control_body(request)
        if not isinstance(body.get("phone"), str) or not body["phone"].isdigit():
            return bad("phone (digits) is required")
        return JSONResponse({"code": issue_phone_code(fake, body["phone"], openid=body.get("openid"),
                                                      country_code=str(body.get("country_code", "86")))})

    async def subscriptions(request: Request) -> Response:
        body = await _control_body(request)
        openid, template_id, n = body.get("openid"), body.get("template_id"), body.get("n", 1)
        if not (isinstance(openid, str) and isinstance(template_id, str) and isinstance(n, int) and n > 0):
            return bad("openid, template_id and a positive n are required")
        return JSONResponse({"remaining": grant_subscription(fake, openid, template_id, n)})

    async def expire_tokens(_: Request) -> Response:
        expire_access_tokens(fake)
        return JSONResponse({"expired": True})

    async def phone_quota(request: Request) -> Response:
        remaining = (await _control_body(request)).get("remaining")
        if remaining is not None and not isinstance(remaining, int):
            return bad("remaining is an integer or null (unlimited)")
        set_phone_quota(fake, remaining)
        return JSONResponse({"remaining": remaining})

    async def fail_next(request: Request) -> Response:
        body = await _control_body(request)
        if not isinstance(body.get("path"), str) or not isinstance(body.get("errcode"), int):
            return bad("path and errcode are required")
        inject_error(fake, body["path"], body["errcode"], str(body.get("errmsg", "injected")),
                     int(body.get("count", 1)))
        return JSONResponse({"pending": len(state(fake).failures)})

    async def messages(_: Request) -> Response:
        return JSONResponse({"messages": sent_messages(fake)})

    return [
        Route("/_fake/openapi/login-codes", login_codes, methods=["POST"]),
        Route("/_fake/openapi/phone-codes", phone_codes, methods=["POST"]),
        Route("/_fake/openapi/subscriptions", subscriptions, methods=["POST"]),
        Route("/_fake/openapi/expire-tokens", expire_tokens, methods=["POST"]),
        Route("/_fake/openapi/phone-quota", phone_quota, methods=["POST"]),
        Route("/_fake/openapi/fail-next", fail_next, methods=["POST"]),
        Route("/_fake/openapi/messages", messages, methods=["GET"]),
    ]


def install(fake: FakeWeChat) -> None:
    apis: list[tuple[str, Handler, bool, str]] = [
        # jscode2session labels its JSON text/plain, like the real one: clients must not trust Content-Type.
        ("/sns/jscode2session", jscode2session, False, "GET"),
        ("/cgi-bin/stable_token", stable_token, False, "POST"),
        ("/wxa/business/getuserphonenumber", phone_number, True, "POST"),
        ("/wxa/getwxacodeunlimit", wxacode_unlimit, True, "POST"),
        ("/cgi-bin/message/subscribe/send", subscribe_send, True, "POST"),
        ("/wxa/sec/order/upload_shipping_info", upload_shipping_info, True, "POST"),
    ]
    routes: list[BaseRoute] = [
        Route(path, _endpoint(fake, path, handler, token=token,
                              media_type="text/plain" if path == "/sns/jscode2session" else "application/json"),
              methods=[method]) for path, handler, token, method in apis]
    fake.add_routes(routes + _controls(fake))
