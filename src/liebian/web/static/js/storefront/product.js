/* Product page: photos, price, SKU picker and stock, the promotions running on it (flash sale, group buy with the
 * open groups to join, bargain), coupons to claim, buy now and share. A ?share=<code> in the URL is carried to the
 * checkout (the order's share_code) and used as the parent of re-shares. */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const root = LB.$("#product");
  const productId = Number(LB.cfg.params.product_id);
  const shareCode = LB.query("share");
  const qtyInput = LB.$("[data-role=qty]", root);
  const state = { product: null, sku: null, stops: [] };

  function role(name) { return LB.$(`[data-role=${name}]`); }
  function qty() { return Math.max(1, Math.floor(Number(qtyInput.value) || 1)); }

  function checkout(fields) {
    location.href = S.checkoutUrl(Object.assign({ qty: qty() }, fields, { share: shareCode }));
  }

  function renderGallery(p) {
    const images = (p.images || []).filter(S.sameOrigin);
    role("gallery").innerHTML = images.length
      ? images.map((src) => String(LB.html`<img src="${src}" alt="">`)).join("")
      : String(LB.html`<div class="ss-letter">${p.title.slice(0, 1)}</div>`);
  }

  function selectSku(sku) {
    state.sku = sku;
    LB.$$("[data-sku]", root).forEach((b) => b.classList.toggle("active", Number(b.dataset.sku) === sku.id));
    role("price").textContent = LB.yuan(sku.price_fen);
    role("stock").textContent = sku.stock > 0 ? L(`库存 ${sku.stock} 件`, `${sku.stock} in stock`) : L("已售罄", "Sold out");
    role("stock").dataset.stock = String(sku.stock);
    qtyInput.max = String(Math.max(1, Math.min(sku.stock, state.product.max_per_order || sku.stock)));
    LB.$("[data-testid=buy-now]").disabled = sku.stock <= 0;
  }

  function renderSkus(p) {
    role("skus").innerHTML = p.skus.map((s) => String(LB.html`<button type="button" data-sku="${s.id}"
      ${LB.raw(s.stock <= 0 ? "disabled" : "")}>${S.specsText(s.specs)}</button>`)).join("");
    LB.$$("[data-sku]", root).forEach((b) => b.addEventListener("click", () =>
      selectSku(p.skus.find((s) => s.id === Number(b.dataset.sku)))));
    const wanted = Number(LB.query("sku"));
    const first = p.skus.find((s) => s.id === wanted) || p.skus.find((s) => s.stock > 0) || p.skus[0];
    if (first) selectSku(first);
  }

  function badge(label, cls) {
    role("promo-badges").insertAdjacentHTML("beforeend", String(LB.html`<span class="lb-badge ${cls || ""}">${label}</span>`));
  }

  function renderFlashsale(slots) {
    const live = slots.filter((c) => c.state === "running" || c.state === "upcoming" || c.state === "sold_out");
    const c = live.find((x) => x.state === "running") || live[0];
    if (!c) return;
    const box = role("flashsale");
    const running = c.state === "running";
    box.innerHTML = String(LB.html`<h3>${L("限时秒杀", "Flash sale")} <span class="lb-badge">${running ? L("进行中", "On now")
      : c.state === "upcoming" ? L("即将开始", "Starting soon") : L("已抢光", "Sold out")}</span></h3>
      <div class="lb-row between"><span><span class="lb-price big" data-testid="flashsale-price">${LB.yuan(c.price_fen)}</span>
        <span class="lb-muted ss-small">${L(`剩 ${c.remaining} 件 · 每人限 ${c.per_customer_limit} 件`,
          `${c.remaining} left · ${c.per_customer_limit} per customer`)}</span></span></div>
      <p class="ss-small" style="margin:6px 0">${running ? L("距结束", "Ends in") : L("距开始", "Starts in")}
        <span class="sf-countdown" data-testid="flashsale-countdown" data-role="fs-countdown"></span></p>
      <div class="lb-error" hidden></div>
      <button type="button" class="lb-btn block" data-testid="flashsale-buy" ${LB.raw(running ? "" : "disabled")}>
        ${running ? L("立即抢购", "Buy at the flash price") : L("未开始", "Not started")}</button>`);
    box.hidden = false;
    badge(L("秒杀", "Flash sale"));
    state.stops.push(LB.countdown(LB.$("[data-role=fs-countdown]", box), running ? c.ends_at : c.starts_at,
      () => setTimeout(() => location.reload(), 1500)));
    LB.$("[data-testid=flashsale-buy]", box).addEventListener("click", () =>
      checkout({ sku: c.sku_id, kind: "flashsale", campaign: c.id }));
  }

  async function renderGroupbuy(campaigns) {
    if (!campaigns.length) return;
    const box = role("groupbuy");
    const openLists = await Promise.all(campaigns.map((c) =>
      LB.get(`groupbuy/campaigns/${c.id}/groups?limit=5`).catch(() => [])));
    box.innerHTML = campaigns.map((c, i) => String(LB.html`<div data-campaign="${c.id}">
      <h3>${L(`${c.group_size}人拼团`, `Group of ${c.group_size}`)}
        ${c.new_customers_only ? LB.html`<span class="lb-badge green">${L("新人团", "New customers")}</span>` : ""}</h3>
      <div><span class="lb-price big" data-testid="groupbuy-price">${LB.yuan(c.group_price_fen)}</span>
        ${c.leader_price_fen !== null ? LB.html`<span class="lb-badge orange">${c.free_for_leader ? L("团长免单", "Free for the leader")
          : L("团长价 ", "Leader ") + LB.yuan(c.leader_price_fen)}</span>` : ""}
        <span class="lb-muted ss-small">${S.specsText((state.product.skus.find((s) => s.id === c.sku_id) || {}).specs)}</span></div>
      <div data-role="open-groups">${openLists[i].length ? openLists[i].map((g) => LB.html`
        <div class="ss-open-group">${S.avatar(g.leader)}<div class="grow"><b>${g.leader.nickname}</b>
          <div class="lb-muted ss-small">${L(`还差 ${g.slots_left} 人`, `${g.slots_left} more needed`)} ·
            <span class="sf-countdown" data-expires="${g.expires_at}"></span></div></div>
          <button type="button" class="lb-btn orange small" data-testid="groupbuy-join-${g.id}" data-group="${g.id}"
            data-campaign="${c.id}" data-sku="${c.sku_id}">${L("去参团", "Join")}</button></div>`)
        : LB.html`<p class="lb-muted ss-small">${L("暂无可参加的团，开一个吧", "No open group yet: start one")}</p>`}</div>
      <button type="button" class="lb-btn orange block" style="margin-top:8px" data-open-campaign="${c.id}"
        data-testid="${i === 0 ? "groupbuy-open" : "groupbuy-open-" + c.id}">${L("发起拼团", "Start a group")}
        ${LB.yuan(c.group_price_fen)}</button></div>`)).join("");
    box.hidden = false;
    badge(L("拼团", "Group buy"), "orange");
    LB.$$("[data-expires]", box).forEach((el) => state.stops.push(LB.countdown(el, el.dataset.expires)));
    LB.$$("[data-group]", box).forEach((b) => b.addEventListener("click", () =>
      checkout({ sku: b.dataset.sku, kind: "groupbuy", campaign: b.dataset.campaign, group: b.dataset.group })));
    LB.$$("[data-open-campaign]", box).forEach((b) => b.addEventListener("click", () => {
      const c = campaigns.find((x) => x.id === Number(b.dataset.openCampaign));
      checkout({ sku: c.sku_id, kind: "groupbuy", campaign: c.id });
    }));
  }

  function renderBargain(campaigns) {
    const c = campaigns[0];
    if (!c) return;
    const box = role("bargain");
    box.innerHTML = String(LB.html`<h3>${L("砍价免费拿", "Bargain")}</h3>
      <p style="margin:0 0 8px">${L("原价", "From")} <span class="lb-strike">${LB.yuan(c.start_price_fen)}</span>
        ${L("最低砍到", "down to")} <span class="lb-price big">${LB.yuan(c.floor_price_fen)}</span></p>
      <p class="lb-muted ss-small">${L(`邀请 ${c.helpers_needed} 位好友帮砍`, `Ask ${c.helpers_needed} friends to cut the price`)}</p>
      <div class="lb-error" hidden></div>
      <button type="button" class="lb-btn block" style="background:var(--lb-blue)" data-testid="bargain-start">
        ${L("发起砍价", "Start a bargain")}</button>`);
    box.hidden = false;
    badge(L("砍价", "Bargain"), "blue");
    LB.onClick(LB.$("[data-testid=bargain-start]", box), async () => {
      try {
        const bargain = await LB.post("bargains", { campaign_id: c.id });
        location.href = S.shopUrl("b/" + bargain.id + (shareCode ? "?share=" + encodeURIComponent(shareCode) : ""));
      } catch (err) {
        if (err.code === "bargain_in_progress" && err.body.bargain_id) {  // the one already running
          location.href = S.shopUrl("b/" + err.body.bargain_id);
          return;
        }
        throw err;
      }
    }, box);
  }

  function renderCoupons(templates) {
    const mine = templates.filter((t) => S.couponFor(t, state.product));
    if (!mine.length) return;
    const box = role("coupons");
    LB.$("[data-role=coupon-list]", box).innerHTML = mine.map((t) => {
      const terms = S.couponTerms(t);
      return String(LB.html`<div class="ss-coupon"><div class="amount"><b>${terms.big}</b></div>
        <div class="body"><b>${t.name}</b><div class="lb-muted ss-small">${terms.text}</div></div>
        <div class="act"><button type="button" class="lb-btn small" data-testid="coupon-claim-${t.id}"
          data-template="${t.id}">${L("领取", "Claim")}</button></div></div>`);
    }).join("");
    box.hidden = false;
    LB.$$("[data-template]", box).forEach((b) => LB.onClick(b, async () => {
      await LB.post("coupons/claim", { template_id: Number(b.dataset.template) });
      b.textContent = L("已领取", "Claimed");
      b.classList.add("disabled");
      b.dataset.claimed = "1";
      LB.toast(L("领取成功，下单时可用", "Claimed: use it at checkout"));
    }, box));
  }

  async function load() {
    let p;
    try {
      p = await LB.get("products/" + productId);
    } catch (err) {
      role("loading").hidden = true;
      role("missing").hidden = false;
      LB.showProblem(role("missing"), err);
      return;
    }
    state.product = p;
    document.title = p.title + " · " + (LB.cfg.shop_name || "");
    role("title").textContent = p.title;
    role("description").textContent = p.description || L("暂无详情", "No details yet");
    renderGallery(p);
    renderSkus(p);
    role("loading").hidden = true;
    role("main").hidden = false;
    role("actionbar").hidden = false;
    // The API names the promotions running on the product; the open groups and coupons are read beside it.
    const of = (kind) => (p.promotions || []).filter((x) => x.kind === kind);
    renderFlashsale(of("flashsale"));
    renderBargain(of("bargain"));
    const [, coupons] = await Promise.allSettled([renderGroupbuy(of("groupbuy")),
      LB.get("coupons/available?limit=50", { noLoginRedirect: true })]);
    if (coupons.status === "fulfilled") renderCoupons(coupons.value);
    root.setAttribute("aria-busy", "false");
    root.dataset.ready = "1";
  }

  LB.$("[data-role=minus]", root).addEventListener("click", () => { qtyInput.value = String(Math.max(1, qty() - 1)); });
  LB.$("[data-role=plus]", root).addEventListener("click", () => {
    qtyInput.value = String(Math.min(Number(qtyInput.max) || 9999, qty() + 1));
  });
  LB.$("[data-testid=buy-now]").addEventListener("click", () => {
    if (!state.sku) return;
    checkout({ sku: state.sku.id });
  });
  LB.onClick(LB.$("[data-testid=share]"), () => LBShare.open({ target_type: "product", target_id: productId,
    parent_code: shareCode || undefined }), LB.$("#buy-box"));
  load();
})();
