/* Console orders: every order of the shop (GET orders), by status, searched by order number, paginated. */
(function () {
  "use strict";
  const L = LB.L;
  const section = LB.$("#orders");
  const search = LB.$("#order-search");
  const filters = { status: LB.query("status") || "", q: LB.query("q") || "" };
  search.elements.q.value = filters.q;

  function items(o) {
    const first = o.lines[0];
    if (!first) return "—";
    const more = o.lines.length > 1 ? L(` 等 ${o.lines.length} 件`, ` and ${o.lines.length - 1} more`) : "";
    return `${first.title} ×${first.quantity}${more}`;
  }

  const table = LB.table(LB.$("#orders-table"), [
    { title: L("订单号", "Order no."), render: (o) => LB.html`<a href="/console/orders/${o.order_no}" data-testid="order-link">${o.order_no}</a>` },
    { title: L("下单时间", "Placed"), render: (o) => LB.esc(LB.time(o.created_at)) },
    { title: L("商品", "Items"), render: (o) => LB.esc(items(o)) },
    { title: L("实付", "Payable"), render: (o) => LB.html`${LB.yuan(o.payable_fen)}${o.refunded_fen
        ? LB.html`<br><small class="lb-muted">${L("已退", "Refunded")} ${LB.yuan(o.refunded_fen)}</small>` : ""}` },
    { title: L("支付", "Payment"), render: (o) => LB.esc(`${LBOps.PAYMENT[o.payment_method] || o.payment_method} · ${LBOps.PAYMENT[o.payment_status] || o.payment_status}`) },
    { title: L("配送", "Fulfilment"), render: (o) => LB.esc(o.fulfilment === "pickup"
        ? L("到店自提", "Pickup") + (o.pickup_no ? ` #${o.pickup_no}` : "") : L("快递配送", "Delivery")) },
    { title: L("状态", "Status"), render: (o) => LB.html`${LBOps.order(o.status, "order-row-status")}${o.fulfilment_hold
        ? LB.html`<br><small class="lb-muted">${L("等待成团", "Held by its promotion")}</small>` : ""}` },
  ], (limit, offset) => {
    const params = new URLSearchParams({ limit, offset });
    if (filters.status) params.set("status", filters.status);
    if (filters.q) params.set("q", filters.q);
    return LB.get("orders?" + params);
  }, { empty: L("没有符合条件的订单", "No orders match") });

  function markTab() {
    LB.$$("#order-tabs button").forEach((b) => b.classList.toggle("active", b.dataset.status === filters.status));
  }
  function remember() {
    const params = new URLSearchParams();
    if (filters.status) params.set("status", filters.status);
    if (filters.q) params.set("q", filters.q);
    history.replaceState(null, "", location.pathname + (params.toString() ? "?" + params : ""));
  }
  LB.$$("#order-tabs button").forEach((b) => b.addEventListener("click", () => {
    filters.status = b.dataset.status;
    markTab(); remember(); LB.clearProblem(section); table.reset();
  }));
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    filters.q = search.elements.q.value.trim();
    remember(); LB.clearProblem(section); table.reset();
  });
  markTab();
})();
