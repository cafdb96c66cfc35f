/* Console: marketing campaigns (/console/campaigns/{kind}): group buy, bargain, flash sale, coupons and share
 * red packets. Each tab lists the kind's campaigns with their live status and counters (reloaded every few
 * seconds), creates them through #campaign-form (inputs named like the API body; the SKU from the product
 * picker), changes what the API lets change (PATCH, only the fields edited), and ends/closes/disables/pauses.
 * Every rule is the API's: problems come back as problem+json and are shown in the form.
 */
(function () {
  "use strict";
  const L = LB.L;
  const h = LB.html;
  const section = document.getElementById("campaigns");
  if (!section) return;
  const kindName = section.dataset.kind;
  const REFRESH_MS = 8000;

  const RUN = { scheduled: ["未开始", "Scheduled", "blue"], active: ["进行中", "Running", "green"],
    ended: ["已结束", "Ended", "grey"], closed: ["已关闭", "Closed", "grey"] };
  const SLOT = { upcoming: ["未开始", "Upcoming", "blue"], running: ["进行中", "Running", "green"],
    sold_out: ["已抢光", "Sold out", "orange"], ended: ["已结束", "Ended", "grey"] };
  const COUPON = { active: ["发放中", "Active", "green"], exhausted: ["已领完", "All claimed", "orange"],
    ended: ["已过期", "Ended", "grey"], disabled: ["已停发", "Disabled", "grey"] };
  const OFFER = { enabled: ["发放中", "On", "green"], paused: ["已暂停", "Paused", "grey"] };

  function when(c) {
    return h`<small>${LB.time(c.starts_at)}<br>→ ${c.ends_at ? LB.time(c.ends_at) : L("长期", "no end")}</small>`;
  }
  function stockCell(c) {
    if (c.stock === null || c.stock === undefined) return h`<span class="lb-muted">${L("共用 SKU 库存", "SKU stock")}</span>`;
    const empty = c.stock_left === 0 && c.status === "active";
    return h`${c.stock_left} / ${c.stock} ${empty ? h`<span class="lb-badge orange">${L("库存已空", "No units left")}</span>` : ""}`;
  }
  function titleCell(c) {
    return h`<b>${c.title || L("（未命名）", "(untitled)")}</b><br><small class="lb-muted">#${c.id} · SKU ${c.sku_id}</small>`;
  }
  function act(name, zh, en, extra) {
    return h`<button type="button" class="lb-btn ghost small" data-act="${name}" data-testid="campaign-${name}">${L(zh, en)}</button>${extra || ""}`;
  }
  function couponTerms(t) {
    const parts = [];
    if (t.kind === "percent") parts.push(L(`${CM.bpsToPercent(t.percent_bps)}% 折扣`, `${CM.bpsToPercent(t.percent_bps)}% off`));
    else parts.push(L(`减 ${LB.yuan(t.amount_fen)}`, `${LB.yuan(t.amount_fen)} off`));
    if (t.threshold_fen) parts.push(L(`满 ${LB.yuan(t.threshold_fen)}`, `from ${LB.yuan(t.threshold_fen)}`));
    if (t.cap_fen) parts.push(L(`最多减 ${LB.yuan(t.cap_fen)}`, `at most ${LB.yuan(t.cap_fen)}`));
    return parts.join(" · ");
  }
  const running = (c) => c.status === "scheduled" || c.status === "active";

  const KINDS = {
    groupbuy: {
      intro: L("顾客开团并邀请好友，满员即成团；到期未满员的团自动全额退款。",
        "Buyers open a group and invite friends; full groups succeed, the others are refunded in full."),
      path: "groupbuy/campaigns", filter: "status", statuses: RUN, status: (c) => c.status,
      columns: [
        { title: L("活动", "Campaign"), render: titleCell },
        { title: L("状态", "Status"), render: (c) => CM.badge(c.status, RUN, "campaign-status") },
        { title: L("拼团价", "Group price"), render: (c) => h`<span class="lb-price">${LB.yuan(c.group_price_fen)}</span> · ${c.group_size}${L("人团", "-person")}
          ${c.leader_price_fen !== null ? h`<br><small>${L("团长", "Leader")} ${LB.yuan(c.leader_price_fen)}</small>` : ""}` },
        { title: L("进行中的团", "Open groups"), render: (c) => h`<b data-counter="open">${c.stats.open + c.stats.pending}</b>` },
        { title: L("已成团 / 失败", "Succeeded / failed"), render: (c) => h`<b data-counter="succeeded">${c.stats.succeeded}</b> / ${c.stats.failed}` },
        { title: L("参团人次", "Members paid"), render: (c) => h`${c.stats.members_paid}${c.stats.members_refunded ? h`<br><small class="lb-muted">${L("已退款", "refunded")} ${c.stats.members_refunded}</small>` : ""}` },
        { title: L("活动库存", "Stock"), render: stockCell },
        { title: L("时间", "When"), render: when },
        { title: "", render: (c) => running(c) ? h`${act("edit", "修改", "Edit")} ${act("end", "关闭", "Close")}` : "" },
      ],
      end: (c) => ({ path: `groupbuy/campaigns/${c.id}/close`, ask: L("关闭后不能再开团或参团，进行中的团按时结束。确定关闭？",
        "No new groups or joins; running groups finish by their deadline. Close it?") }),
      patch: (c) => `groupbuy/campaigns/${c.id}`,
    },
    bargain: {
      intro: L("顾客发起砍价，好友每人砍一刀，最后一位好友正好砍到底价。", "Friends each cut once; the last one reaches the floor exactly."),
      path: "bargain/campaigns", filter: "status", statuses: RUN, status: (c) => c.status,
      columns: [
        { title: L("活动", "Campaign"), render: titleCell },
        { title: L("状态", "Status"), render: (c) => CM.badge(c.status, RUN, "campaign-status") },
        { title: L("价格", "Prices"), render: (c) => h`${LB.yuan(c.start_price_fen)} → <span class="lb-price">${LB.yuan(c.floor_price_fen)}</span><br><small>${c.helpers_needed} ${L("位好友", "helpers")}</small>` },
        { title: L("砍价中", "In progress"), render: (c) => h`<b data-counter="active">${c.stats.active}</b>` },
        { title: L("已砍成 / 已下单", "Complete / ordered"), render: (c) => h`${c.stats.complete} / <b data-counter="ordered">${c.stats.ordered}</b>` },
        { title: L("助力次数", "Helps"), render: (c) => h`${c.stats.helps}` },
        { title: L("活动库存", "Stock"), render: stockCell },
        { title: L("时间", "When"), render: when },
        { title: "", render: (c) => running(c) ? h`${act("edit", "修改", "Edit")} ${act("end", "关闭", "Close")}` : "" },
      ],
      end: (c) => ({ path: `bargain/campaigns/${c.id}/close`, ask: L("关闭后不能再发起砍价，进行中的砍价按时结束。确定关闭？",
        "No new bargains; running ones go on to their expiry. Close it?") }),
      patch: (c) => `bargain/campaigns/${c.id}`,
    },
    flashsale: {
      intro: L("限时限量：库存在活动开始前从 SKU 划出，任何并发下都不会超卖。", "Time-boxed, stock carved out of the SKU, never oversold."),
      path: "flashsale/campaigns", filter: "state",
      statuses: { upcoming: SLOT.upcoming, running: SLOT.running, ended: SLOT.ended }, status: (c) => c.state,
      columns: [
        { title: L("活动", "Campaign"), render: titleCell },
        { title: L("状态", "Status"), render: (c) => CM.badge(c.state, SLOT, "campaign-status") },
        { title: L("秒杀价", "Price"), render: (c) => h`<span class="lb-price">${LB.yuan(c.price_fen)}</span><br><small>${L("每人限购", "Limit")} ${c.per_customer_limit}</small>` },
        { title: L("剩余库存", "Left"), render: (c) => h`<b data-counter="remaining">${c.remaining}</b> / ${c.stock}${CM.progress(c.stock - c.remaining, c.stock)}` },
        { title: L("已售", "Sold"), render: (c) => h`${c.sold}${c.returned ? h`<br><small class="lb-muted">${L("已退回", "returned")} ${c.returned}</small>` : ""}` },
        { title: L("时间", "When"), render: when },
        { title: L("倒计时", "Countdown"), render: (c) => c.state === "ended" ? "—"
          : h`<small>${c.state === "upcoming" ? L("距开始", "starts in") : L("距结束", "ends in")}</small> <span class="cm-countdown" data-until="${c.state === "upcoming" ? c.starts_at : c.ends_at}"></span>` },
        { title: "", render: (c) => c.state !== "ended" ? h`${act("edit", "修改", "Edit")} ${act("end", "结束", "End")}` : "" },
      ],
      end: (c) => ({ path: `flashsale/campaigns/${c.id}/end`, ask: L("结束后未售出的库存退回 SKU。确定结束？",
        "Unsold units go back to the SKU. End it?") }),
      patch: (c) => `flashsale/campaigns/${c.id}`,
    },
    coupons: {
      intro: L("顾客在领券中心领取，下单时使用；已领取的券按领取时的规则有效。",
        "Customers claim them in the coupon centre and use them at checkout; claimed coupons keep their terms."),
      path: "coupons/templates", filter: "status", statuses: COUPON, status: (c) => c.status,
      columns: [
        { title: L("券", "Coupon"), render: (t) => h`<b>${t.name}</b><br><small class="lb-muted">#${t.id} · ${couponTerms(t)}${t.stackable ? L(" · 可叠加", " · stackable") : ""}</small>` },
        { title: L("状态", "Status"), render: (t) => CM.badge(t.status, COUPON, "campaign-status") },
        { title: L("已领 / 发行量", "Claimed / quantity"), render: (t) => h`<b data-counter="issued">${t.issued}</b> / ${t.total_quantity}${CM.progress(t.issued, t.total_quantity)}` },
        { title: L("已使用", "Used"), render: (t) => h`<b data-counter="used">${t.used}</b>` },
        { title: L("每人限领", "Per customer"), render: (t) => h`${t.per_customer_limit}` },
        { title: L("有效期", "Validity"), render: (t) => t.valid_days ? L(`领取后 ${t.valid_days} 天`, `${t.valid_days} days after claiming`)
          : h`<small>${LB.time(t.valid_from)}<br>→ ${LB.time(t.valid_to)}</small>` },
        { title: "", render: (t) => t.status === "disabled" ? "" : h`${act("edit", "修改", "Edit")} ${act("end", "停发", "Disable")}` },
      ],
      end: (t) => ({ path: `coupons/templates/${t.id}/disable`, ask: L("停发后不能再领取，已领取的券仍可使用。确定停发？",
        "No more claims; coupons already claimed stay usable. Disable it?") }),
      patch: (t) => `coupons/templates/${t.id}`,
    },
    redpackets: {
      intro: L("顾客下单后获得一个分享红包，好友领取拆分后的优惠券；最新启用且订单满足门槛的方案生效。",
        "A paid order earns its buyer a red packet of coupons for friends; the newest enabled offer the order qualifies for applies."),
      path: "coupons/red-packet-offers", list: true, statuses: OFFER, status: (o) => (o.enabled ? "enabled" : "paused"),
      columns: [
        { title: L("方案", "Offer"), render: (o) => h`<b>${o.name || L("分享红包", "Red packet")}</b><br><small class="lb-muted">#${o.id} · ${L("订单满", "orders from")} ${LB.yuan(o.min_order_fen)}</small>` },
        { title: L("状态", "Status"), render: (o) => CM.badge(o.enabled ? "enabled" : "paused", OFFER, "campaign-status") },
        { title: L("每个红包", "Each packet"), render: (o) => h`<span class="lb-price">${LB.yuan(o.total_fen)}</span> / ${o.parts} ${L("份", "parts")}<br><small>${L("领取时限", "claimable")} ${o.claim_hours}h · ${L("券", "coupon")} ${o.coupon_valid_days}${L("天", "d")}</small>` },
        { title: L("已发出红包", "Packets sent"), render: (o) => h`<b data-counter="packets">${o.packets}</b><br><small class="lb-muted">${LB.yuan(o.granted_fen)}</small>` },
        { title: L("好友已领", "Parts claimed"), render: (o) => h`<b data-counter="claimed">${o.parts_claimed}</b> / ${o.parts_total}${CM.progress(o.parts_claimed, o.parts_total)}<small>${LB.yuan(o.claimed_fen)}</small>` },
        { title: L("更新于", "Updated"), render: (o) => h`<small>${LB.time(o.updated_at)}</small>` },
        { title: "", render: (o) => h`${act("edit", "修改", "Edit")} ${o.enabled ? act("pause", "暂停", "Pause") : act("resume", "启用", "Resume")}` },
      ],
      patch: (o) => `coupons/red-packet-offers/${o.id}`,
    },
  };
  const kind = KINDS[kindName];

  // --- the list ------------------------------------------------------------------------------------------
  section.querySelector("[data-intro]").textContent = kind.intro;
  const filter = document.getElementById("status-filter");
  Object.keys(kind.statuses).forEach((s) => {
    const [zh, en] = kind.statuses[s];
    filter.insertAdjacentHTML("beforeend", String(h`<option value="${s}">${L(zh, en)}</option>`));
  });
  if (kind.list) filter.closest("label").hidden = true; // offers: a short list, no server-side filter

  let countdowns = [];
  const table = CM.liveTable(document.getElementById("campaign-table"), kind.columns, async (limit, offset) => {
    if (kind.list) {
      const items = await LB.get(kind.path + CM.qs({ limit, offset }));
      return { items };
    }
    return LB.get(kind.path + CM.qs({ [kind.filter]: filter.value, limit, offset }));
  }, {
    every: REFRESH_MS, stamp: "#refreshed", testid: "campaign-row", status: kind.status, limit: 20,
    empty: L("还没有活动，点击“新建”创建第一个。", "No campaign yet: create the first with “New”."),
    after(container) {
      countdowns.forEach((stop) => stop());
      countdowns = Array.from(container.querySelectorAll(".cm-countdown")).map((el) => LB.countdown(el, el.dataset.until));
    },
    onAction: (name, row) => act_(name, row),
  });
  filter.addEventListener("change", () => table.reset());

  async function act_(name, row) {
    if (name === "edit") return openEdit(row);
    if (name === "end") {
      const end = kind.end(row);
      if (!(await CM.confirm(end.ask))) return;
      await LB.post(end.path, {});
      LB.toast(L("已更新", "Updated"));
    } else if (name === "pause" || name === "resume") {
      await LB.api("PATCH", kind.patch(row), { enabled: name === "resume" });
      LB.toast(name === "pause" ? L("已暂停", "Paused") : L("已启用", "Resumed"));
    }
    return table.reload();
  }

  // --- create --------------------------------------------------------------------------------------------
  const form = document.getElementById("campaign-form");
  const createDialog = CM.dialog(document.getElementById("campaign-dialog"));
  document.querySelector("[data-testid=campaign-new]").addEventListener("click", () => {
    form.reset();
    form.querySelectorAll("[data-sku-label]").forEach((el) => { el.textContent = ""; });
    defaultTimes();
    syncCouponFields();
    createDialog.open();
  });
  /** A flash sale needs a window: prefill one starting now, two hours long (the merchant changes it). */
  function defaultTimes() {
    if (kindName !== "flashsale") return;
    const start = new Date(Date.now() + 60 * 1000);
    form.elements.starts_at.value = CM.localInput(start.toISOString());
    form.elements.ends_at.value = CM.localInput(new Date(start.getTime() + 2 * 3600 * 1000).toISOString());
  }
  CM.submit(form, async () => {
    const made = await LB.post(kind.path, CM.body(form));
    createDialog.close();
    LB.toast(L("已创建", "Created") + " #" + made.id);
    await table.reset();
  });

  /** Coupons: only the fields of the chosen kind and scope are sent (the others are disabled). */
  function syncCouponFields() {
    if (kindName !== "coupons") return;
    const couponKind = form.elements.kind.value;
    const scope = form.elements["scope.type"].value;
    form.querySelectorAll("[data-for-kind]").forEach((el) => toggle(el, el.dataset.forKind.split(" ").includes(couponKind)));
    form.querySelectorAll("[data-for-scope]").forEach((el) => toggle(el, el.dataset.forScope === scope));
  }
  function toggle(wrapper, on) {
    wrapper.hidden = !on;
    wrapper.querySelectorAll("input, select").forEach((el) => { el.disabled = !on; });
  }
  form.addEventListener("change", (event) => {
    if (event.target.name === "kind" || event.target.name === "scope.type") syncCouponFields();
  });

  // --- the product / SKU picker ----------------------------------------------------------------------------
  const skuDialogEl = document.getElementById("sku-dialog");
  const skuDialog = CM.dialog(skuDialogEl);
  const results = document.getElementById("sku-results");
  form.querySelectorAll("[data-action=pick-sku]").forEach((b) => b.addEventListener("click", () => {
    skuDialog.open();
    searchSkus("");
  }));
  skuDialogEl.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    searchSkus(skuDialogEl.querySelector("[name=q]").value.trim());
  });
  function specs(sku) {
    const text = Object.keys(sku.specs || {}).map((k) => `${k}: ${sku.specs[k]}`).join(" / ");
    return text || L("默认规格", "default");
  }
  async function searchSkus(q) {
    results.classList.add("lb-loading");
    LB.clearProblem(skuDialogEl);
    try {
      const page = await LB.get("products" + CM.qs({ q, limit: 20 }));
      results.innerHTML = page.items.length ? String(h`${page.items.map((p) => h`<div class="cm-product">
          <b>${p.title}</b> <small class="lb-muted">#${p.id} · ${p.status}</small>
          <div class="cm-skus">${p.skus.filter((s) => !s.archived).map((s) => h`<button type="button" class="lb-btn ghost small"
            data-sku="${s.id}" data-testid="sku-pick-${s.id}" data-label="${p.title} · ${specs(s)} · ${LB.yuan(s.price_fen)}">
            ${specs(s)} · ${LB.yuan(s.price_fen)} · ${L("库存", "stock")} ${s.stock}</button>`)}</div></div>`)}`)
        : String(h`<p class="lb-empty">${L("没有找到商品", "No product found")}</p>`);
    } catch (err) {
      LB.showProblem(skuDialogEl, err);
    } finally {
      results.classList.remove("lb-loading");
    }
  }
  results.addEventListener("click", (event) => {
    const b = event.target.closest("[data-sku]");
    if (!b) return;
    form.elements.sku_id.value = b.dataset.sku;
    form.querySelector("[data-sku-label]").textContent = b.dataset.label;
    skuDialog.close();
  });

  // --- edit (PATCH only what changed) ------------------------------------------------------------------------
  const editForm = document.getElementById("campaign-edit-form");
  const editDialog = CM.dialog(document.getElementById("edit-dialog"));
  let editing = null;
  function openEdit(row) {
    editForm.reset();
    CM.fill(editForm, row);
    editForm.querySelector("[data-edit-title]").textContent = "#" + row.id + " " + (row.title || row.name || "");
    if (kindName === "flashsale") {
      // Price, limit and start change only before the slot starts (the API says so too).
      ["price_fen", "per_customer_limit", "starts_at"].forEach((n) => { editForm.elements[n].disabled = row.state !== "upcoming"; });
    }
    if (kindName === "coupons") editForm.elements.valid_to.disabled = !row.valid_to;
    editing = { row, before: CM.body(editForm) };
    editDialog.open();
  }
  CM.submit(editForm, async () => {
    const change = CM.changes(editing.before, CM.body(editForm));
    if (Object.keys(change).length === 0) { editDialog.close(); return; }
    await LB.api("PATCH", kind.patch(editing.row), change);
    editDialog.close();
    LB.toast(L("已保存", "Saved"));
    await table.reload();
  });
})();
