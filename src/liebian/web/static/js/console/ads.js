/* Console: ad campaigns (/console/ads). Campaigns from GET campaigns with their figures from GET
 * campaigns/report (visits, new customers, orders, GMV, spend, CAC, ROI — computed by the API, shown here),
 * the same report by channel, create / change / end a campaign, record a day's spend, and its landing codes.
 */
(function () {
  "use strict";
  const L = LB.L;
  const h = LB.html;
  const STATUS = { scheduled: ["未开始", "Scheduled", "blue"], active: ["投放中", "Running", "green"],
    ended: ["已结束", "Ended", "grey"] };
  const CHANNELS = {};
  document.querySelectorAll("#channel-filter option").forEach((o) => { if (o.value) CHANNELS[o.value] = o.textContent; });
  const channelName = (c) => CHANNELS[c] || c;
  const fromInput = document.getElementById("report-from");
  const toInput = document.getElementById("report-to");
  const channelFilter = document.getElementById("channel-filter");
  const statusFilter = document.getElementById("ad-status-filter");
  const csv = document.getElementById("report-csv");

  function range() { return { from: fromInput.value, to: toInput.value }; }
  function showRange(report) {
    if (!fromInput.value) fromInput.value = report.from;
    if (!toInput.value) toInput.value = report.to;
    csv.href = "/api/v1/console/campaigns/report" + CM.qs({ format: "csv", group_by: "campaign", from: report.from, to: report.to });
  }
  const money = (fen) => h`<span class="cm-money">${LB.yuan(fen)}</span>`;
  const roi = (r) => (r && r.roi_bps !== null ? h`<b class="${r.roi_bps >= 0 ? "cm-up" : "cm-down"}">${LB.percent(r.roi_bps)}</b>` : "—");
  const figures = (r, key, fmt) => (r ? (fmt ? fmt(r[key]) : h`${r[key]}`) : "—");

  function actions(c) {
    const out = [h`<button type="button" class="lb-btn ghost small" data-act="codes" data-testid="ad-codes">${L("落地码", "Codes")}</button>`,
      h`<button type="button" class="lb-btn ghost small" data-act="spend" data-testid="ad-spend">${L("录入花费", "Spend")}</button>`];
    if (c.status !== "ended") {
      out.push(h`<button type="button" class="lb-btn ghost small" data-act="edit" data-testid="ad-edit">${L("修改", "Edit")}</button>`,
        h`<button type="button" class="lb-btn ghost small" data-act="end" data-testid="ad-end">${L("结束", "End")}</button>`);
    }
    return h`${out}`;
  }

  let report = {};
  const table = CM.liveTable(document.getElementById("ad-table"), [
    { title: L("投放", "Campaign"), render: (c) => h`<b>${c.name}</b><br><small class="lb-muted">${channelName(c.channel)} · ${c.key}</small>` },
    { title: L("状态", "Status"), render: (c) => CM.badge(c.status, STATUS, "ad-status") },
    { title: L("日期", "Dates"), render: (c) => h`<small>${c.starts_on}<br>→ ${c.ends_on}</small>` },
    { title: L("花费 / 预算", "Spend / budget"), render: (c) => h`${money(c.spend_fen)}<br><small class="lb-muted">${c.budget_fen !== null ? LB.yuan(c.budget_fen) : L("不限", "no budget")}</small>` },
    { title: L("访问", "Visits"), render: (c) => figures(report[c.id], "visits") },
    { title: L("新客 / 首单", "New / first orders"), render: (c) => (report[c.id] ? h`${report[c.id].new_customers} / ${report[c.id].first_orders}` : "—") },
    { title: L("订单", "Orders"), render: (c) => figures(report[c.id], "orders") },
    { title: "GMV", render: (c) => figures(report[c.id], "gmv_fen", money) },
    { title: L("获客成本", "CAC"), render: (c) => (report[c.id] && report[c.id].cac_fen !== null ? money(report[c.id].cac_fen) : "—") },
    { title: "ROI", render: (c) => roi(report[c.id]) },
    { title: "", render: actions },
  ], async (limit, offset) => {
    const [page, rep] = await Promise.all([
      LB.get("campaigns" + CM.qs({ channel: channelFilter.value, status: statusFilter.value, limit, offset })),
      LB.get("campaigns/report" + CM.qs({ group_by: "campaign", ...range() })),
    ]);
    report = {};
    rep.items.forEach((r) => { if (r.campaign_id !== null) report[r.campaign_id] = r; });
    showRange(rep);
    return page;
  }, {
    every: 30000, testid: "ad-row", status: (c) => c.status,
    empty: L("还没有投放，点击“新建投放”开始。", "No ad campaign yet."),
    onAction: (act, c) => ({ codes: openCodes, spend: openSpend, edit: openEdit, end: endCampaign })[act](c),
  });

  const channels = LB.table(document.getElementById("channel-table"), [
    { title: L("渠道", "Channel"), render: (r) => h`${channelName(r.channel)}` },
    { title: L("访问 / 访客", "Visits / visitors"), render: (r) => h`${r.visits} / ${r.unique_visitors}` },
    { title: L("新客 / 首单", "New / first orders"), render: (r) => h`${r.new_customers} / ${r.first_orders}` },
    { title: L("订单 / 付款人", "Orders / payers"), render: (r) => h`${r.orders} / ${r.paying_customers}` },
    { title: "GMV", render: (r) => money(r.gmv_fen) },
    { title: L("花费", "Spend"), render: (r) => money(r.spend_fen) },
    { title: L("获客成本", "CAC"), render: (r) => (r.cac_fen !== null ? money(r.cac_fen) : "—") },
    { title: "ROI", render: roi },
  ], async () => {
    const rep = await LB.get("campaigns/report" + CM.qs({ group_by: "channel", ...range() }));
    return { items: rep.items, total: rep.items.length };
  }, { limit: 100, empty: L("区间内没有渠道数据", "No traffic or spend in this range") });

  function refresh() { table.reset(); channels.reload(); }
  [channelFilter, statusFilter].forEach((el) => el.addEventListener("change", () => table.reset()));
  [fromInput, toInput].forEach((el) => el.addEventListener("change", refresh));

  // --- create and change ---------------------------------------------------------------------------------
  const form = document.getElementById("ad-form");
  const formDialog = CM.dialog(document.getElementById("ad-dialog"));
  let editing = null;
  function createOnly(on) {
    form.querySelectorAll("[data-create-only]").forEach((el) => {
      el.hidden = !on;
      el.querySelectorAll("input, select").forEach((input) => { input.disabled = !on; });
    });
  }
  document.querySelector("[data-testid=ad-new]").addEventListener("click", async () => {
    editing = null;
    form.reset();
    createOnly(true);
    form.querySelector("[data-ad-title]").textContent = L("新建投放", "New ad campaign");
    const today = toInput.value || new Date().toISOString().slice(0, 10);
    form.elements.starts_on.value = today;
    form.elements.ends_on.value = today;
    formDialog.open();
    landingProducts();
  });
  function openEdit(c) {
    editing = c;
    form.reset();
    createOnly(false);
    form.querySelector("[data-ad-title]").textContent = L("修改投放 ", "Change ") + c.name;
    CM.fill(form, c);
    editing.before = CM.body(form);
    formDialog.open();
  }
  /** Suggest the shop's products for a product landing (typing an id works too). */
  let suggested = false;
  async function landingProducts() {
    if (suggested) return;
    const list = document.getElementById("landing-products");
    const page = await LB.get("products" + CM.qs({ limit: 100 })).catch(() => ({ items: [] }));
    list.innerHTML = String(h`${page.items.map((p) => h`<option value="${p.id}">${p.title}</option>`)}`);
    form.elements["landing.target_id"].setAttribute("list", "landing-products");
    suggested = true;
  }
  CM.submit(form, async () => {
    if (editing) {
      const change = CM.changes(editing.before, CM.body(form));
      if (Object.keys(change).length) await LB.api("PATCH", `campaigns/${editing.id}`, change);
      LB.toast(L("已保存", "Saved"));
    } else {
      const made = await LB.post("campaigns", CM.body(form));
      LB.toast(L("已创建，落地码已生成", "Created, with its first landing code"));
      formDialog.close();
      await table.reset();
      return openCodes(made);
    }
    formDialog.close();
    await table.reload();
  });
  async function endCampaign(c) {
    if (!(await CM.confirm(L("结束后落地码仍可访问，但不再生成新码。确定结束？", "Its codes keep working, no new ones are made. End it?")))) return;
    await LB.post(`campaigns/${c.id}/end`, {});
    await table.reload();
  }

  // --- spend ---------------------------------------------------------------------------------------------
  const spendForm = document.getElementById("spend-form");
  const spendDialog = CM.dialog(document.getElementById("spend-dialog"));
  let spending = null;
  async function listSpend() {
    const days = await LB.get(`campaigns/${spending.id}/spend`);
    document.getElementById("spend-list").innerHTML = days.length
      ? String(h`<table class="lb-table"><tbody>${days.map((d) => h`<tr><td>${d.date}</td><td>${money(d.amount_fen)}</td><td class="lb-muted">${d.source}</td></tr>`)}</tbody></table>`)
      : String(h`<p class="lb-muted">${L("还没有录入花费", "Nothing booked yet")}</p>`);
  }
  async function openSpend(c) {
    spending = c;
    spendForm.reset();
    spendForm.querySelector("[data-which]").textContent = c.name;
    spendForm.elements.date.value = toInput.value && toInput.value <= c.ends_on ? toInput.value : c.starts_on;
    spendDialog.open();
    await listSpend();
  }
  CM.submit(spendForm, async () => {
    const data = CM.body(spendForm);
    await LB.api("PUT", `campaigns/${spending.id}/spend/${encodeURIComponent(data.date || "")}`, { amount_fen: data.amount_fen });
    LB.toast(L("花费已录入", "Spend recorded"));
    await listSpend();
    await table.reload();
    channels.reload();
  });

  // --- landing codes -------------------------------------------------------------------------------------
  const codesEl = document.getElementById("codes-dialog");
  const codesDialog = CM.dialog(codesEl);
  const codeForm = document.getElementById("code-form");
  let showing = null;
  async function listCodes() {
    const codes = await LB.get(`campaigns/${showing.id}/codes`);
    document.getElementById("code-list").innerHTML = String(h`${codes.map((k) => h`<div class="cm-code" data-testid="ad-code">
      <img src="${k.qr_png_url}" alt="QR"><b>${k.label || k.code}</b><br>
      <input class="lb-input" readonly value="${k.url}" data-testid="ad-code-url">
      <a href="${k.poster_png_url}" target="_blank" rel="noopener">${L("海报", "Poster")}</a> ·
      <a href="${k.wxacode_png_url}" target="_blank" rel="noopener">${L("小程序码", "Mini-program code")}</a></div>`)}`);
  }
  async function openCodes(c) {
    showing = c;
    codeForm.reset();
    codesEl.querySelector("[data-which]").textContent = c.name;
    codesDialog.open();
    try { await listCodes(); } catch (err) { LB.showProblem(codesEl.querySelector("section"), err); }
  }
  CM.submit(codeForm, async (data) => {
    await LB.post(`campaigns/${showing.id}/codes`, data.label ? { label: data.label } : {});
    codeForm.reset();
    await listCodes();
  });
})();
