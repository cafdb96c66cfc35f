/* Storefront home: search, categories, the promotions running now, and the product grid (paginated). */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const root = LB.$("#home");
  const grid = LB.$("[data-role=grid]", root);
  const more = LB.$("[data-role=more]", root);
  const form = LB.$("#search-form");
  const PAGE = 20;
  const state = { q: LB.query("q") || "", category: LB.query("category") || "", offset: 0, total: 0 };
  const titles = {};  // product id → title, for the promotion strip
  let promotionsReady = null;

  /** The card's badges: the promotions the API names on the product. */
  function badgeHtml(promotions) {
    return promotionBadges(promotions || []).map(([kind, label]) =>
      LB.html`<span class="lb-badge ${kind === "groupbuy" ? "orange" : kind === "bargain" ? "blue" : ""}"
        data-promo="${kind}">${label}</span>`);
  }

  function promotionBadges(promotions) {
    const seen = {};
    return promotions.filter((x) => !seen[x.kind] && (seen[x.kind] = true)).map((x) => {
      if (x.kind === "groupbuy") return ["groupbuy", L(`${x.group_size}人团`, `Group of ${x.group_size}`)];
      if (x.kind === "bargain") return ["bargain", L("砍价", "Bargain")];
      const label = { running: L("秒杀中", "Flash sale"), upcoming: L("即将秒杀", "Flash sale soon") }[x.state];
      return ["flashsale", label || L("秒杀", "Flash sale")];
    });
  }

  function card(p) {
    return LB.html`<a class="sf-product-card" href="${S.shopUrl("p/" + p.id)}" data-testid="product-card-${p.id}"
        data-product="${p.id}">
      <div class="sf-thumb">${S.picture(p.images, p.title)}</div>
      <div class="sf-info"><div class="sf-title">${p.title}</div>
        <div class="lb-price">${LB.yuan(p.price_from_fen)}${p.skus.length > 1 ? L(" 起", "+") : ""}</div>
        <div class="ss-badges" data-role="badges">${badgeHtml(p.promotions)}</div></div></a>`;
  }

  let loads = 0;  // a newer search or category wins over an answer still on its way

  async function loadPage(reset) {
    const errorBox = LB.$(".lb-error", root);
    const seq = ++loads;
    LB.clearProblem(grid.closest("section"));
    if (reset) state.offset = 0;
    LB.$("[data-role=loading]", root).hidden = false;
    more.disabled = true;
    try {
      const params = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
      if (state.q) params.set("q", state.q);
      if (state.category) params.set("category_id", state.category);
      const page = await LB.get("products?" + params.toString());
      if (seq !== loads) return;
      if (reset) grid.innerHTML = "";
      page.items.forEach((p) => { titles[p.id] = p.title; });
      grid.insertAdjacentHTML("beforeend", page.items.map((p) => String(card(p))).join(""));
      state.offset += page.items.length;
      state.total = page.total;
      LB.$("[data-role=empty]", root).hidden = state.total > 0;
      LB.$("[data-role=count]", root).textContent = L(`共 ${page.total} 件`, `${page.total} in all`);
      more.hidden = state.offset >= page.total;
      errorBox.hidden = true;
    } catch (err) {
      if (seq === loads) LB.showProblem(grid.closest("section"), err);
    } finally {
      if (seq === loads) {
        more.disabled = false;
        grid.setAttribute("aria-busy", "false");
        grid.dataset.query = state.q;
        LB.$("[data-role=loading]", root).hidden = true;
      }
    }
  }

  function syncUrl() {
    const url = new URL(location.href);
    ["q", "category"].forEach((k) => { if (state[k]) url.searchParams.set(k, state[k]); else url.searchParams.delete(k); });
    history.replaceState(null, "", url.pathname + url.search);
    LB.$("[data-role=grid-title]", root).textContent = state.q ? L(`“${state.q}”的搜索结果`, `Results for “${state.q}”`)
      : L("全部商品", "All products");
  }

  async function loadCategories() {
    const box = LB.$("[data-role=cats]", root);
    let cats = [];
    try { cats = await LB.get("categories"); } catch (err) { cats = []; }
    if (!cats.length) { box.hidden = true; return; }
    const all = [{ id: "", name: L("全部", "All") }].concat(cats);
    box.innerHTML = all.map((c) => String(LB.html`<button type="button" data-category="${c.id}"
      class="${String(c.id) === state.category ? "active" : ""}">${c.name}</button>`)).join("");
    box.querySelectorAll("[data-category]").forEach((b) => b.addEventListener("click", () => {
      state.category = b.dataset.category;
      box.querySelectorAll("button").forEach((x) => x.classList.toggle("active", x === b));
      syncUrl();
      loadPage(true);
    }));
  }

  /** The group buys, bargains and flash sales running now: the strip above the grid. */
  async function loadPromotions() {
    const [groups, bargains, flashes] = await Promise.allSettled([
      LB.get("groupbuy/campaigns?limit=50"), LB.get("bargain/campaigns?limit=50"), LB.get("flashsale/campaigns?limit=50")]);
    const promos = [];
    if (flashes.status === "fulfilled") flashes.value.items.filter((c) => c.state === "running" || c.state === "upcoming")
      .forEach((c) => {
        promos.push({ kind: "flashsale", c, price: c.price_fen, label: L("限时秒杀", "Flash sale") });
      });
    if (groups.status === "fulfilled") groups.value.items.forEach((c) => {
      promos.push({ kind: "groupbuy", c, price: c.group_price_fen, label: L(`${c.group_size}人拼团`, `Group of ${c.group_size}`) });
    });
    if (bargains.status === "fulfilled") bargains.value.items.forEach((c) => {
      promos.push({ kind: "bargain", c, price: c.floor_price_fen, label: L("砍到", "Bargain to") });
    });
    return promos;
  }

  async function showPromotions(promos) {
    if (!promos.length) return;
    const shown = promos.slice(0, 12);
    // Titles of promoted products not on the first page (a handful at most), read in parallel.
    const missing = [...new Set(shown.map((p) => p.c.product_id))].filter((id) => !titles[id]).slice(0, 8);
    await Promise.allSettled(missing.map((id) => LB.get("products/" + id).then((p) => { titles[id] = p.title; })));
    LB.$("[data-role=promo-list]", root).innerHTML = shown.map((p) => String(LB.html`
      <a class="ss-promo-card ${p.kind}" href="${S.shopUrl("p/" + p.c.product_id)}" data-testid="promo-${p.kind}-${p.c.id}">
        <span class="lb-muted ss-small">${p.label}</span>
        <b>${p.c.title || titles[p.c.product_id] || L("活动商品", "Product")}</b>
        <span class="lb-price">${LB.yuan(p.price)}</span></a>`)).join("");
    LB.$("[data-role=promos]", root).hidden = false;
  }

  form.q.value = state.q;
  LB.onSubmit(form, async (data) => {
    state.q = (data.q || "").trim();
    syncUrl();
    await loadPage(true);
  });
  more.addEventListener("click", () => loadPage(false));
  syncUrl();
  promotionsReady = loadPromotions();
  Promise.all([loadPage(true), promotionsReady]).then(([, promos]) => showPromotions(promos)).catch(() => {});
  loadCategories();
})();
