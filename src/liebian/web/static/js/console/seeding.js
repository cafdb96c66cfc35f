/* Console · seeding: start an IMM selection as a background job, follow its progress, show the seeds and how
 * their expected reach compares with the degree and PageRank picks. */
(function () {
  "use strict";
  const L = LB.L;
  const POLL_MS = 400;
  const form = LB.$("#seeding-form");
  const card = LB.$("#job-card");
  const STAGES = {
    queued: ["排队中", "Queued"], reading: ["读取分享与访问记录", "Reading shares and visits"],
    graph: ["构建影响力图", "Building the influence graph"], sampling: ["IMM 采样（估计下界）", "IMM sampling (the lower bound)"],
    fresh_sets: ["生成新的 RR 集", "Drawing fresh RR sets"], selecting: ["贪心选择种子", "Greedy selection"],
    monte_carlo_imm: ["蒙特卡洛：IMM 种子", "Monte Carlo: the IMM seeds"],
    monte_carlo_degree: ["蒙特卡洛：粉丝最多", "Monte Carlo: most followers"],
    monte_carlo_pagerank: ["蒙特卡洛：PageRank", "Monte Carlo: PageRank"], naming: ["整理结果", "Naming the seeds"],
    done: ["完成", "Done"], failed: ["失败", "Failed"],
  };
  const STATUS = { queued: ["排队中", "Queued", "grey"], running: ["计算中", "Running", "blue"],
    succeeded: ["已完成", "Done", "green"], failed: ["失败", "Failed", ""] };
  const MODELS = { estimated: ["估计转化率", "Estimated conversions"], weighted_cascade: ["加权级联", "Weighted cascade"],
    auto: ["自动", "Auto"] };
  let polling = null;
  let jobs = null;

  const name = (table, key) => (table[key] ? L(table[key][0], table[key][1]) : key);
  const badge = (status) => LB.html`<span class="lb-badge ${(STATUS[status] || [])[2] || ""}">${name(STATUS, status)}</span>`;

  function showJob(job) {
    card.hidden = false;
    card.dataset.jobId = String(job.id);
    card.dataset.status = job.status;
    LB.$("#job-title").textContent = L(`任务 #${job.id} · k = ${job.params.k} · ε = ${job.params.epsilon}`,
      `Job #${job.id} · k = ${job.params.k} · ε = ${job.params.epsilon}`);
    const status = LB.$("#job-status");
    status.className = "lb-badge " + ((STATUS[job.status] || [])[2] || "");
    status.textContent = name(STATUS, job.status);
    status.dataset.status = job.status;
    const bar = LB.$("[data-testid=seeding-progress]");
    bar.dataset.bps = String(job.progress_bps);
    bar.querySelector("i").style.width = (job.progress_bps / 100).toFixed(1) + "%";
    LB.$("#job-stage").textContent = `${name(STAGES, job.stage)} · ${(job.progress_bps / 100).toFixed(0)}%`;
    const error = LB.$("#job-error");
    error.hidden = !job.error;
    error.textContent = job.error || "";
  }

  function showResult(job) {
    const r = job.result;
    LB.$("#result").hidden = false;
    LB.$("#result").dataset.jobId = String(job.id);
    const stat = (label, value) => LB.html`<div class="cn-stat"><span>${label}</span><b>${value}</b></div>`;
    LB.$("#result-stats").innerHTML = String(LB.html`${[
      stat(L("种子", "Seeds"), `${r.seeds.length} / ${r.k}`),
      stat(L("IMM 预期触达", "IMM expected reach"), r.expected_reach.toFixed(1)),
      stat(L("影响力图", "Influence graph"), L(`${r.graph.nodes} 人 · ${r.graph.arcs} 条边`, `${r.graph.nodes} people · ${r.graph.arcs} arcs`)),
      stat(L("访问 → 转化", "Trials → conversions"), `${r.graph.trials} → ${r.graph.conversions}`),
      stat(L("模型", "Model"), name(MODELS, r.model)),
      stat(L("计算耗时", "Computed in"), r.seconds.toFixed(2) + L(" 秒", " s")),
    ].concat(r.budget_fen !== null && r.budget_fen !== undefined
      ? [stat(L("预算 / 已用", "Budget / spent"), `${LB.yuan(r.budget_fen)} / ${LB.yuan(r.spent_fen)}`)] : [])}`);
    LB.$("#result-note").textContent = r.model_reason;
    drawComparison(r);
    const rows = r.seeds.map((s, i) => LB.html`<tr data-testid="seed-row" data-customer-id="${s.customer_id}">
      <td><b>${i + 1}</b></td><td>${s.nickname} <small class="lb-muted">#${s.customer_id}</small></td>
      <td>${s.marginal_gain.toFixed(2)}</td><td>${LBF.num(s.followers)}</td>
      ${r.budget_fen !== null && r.budget_fen !== undefined ? LB.html`<td>${LB.yuan(s.cost_fen)}</td>` : ""}</tr>`);
    const head = [L("顺序", "#"), L("顾客", "Customer"), L("边际增益", "Marginal gain"), L("粉丝", "Followers")]
      .concat(r.budget_fen !== null && r.budget_fen !== undefined ? [L("费用", "Cost")] : []);
    LB.$("#seed-table").innerHTML = String(LB.html`<table class="lb-table fi-seeds"><thead><tr>${head.map((h) => LB.html`<th>${h}</th>`)}</tr></thead>
      <tbody>${rows.length ? rows : LB.html`<tr><td class="lb-empty-row" colspan="${head.length}">${L("店铺还没有分享带来的访问，无从推荐。", "No visit came through a share yet: nobody to suggest.")}</td></tr>`}</tbody></table>`);
  }

  function drawComparison(r) {
    const el = LB.$("#seeding-chart");
    if (!r.comparison) { LBF.nothing(el, L("没有可比较的种子", "No seeds to compare")); return; }
    const c = r.comparison;
    const bars = [["IMM", c.imm], [L("粉丝最多", "Most followers"), c.degree], ["PageRank", c.pagerank]];
    LBF.draw(el, {
      color: ["#e4393c"],
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
        formatter: (ps) => ps.map((p) => `${LB.esc(p.name)}: ${p.value.toFixed(2)} ± ${bars[p.dataIndex][1].stderr.toFixed(2)}`).join("<br>") },
      grid: { left: 56, right: 24, top: 24, bottom: 36 },
      xAxis: { type: "category", data: bars.map((b) => b[0]) },
      yAxis: { type: "value", name: L("预期触达人数", "Expected reach") },
      series: [{ type: "bar", barWidth: "45%", data: bars.map((b, i) => ({ value: b[1].expected_reach,
        itemStyle: { color: i === 0 ? "#e4393c" : "#c9cdd4" } })),
        label: { show: true, position: "top", formatter: (p) => p.value.toFixed(1) } }],
    }, { runs: c.runs, imm: c.imm, degree: c.degree, pagerank: c.pagerank });
  }

  async function follow(job) {
    clearTimeout(polling);
    showJob(job);
    if (job.status === "succeeded") { showResult(job); if (jobs) jobs.reload(); return; }
    if (job.status === "failed") { if (jobs) jobs.reload(); return; }
    polling = setTimeout(async () => {
      try {
        follow(await LB.get(`analytics/seeding/jobs/${job.id}`));
      } catch (err) {
        LB.showProblem(card, err);
        polling = setTimeout(() => follow(job), POLL_MS * 5);  // a lost answer: try again, more slowly
      }
    }, POLL_MS);
  }

  LB.onSubmit(form, async (data) => {
    if (data.epsilon !== undefined) data.epsilon = Number(data.epsilon);
    LB.$("#result").hidden = true;
    const job = await LB.post("analytics/seeding/jobs", data);
    follow(job);
  });

  const columns = [
    { title: "#", render: (j) => LB.html`${j.id}` },
    { title: L("提交时间", "Started"), render: (j) => LB.html`${LB.time(j.created_at)}` },
    { title: L("参数", "Parameters"), render: (j) => LB.html`k = ${j.params.k} · ε = ${j.params.epsilon} · ${name(MODELS, j.params.model)}${j.params.budget_fen ? LB.html` · ${L("预算", "budget")} ${LB.yuan(j.params.budget_fen)}` : ""}` },
    { title: L("状态", "Status"), render: (j) => LB.html`${badge(j.status)} <small class="lb-muted">${j.status === "running" ? (j.progress_bps / 100).toFixed(0) + "%" : ""}</small>` },
    { title: L("预期触达", "Expected reach"), render: (j) => LB.html`${j.result ? j.result.expected_reach.toFixed(1) : "—"}` },
    { title: "", render: (j) => LB.html`<button type="button" class="lb-btn small ghost" data-job="${j.id}" data-testid="job-open">${L("查看", "Open")}</button>` },
  ];
  const shown = new Map();
  jobs = LB.table(LB.$("#job-table"), columns, async (limit, offset) => {
    const page = await LB.get(`analytics/seeding/jobs?limit=${limit}&offset=${offset}`);
    page.items.forEach((j) => shown.set(String(j.id), j));
    return page;
  }, { limit: 10, empty: L("还没有运行过", "No job yet"), after: (container) => {
    LB.$$("[data-job]", container).forEach((b) => b.addEventListener("click", () => {
      LB.$("#result").hidden = true;
      follow(shown.get(b.dataset.job));
      window.scrollTo({ top: 0, behavior: "smooth" });
    }));
  } });

  // Coming back to the page: follow the newest job (still running, or its answer).
  LB.get("analytics/seeding/jobs?limit=1").then((page) => { if (page.items.length && !card.dataset.jobId) follow(page.items[0]); })
    .catch((err) => LB.showProblem(form, err));
})();
