/* What the storefront's shop pages share: links, pictures, labels for statuses and coupon terms.
 * Only presentation: every number and decision comes from the API. */
(function () {
  "use strict";
  const L = LB.L;

  function shopUrl(path) { return "/s/" + LB.cfg.shop + (path ? "/" + path : ""); }

  /** The page's CSP shows only our own images (and data:/blob:); anything else gets a letter instead. */
  function sameOrigin(url) { return typeof url === "string" && (/^\/[^/]/.test(url) || /^(data|blob):/.test(url)); }

  /** A product picture (its first showable image) or the title's first letter. */
  function picture(images, title) {
    const img = (images || []).find(sameOrigin);
    return img ? LB.html`<img src="${img}" alt="" loading="lazy">` : LB.html`<span>${(title || "?").slice(0, 1)}</span>`;
  }

  function avatar(person) {
    const name = (person && person.nickname) || "*";
    return person && sameOrigin(person.avatar || person.avatar_url)
      ? LB.html`<span class="sf-avatar"><img src="${person.avatar || person.avatar_url}" alt=""></span>`
      : LB.html`<span class="sf-avatar">${name.slice(0, 1)}</span>`;
  }

  /** The checkout URL for the given query fields (empty ones left out). */
  function checkoutUrl(fields) {
    const q = new URLSearchParams();
    Object.keys(fields).forEach((k) => {
      const v = fields[k];
      if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
    });
    return shopUrl("checkout?" + q.toString());
  }

  const ORDER_STATUS = {
    pending_payment: ["待付款", "Awaiting payment"], paid: ["待发货", "Paid"], shipped: ["待收货", "Shipped"],
    completed: ["已完成", "Completed"], cancelled: ["已取消", "Cancelled"], refunding: ["退款中", "Refunding"],
    refunded: ["已退款", "Refunded"],
  };
  function orderStatus(status) { const s = ORDER_STATUS[status]; return s ? L(s[0], s[1]) : status; }

  const REFUND_STATUS = {
    pending: ["待商家处理", "Awaiting the shop"], approved: ["已同意，退款中", "Approved, refunding"],
    rejected: ["已拒绝", "Rejected"], succeeded: ["已退款", "Refunded"],
  };
  function refundStatus(status) { const s = REFUND_STATUS[status]; return s ? L(s[0], s[1]) : status; }

  /** A coupon's terms as the customer reads them: the big figure and the condition. */
  function couponTerms(c) {
    let big;
    if (c.kind === "percent") {
      const off = 10000 - c.percent_bps;  // 20% off reads 8折 in Chinese
      big = L((off / 1000).toFixed(off % 1000 === 0 ? 0 : 1) + "折", (c.percent_bps / 100) + "% off");
    } else {
      big = LB.yuan(c.amount_fen).replace(/\.00$/, "");
    }
    const parts = [];
    parts.push(c.threshold_fen > 0 ? L("满" + LB.yuan(c.threshold_fen).replace(/\.00$/, "") + "可用",
      "On " + LB.yuan(c.threshold_fen) + " or more") : L("无门槛", "No minimum"));
    if (c.kind === "percent" && c.cap_fen) parts.push(L("最多减", "up to ") + LB.yuan(c.cap_fen));
    if (c.scope && c.scope.type === "product") parts.push(L("指定商品", "selected products"));
    if (c.scope && c.scope.type === "category") parts.push(L("指定品类", "selected categories"));
    if (c.stackable) parts.push(L("可与活动同享", "works with promotions"));
    return { big, text: parts.join(" · ") };
  }

  /** Whether a coupon's scope names this product (for showing the product's coupons; the API decides use). */
  function couponFor(c, product) {
    const scope = c.scope || { type: "shop" };
    if (scope.type === "product") return (scope.product_ids || []).includes(product.id);
    if (scope.type === "category") return (scope.categories || []).includes(product.category_id);
    return true;
  }

  function specsText(specs) {
    return Object.keys(specs || {}).map((k) => specs[k]).join(" / ") || L("标准", "Standard");
  }

  /** A problem's field errors as a line ("手机号: ..."), so a 422 says which field is wrong. */
  const FIELD_NAMES = { name: ["收货人", "Name"], phone: ["手机号", "Phone"], province: ["省份", "Province"],
    city: ["城市", "City"], district: ["区县", "District"], detail: ["详细地址", "Address"], reason: ["原因", "Reason"],
    amount_fen: ["金额", "Amount"], title: ["标题", "Title"], body: ["内容", "Text"] };
  function fieldErrors(err) {
    const errors = (err && err.errors) || [];
    return errors.map((e) => {
      const field = (e.loc || [])[(e.loc || []).length - 1];
      const label = FIELD_NAMES[field] ? L(FIELD_NAMES[field][0], FIELD_NAMES[field][1]) : field;
      return label + ": " + (e.msg || e.type);
    }).join("；");
  }

  /** LB.showProblem, plus the field list, and fields marked by their last name (address.phone → phone). */
  function showProblem(where, err) {
    const problem = LB.showProblem(where, err);
    const box = where && where.querySelector(".lb-error");
    const detail = fieldErrors(problem);
    if (box && detail) box.textContent = problem.message_() + " " + detail;
    if (where) {
      problem.errors.forEach((e) => {
        const last = (e.loc || [])[(e.loc || []).length - 1];
        const field = last && where.querySelector(`[name="${CSS.escape(String(last))}"]`);
        if (field) field.classList.add("lb-invalid");
      });
    }
    return problem;
  }

  /** A "load more" list: loader(offset) → {items, more}; render(item) → html. */
  function moreList(container, button, loader, render, empty) {
    let offset = 0;
    async function next() {
      button.disabled = true;
      try {
        const page = await loader(offset);
        if (offset === 0 && !page.items.length) container.innerHTML = String(LB.html`<p class="lb-empty">${empty}</p>`);
        else container.insertAdjacentHTML("beforeend", page.items.map((x) => String(render(x))).join(""));
        offset += page.items.length;
        button.hidden = !page.more;
      } catch (err) {
        LB.showProblem(container.closest("section") || container, err);
      } finally {
        button.disabled = false;
      }
    }
    button.addEventListener("click", next);
    return { load: () => { offset = 0; container.innerHTML = ""; return next(); } };
  }

  window.LBShop = { shopUrl, sameOrigin, picture, avatar, checkoutUrl, orderStatus, refundStatus, couponTerms,
    couponFor, specsText, fieldErrors, showProblem, moreList };
})();
