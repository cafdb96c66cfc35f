/* Console · KOLs: who brings the GMV (leaderboard, paged) and how concentrated it is (Lorenz curve, Gini). */
(function () {
  "use strict";
  const L = LB.L;
  const page = LB.$("#kol");
  let params = {};
  let table = null;

  const dates = () => ({ from: params.from, to: params.to });
  const pct = (bps) => (bps === null || bps === undefined ? null : bps / 100);

  function renderStats(c) {
    const card = (label, value, testid, extra) => LB.html`<div class="cn-stat" data-testid="${testid}" ${LB.raw(extra || "")}><span>${label}</span><b>${value}</b></div>`;
    LB.$("#kol-stats").innerHTML = String(LB.html`${[
      card(L("分享者", "Sharers"), LBF.num(c.sharers), "kol-sharers"),
      card(L("带来的成交额", "GMV brought"), LB.yuan(c.gmv_fen), "kol-gmv"),
      card(L("基尼系数", "Gini coefficient"), c.gini === null ? "—" : Number(c.gini).toFixed(3), "kol-gini",
        `data-gini-bps="${c.gini_bps === null ? "" : c.gini_bps}"`),
      card(L("前 1% 分享者占比", "Top 1% share"), LBF.bpsPercent(c.top_1_percent.share_bps), "kol-top1"),
      card(L("前 10% 分享者占比", "Top 10% share"), LBF.bpsPercent(c.top_10_percent.share_bps), "kol-top10"),
    ]}`);
    LB.$("#top-m-note").textContent = c.sharers
      ? L(`前 ${c.top_m.sharer_ids.length} 名直接带来 ${LB.yuan(c.top_m.direct_gmv_fen)}，连同其一度转发共 ${LB.yuan(c.top_m.one_hop_gmv_fen)}（${LBF.bpsPercent(c.top_m.share_bps)}）。`,
        `The top ${c.top_m.sharer_ids.length} brought ${LB.yuan(c.top_m.direct_gmv_fen)} directly, ${LB.yuan(c.top_m.one_hop_gmv_fen)} with their re-sharers' (${LBF.bpsPercent(c.top_m.share_bps)}).`)
      : "";
  }

  function drawLorenz(c) {
    const el = LB.$("#lorenz-chart");
    if (!c.lorenz.length) { LBF.nothing(el, L("所选时间内没有分享带来的成交", "No GMV came through shares in this range")); return; }
    const curve = c.lorenz.map(([p, g]) => [p / 100, g / 100]);
    LBF.draw(el, {
      color: ["#e4393c", "#8a8f99"],
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null ? "—" : Number(v).toFixed(1) + "%") },
      legend: { top: 0 },
      grid: { left: 56, right: 24, top: 36, bottom: 44 },
      xAxis: { type: "value", min: 0, max: 100, name: L("分享者 %", "Sharers %"), nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "value", min: 0, max: 100, name: L("成交额 %", "GMV %") },
      series: [
        { name: L("洛伦兹曲线", "Lorenz curve"), type: "line", data: curve, smooth: false, symbolSize: 4,
          areaStyle: { color: "rgba(228, 57, 60, 0.12)" } },
        { name: L("完全平均", "Perfect equality"), type: "line", data: [[0, 0], [100, 100]], symbol: "none",
          lineStyle: { type: "dashed" } },
      ],
      title: { text: `Gini ${c.gini === null ? "—" : Number(c.gini).toFixed(3)}`, left: 72, top: 44,
        textStyle: { color: "#e4393c", fontSize: 16, fontWeight: 600 } },
    }, { gini_bps: c.gini_bps, gini: c.gini, lorenz: c.lorenz, equality: [[0, 0], [10000, 10000]] });
  }

  function drawTop(items) {
    const el = LB.$("#top-chart");
    const rows = items.slice(0, 10).reverse();
    if (!rows.length) { LBF.nothing(el); return; }
    LBF.draw(el, {
      color: ["#e4393c", "#ff7a00"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 110, right: 24, top: 36, bottom: 24 },
      xAxis: { type: "value", name: L("元", "¥") },
      yAxis: { type: "category", data: rows.map((r) => r.nickname || "#" + r.customer_id) },
      series: [
        { name: L("直接成交额", "Direct GMV"), type: "bar", data: rows.map((r) => r.direct_gmv_fen / 100) },
        { name: L("团队成交额", "Team GMV"), type: "bar", data: rows.map((r) => r.team_gmv_fen / 100) },
      ],
    }, rows.map((r) => ({ customer_id: r.customer_id, direct_gmv_fen: r.direct_gmv_fen, team_gmv_fen: r.team_gmv_fen })));
  }

  const columns = [
    { title: "#", render: (r) => LB.html`<b>${r.rank}</b>` },
    { title: L("分享者", "Sharer"), render: (r) => LB.html`${r.nickname || "—"} <small class="lb-muted">#${r.customer_id}</small>` },
    { title: L("分享", "Shares"), render: (r) => LB.html`${LBF.num(r.shares)}` },
    { title: L("访问", "Visits"), render: (r) => LB.html`${LBF.num(r.visits)}` },
    { title: L("触达", "Reach"), render: (r) => LB.html`${LBF.num(r.unique_visitors)}` },
    { title: L("新客", "New customers"), render: (r) => LB.html`${LBF.num(r.new_customers)}` },
    { title: L("订单", "Orders"), render: (r) => LB.html`${LBF.num(r.orders)}` },
    { title: L("带来成交额", "GMV brought"), render: (r) => LB.html`<b>${LB.yuan(r.direct_gmv_fen)}</b>` },
    { title: L("占比", "Share"), render: (r) => LB.html`${LBF.bpsPercent(r.gmv_share_bps)}` },
    { title: L("团队分享", "Team shares"), render: (r) => LB.html`${LBF.num(r.team_shares)}` },
    { title: L("团队成交额", "Team GMV"), render: (r) => LB.html`${LB.yuan(r.team_gmv_fen)}` },
  ];

  async function loader(limit, offset) {
    const board = await LB.get(LBF.path("analytics/kols", Object.assign({}, params, { limit, offset })));
    if (offset === 0) drawTop(board.items);
    return board;
  }

  async function loadConcentration() {
    const el = LB.$("#lorenz-chart");
    LBF.loading(el);
    try {
      const c = await LB.get(LBF.path("analytics/concentration", Object.assign({ m: 10 }, dates())));
      renderStats(c);
      drawLorenz(c);
    } catch (err) {
      LB.showProblem(page, err);
    } finally {
      LBF.loaded(el);
    }
  }

  LBF.filters(LB.$("#kol-filters"), (current) => {
    params = current;
    LB.clearProblem(page);
    loadConcentration();
    const after = (container) => LB.$$("tbody tr", container)
      .filter((tr) => !tr.querySelector(".lb-empty-row")).forEach((tr) => { tr.dataset.testid = "kol-row"; });
    if (table) table.reset();
    else table = LB.table(LB.$("#kol-table"), columns, loader, { limit: 20, after,
      empty: L("所选时间内还没有分享者", "No sharer in this range yet") });
  });
})();
