/* Console order: the order as the API gives it (GET orders/{no}), its buyer, store, attribution and refund
 * requests; ship, picked up, cash collected, cancel and the shop's own refund, each answered by the API.
 */
(function () {
  "use strict";
  const L = LB.L;
  const orderNo = LB.cfg.params.order_no;
  const section = LB.$("#order");
  const actionsCard = LB.$("#actions-card");
  const shipForm = LB.$("#ship-form");
  let refundsTable = null;
  LBOps.nav("orders");

  function kv(pairs) {
    return String(LB.html`${pairs.filter((p) => p[1] !== undefined).map(([k, v, key]) =>
      LB.html`<dt>${k}</dt><dd data-k="${key || ""}">${v === null || v === "" ? "—" : v}</dd>`)}`);
  }
  function address(a) {
    if (!a) return "—";
    return [a.name, a.phone, [a.province, a.city, a.district, a.detail].filter(Boolean).join(" ")].filter(Boolean).join("，");
  }

  // The phone is masked everywhere; the full number is asked for on purpose, and each look is audited.
  function revealButton(o) {
    const dd = LB.$("#order-customer dd[data-k=address]");
    if (!o.address || !dd) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "lb-link";
    button.dataset.testid = "reveal-contact";
    button.textContent = L(" 查看完整电话", " Show the full number");
    dd.appendChild(button);
    LB.onClick(button, async () => {
      const contact = await LB.get("orders/" + encodeURIComponent(o.order_no) + "/contact");
      dd.textContent = address(contact.address);
    }, LB.$("#order-customer").closest("section"));
  }

  function drawInfo(o) {
    LB.$("#order-title").textContent = L("订单 ", "Order ") + o.order_no;
    LB.$("#order-status-badge").innerHTML = String(LBOps.order(o.status, "order-status"));
    LB.$("#order-info").innerHTML = kv([
      [L("下单时间", "Placed"), LB.time(o.created_at)],
      [L("商品总额", "Goods"), LB.yuan(o.total_fen)],
      [L("优惠", "Discount"), LB.yuan(o.discount_fen)],
      [L("运费", "Shipping"), LB.yuan(o.shipping_fen)],
      [L("实付", "Payable"), LB.yuan(o.payable_fen)],
      [L("已退款", "Refunded"), LB.yuan(o.refunded_fen)],
      [L("买家留言", "Note"), o.note],
      [L("发货时间", "Shipped"), o.shipped_at ? LB.time(o.shipped_at) : null],
      [L("快递", "Carrier"), o.carrier ? `${o.carrier} ${o.tracking_no || ""}` : null],
      [L("自动确认收货", "Auto-completes"), o.auto_complete_at ? LB.time(o.auto_complete_at) : null],
      [L("完成时间", "Completed"), o.completed_at ? LB.time(o.completed_at) : null],
      [L("取消", "Cancelled"), o.cancelled_at ? `${LB.time(o.cancelled_at)} (${o.cancel_reason || ""})` : null],
    ]);
    const pickup = o.fulfilment === "pickup";
    LB.$("#order-customer").innerHTML = kv([
      [L("顾客", "Customer"), o.customer_id ? `#${o.customer_id}` : null, "customer"],
      [L("配送方式", "Fulfilment"), pickup ? L("到店自提", "Pickup at a store") : L("快递配送", "Delivery")],
      [pickup ? L("取货人", "Collected by") : L("收货地址", "Ship to"), address(o.address), "address"],
      [L("自提门店", "Store"), pickup ? `#${o.store_id}` : undefined, "store"],
      [L("取货号", "Pickup no."), pickup ? (o.pickup_no ? String(o.pickup_no) : null) : undefined, "pickup_no"],
    ]);
    revealButton(o);
    const p = o.payment || {};
    LB.$("#order-payment").innerHTML = kv([
      [L("支付方式", "Method"), LBOps.PAYMENT[o.payment_method] || o.payment_method],
      [L("支付状态", "Status"), LBOps.PAYMENT[o.payment_status] || o.payment_status],
      [L("支付时间", "Paid"), o.paid_at ? LB.time(o.paid_at) : null],
      [L("商户单号", "Out trade no."), p.out_trade_no || null],
      [L("支付渠道", "Provider"), p.provider ? `${p.provider} · ${p.status}` : null],
      [L("付款截止", "Pay by"), o.payment_deadline ? LB.time(o.payment_deadline) : null],
    ]);
    const promo = o.promotion || {};
    LB.$("#order-source").innerHTML = kv([
      [L("营销活动", "Promotion"), promo.kind ? (LBOps.PROMOTION[promo.kind] || promo.kind) : L("无", "None")],
      [L("活动 ID", "Campaign"), promo.campaign_id ? `#${promo.campaign_id}` : undefined],
      [L("拼团 ID", "Group"), promo.group_id ? `#${promo.group_id}` : undefined],
      [L("砍价 ID", "Bargain"), promo.bargain_id ? `#${promo.bargain_id}` : undefined],
      [L("分享码", "Share code"), o.share_code],
      [L("归因", "Attribution"), L("加载中…", "Loading…"), "attribution"],
    ]);
    LB.$("#order-lines").innerHTML = String(LB.html`<table class="lb-table"><thead><tr>
      <th></th><th>${L("商品", "Product")}</th><th>${L("规格", "Specs")}</th><th>${L("单价", "Unit price")}</th>
      <th>${L("数量", "Qty")}</th><th>${L("小计", "Total")}</th><th>${L("优惠", "Discount")}</th><th>${L("实付", "Payable")}</th>
      <th>${L("已退", "Refunded")}</th></tr></thead><tbody>${o.lines.map((l) => LB.html`<tr>
      <td>${l.image ? LB.html`<img class="ops-thumb" src="${l.image}" alt="">` : LB.html`<span class="ops-thumb empty"></span>`}</td>
      <td><a href="/console/products/${l.product_id}">${l.title}</a></td><td>${LBOps.specs(l.specs)}</td>
      <td>${LB.yuan(l.unit_price_fen)}</td><td>${l.quantity}</td><td>${LB.yuan(l.total_fen)}</td>
      <td>${LB.yuan(l.discount_fen)}</td><td>${LB.yuan(l.payable_fen)}</td><td>${LB.yuan(l.refunded_fen)}</td></tr>`)}</tbody></table>`);
  }

  /** Who bought it, which store, where it came from: each read on its own, a missing one says so. */
  async function drawExtras(o) {
    const [customer, store, attribution] = await Promise.allSettled([
      o.customer_id ? LB.get(`customers/${o.customer_id}`) : Promise.resolve(null),
      o.store_id ? LB.get(`stores/${o.store_id}`) : Promise.resolve(null),
      LB.get(`orders/${encodeURIComponent(o.order_no)}/attribution`),
    ]);
    if (customer.status === "fulfilled" && customer.value) {
      LB.$("dd[data-k=customer]").textContent = `${customer.value.nickname} (#${customer.value.id})`;
    }
    if (store.status === "fulfilled" && store.value) {
      LB.$("dd[data-k=store]").textContent = `${store.value.name} · ${store.value.address}`;
    }
    const last = LB.$("dd[data-k=attribution]");
    if (attribution.status === "fulfilled") {
      const a = attribution.value;
      const channel = a.channel ? (LBOps.CHANNEL[a.channel] || a.channel) : "";
      const SOURCES = { none: L("自然流量（无分享）", "Organic (no share)"), share_code: L("分享链接", "Share link"),
        last_visit: L("最近一次分享访问", "Last share visit"), binding: L("锁客绑定", "Promoter binding") };
      last.innerHTML = String(LB.html`${SOURCES[a.source] || a.source}${channel ? ` · ${channel}` : ""}${a.campaign ? ` · ${a.campaign}` : ""}
        ${a.sharer_id ? LB.html`<br>${L("分享人", "Sharer")} #${a.sharer_id}` : ""}
        ${a.root_sharer_id ? LB.html` · ${L("源头", "Root")} #${a.root_sharer_id} · ${L("层级", "Depth")} ${a.depth}` : ""}
        ${a.bound_promoter_id ? LB.html`<br>${L("绑定推广员", "Bound promoter")} #${a.bound_promoter_id}` : ""}
        ${a.share_code ? LB.html`<br>${L("分享码", "Share code")} ${a.share_code}` : ""}`);
    } else {
      last.textContent = attribution.reason && attribution.reason.status === 404
        ? L("无（未通过分享下单，或尚未支付）", "None (not through a share, or not paid yet)")
        : attribution.reason.message_();
    }
  }

  function button(label, testid, cls) {
    return LB.html`<button type="button" class="lb-btn ${cls || "ghost"}" data-testid="${testid}">${label}</button>`;
  }

  /** Which actions to offer follows the order's state as the API reports it; the API still decides. */
  function drawActions(o) {
    const actions = LB.$("#order-actions");
    const open = !["cancelled", "refunded", "completed"].includes(o.status);
    const holding = Boolean(o.fulfilment_hold);
    const handOver = o.status === "paid" || (o.status === "pending_payment" && o.payment_method === "cod");
    shipForm.hidden = !(o.fulfilment === "delivery" && handOver && !holding);
    LB.$("#hold-note").hidden = !holding;
    LB.$("#hold-note").textContent = holding ? L(`此订单由营销活动暂缓发货（${o.fulfilment_hold}），成团后方可发货。`,
      `Its promotion holds this order (${o.fulfilment_hold}): it ships once the group is complete.`) : "";
    const parts = [];
    if (o.fulfilment === "pickup" && handOver && !holding) parts.push(button(L("顾客已取货", "Picked up"), "picked-up", ""));
    if (o.payment_method === "cod" && o.payment_status === "unpaid" && open) parts.push(button(L("已收到货款", "Cash collected"), "cash-collected"));
    if (o.status === "pending_payment") parts.push(button(L("取消订单", "Cancel the order"), "order-cancel"));
    if (o.paid_at && o.payable_fen > o.refunded_fen && ["paid", "shipped", "completed"].includes(o.status) && !holding) {
      parts.push(button(L("主动退款", "Refund"), "shop-refund"));
    }
    actions.innerHTML = String(LB.html`${parts}`);
    LB.$("#no-actions").hidden = !(shipForm.hidden && parts.length === 0);
    const on = (testid, fn) => { const b = actions.querySelector(`[data-testid="${testid}"]`); if (b) LB.onClick(b, fn, actionsCard); };
    on("picked-up", async () => { await LB.post(`orders/${orderNo}/picked-up`); await done(L("已完成取货", "Picked up")); });
    on("cash-collected", async () => {
      if (!LBOps.sure("确认已收到这笔货款？", "Confirm the cash was collected?")) return;
      await LB.post(`orders/${orderNo}/cash-collected`); await done(L("已记录收款", "Cash recorded"));
    });
    on("order-cancel", async () => {
      if (!LBOps.sure("确定取消此订单？库存将退回。", "Cancel this order? Its stock goes back.")) return;
      await LB.post(`orders/${orderNo}/cancel`); await done(L("订单已取消", "Order cancelled"));
    });
    on("shop-refund", async () => {
      LBOps.dialogForm({ title: L("主动退款", "Refund"), submit: L("退款", "Refund"), testid: "shop-refund-dialog", fields: [
        { name: "amount_fen", label: L(`金额（元，留空为全部剩余 ${LB.yuan(o.payable_fen - o.refunded_fen)}）`,
          `Amount (¥; blank: all that is left, ${LB.yuan(o.payable_fen - o.refunded_fen)})`), type: "yuan" },
        { name: "reason", label: L("退款原因", "Reason"), type: "textarea" }] },
      async (data) => {
        await LB.post(`orders/${orderNo}/refunds`, { reason: data.reason || "", amount_fen: data.amount_fen });
        await done(L("退款已发起", "Refund started"));
      });
    });
  }

  async function done(message) {
    LB.toast(message);
    await load();
  }

  function drawRefunds() {
    const el = LB.$("#order-refunds");
    if (refundsTable) { refundsTable.reload(); return; }
    refundsTable = LB.table(el, [
      { title: "ID", render: (r) => LB.esc(r.id) },
      { title: L("金额", "Amount"), render: (r) => LB.esc(LB.yuan(r.amount_fen)) },
      { title: L("原因", "Reason"), render: (r) => LB.html`${r.reason}${r.reject_reason ? LB.html`<br><small class="lb-muted">${L("拒绝：", "Rejected: ")}${r.reject_reason}</small>` : ""}` },
      { title: L("发起方", "By"), render: (r) => LB.esc(r.initiated_by === "shop" ? L("商家", "Shop") : L("顾客", "Customer")) },
      { title: L("申请时间", "Requested"), render: (r) => LB.esc(LB.time(r.created_at)) },
      { title: L("状态", "Status"), render: (r) => LBOps.refund(r.status, `refund-status-${r.id}`) },
      { title: L("操作", "Actions"), render: (r) => (r.status === "pending" ? LB.html`<span class="ops-actions">
          <button type="button" class="lb-btn small green" data-refund="${r.id}" data-decision="approve" data-testid="refund-approve-${r.id}">${L("同意", "Approve")}</button>
          <button type="button" class="lb-btn small ghost" data-refund="${r.id}" data-decision="reject" data-testid="refund-reject-${r.id}">${L("拒绝", "Reject")}</button></span>` : "") },
    ], (limit, offset) => LB.get(`refunds?order_no=${encodeURIComponent(orderNo)}&limit=${limit}&offset=${offset}`)
      .then((list) => ({ items: list })),
    { limit: 10, empty: L("没有退款申请", "No refund requests") });
    el.addEventListener("click", (event) => {
      const b = event.target.closest("button[data-refund]");
      if (b && !b.disabled) LBOps.decideRefund(b, load, LB.$("#refunds-card"));
    });
  }

  LB.onSubmit(shipForm, async (data) => {
    await LB.post(`orders/${orderNo}/ship`, { carrier: data.carrier || "", tracking_no: data.tracking_no || "" });
    shipForm.reset();
    await done(L("已发货", "Shipped"));
  });

  async function load() {
    try {
      const o = await LB.get(`orders/${encodeURIComponent(orderNo)}`);
      drawInfo(o);
      drawActions(o);
      LB.$("#order-body").hidden = false;
      drawRefunds();
      await drawExtras(o);
    } catch (err) {
      LB.showProblem(section, err);
    } finally {
      section.setAttribute("aria-busy", "false");
    }
  }
  load();
})();
