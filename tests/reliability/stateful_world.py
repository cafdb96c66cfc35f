"""The shop the state machine drives (:mod:`tests.reliability.test_state_machine`), spoken to through the API only,
and the invariants it checks after every step, read from the shop's rows.

Every answer must be one the API documents for that request: a success, or a 4xx problem with one of the stable
codes listed for the step — never a 5xx, never an unknown code. The model keeps only what a client knows (its
orders, bargains, coupons); the invariants are stated from the database, not from the model, so they hold
whatever order the steps came in.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.api.distribution_helpers import enable, invite
from tests.conftest import ADDRESS, ShopHarness, make_shop

PLAIN_PRICE, PLAIN_STOCK = 1000, 20
DEAR_PRICE, DEAR_STOCK = 2500, 8
GROUP_PRICE, GROUP_STOCK = 1500, 5
BARGAIN_PRICE, BARGAIN_STOCK, BARGAIN_FLOOR = 2000, 3, 500
CUSTOMERS = 3
_names = itertools.count()
OUTCOMES: Counter[str] = Counter()  # "<step> <status>" over every history of a run: what the machine exercised


@dataclass
class Order:
    order_no: str
    customer: int
    kind: str  # plain, group, bargain
    otn: str | None


@dataclass
class World:
    """One example's shop: three customers (each the promoter of the next), two plain SKUs, a group buy, a bargain,
    a coupon, distribution (10%, one level) with a one-day settlement window and auto-approved withdrawals."""

    shop: ShopHarness
    customers: list[dict[str, str]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    skus: dict[str, int] = field(default_factory=dict)
    initial: dict[int, int] = field(default_factory=dict)
    group_campaign: int = 0
    bargain_campaign: int = 0
    coupon_template: int = 0
    orders: list[Order] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    bargains: list[tuple[int, int]] = field(default_factory=list)  # (bargain id, owner)
    coupons: list[tuple[int, int]] = field(default_factory=list)  # (coupon id, owner)
    paying: list[Order] = field(default_factory=list)
    addresses: list[dict[str, str]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @classmethod
    async def create(cls, client: httpx.AsyncClient, db: Any) -> World:
        world = cls(await make_shop(client, db))
        shop = world.shop
        await enable(shop, levels=1, level_rates_bps=[1000], settle_after_days=1, withdrawal_fee_bps=100,
                     withdrawal_auto_approve_fen=100_000)
        run = next(_names)
        for i in range(CUSTOMERS):
            world.names.append(f"sm{run}-{i}")
            # Each their own phone: accounts sharing one are linked (anti-abuse) and may not help each other.
            world.addresses.append({**ADDRESS, "name": f"顾客{i}", "phone": f"139{run % 10_000:04d}{i:04d}"})
            world.customers.append({})
            world.ids.append(0)
            await world.relogin(i)
        for i in range(1, CUSTOMERS):  # a chain: each customer is the promoter of the next
            await invite(shop, world.customers[i - 1], world.customers[i])
        for key, price, stock in (("plain", PLAIN_PRICE, PLAIN_STOCK), ("dear", DEAR_PRICE, DEAR_STOCK),
                                  ("group", GROUP_PRICE, GROUP_STOCK), ("bargain", BARGAIN_PRICE, BARGAIN_STOCK)):
            world.skus[key] = await shop.sku(price_fen=price, stock=stock, title=f"商品 {key}")
            world.initial[world.skus[key]] = stock
        world.group_campaign = await world._create("/api/v1/console/groupbuy/campaigns", {
            "sku_id": world.skus["group"], "group_size": 2, "group_price_fen": 1000, "duration_seconds": 3600})
        world.bargain_campaign = await world._create("/api/v1/console/bargain/campaigns", {
            "sku_id": world.skus["bargain"], "start_price_fen": BARGAIN_PRICE, "floor_price_fen": BARGAIN_FLOOR,
            "helpers_needed": 1, "duration_seconds": 3600})
        world.coupon_template = await world._create("/api/v1/console/coupons/templates", {
            "name": "立减3元", "kind": "fixed", "amount_fen": 300, "total_quantity": 4, "per_customer_limit": 1,
            "valid_days": 3})
        # A past: the second and third customer each bought, paid and received something, so their promoters
        # have commissions on the way (the steps may settle, withdraw, refund them).
        for c, key in ((1, "plain"), (2, "dear")):
            await world.place(c, key, 1, None, pay_now=True)
            await world.pay_placed()
            await world.ship_and_receive(world.orders[-1])
        return world

    async def _create(self, url: str, body: dict[str, Any]) -> int:
        r = await self.shop.client.post(url, headers=self.shop.staff, json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    async def relogin(self, i: int) -> None:
        """Customers' tokens expire when the clock moves days on; they sign in again (the same customer)."""
        r = await self.shop.client.post(f"{self.shop.base}/auth/wechat-login",
                                        json={"code": f"sandbox:{self.names[i]}"})
        assert r.status_code == 200, r.text
        self.customers[i] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        self.ids[i] = int(r.json()["customer"]["id"])

    # --- talking to the API --------------------------------------------------------------------------------------

    def expect(self, step: str, what: str, r: httpx.Response, ok: set[int],
               codes: frozenset[str] = frozenset()) -> bool:
        """True on success; a refusal must be a 4xx problem with one of ``codes``; anything else fails the test."""
        self.log.append(f"{what} -> {r.status_code} {r.text[:160] if r.status_code >= 300 else ''}".rstrip())
        if r.status_code in ok:
            OUTCOMES[f"{step} {r.status_code}"] += 1
            return True
        assert 400 <= r.status_code < 500, f"{what}: {r.status_code} {r.text}"
        assert r.headers["content-type"].startswith("application/problem+json"), f"{what}: {r.text}"
        assert r.json()["code"] in codes, f"{what}: unexpected refusal {r.status_code} {r.text}"
        OUTCOMES[f"{step} {r.status_code} {r.json()['code']}"] += 1
        return False

    async def post(self, url: str, who: dict[str, str] | None = None, body: Any = None) -> httpx.Response:
        return await self.shop.client.post(url, headers=who or self.shop.staff, json=body)

    async def choose(self, i: int, wanted: frozenset[str], anyone: bool = False) -> Order | None:
        """An order the step makes sense for (its status now), else any: the steps pick their targets from what the
        shop holds; refusals of the others are exercised too (``anyone``)."""
        if not self.orders:
            return None
        statuses = dict(await self.shop.rows(
            "SELECT order_no, status || CASE WHEN fulfilment_hold IS NULL THEN '' ELSE '-held' END FROM orders "
            "WHERE shop_id = :shop"))
        fitting = [o for o in self.orders if statuses.get(o.order_no) in wanted]
        pool = self.orders if anyone or not fitting else fitting
        return pool[i % len(pool)]

    async def run_due(self) -> None:
        await self.shop.run_due()

    async def advance(self, seconds: int) -> None:
        await self.shop.advance(seconds)  # the staff session is renewed there
        for i in range(CUSTOMERS):
            await self.relogin(i)
        await self.run_due()

    # --- steps ---------------------------------------------------------------------------------------------------

    async def place(self, c: int, sku_key: str, quantity: int, coupon: int | None, pay_now: bool) -> None:
        body: dict[str, Any] = {"lines": [{"sku_id": self.skus[sku_key], "quantity": quantity}],
                                "address": self.addresses[c]}
        if coupon is not None:
            body["coupon_id"] = coupon
        r = await self.post(f"{self.shop.base}/orders", self.customers[c], body)
        if self.expect("place", f"c{c} orders {quantity} x {sku_key} coupon {coupon}", r, {201}, {
                "stock_exhausted", "coupon_already_used", "coupon_expired", "coupon_not_found"}):
            self._track(r.json(), c, "plain", pay_now)

    def _track(self, order: dict[str, Any], c: int, kind: str, pay_now: bool) -> None:
        self.orders.append(Order(order["order_no"], c, kind, (order.get("payment") or {}).get("out_trade_no")))
        if pay_now:
            self.paying.append(self.orders[-1])

    async def pay_placed(self) -> None:
        """The buyer pays right after placing (the usual way); then the order is paid, or refused if it is not."""
        while self.paying:
            await self.pay(self.paying.pop())

    async def pay(self, o: Order) -> None:
        if o.otn is None:
            return
        r = await self.shop.client.post(f"/api/v1/sandbox/wechat/payments/{o.otn}/succeed")
        self.expect("pay", f"pay {o.order_no}", r, {204},
                    frozenset({"payment_closed", "wechat_order_expired", "wechat_orderclosed"}))

    async def cancel(self, o: Order) -> None:
        r = await self.post(f"{self.shop.base}/orders/{o.order_no}/cancel", self.customers[o.customer])
        self.expect("cancel", f"c{o.customer} cancels {o.order_no}", r, {200}, {"order_not_cancellable"})

    async def ship_and_receive(self, o: Order) -> None:
        r = await self.post(f"/api/v1/console/orders/{o.order_no}/ship", body={"carrier": "顺丰",
                                                                            "tracking_no": "SF1234567890"})
        if not self.expect("ship", f"ship {o.order_no}", r, {200}, {"order_not_shippable", "order_on_hold"}):
            return
        r = await self.post(f"{self.shop.base}/orders/{o.order_no}/confirm-receipt", self.customers[o.customer])
        self.expect("receive", f"c{o.customer} receives {o.order_no}", r, {200}, {"order_not_shipped"})

    async def refund(self, o: Order, half: bool) -> None:
        body: dict[str, Any] = {"reason": "不想要了"}
        if half:
            r = await self.shop.client.get(f"{self.shop.base}/orders/{o.order_no}", headers=self.customers[o.customer])
            assert r.status_code == 200, r.text
            left = r.json()["payable_fen"] - r.json()["refunded_fen"]
            if left < 2:
                return
            body["amount_fen"] = left // 2
        r = await self.post(f"{self.shop.base}/orders/{o.order_no}/refund-requests", self.customers[o.customer], body)
        what = f"c{o.customer} asks refund of {o.order_no} {body.get('amount_fen', 'all')}"
        if not self.expect("refund", what, r, {201}, {
                "refund_in_progress", "order_not_refundable", "refund_window_closed", "order_on_hold",
                "nothing_to_refund"}):
            return
        r = await self.post(f"/api/v1/console/refunds/{r.json()['id']}/approve")
        self.expect("approve", f"approve refund of {o.order_no}", r, {200})
        await self.run_due()

    async def join_group(self, c: int, group: int | None, pay_now: bool) -> None:
        promotion: dict[str, Any] = {"kind": "groupbuy", "campaign_id": self.group_campaign}
        if group is not None:
            promotion["group_id"] = group
        body = {"lines": [{"sku_id": self.skus["group"], "quantity": 1}], "address": self.addresses[c],
                "promotion": promotion}
        r = await self.post(f"{self.shop.base}/orders", self.customers[c], body)
        if self.expect("join", f"c{c} joins group {group}", r, {201}, {
                "stock_exhausted", "already_in_group", "group_full", "group_closed", "campaign_over"}):
            order = r.json()
            self._track(order, c, "group", pay_now)
            if order["promotion"]["group_id"] not in self.groups:
                self.groups.append(order["promotion"]["group_id"])

    async def start_bargain(self, c: int) -> None:
        r = await self.post(f"{self.shop.base}/bargains", self.customers[c], {"campaign_id": self.bargain_campaign})
        if self.expect("start", f"c{c} starts a bargain", r, {201}, {"bargain_in_progress", "initiation_limit_reached",
                                                              "campaign_over", "sku_stock_insufficient",
                                                              "stock_exhausted"}):
            self.bargains.append((int(r.json()["id"]), c))

    async def help_bargain(self, c: int, bargain: int, owner: int, buy_after: bool) -> None:
        """A friend cuts; with ``buy_after`` the owner buys as soon as the cut completes it (and pays)."""
        r = await self.post(f"{self.shop.base}/bargains/{bargain}/help", self.customers[c])
        if self.expect("help", f"c{c} helps bargain {bargain}", r, {200}, {
            "cannot_help_own_bargain", "bargain_complete", "bargain_expired", "bargain_ordered",
            "bargain_already_ordered", "daily_help_limit_reached"}) and buy_after and r.json()["complete"]:
            await self.buy_bargain(bargain, owner, pay_now=True)
            await self.pay_placed()

    async def buy_bargain(self, bargain: int, owner: int, pay_now: bool) -> None:
        body = {"lines": [{"sku_id": self.skus["bargain"], "quantity": 1}], "address": self.addresses[owner],
                "promotion": {"kind": "bargain", "bargain_id": bargain}}
        r = await self.post(f"{self.shop.base}/orders", self.customers[owner], body)
        if self.expect("buy", f"c{owner} buys bargain {bargain}", r, {201}, {
                "bargain_not_complete", "bargain_expired", "bargain_ordered", "bargain_already_ordered",
                "stock_exhausted", "campaign_over"}):
            self._track(r.json(), owner, "bargain", pay_now)

    async def claim_coupon(self, c: int) -> None:
        r = await self.post(f"{self.shop.base}/coupons/claim", self.customers[c], {"template_id": self.coupon_template})
        if self.expect("claim", f"c{c} claims a coupon", r, {201}, {"coupon_sold_out", "coupon_limit_reached",
                                                            "coupon_per_customer_limit"}):
            self.coupons.append((int(r.json()["id"]), c))

    async def withdraw(self, c: int, amount: int | None) -> None:
        me = await self.me(c)
        fen = me["withdrawable_fen"] if amount is None else amount
        if fen <= 0:
            return
        r = await self.post(f"{self.shop.base}/promoter/withdrawals", self.customers[c], {"amount_fen": fen})
        self.expect("withdraw", f"c{c} withdraws {fen}", r, {201}, {"insufficient_balance", "withdrawal_daily_limit",
                                                         "withdrawal_below_minimum"})

    async def me(self, c: int) -> dict[str, Any]:
        r = await self.shop.client.get(f"{self.shop.base}/promoter/me", headers=self.customers[c])
        assert r.status_code == 200, r.text
        return dict(r.json())


