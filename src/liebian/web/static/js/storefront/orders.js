/* My orders: tabs by status, ten per page, each opening its order page. */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const root = LB.$("#orders");
  const list = LB.$("[data-role=list]", root);
  const pager = LB.$("[data-role=pager]", root);
  const LIMIT = 10;
  const state = { status: LB.query("status") || "", offset: Math.max(0, Number(LB.query("offset")) || 0) };

  function card(o) {
    const first = o.lines[0] || { title: "", image: null };
    const units = o.lines.reduce((n, line) => n + line.quantity, 0);
    return LB.html`<a class="lb-card ss-order-card" href="${S.shopUrl("orders/" + encodeURIComponent(o.order_no))}"
        data-testid="order-card" data-order="${o.order_no}">
      <div class="head"><span class="lb-muted">${L("订单号 ", "No. ")}${o.order_no}</span>
        <span class="ss-status" data-status="${o.status}">${S.orderStatus(o.status)}</span></div>
      <div class="ss-line"><div class="ss-thumb">${S.picture(first.image ? [first.image] : [], first.title)}</div>
        <div class="grow"><b>${first.title}</b>${o.lines.length > 1 ? LB.html`<span class="lb-muted"> ${L("等", "and more")}</span>` : ""}
          <div class="lb-muted ss-small">${LB.time(o.created_at)}${o.fulfilment === "pickup" ? L(" · 到店自提", " · Pickup") : ""}</div></div>
        <div style="text-align:right"><div class="lb-price">${LB.yuan(o.payable_fen)}</div>
          <div class="lb-muted ss-small">${L(`共 ${units} 件`, `${units} item(s)`)}</div></div></div></a>`;
  }

  function syncUrl() {
    const url = new URL(location.href);
    if (state.status) url.searchParams.set("status", state.status); else url.searchParams.delete("status");
    if (state.offset) url.searchParams.set("offset", String(state.offset)); else url.searchParams.delete("offset");
    history.replaceState(null, "", url.pathname + url.search);
    LB.$$("[data-status]", LB.$("[data-role=tabs]", root)).forEach((b) => b.classList.toggle("active", b.dataset.status === state.status));
  }

  async function load() {
    syncUrl();
    list.classList.add("lb-loading");
    LB.clearProblem(list.closest("section"));
    try {
      const params = new URLSearchParams({ limit: String(LIMIT), offset: String(state.offset) });
      if (state.status) params.set("status", state.status);
      const page = await LB.get("orders?" + params.toString());
      list.innerHTML = page.items.length ? page.items.map((o) => String(card(o))).join("")
        : String(LB.html`<div class="lb-empty">${L("还没有订单", "No orders yet")}<br><br>
            <a class="lb-btn secondary" href="${S.shopUrl("")}">${L("去逛逛", "Go shopping")}</a></div>`);
      pager.hidden = page.total <= LIMIT;
      LB.$("[data-page=prev]", pager).disabled = state.offset === 0;
      LB.$("[data-page=next]", pager).disabled = state.offset + page.items.length >= page.total;
      LB.$("[data-role=page-info]", pager).textContent = L(`第 ${Math.floor(state.offset / LIMIT) + 1} 页 · 共 ${page.total} 单`,
        `Page ${Math.floor(state.offset / LIMIT) + 1} · ${page.total} orders`);
    } catch (err) {
      LB.showProblem(list.closest("section"), err);
    } finally {
      list.classList.remove("lb-loading");
      root.dataset.ready = "1";
    }
  }

  LB.$$("[data-status]", LB.$("[data-role=tabs]", root)).forEach((b) => b.addEventListener("click", () => {
    state.status = b.dataset.status;
    state.offset = 0;
    load();
  }));
  LB.$("[data-page=prev]", pager).addEventListener("click", () => { state.offset = Math.max(0, state.offset - LIMIT); load(); });
  LB.$("[data-page=next]", pager).addEventListener("click", () => { state.offset += LIMIT; load(); });
  load();
})();
