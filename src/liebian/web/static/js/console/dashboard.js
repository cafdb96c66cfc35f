/* Console dashboard: today against yesterday (GET dashboard), the 14-day trend chart, the latest orders. */
(function () {
  "use strict";
  const L = LB.L;
  const DAYS = 14;
  const section = LB.$("#dashboard");

  function showStats(body) {
    LB.$$("[data-metric]").forEach((card) => {
      const metric = card.dataset.metric;
      const c = body.compare[metric];
      const value = card.querySelector("[data-value]");
      value.textContent = metric === "gmv_fen" ? LB.yuan(c.today) : String(c.today);
      value.dataset.raw = String(c.today);
      const changeEl = card.querySelector("[data-change]");
      const yesterday = metric === "gmv_fen" ? LB.yuan(c.yesterday) : String(c.yesterday);
      changeEl.textContent = L("较昨日 ", "vs yesterday ") + LBOps.change(c.change_bps)
        + L(`（昨日 ${yesterday}）`, ` (yesterday ${yesterday})`);
      changeEl.className = c.change_bps > 0 ? "up" : c.change_bps < 0 ? "down" : "";
    });
    LB.$("#stats").setAttribute("aria-busy", "false");
    LB.$("#tz-note").textContent = L("按北京时间（", "Days in ") + body.timezone + L("）统计", "");
  }

  function drawTrend(days) {
    const el = LB.$("#trend");
    if (!window.echarts) { el.textContent = L("图表未能加载", "The chart could not load"); return; }
    const chart = echarts.init(el);
    const labels = days.map((d) => d.day.slice(5));
    chart.setOption({
      tooltip: { trigger: "axis",
        valueFormatter: (v) => (typeof v === "number" ? String(v) : v) },
      legend: { data: [L("成交额（元）", "GMV (¥)"), L("支付订单", "Paid orders"), L("新客户", "New customers"),
        L("分享访问", "Share visits")] },
      grid: { left: 56, right: 48, bottom: 32, top: 48 },
      xAxis: { type: "category", data: labels },
      yAxis: [{ type: "value", name: L("元", "¥") }, { type: "value", name: L("数量", "Count"), minInterval: 1 }],
      series: [
        // Yuan on the chart's axis only: the figures themselves stay integer fen everywhere else.
        { name: L("成交额（元）", "GMV (¥)"), type: "bar", data: days.map((d) => d.gmv_fen / 100), itemStyle: { color: "#e4393c" } },
        { name: L("支付订单", "Paid orders"), type: "line", yAxisIndex: 1, data: days.map((d) => d.paid_orders) },
        { name: L("新客户", "New customers"), type: "line", yAxisIndex: 1, data: days.map((d) => d.new_customers) },
        { name: L("分享访问", "Share visits"), type: "line", yAxisIndex: 1, data: days.map((d) => d.visits) },
      ],
    });
    el.dataset.ready = "true";
    window.addEventListener("resize", () => chart.resize());
  }

  async function load() {
    try {
      const body = await LB.get("dashboard?days=" + DAYS);
      showStats(body);
      drawTrend(body.days);
    } catch (err) {
      LB.showProblem(section, err);
    }
  }

  LB.table(LB.$("#recent-orders"), [
    { title: L("订单号", "Order no."), render: (o) => LB.html`<a href="/console/orders/${o.order_no}">${o.order_no}</a>` },
    { title: L("下单时间", "Placed"), render: (o) => LB.esc(LB.time(o.created_at)) },
    { title: L("商品", "Items"), render: (o) => LB.esc(o.lines.map((l) => `${l.title} ×${l.quantity}`).join("，")) },
    { title: L("实付", "Payable"), render: (o) => LB.esc(LB.yuan(o.payable_fen)) },
    { title: L("状态", "Status"), render: (o) => LBOps.order(o.status) },
  ], (limit, offset) => LB.get(`orders?limit=${limit}&offset=${offset}`), { limit: 5, empty: L("还没有订单", "No orders yet") });

  load();
})();