# --- invariants, from the shop's rows ------------------------------------------------------------------------------

# (what must hold, the shop's rows that break it as (detail)): sent as ONE statement after every step.
_INVARIANTS: tuple[tuple[str, str], ...] = (
    ("every ledger transaction balances",
     "SELECT format('transaction %s (%s) sums to %s', t.id, t.kind, sum(e.amount_fen)) FROM ledger_transactions t "
     "JOIN ledger_entries e ON e.transaction_id = t.id WHERE t.shop_id = :shop GROUP BY t.id "
     "HAVING sum(e.amount_fen) <> 0"),
    ("stock is conserved: on the shelf + held by orders = what the shop stocked",
     "SELECT format('sku %s: %s on the shelf, %s held by orders', s.id, s.stock, held.units) FROM skus s "
     "LEFT JOIN (SELECT l.sku_id, sum(l.quantity) AS units FROM order_lines l JOIN orders o ON o.id = l.order_id "
     "WHERE o.shop_id = :shop AND o.status <> 'cancelled' "
     # a group seat given up (unpaid at the deadline, or its group failed) has given its units back already
     "AND NOT EXISTS (SELECT 1 FROM groupbuy_members m JOIN groupbuy_groups g ON g.id = m.group_id "
     "WHERE m.order_id = o.id AND (m.status = 'released' OR (m.status = 'refunded' AND g.status = 'failed'))) "
     "GROUP BY l.sku_id) held ON held.sku_id = s.id WHERE s.shop_id = :shop "
     "AND (s.stock < 0 OR s.stock + coalesce(held.units, 0) <> "
     "CAST(CAST(:initial AS jsonb) ->> CAST(s.id AS text) AS integer))"),
    ("groups never over-filled",
     "SELECT format('group %s: size %s, seats %s, paid %s', g.id, g.size, g.slots_taken, g.paid_count) "
     "FROM groupbuy_groups g WHERE g.shop_id = :shop AND (g.slots_taken > g.size OR g.paid_count > g.size "
     "OR g.slots_taken < 0 OR g.paid_count < 0 OR (SELECT count(*) FROM groupbuy_members m WHERE m.group_id = g.id "
     "AND m.status IN ('held', 'paid')) > g.size)"),
    ("a coupon is used by at most one live order, and is 'used' exactly when one holds it",
     "SELECT format('coupon %s: %s, order %s', c.id, c.status, c.order_no) FROM coupons c WHERE c.shop_id = :shop "
     "AND ((SELECT count(*) FROM orders o WHERE o.shop_id = c.shop_id AND o.promotion ->> 'coupon_id' = "
     "CAST(c.id AS text) AND o.status <> 'cancelled') > 1 OR (c.status = 'used') <> EXISTS (SELECT 1 FROM orders o "
     "WHERE o.id = c.order_id AND o.status <> 'cancelled' AND o.promotion ->> 'coupon_id' = CAST(c.id AS text)))"),
    ("coupons never over-issued",
     "SELECT format('template %s: issued %s of %s', t.id, t.issued, t.total_quantity) FROM coupon_templates t "
     "WHERE t.shop_id = :shop AND (t.issued > t.total_quantity "
     "OR t.issued <> (SELECT count(*) FROM coupons c WHERE c.template_id = t.id))"),
    ("a bargain's price stays between its floor and its start",
     "SELECT format('bargain %s at %s (floor %s)', id, current_price_fen, floor_price_fen) FROM bargain_bargains "
     "WHERE shop_id = :shop AND (current_price_fen < floor_price_fen OR current_price_fen > start_price_fen)"),
    ("refunds never exceed what was paid, and orders count exactly the refunds that succeeded",
     "SELECT format('order %s: payable %s, refunded %s, refunds done %s', o.order_no, o.payable_fen, o.refunded_fen, "
     "r.done) FROM orders o LEFT JOIN (SELECT order_id, sum(amount_fen) AS done FROM payment_refunds "
     "WHERE status = 'succeeded' GROUP BY order_id) r ON r.order_id = o.id WHERE o.shop_id = :shop "
     "AND (o.refunded_fen > o.payable_fen OR o.refunded_fen <> coalesce(r.done, 0))"),
    ("the cash the ledger holds is what was paid less what was refunded",
     "SELECT format('ledger %s, paid %s, refunded %s', ledger.fen, paid.fen, refunded.fen) FROM "
     "(SELECT coalesce(sum(e.amount_fen), 0) AS fen FROM ledger_entries e JOIN ledger_transactions t "
     "ON t.id = e.transaction_id WHERE t.shop_id = :shop AND e.account = 'cash:wechat' "
     "AND t.kind IN ('payment', 'refund')) ledger, "
     "(SELECT coalesce(sum(amount_fen), 0) AS fen FROM payments WHERE shop_id = :shop AND status = 'paid' "
     "AND provider = 'wechat') paid, (SELECT coalesce(sum(amount_fen), 0) AS fen FROM payment_refunds "
     "WHERE shop_id = :shop AND status = 'succeeded') refunded WHERE ledger.fen <> paid.fen - refunded.fen"),
    # Balances are the ledger's accounts (what the promoter centre shows); the rows are commissions and withdrawals.
    ("promoters' balances in the ledger equal their commission and withdrawal rows",
     "WITH acc AS (SELECT e.account, sum(e.amount_fen) AS fen FROM ledger_entries e JOIN ledger_transactions t "
     "ON t.id = e.transaction_id WHERE t.shop_id = :shop GROUP BY e.account), "
     "bal AS (SELECT c.id, "
     "-coalesce((SELECT fen FROM acc WHERE account = 'commission_pending:customer:' || c.id), 0) AS pending, "
     "-coalesce((SELECT fen FROM acc WHERE account = 'payable:customer:' || c.id), 0) AS withdrawable, "
     "coalesce((SELECT fen FROM acc WHERE account = 'promoter_debt:customer:' || c.id), 0) AS debt, "
     "-coalesce((SELECT fen FROM acc WHERE account = 'withdrawal_held:customer:' || c.id), 0) AS held, "
     "(SELECT coalesce(sum(amount_fen - cancelled_fen), 0) FROM distribution_commissions d WHERE d.shop_id = :shop "
     "AND d.beneficiary_id = c.id AND d.status = 'pending') AS pending_rows, "
     "(SELECT coalesce(sum(amount_fen - cancelled_fen - reversed_fen), 0) FROM distribution_commissions d "
     "WHERE d.shop_id = :shop AND d.beneficiary_id = c.id AND d.status = 'settled') AS settled_rows, "
     "(SELECT coalesce(sum(amount_fen), 0) FROM distribution_withdrawals w WHERE w.shop_id = :shop "
     "AND w.customer_id = c.id AND w.state NOT IN ('pending_review', 'rejected', 'failed')) AS paid_out "
     "FROM customers c WHERE c.shop_id = :shop) "
     "SELECT format('customer %s: ledger pending %s / rows %s; withdrawable %s - debt %s + held %s vs settled %s - "
     "paid out %s', id, pending, pending_rows, withdrawable, debt, held, settled_rows, paid_out) FROM bal "
     "WHERE pending <> pending_rows OR withdrawable - debt + held <> settled_rows - paid_out "
     "OR least(pending, withdrawable, debt, held) < 0"),
)
_ONE_STATEMENT = " UNION ALL ".join(f"(SELECT CAST(:n{i} AS text), d FROM ({sql}) AS x{i}(d))"
                                    for i, (_, sql) in enumerate(_INVARIANTS))


async def broken_invariants(world: World) -> list[str]:
    """Every invariant the shop's rows break now (one round trip)."""
    import json

    names = {f"n{i}": name for i, (name, _) in enumerate(_INVARIANTS)}
    initial = json.dumps({str(k): v for k, v in world.initial.items()})
    return [f"{name}: {detail}" for name, detail in await world.shop.rows(_ONE_STATEMENT, initial=initial, **names)]
