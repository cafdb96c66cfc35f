/* Coupon centre: the templates one can still claim (claim buttons), and one's own coupons by status. */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const LIMIT = 20;
  const center = LB.$("#center");
  const mineSection = LB.$("#mine");
  let mineState = "available";

  function coupon(c, action, dim) {
    const terms = S.couponTerms(c);
    return LB.html`<div class="ss-coupon ${dim ? "dim" : ""}" data-coupon="${c.id}">
      <div class="amount"><b>${terms.big}</b></div>
      <div class="body"><b>${c.name}</b><div class="lb-muted ss-small">${terms.text}</div>
        <div class="lb-muted ss-small">${c.valid_to ? L("有效期至 ", "Valid until ") + LB.time(c.valid_to)
          : c.valid_days ? L(`领取后 ${c.valid_days} 天内有效`, `Valid ${c.valid_days} days after claiming`) : ""}</div></div>
      <div class="act">${action}</div></div>`;
  }

  const available = S.moreList(LB.$("[data-role=available]", center), LB.$("[data-role=more-available]", center),
    async (offset) => {
      const items = await LB.get(`coupons/available?limit=${LIMIT}&offset=${offset}`, { noLoginRedirect: true });
      return { items, more: items.length === LIMIT };
    },
    (t) => coupon(t, LB.html`<button type="button" class="lb-btn small" data-testid="coupon-claim-${t.id}"
      data-template="${t.id}">${L("领取", "Claim")}</button>`),
    L("暂时没有可领的券", "Nothing to claim right now"));

  const mine = S.moreList(LB.$("[data-role=mine]", mineSection), LB.$("[data-role=more-mine]", mineSection),
    async (offset) => {
      const page = await LB.get(`coupons/mine?status=${mineState}&limit=${LIMIT}&offset=${offset}`);
      return { items: page.items, more: offset + page.items.length < page.total };
    },
    (c) => coupon(c, c.status === "available" && mineState === "available"
      ? LB.html`<a class="lb-btn small secondary" href="${S.shopUrl("")}" data-testid="coupon-use-${c.id}">${L("去使用", "Use")}</a>`
      : LB.html`<span class="lb-badge grey">${mineState === "used" ? L("已使用", "Used") : L("已过期", "Expired")}</span>`,
      mineState !== "available"),
    L("这里还没有优惠券", "No coupons here"));

  // Claim buttons are drawn page by page: one listener on the list.
  LB.$("[data-role=available]", center).addEventListener("click", async (e) => {
    const b = e.target.closest("[data-template]");
    if (!b || b.disabled || b.dataset.claimed) return;
    b.disabled = true;
    try {
      await LB.post("coupons/claim", { template_id: Number(b.dataset.template) });
      b.textContent = L("已领取", "Claimed");
      b.dataset.claimed = "1";
      LB.toast(L("领取成功", "Claimed"));
      if (LB.cfg.customer_id && mineState === "available") mine.load();
    } catch (err) {
      LB.showProblem(center, err);
      b.disabled = false;
    }
  });

  LB.$$("[data-state]", mineSection).forEach((b) => b.addEventListener("click", () => {
    mineState = b.dataset.state;
    LB.$$("[data-state]", mineSection).forEach((x) => x.classList.toggle("active", x === b));
    mine.load();
  }));

  available.load();
  if (LB.cfg.customer_id) {
    LB.$("[data-role=mine-box]", mineSection).hidden = false;
    mine.load();
  } else {
    LB.$("[data-role=login]", mineSection).hidden = false;
    LB.$("[data-role=login-link]", mineSection).href = LB.loginUrl();
  }
})();
