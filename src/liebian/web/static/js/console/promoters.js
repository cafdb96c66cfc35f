/* Console: promoters (/console/promoters). The list by status (applied first), with rank, team size and
 * money by state from GET distribution/promoters; approve / reject applications, disable / enable promoters
 * (POST distribution/promoters/{id}/{action}); a promoter's commissions from GET distribution/commissions.
 */
(function () {
  "use strict";
  const L = LB.L;
  const h = LB.html;
  const STATUS = { pending: ["待审核", "Applied", "orange"], active: ["已通过", "Approved", "green"],
    rejected: ["已拒绝", "Rejected", "grey"], disabled: ["已停用", "Disabled", "grey"] };
  const COMMISSION = { pending: ["待结算", "Pending", "orange"], settled: ["已结算", "Settled", "green"],
    cancelled: ["已取消", "Cancelled", "grey"] };
  let status = "pending";

  function button(act, zh, en, cls) {
    return h`<button type="button" class="lb-btn ${cls || "ghost"} small" data-act="${act}" data-testid="promoter-${act}">${L(zh, en)}</button>`;
  }
  function actions(p) {
    const out = [button("commissions", "佣金明细", "Commissions")];
    if (p.status === "pending") out.unshift(button("approve", "通过", "Approve", "green"), button("reject", "拒绝", "Reject"));
    if (p.status === "active") out.push(button("disable", "停用", "Disable"));
    if (p.status === "disabled") out.push(button("enable", "恢复", "Enable"));
    return h`${out}`;
  }
  const money = (fen) => h`<span class="cm-money">${LB.yuan(fen)}</span>`;

  const table = CM.liveTable(document.getElementById("promoter-table"), [
    { title: L("推广员", "Promoter"), render: (p) => h`<b>${p.nickname || L("（无昵称）", "(no nickname)")}</b><br><small class="lb-muted">#${p.customer_id} · ${L("邀请码", "code")} ${p.invite_code}</small>` },
    { title: L("状态", "Status"), render: (p) => CM.badge(p.status, STATUS, "promoter-status") },
    { title: L("等级", "Rank"), render: (p) => h`${p.level_name}<br><small class="lb-muted">${L("推广销售额", "sales")} ${LB.yuan(p.sales_fen)}</small>` },
    { title: L("团队", "Team"), render: (p) => h`<b data-counter="team">${p.team_size}</b><br><small class="lb-muted">${L("直属", "direct")} ${p.team_direct} · ${L("二级", "second")} ${p.team_second}</small>` },
    { title: L("待结算", "Pending"), render: (p) => money(p.pending_fen) },
    { title: L("已结算", "Settled"), render: (p) => money(p.settled_fen) },
    { title: L("可提现", "Withdrawable"), render: (p) => money(p.withdrawable_fen) },
    { title: L("申请时间", "Applied"), render: (p) => h`<small>${LB.time(p.applied_at)}${p.decided_at ? h`<br>${L("处理", "decided")} ${LB.time(p.decided_at)}` : ""}</small>` },
    { title: "", render: actions },
  ], (limit, offset) => LB.get("distribution/promoters" + CM.qs({ status, limit, offset })), {
    every: 15000, stamp: "#refreshed", testid: "promoter-row", id: (p) => p.customer_id, status: (p) => p.status,
    empty: L("没有这类推广员", "No promoter here"),
    async onAction(act, p) {
      if (act === "commissions") return showCommissions(p);
      const ask = { reject: L("拒绝这位申请人？", "Reject this application?"), disable: L("停用后不再获得新佣金。确定停用？",
        "A disabled promoter earns no new commission. Disable?") }[act];
      if (ask && !(await CM.confirm(ask))) return;
      await LB.post(`distribution/promoters/${p.customer_id}/${act}`, {});
      LB.toast(L("已处理", "Done"));
      await table.reload();
    },
  });
  CM.filterTabs(document.getElementById("promoter-tabs"), (value) => { status = value; table.reset(); });

  const dialogEl = document.getElementById("commissions-dialog");
  const dialog = CM.dialog(dialogEl);
  let commissions = null;
  let beneficiary = null;
  function showCommissions(p) {
    beneficiary = p.customer_id;
    dialogEl.querySelector("[data-who]").textContent = (p.nickname || "") + " #" + p.customer_id;
    dialog.open();
    if (commissions) { commissions.reset(); return; }
    commissions = LB.table(document.getElementById("commission-table"), [
      { title: L("订单", "Order"), render: (c) => h`<a href="/console/orders/${c.order_no}">${c.order_no}</a><br><small class="lb-muted">${c.kind === "rebate" ? L("邀新返利", "rebate") : L(`${c.level} 级佣金`, `level ${c.level}`)}</small>` },
      { title: L("计佣金额", "Base"), render: (c) => money(c.base_fen) },
      { title: L("佣金", "Commission"), render: (c) => h`${money(c.net_fen)}${c.rate_bps !== null ? h`<br><small class="lb-muted">${LB.percent(c.rate_bps)}</small>` : ""}` },
      { title: L("状态", "Status"), render: (c) => CM.badge(c.status, COMMISSION) },
      { title: L("时间", "When"), render: (c) => h`<small>${LB.time(c.accrued_at)}${c.status === "pending" ? h`<br>${L("预计结算", "settles")} ${LB.time(c.settle_due_at)}` : ""}</small>` },
    ], async (limit, offset) => ({ items: await LB.get("distribution/commissions" + CM.qs({ beneficiary_id: beneficiary, limit, offset })).then((r) => r.items) }),
    { limit: 10, empty: L("还没有佣金", "No commission yet") });
  }
})();
