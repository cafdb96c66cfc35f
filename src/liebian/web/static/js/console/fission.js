/* Console · fission funnel, K-factor and CAC: every figure from the analytics API for the chosen range. */
(function () {
  "use strict";
  const L = LB.L;
  const page = LB.$("#fission");
  const STAGES = [
    ["shares", "分享", "Shares"], ["visits", "访问", "Visits"], ["unique_visitors", "独立访客", "Unique visitors"],
    ["new_customers", "新客", "New customers"], ["orders", "订单", "Orders"], ["buyers", "下单人", "Buyers"],
  ];
  const TOTAL = "__total__";
  let range = {};
  let funnel = null;
  let chosenKey = TOTAL;

  function keyLabel(groupBy, key) {
    if (key === null || key === undefined) {
      return { channel: L("未知", "Unknown"), campaign: L("非投放", "No campaign"),
        product: L("非商品", "Not a product"), promoter: L("店铺自有码", "Shop's own codes") }[groupBy];
    }
    if (groupBy === "channel") return LBF.channel(key);
    if (groupBy === "product") return L("商品 #", "Product #") + key;
    if (groupBy === "promoter") return L("推广员 #", "Promoter #") + key;
    return String(key);
  }
  const mode = () => range.mode || "cascade";
  const groupBy = () => range.group_by || "channel";
  const dates = () => ({ from: range.from, to: range.to });

  function stat(label, value, testid) {
    return LB.html`<div class="cn-stat" data-testid="${testid}"><span>${label}</span><b>${value}</b></div>`;
  }
  function renderStats(k) {
    const t = funnel.total[mode()];
    LB.$("#fission-stats").innerHTML = String(LB.html`${[
      stat(L("分享", "Shares"), LBF.num(t.shares), "stat-shares"),
      stat(L("访问", "Visits"), LBF.num(t.visits), "stat-visits"),
      stat(L("新客", "New customers"), LBF.num(t.new_customers), "stat-new-customers"),
      stat(L("订单", "Orders"), LBF.num(t.orders), "stat-orders"),
      stat(L("成交额", "GMV"), LB.yuan(t.gmv_fen), "stat-gmv"),
      stat(L("K 因子", "K-factor"), k && k.k !== null ? Number(k.k).toFixed(2) : "—", "stat-k"),
      stat(L("传播周期（中位）", "Cycle time (median)"), LBF.duration(k ? k.median_cycle_seconds : null), "stat-cycle"),
    ]}`);
  }

  function funnelRow() {
    if (chosenKey === TOTAL) return funnel.total;
    return funnel.items.find((row) => JSON.stringify(row.key) === chosenKey) || funnel.total;
  }

  function renderKeys() {
    const box = LB.$("#funnel-keys");
    const pills = [{ id: TOTAL, label: L("全部", "All") }].concat(funnel.items.slice(0, 12).map((row) => (
      { id: JSON.stringify(row.key), label: keyLabel(groupBy(), row.key) })));
    if (!pills.some((p) => p.id === chosenKey)) chosenKey = TOTAL;
    box.innerHTML = String(LB.html`${pills.map((p) => LB.html`<button type="button" data-key="${p.id}"
      class="${p.id === chosenKey ? "active" : ""}" data-testid="funnel-key">${p.label}</button>`)}`);
    LB.$$("button", box).forEach((b) => b.addEventListener("click", () => {
      chosenKey = b.dataset.key;
      renderKeys();
      drawFunnel();
    }));
  }

  function drawFunnel() {
    const el = LB.$("#funnel-chart");
    const row = funnelRow();
    const stage = row[mode()];
    const data = STAGES.map(([key, zh, en]) => ({ name: L(zh, en), value: stage[key], stage: key }));
    const shown = { key: chosenKey === TOTAL ? null : row.key, total: chosenKey === TOTAL, mode: mode(),
      group_by: groupBy(), gmv_fen: stage.gmv_fen, stages: data.map((d) => ({ stage: d.stage, value: d.value })) };
    if (data.every((d) => !d.value)) { LBF.nothing(el); el.dataset.chart = JSON.stringify(shown); return; }
    const top = Math.max(...data.map((d) => d.value));
    LBF.draw(el, {
      color: LBF.COLORS,
      tooltip: { trigger: "item", formatter: (p) => `${LB.esc(p.name)}: ${LBF.num(p.value)}` },
      series: [{
        type: "funnel", sort: "none", left: "8%", width: "64%", top: 10, bottom: 10, min: 0, max: top, minSize: "6%",
        gap: 2, label: { show: true, position: "right", formatter: (p) => {
          const i = p.dataIndex;
          const step = i > 0 && data[i - 1].value ? " (" + (100 * p.value / data[i - 1].value).toFixed(0) + "%)" : "";
          return `${p.name} ${LBF.num(p.value)}${step}`;
        } },
        data,
      }],
      title: { text: L("成交额 ", "GMV ") + LB.yuan(stage.gmv_fen), right: 10, bottom: 6,
        textStyle: { color: "#8a8f99", fontSize: 12, fontWeight: "normal" } },
    }, shown);
  }

  function drawGroups() {
    const el = LB.$("#funnel-groups-chart");
    LB.$("#by-group-title").textContent = {
      channel: L("各渠道对比", "By channel"), campaign: L("各投放活动对比", "By campaign"),
      product: L("各商品对比", "By product"), promoter: L("各发起人对比", "By initiating promoter") }[groupBy()];
    const rows = funnel.items.slice(0, 15);
    if (!rows.length) { LBF.nothing(el); return; }
    const labels = rows.map((r) => keyLabel(groupBy(), r.key));
    const pick = (k) => rows.map((r) => r[mode()][k]);
    LBF.draw(el, {
      color: LBF.COLORS,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 56, top: 36, bottom: 56 },
      xAxis: { type: "category", data: labels, axisLabel: { interval: 0, rotate: rows.length > 5 ? 30 : 0 } },
      yAxis: [{ type: "value", name: L("人次", "Count") }, { type: "value", name: L("成交额 (元)", "GMV (¥)") }],
      series: [
        { name: L("访问", "Visits"), type: "bar", data: pick("visits") },
        { name: L("新客", "New customers"), type: "bar", data: pick("new_customers") },
        { name: L("订单", "Orders"), type: "bar", data: pick("orders") },
        { name: L("成交额", "GMV"), type: "line", yAxisIndex: 1, data: pick("gmv_fen").map((f) => f / 100) },
      ],
    }, rows.map((r) => ({ key: r.key, stage: r[mode()] })));
  }

  function renderTable() {
    const rows = [funnel.total].concat(funnel.items);
    const head = [L("分组", "Group"), L("分享", "Shares"), L("访问", "Visits"), L("独立访客", "Unique"),
      L("新客", "New"), L("订单", "Orders"), L("下单人", "Buyers"), L("成交额", "GMV"), L("下单率", "Order rate"),
      L("首层访问", "Root-share visits")];
    const body = rows.map((row, i) => {
      const s = row[mode()];
      const name = i === 0 ? L("合计", "Total") : keyLabel(groupBy(), row.key);
      return LB.html`<tr data-testid="funnel-row"><td>${i === 0 ? LB.html`<b>${name}</b>` : name}</td>
        <td>${LBF.num(s.shares)}</td><td>${LBF.num(s.visits)}</td><td>${LBF.num(s.unique_visitors)}</td>
        <td>${LBF.num(s.new_customers)}</td><td>${LBF.num(s.orders)}</td><td>${LBF.num(s.buyers)}</td>
        <td>${LB.yuan(s.gmv_fen)}</td><td>${LBF.bpsPercent(s.order_rate_bps)}</td>
        <td>${LBF.num(row.first_hop.visits)}</td></tr>`;
    });
    LB.$("#funnel-table").innerHTML = String(LB.html`<table class="lb-table"><thead><tr>${head.map((h) => LB.html`<th>${h}</th>`)}</tr></thead>
      <tbody>${body}</tbody></table>`);
  }

  function drawGenerations(k) {
    const el = LB.$("#k-generations-chart");
    LB.$("#k-summary").textContent = k.cascades
      ? L(`${k.cascades} 条传播链、${k.shares} 次分享；整体 K = ${k.k === null ? "—" : Number(k.k).toFixed(3)}`
          + (k.reach_ceiling ? `，预计触达上限 ${k.reach_ceiling} 倍根分享` : "")
          + `；周期中位 ${LBF.duration(k.median_cycle_seconds)}，P90 ${LBF.duration(k.p90_cycle_seconds)}`,
        `${k.cascades} cascades, ${k.shares} shares; overall K = ${k.k === null ? "—" : Number(k.k).toFixed(3)}`
          + (k.reach_ceiling ? `; reach ceiling ${k.reach_ceiling} × the root shares` : "")
          + `; cycle median ${LBF.duration(k.median_cycle_seconds)}, P90 ${LBF.duration(k.p90_cycle_seconds)}`)
      : "";
    if (!k.generations.length) { LBF.nothing(el); return; }
    const gens = k.generations;
    LBF.draw(el, {
      color: ["#e4393c", "#2f6bd8"],
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 56, top: 36, bottom: 36 },
      xAxis: { type: "category", data: gens.map((g) => L(`第 ${g.depth} 代`, `Gen ${g.depth}`)) },
      yAxis: [{ type: "value", name: "K" }, { type: "value", name: L("分享数", "Shares") }],
      series: [
        { name: L("K（子代 ÷ 本代）", "K (children ÷ shares)"), type: "bar",
          data: gens.map((g) => (g.k_bps === null ? null : g.k_bps / 10000)) },
        { name: L("本代分享", "Shares of the generation"), type: "line", yAxisIndex: 1, data: gens.map((g) => g.shares) },
      ],
    }, gens);
  }

  async function loadSeries() {
    const el = LB.$("#k-series-chart");
    LBF.loading(el);
    try {
      const filters = {};
      LB.$$("#k-series-filters [name]").forEach((x) => { if (x.value) filters[x.name] = x.value; });
      const series = await LB.get(LBF.path("analytics/kfactor/series", Object.assign({}, dates(), filters)));
      const points = series.points;
      if (!points.some((p) => p.cascades)) { LBF.nothing(el); el.dataset.chart = JSON.stringify(points); return; }
      const genK = (depth) => points.map((p) => {
        const g = p.generations.find((x) => x.depth === depth);
        return g && g.k_bps !== null ? g.k_bps / 10000 : null;
      });
      LBF.draw(el, {
        color: ["#e4393c", "#ff7a00", "#2f6bd8", "#c9cdd4"],
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 48, right: 56, top: 36, bottom: 36 },
        xAxis: { type: "category", data: points.map((p) => p.from.slice(5)) },
        yAxis: [{ type: "value", name: "K" }, { type: "value", name: L("传播链", "Cascades") }],
        series: [
          { name: L("整体 K", "Overall K"), type: "line", data: points.map((p) => (p.k_bps === null ? null : p.k_bps / 10000)) },
          { name: L("第 0→1 代", "Gen 0→1"), type: "line", data: genK(0) },
          { name: L("第 1→2 代", "Gen 1→2"), type: "line", data: genK(1) },
          { name: L("新传播链", "New cascades"), type: "bar", yAxisIndex: 1, data: points.map((p) => p.cascades), z: 1 },
        ],
      }, points);
    } catch (err) {
      LBF.nothing(el, L("加载失败", "Could not load"));
      LB.showProblem(page, err);
    } finally {
      LBF.loaded(el);
    }
  }

  function drawCac(cac) {
    const el = LB.$("#cac-chart");
    const rows = cac.by_channel.items;
    const head = [L("渠道", "Channel"), L("访问", "Visits"), L("新客", "New customers"), L("首单", "First orders"),
      L("花费", "Spend"), "CAC", L("成交额", "GMV"), "ROI"];
    LB.$("#cac-table").innerHTML = String(LB.html`<table class="lb-table"><thead><tr>${head.map((h) => LB.html`<th>${h}</th>`)}</tr></thead>
      <tbody>${rows.length ? rows.map((r) => LB.html`<tr data-testid="cac-row"><td>${LBF.channel(r.channel)}</td>
        <td>${LBF.num(r.visits)}</td><td>${LBF.num(r.new_customers)}</td><td>${LBF.num(r.first_orders)}</td>
        <td>${LB.yuan(r.spend_fen)}</td><td>${LB.yuan(r.cac_fen)}</td><td>${LB.yuan(r.gmv_fen)}</td>
        <td>${LBF.bpsPercent(r.roi_bps)}</td></tr>`)
        : LB.html`<tr><td class="lb-empty-row" colspan="8">${L("所选时间内暂无渠道数据", "No channel data in this range")}</td></tr>`}</tbody></table>`);
    if (!rows.length) { LBF.nothing(el); return; }
    LBF.draw(el, {
      color: ["#2f6bd8", "#e4393c", "#1a9c55"],
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 56, right: 56, top: 36, bottom: 36 },
      xAxis: { type: "category", data: rows.map((r) => LBF.channel(r.channel)) },
      yAxis: [{ type: "value", name: L("元", "¥") }, { type: "value", name: "ROI %" }],
      series: [
        { name: L("花费", "Spend"), type: "bar", data: rows.map((r) => r.spend_fen / 100) },
        { name: "CAC", type: "bar", data: rows.map((r) => (r.cac_fen === null ? null : r.cac_fen / 100)) },
        { name: "ROI", type: "line", yAxisIndex: 1, data: rows.map((r) => (r.roi_bps === null ? null : r.roi_bps / 100)) },
      ],
    }, rows);
  }

  async function loadAll() {
    LB.clearProblem(page);
    ["#funnel-chart", "#funnel-groups-chart", "#k-generations-chart", "#cac-chart"].forEach((s) => LBF.loading(LB.$(s)));
    const seriesDone = loadSeries();
    try {
      const [f, k, cac] = await Promise.all([
        LB.get(LBF.path("analytics/funnel", Object.assign({ group_by: groupBy() }, dates()))),
        LB.get(LBF.path("analytics/kfactor", dates())),
        LB.get(LBF.path("analytics/cac", dates())),
      ]);
      funnel = f;
      renderStats(k);
      renderKeys();
      drawFunnel();
      drawGroups();
      renderTable();
      drawGenerations(k);
      drawCac(cac);
    } catch (err) {
      LB.showProblem(page, err);
    } finally {
      ["#funnel-chart", "#funnel-groups-chart", "#k-generations-chart", "#cac-chart"].forEach((s) => LBF.loaded(LB.$(s)));
    }
    await seriesDone;
  }

  LB.$$("[data-options=channels]").forEach((el) => { el.innerHTML = LBF.channelOptions(true); });
  let started = false;
  LBF.filters(LB.$("#k-series-filters"), () => { if (started) loadSeries(); });
  LBF.filters(LB.$("#fission-filters"), (params) => {
    range = params;
    started = true;
    loadAll();
  });
})();
