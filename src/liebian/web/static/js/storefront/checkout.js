/* Checkout: /s/{shop}/checkout?sku&qty[&kind=groupbuy&campaign[&group]][&kind=bargain&bargain][&kind=flashsale&campaign]
 * [&share][&store].
 *
 * Every figure shown comes from the API: POST orders/quote prices the cart exactly as POST orders will (and says
 * which of the customer's coupons apply, and how it may be paid); POST orders places it with an Idempotency-Key
 * kept for the attempt, so a double click or a retried request cannot order twice. WeChat Pay in the sandbox
 * completes through the fake WeChat (LB.sandboxPay); afterwards a group-buy order opens its group's page and any
 * other order its own page. A cash-on-delivery order opens its page at once.
 */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const root = LB.$("#checkout");
  const form = LB.$("#address-form");
  const placeButton = LB.$("[data-testid=place-order]");
  const dialog = LB.$("#pay-dialog");
  const q = (name) => LB.query(name);
  const params = { sku: Number(q("sku")), qty: Math.max(1, Number(q("qty")) || 1), kind: q("kind"), share: q("share") };
  let attemptKey = LB.newKey();  // one per attempt: a new one only after the API refused the last attempt
  let placed = null;
  let quoteSeq = 0;
  let savedAddresses = [];

  function role(name) { return LB.$(`[data-role=${name}]`, document); }
  /** A field of the form by name (form.name would be the form's own name). */
  function F(name) { return form.elements.namedItem(name); }

  function promotion() {
    if (params.kind === "groupbuy") {
      const p = { kind: "groupbuy", campaign_id: Number(q("campaign")) };
      if (q("group")) p.group_id = Number(q("group"));
      return p;
    }
    if (params.kind === "bargain") return { kind: "bargain", bargain_id: Number(q("bargain")) };
    if (params.kind === "flashsale") return { kind: "flashsale", campaign_id: Number(q("campaign")) };
    return null;
  }

  function fulfilment() { return F("fulfilment").value; }

  /** The cart as both POST orders/quote and POST orders take it. */
  function cart() {
    const body = { lines: [{ sku_id: params.sku, quantity: params.qty }], fulfilment: fulfilment(),
      payment_method: F("payment_method").value };
    if (fulfilment() === "pickup" && F("store_id").value) body.store_id = Number(F("store_id").value);
    if (F("coupon_id").value) body.coupon_id = Number(F("coupon_id").value);
    const promo = promotion();
    if (promo) body.promotion = promo;
    return body;
  }

  function setFen(name, fen, prefix) {
    const el = role(name);
    el.textContent = (prefix || "") + LB.yuan(fen);
    el.dataset.fen = String(fen);
  }

  const PROMO_LABEL = {
    groupbuy: (p) => p.role === "member" ? L("拼团 · 参团价", "Group buy · joining") : L("拼团 · 开团价", "Group buy · leading"),
    bargain: () => L("砍价成交价", "Bargain price"), flashsale: () => L("限时秒杀价", "Flash-sale price"),
  };

  function renderQuote(quote) {
    role("lines").innerHTML = quote.lines.map((line) => String(LB.html`<div class="ss-line">
      <div class="ss-thumb">${S.picture(line.image ? [line.image] : [], line.title)}</div>
      <div class="grow"><b>${line.title}</b><div class="lb-muted ss-small">${S.specsText(line.specs)}</div>
        <div class="lb-row between"><span class="lb-price">${LB.yuan(line.unit_price_fen)}</span>
          <span class="lb-muted">× ${line.quantity}</span></div>
        ${line.discount_fen ? LB.html`<div class="ss-small lb-price">${L("已优惠 ", "Saved ")}${LB.yuan(line.discount_fen)}</div>` : ""}
      </div></div>`)).join("");
    const promoBox = role("promotion");
    if (quote.promotion) {
      const label = (PROMO_LABEL[quote.promotion.kind] || (() => quote.promotion.kind))(quote.promotion);
      promoBox.innerHTML = String(LB.html`<p class="ss-small" style="margin:8px 0 0"><span class="lb-badge orange">${label}</span>
        ${quote.promotion.unit_price_fen !== null ? LB.yuan(quote.promotion.unit_price_fen) : ""}</p>`);
      promoBox.dataset.kind = quote.promotion.kind;
      promoBox.hidden = false;
    }
    setFen("sum-total", quote.total_fen);
    setFen("sum-discount", quote.discount_fen, quote.discount_fen ? "-" : "");
    setFen("sum-shipping", quote.shipping_fen);
    setFen("sum-payable", quote.payable_fen);
    setFen("bar-payable", quote.payable_fen);
    LB.$$("[data-method]").forEach((label) => {
      const allowed = quote.payment_methods.includes(label.dataset.method);
      label.hidden = !allowed;
      LB.$("input", label).disabled = !allowed;
    });
    if (!quote.payment_methods.includes(F("payment_method").value) && quote.payment_methods.length) {
      form.querySelector(`[name=payment_method][value="${quote.payment_methods[0]}"]`).checked = true;
    }
  }

  function renderCoupons(quote, coupons) {
    const select = F("coupon_id");
    const usable = quote.coupons.filter((c) => c.usable).sort((a, b) => b.discount_fen - a.discount_fen);
    const byId = Object.fromEntries(coupons.map((c) => [c.id, c]));
    select.innerHTML = String(LB.html`<option value="">${L("不使用优惠券", "No coupon")}</option>`) + usable.map((c) =>
      String(LB.html`<option value="${c.coupon_id}">${(byId[c.coupon_id] || {}).name || L("优惠券", "Coupon")}
        -${LB.yuan(c.discount_fen)}</option>`)).join("");
    const unusable = quote.coupons.length - usable.length;
    role("coupon-note").textContent = usable.length
      ? L(`${usable.length} 张可用`, `${usable.length} usable`) + (unusable ? L(`，${unusable} 张不适用本单`, `, ${unusable} not for this order`) : "")
      : (coupons.length ? L("您的优惠券不适用本单", "None of your coupons applies to this order") : L("暂无可用优惠券", "No coupons"));
    if (usable.length) select.value = String(usable[0].coupon_id);  // the largest saving first; the customer may change it
  }

  /** Price the cart again (after a change of coupon, delivery or store); the latest answer wins. */
  async function requote(extra) {
    const seq = ++quoteSeq;
    LB.clearProblem(form);
    try {
      const quote = await LB.post("orders/quote", Object.assign(cart(), extra || {}));
      if (seq === quoteSeq) renderQuote(quote);
      form.dataset.quoted = String(seq);
      return quote;
    } catch (err) {
      if (seq === quoteSeq) S.showProblem(form, err);
      return null;
    } finally {
      root.setAttribute("aria-busy", "false");
      role("loading").hidden = true;
    }
  }

  function fillAddress(a) {
    ["name", "phone", "province", "city", "district", "detail"].forEach((k) => { F(k).value = a[k] || ""; });
    LB.$$("[data-address]").forEach((b) => b.classList.toggle("active", Number(b.dataset.address) === a.id));
  }

  function renderSaved() {
    const box = role("saved");
    if (!savedAddresses.length) return;
    box.innerHTML = savedAddresses.map((a) => String(LB.html`<button type="button" data-address="${a.id}">
      <b>${a.name}</b> ${a.phone}${a.is_default ? LB.html` <span class="lb-badge">${L("默认", "Default")}</span>` : ""}
      <div class="lb-muted">${a.province}${a.city}${a.district} ${a.detail}</div></button>`)).join("");
    box.hidden = false;
    LB.$$("[data-address]", box).forEach((b) => b.addEventListener("click", () =>
      fillAddress(savedAddresses.find((a) => a.id === Number(b.dataset.address)))));
    fillAddress(savedAddresses[0]);  // the default comes first
  }

  function renderStores(stores) {
    const select = F("store_id");
    const wanted = q("store");
    select.innerHTML = stores.map((s) => String(LB.html`<option value="${s.id}">${s.name} · ${s.address}</option>`)).join("");
    if (!stores.length) {
      LB.$("[data-testid=fulfilment-pickup]").disabled = true;
      role("no-stores").hidden = false;
      return;
    }
    if (wanted && stores.some((s) => String(s.id) === wanted)) {
      select.value = wanted;
      LB.$("[data-testid=fulfilment-pickup]").checked = true;
      showFulfilment();
    }
  }

  function showFulfilment() {
    const pickup = fulfilment() === "pickup";
    role("store-field").hidden = !pickup;
    role("postal").hidden = pickup;
    role("address-title").textContent = pickup ? L("提货人", "Who picks it up") : L("收货地址", "Shipping address");
  }

  function body() {
    const data = cart();
    const contact = { name: F("name").value.trim(), phone: F("phone").value.trim() };
    if (data.fulfilment === "pickup") data.contact = contact;
    else data.address = Object.assign(contact, { province: F("province").value.trim(), city: F("city").value.trim(),
      district: F("district").value.trim(), detail: F("detail").value.trim() });
    if (F("note").value.trim()) data.note = F("note").value.trim();
    if (params.share) data.share_code = params.share;
    return data;
  }

  function afterPaymentUrl(order) {
    const promo = order.promotion || {};
    if (promo.kind === "groupbuy" && promo.group_id) return S.shopUrl("g/" + promo.group_id);
    return S.shopUrl("orders/" + encodeURIComponent(order.order_no));
  }

  async function saveAddress(data) {
    if (data.fulfilment !== "delivery" || !F("save_address").checked) return;
    try {
      await LB.post("me/addresses", Object.assign({}, data.address, { is_default: true }));
    } catch (err) {
      LB.toast(L("地址未能保存：", "The address was not saved: ") + err.message_(), true);
    }
  }

  function openPayDialog(order) {
    role("pay-amount").textContent = LB.yuan(order.payable_fen);
    role("pay-amount").dataset.fen = String(order.payable_fen);
    role("pay-order").textContent = order.order_no;
    dialog.dataset.orderNo = order.order_no;
    dialog.showModal();
  }

  LB.onClick(LB.$("[data-testid=sandbox-pay]"), async () => {
    await LB.sandboxPay(placed.payment.out_trade_no);
    location.href = afterPaymentUrl(placed);
  }, dialog);
  LB.$("[data-testid=sandbox-pay-later]").addEventListener("click", () => {
    location.href = S.shopUrl("orders/" + encodeURIComponent(placed.order_no));
  });
  dialog.addEventListener("cancel", (e) => e.preventDefault());  // the order exists: leave through a button

  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (placed || busy) return;  // one attempt at a time; once placed, paying continues in the dialog
    busy = true;
    placeButton.disabled = true;
    LB.clearProblem(form);
    const data = body();
    let order;
    try {
      order = await LB.post("orders", data, { idempotencyKey: attemptKey });
    } catch (err) {
      attemptKey = LB.newKey();  // the request was refused: the corrected one is a new attempt
      S.showProblem(form, err);
      busy = false;
      placeButton.disabled = false;
      return;
    }
    placed = order;
    form.dataset.orderNo = order.order_no;
    await saveAddress(data);
    if (order.status === "pending_payment" && order.payment_method === "wechat") {
      if (LB.cfg.sandbox) openPayDialog(order);
      else location.href = S.shopUrl("orders/" + encodeURIComponent(order.order_no));  // the mini-program pays
      return;
    }
    location.href = order.payment_method === "cod" ? S.shopUrl("orders/" + encodeURIComponent(order.order_no))
      : afterPaymentUrl(order);
  });

  async function start() {
    if (!params.sku) {
      role("loading").hidden = true;
      S.showProblem(form, new LB.Problem(422, { code: "validation_error", detail: L("没有选择商品", "No product chosen") }));
      placeButton.disabled = true;
      return;
    }
    LB.$("[data-role=back]").addEventListener("click", (e) => { if (history.length > 1) { e.preventDefault(); history.back(); } });
    const [addresses, stores, coupons] = await Promise.all([
      LB.get("me/addresses").catch(() => []), LB.get("stores?pickup=true&limit=50").then((p) => p.items).catch(() => []),
      LB.get("coupons/mine?status=available&limit=50").then((p) => p.items).catch(() => [])]);
    savedAddresses = addresses;
    renderSaved();
    renderStores(stores);
    const quote = await requote({ coupon_candidates: coupons.map((c) => c.id).slice(0, 20) });
    if (quote) {
      renderCoupons(quote, coupons);
      if (F("coupon_id").value) await requote();
    }
    form.dataset.ready = "1";
  }

  form.addEventListener("change", (e) => {
    const name = e.target.name;
    if (name === "fulfilment") showFulfilment();
    if (["fulfilment", "store_id", "coupon_id", "payment_method"].includes(name)) requote();
  });
  showFulfilment();
  start();
})();
