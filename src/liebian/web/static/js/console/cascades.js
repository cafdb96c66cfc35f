/* Console · cascades: the biggest (or most viral) cascades of the range, paged; the chosen one drawn as a tree. */
(function () {
  "use strict";
  const L = LB.L;
  const page = LB.$("#cascades");
  const treeEl = LB.$("#cascade-tree");
  let params = {};
  let table = null;
  let chosen = LB.query("root");

  function who(nickname, id) {
    if (id === null || id === undefined) return L("店铺自有码", "Shop's own code");
    return nickname ? `${nickname} #${id}` : `#${id}`;
  }

  function renderSummary(s) {
    const card = (label, value, testid) => LB.html`<div class="cn-stat" data-testid="${testid}"><span>${label}</span><b>${value}</b></div>`;
    LB.$("#cascade-summary").innerHTML = String(LB.html`${[
      card(L("传播链", "Cascades"), LBF.num(s.cascades), "sum-cascades"),
      card(L("分享", "Shares"), LBF.num(s.shares), "sum-shares"),
      card(L("平均规模", "Mean size"), s.mean_size || "—", "sum-mean-size"),
      card(L("最大规模 / 深度", "Largest / deepest"), `${LBF.num(s.max_size)} / ${LBF.num(s.max_depth)}`, "sum-max"),
      card(L("平均结构传播度", "Mean structural virality"), s.mean_virality || "—", "sum-virality"),
      card(L("无人转发占比", "Nobody re-shared"), LBF.bpsPercent(s.single_share_bps), "sum-single"),
    ]}`);
  }

  const columns = [
    { title: L("根分享者", "Root sharer"), render: (c) => LB.html`${who(c.nickname, c.promoter_id)}` },
    { title: L("渠道", "Channel"), render: (c) => LB.html`${LBF.channel(c.channel)}${c.campaign ? LB.html`<br><small class="lb-muted">${c.campaign}</small>` : ""}` },
    { title: L("开始", "Started"), render: (c) => LB.html`${LB.time(c.started_at)}` },
    { title: L("规模", "Size"), render: (c) => LB.html`<b>${LBF.num(c.size)}</b>` },
    { title: L("深度", "Depth"), render: (c) => LB.html`${c.depth}` },
    { title: L("最宽层", "Widest level"), render: (c) => LB.html`${c.max_breadth}` },
    { title: L("结构传播度", "Virality"), render: (c) => LB.html`${c.virality || "—"}` },
    { title: L("访问", "Visits"), render: (c) => LB.html`${LBF.num(c.visits)}` },
    { title: L("订单", "Orders"), render: (c) => LB.html`${LBF.num(c.orders)}` },
    { title: L("成交额", "GMV"), render: (c) => LB.html`${LB.yuan(c.gmv_fen)}` },
    { title: "", render: (c) => LB.html`<button type="button" class="lb-btn small secondary" data-root="${c.root_share_id}"
        data-testid="cascade-pick">${L("查看传播树", "Draw tree")}</button>` },
  ];

  async function loader(limit, offset) {
    const answer = await LB.get(LBF.path("analytics/cascades", Object.assign({}, params, { limit, offset })));
    renderSummary(answer.summary);
    return answer;
  }

  function afterTable(container) {
    LB.$$("[data-root]", container).forEach((b) => {
      const row = b.closest("tr");
      row.dataset.testid = "cascade-row";
      row.dataset.root = b.dataset.root;
      row.classList.toggle("fi-picked", b.dataset.root === String(chosen));
      b.addEventListener("click", () => drawTree(b.dataset.root));
    });
    if (!chosen) {
      const first = LB.$("[data-root]", container);
      if (first) drawTree(first.dataset.root, { quiet: true });
    }
  }

  /** The flat breadth-first node list as ECharts' nested tree. */
  function nest(nodes) {
    const byId = new Map();
    let root = null;
    nodes.forEach((n) => {
      const item = {
        name: n.sharer_id === null ? L("店铺", "Shop") : (n.nickname || "#" + n.sharer_id),
        value: n.visits, node: n, children: [], symbolSize: 8 + Math.min(16, Math.round(Math.sqrt(n.visits) * 3)),
      };
      byId.set(n.share_id, item);
      const parent = byId.get(n.parent_share_id);
      if (parent) parent.children.push(item);
      else if (!root) root = item;  // breadth first: the root comes first
    });
    return root;
  }
  function leaves(item) { return item.children.length ? item.children.reduce((s, c) => s + leaves(c), 0) : 1; }

  function tooltip(p) {
    const n = p.data.node;
    return String(LB.html`<b>${p.data.name}</b> · ${L("分享", "share")} #${n.share_id}<br>
      ${LBF.channel(n.channel)} · ${LB.time(n.created_at)}<br>
      ${L("访问", "Visits")} ${n.visits}（${L("独立", "unique")} ${n.unique_visitors}）· ${L("订单", "Orders")} ${n.orders} · ${LB.yuan(n.gmv_fen)}
      ${n.subtree_size ? LB.html`<br>${L("下游分享（含自身）", "Shares below (itself included)")} ${n.subtree_size}` : ""}`);
  }

  async function drawTree(rootId, options) {
    chosen = String(rootId);
    LB.$$("#cascade-table tr[data-root]").forEach((r) => r.classList.toggle("fi-picked", r.dataset.root === chosen));
    if (!(options && options.quiet)) {
      const q = new URLSearchParams(location.search);
      q.set("root", chosen);
      history.replaceState(null, "", location.pathname + "?" + q.toString());
    }
    LBF.loading(treeEl);
    const head = LB.$("#tree-head");
    try {
      const tree = await LB.get(`analytics/cascades/${encodeURIComponent(chosen)}/tree?max_nodes=500`);
      const root = nest(tree.nodes);
      const totals = tree.nodes.reduce((t, n) => ({ visits: t.visits + n.visits, orders: t.orders + n.orders,
        gmv: t.gmv + n.gmv_fen }), { visits: 0, orders: 0, gmv: 0 });
      head.innerHTML = String(LB.html`<b>${L("传播树", "Cascade tree")} · ${L("根分享", "root share")} #${tree.root_share_id}</b>
        <span>${LBF.channel(tree.channel)}${tree.campaign ? " · " + tree.campaign : ""}</span>
        <span>${L("规模", "Size")} <b data-testid="tree-size">${tree.size}</b></span>
        <span>${L("深度", "Depth")} ${tree.depth}</span>
        <span>${L("结构传播度", "Virality")} ${tree.virality || "—"}</span>
        <span>${L("访问", "Visits")} ${LBF.num(totals.visits)} · ${L("订单", "Orders")} ${LBF.num(totals.orders)} · ${LB.yuan(totals.gmv)}</span>
        ${tree.truncated ? LB.html`<span class="lb-badge orange">${L(`只显示前 ${tree.nodes.length} 个分享`, `First ${tree.nodes.length} shares shown`)}</span>` : ""}`);
      treeEl.style.height = Math.min(2400, Math.max(420, leaves(root) * 26)) + "px";
      const chart = LBF.draw(treeEl, {
        tooltip: { trigger: "item", triggerOn: "mousemove", formatter: tooltip },
        series: [{
          type: "tree", data: [root], top: 20, bottom: 20, left: 90, right: 180, orient: "LR",
          symbol: "circle",
          initialTreeDepth: tree.nodes.length > 300 ? 3 : -1, expandAndCollapse: true, roam: true,
          itemStyle: { color: "#e4393c", borderColor: "#e4393c" },
          lineStyle: { color: "#d0d3d9", curveness: 0.5 },
          label: { position: "left", verticalAlign: "middle", align: "right", fontSize: 12,
            formatter: (p) => `${p.data.name}\n${L("访", "v")} ${p.data.node.visits} · ${L("单", "o")} ${p.data.node.orders}` },
          leaves: { label: { position: "right", verticalAlign: "middle", align: "left" } },
          animationDurationUpdate: 400,
        }],
      }, { root_share_id: tree.root_share_id, size: tree.size, depth: tree.depth, truncated: tree.truncated,
        nodes: tree.nodes.map((n) => ({ share_id: n.share_id, parent_share_id: n.parent_share_id,
          nickname: n.nickname, visits: n.visits, orders: n.orders })) });
      chart.resize();
      treeEl.dataset.nodes = String(tree.nodes.length);
    } catch (err) {
      if (err.code === "not_a_root" && err.body.root_share_id) { drawTree(err.body.root_share_id); return; }
      LBF.nothing(treeEl, L("无法画出这条传播链", "This cascade cannot be drawn"));
      LB.showProblem(page, err);
    } finally {
      LBF.loaded(treeEl);
    }
  }

  LB.$$("[data-options=channels]").forEach((el) => { el.innerHTML = LBF.channelOptions(true); });
  LBF.filters(LB.$("#cascade-filters"), (current) => {
    params = current;
    LB.clearProblem(page);
    if (table) table.reset();
    else table = LB.table(LB.$("#cascade-table"), columns, loader, { limit: 10, after: afterTable,
      empty: L("所选时间内没有传播链", "No cascade started in this range") });
  });
  if (chosen) drawTree(chosen, { quiet: true });
  else LBF.nothing(treeEl, L("在上表中选择一条传播链", "Choose a cascade above"));
})();
