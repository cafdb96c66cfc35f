/* Order page: status (data-status), lines and amounts, the pickup number, and what the customer may do now:
 * pay (sandbox dialog) or cancel while unpaid, confirm receipt once shipped, request a refund and follow it.
 * The buttons offered follow the order's status; the API decides whether each is allowed and says why not. */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const root = LB.$("#order");
  const orderNo = LB.cfg.params.order_no;
  const path = "orders/" + encodeURIComponent(orderNo);
  const dialog = LB.$("#pay-dialog");
  const head = LB.$("#order-head");
  const refundForm = LB.$("#refund-form");
  let order = null;
  let stopCountdown = null;

  function role(name) { return LB.$(`[data-role=${name}]`, root); }

  function afterPaymentUrl(o) {
    const promo = o.promotion || {};
    return promo.kind === "groupbuy" && promo.group_id ? S.shopUrl("g/" + promo.group_id) : null;
  }

  function hint(o) {
    if (o.status === "pending_payment" && o.payment_method === "wechat" && o.payment_deadline) {
      return LB.html`${L("请在 ", "Pay within ")}<span class="sf-countdown" data-role="deadline"></span>${L(" 内完成支付，超时自动取消",
        "; it is cancelled after that")}`;
    }
    if (o.status === "pending_payment" && o.payment_method === "cod") {
      return o.fulfilment === "pickup" ? L("到店付款取货", "Pay at the store when you collect it")
        : L("货到付款：收货时付款", "Cash on delivery");
    }
    if (o.fulfilment_hold) return L("拼团成功后发货", "Ships once the group is complete");
    if (o.status === "paid") return o.fulfilment === "pickup" ? L("商家备货中，凭提货号到店自取", "Being prepared: collect it with your number")
      : L("商家正在备货", "The shop is preparing it");
    if (o.status === "shipped") return o.carrier ? L(`${o.carrier} ${o.tracking_no}`, `${o.carrier} ${o.tracking_no}`) : "";
    if (o.status === "cancelled") return L("订单已取消", "This order was cancelled");
    return "";
  }

  function actionButtons(o) {
    const buttons = [];
    if (o.status === "pending_payment") {
      if (o.payment_method === "wechat" && o.payment && o.payment.out_trade_no) {
        buttons.push(LB.html`<button type="button" class="lb-btn" data-testid="order-pay" data-act="pay">${L("去支付", "Pay now")}</button>`);
      }
      buttons.push(LB.html`<button type="button" class="lb-btn ghost" data-testid="order-cancel" data-act="cancel">${L("取消订单", "Cancel")}</button>`);
    }
    if (o.status === "shipped") {
      buttons.push(LB.html`<button type="button" class="lb-btn" data-testid="order-confirm" data-act="confirm">${L("确认收货", "Confirm receipt")}</button>`);
    }
    if (["paid", "shipped", "completed"].includes(o.status) && o.paid_at && o.refunded_fen < o.payable_fen) {
      buttons.push(LB.html`<button type="button" class="lb-btn ghost" data-testid="order-refund" data-act="refund">${L("申请退款", "Request a refund")}</button>`);
    }
    return buttons;
  }

  function renderLines(o) {
    role("lines").innerHTML = o.lines.map((line) => String(LB.html`<a class="ss-line" href="${S.shopUrl("p/" + line.product_id)}"
      style="color:inherit;margin-bottom:8px"><div class="ss-thumb">${S.picture(line.image ? [line.image] : [], line.title)}</div>
      <div class="grow"><b>${line.title}</b><div class="lb-muted ss-small">${S.specsText(line.specs)}</div>
        <div class="lb-row between"><span>${LB.yuan(line.unit_price_fen)} × ${line.quantity}</span>
          <span class="lb-price">${LB.yuan(line.payable_fen)}</span></div>
        ${line.refunded_fen ? LB.html`<div class="ss-small lb-muted">${L("已退 ", "Refunded ")}${LB.yuan(line.refunded_fen)}</div>` : ""}
      </div></a>`)).join("");
    const fen = (name, value, prefix) => { role(name).textContent = (prefix || "") + LB.yuan(value); role(name).dataset.fen = String(value); };
    fen("total", o.total_fen);
    fen("discount", o.discount_fen, o.discount_fen ? "-" : "");
    fen("shipping", o.shipping_fen);
    fen("payable", o.payable_fen);
    fen("refunded", o.refunded_fen);
    role("refunded").hidden = role("refunded-label").hidden = !o.refunded_fen;
  }

  function renderFacts(o) {
    const a = o.address || {};
    const rows = [[L("订单号", "Order no."), o.order_no], [L("下单时间", "Placed"), LB.time(o.created_at)]];
    if (o.paid_at) rows.push([L("支付时间", "Paid"), LB.time(o.paid_at)]);
    if (o.shipped_at) rows.push([o.fulfilment === "pickup" ? L("取货时间", "Collected") : L("发货时间", "Shipped"), LB.time(o.shipped_at)]);
    if (o.completed_at) rows.push([L("完成时间", "Completed"), LB.time(o.completed_at)]);
    rows.push([o.fulfilment === "pickup" ? L("提货人", "Collected by") : L("收货人", "Ship to"), `${a.name || ""} ${a.phone || ""}`]);
    if (a.detail) rows.push([L("地址", "Address"), `${a.province}${a.city}${a.district} ${a.detail}`]);
    if (o.note) rows.push([L("备注", "Note"), o.note]);
    if (o.cancel_reason) rows.push([L("取消原因", "Why cancelled"), o.cancel_reason]);
    role("facts").innerHTML = rows.map(([k, v]) => String(LB.html`<dt>${k}</dt><dd>${v}</dd>`)).join("");
  }

  async function renderPickup(o) {
    if (o.fulfilment !== "pickup" || !o.pickup_no) { role("pickup").hidden = true; return; }
    role("pickup-no").textContent = String(o.pickup_no);
    role("pickup").hidden = false;
    try {
      const store = await LB.get("stores/" + o.store_id);
      role("pickup-store").textContent = `${store.name} · ${store.address}`;
    } catch (err) { role("pickup-store").textContent = ""; }
  }

  function renderGroup(o) {
    const promo = o.promotion || {};
    const box = role("group");
    if (promo.kind !== "groupbuy" || !promo.group_id) { box.hidden = true; return; }
    box.innerHTML = String(LB.html`<div class="lb-row between"><span>${L("拼团订单", "Group-buy order")}</span>
      <a class="lb-btn orange small" href="${S.shopUrl("g/" + promo.group_id)}" data-testid="order-group-link">${L("查看拼团", "See the group")}</a></div>`);
    box.hidden = false;
  }

  async function renderRefunds() {
    let list = [];
    try { list = await LB.get("refund-requests?order_no=" + encodeURIComponent(orderNo)); } catch (err) { list = []; }
    role("refunds").hidden = !list.length;
    role("refund-list").innerHTML = list.map((r) => String(LB.html`<div class="ss-comment" data-testid="refund-status"
        data-status="${r.status}" data-refund="${r.id}">
      <div class="lb-row between"><b>${S.refundStatus(r.status)}</b><span class="lb-price">${LB.yuan(r.amount_fen)}</span></div>
      <div class="lb-muted ss-small">${r.reason} · ${LB.time(r.created_at)}</div>
      ${r.reject_reason ? LB.html`<div class="ss-small">${L("拒绝原因：", "Rejected: ")}${r.reject_reason}</div>` : ""}</div>`)).join("");
  }

  function render(o) {
    order = o;
    const status = role("status");
    status.textContent = S.orderStatus(o.status);
    status.dataset.status = o.status;
    role("method").textContent = (o.payment_method === "cod" ? L("货到/到店付款", "Cash") : L("微信支付", "WeChat Pay"))
      + (o.fulfilment === "pickup" ? L(" · 到店自提", " · Pickup") : "");
    role("hint").innerHTML = String(hint(o));
    if (stopCountdown) stopCountdown();
    const deadline = role("deadline");
    stopCountdown = deadline ? LB.countdown(deadline, o.payment_deadline, () => setTimeout(load, 2000)) : null;
    role("actions").innerHTML = actionButtons(o).map(String).join("");
    renderLines(o);
    renderFacts(o);
    renderGroup(o);
    role("refund-box").hidden = true;
    refundForm.elements.namedItem("amount_fen").placeholder = L("最多 ", "At most ") + LB.yuan(o.payable_fen - o.refunded_fen);
    LB.$$("[data-act]", root).forEach((b) => LB.onClick(b, () => ACTIONS[b.dataset.act](), head));
    root.dataset.status = o.status;
  }

  const ACTIONS = {
    async pay() {
      if (!LB.cfg.sandbox) { LB.toast(L("请在微信小程序中完成支付", "Pay in the WeChat mini-program"), true); return; }
      role("pay-amount").textContent = LB.yuan(order.payable_fen);
      dialog.showModal();
    },
    async cancel() {
      if (!confirm(L("确定取消这个订单吗？", "Cancel this order?"))) return;
      render(await LB.post(path + "/cancel"));
      LB.toast(L("订单已取消", "Order cancelled"));
    },
    async confirm() {
      render(await LB.post(path + "/confirm-receipt"));
      LB.toast(L("已确认收货", "Receipt confirmed"));
    },
    async refund() {
      role("refund-box").hidden = false;
      refundForm.elements.namedItem("reason").focus();
    },
  };

  LB.onClick(LB.$("[data-testid=sandbox-pay]"), async () => {
    await LB.sandboxPay(order.payment.out_trade_no);
    const next = afterPaymentUrl(order);
    if (next) { location.href = next; return; }
    dialog.close();
    await load();
    LB.toast(L("支付成功", "Paid"));
  }, dialog);
  LB.$("[data-testid=sandbox-pay-later]").addEventListener("click", () => dialog.close());

  LB.onSubmit(refundForm, async (data) => {
    if (Number.isNaN(data.amount_fen)) {
      throw new LB.Problem(422, { code: "validation_error", detail: L("金额格式不对，例如 12.50", "Write the amount like 12.50") });
    }
    const body = { reason: (data.reason || "").trim() };
    if (data.amount_fen) body.amount_fen = data.amount_fen;
    try {
      await LB.post(path + "/refund-requests", body);
    } catch (err) {
      S.showProblem(refundForm, err);
      return;
    }
    refundForm.reset();
    LB.toast(L("退款申请已提交", "Refund requested"));
    await load();
  });

  async function load() {
    let o;
    try {
      o = await LB.get(path);
    } catch (err) {
      role("loading").hidden = true;
      role("missing").hidden = false;
      LB.showProblem(role("missing"), err);
      return;
    }
    render(o);
    role("loading").hidden = true;
    role("main").hidden = false;
    await Promise.all([renderPickup(o), renderRefunds()]);
    root.setAttribute("aria-busy", "false");
  }
  load();
})();
