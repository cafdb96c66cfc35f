/* Console: withdrawal review (/console/withdrawals). Waiting requests first (GET distribution/withdrawals),
 * approve (the transfer starts: POST .../approve) or reject with a reason (POST .../reject); the transfer's
 * own state (requested, waiting for the promoter's confirmation, paid, failed) is shown as the API reports it.
 */
(function () {
  "use strict";
  const L = LB.L;
  const h = LB.html;
  const STATE = { pending_review: ["待审核", "Waiting", "orange"], transferring: ["转账中", "Transferring", "blue"],
    paid: ["已到账", "Paid", "green"], failed: ["转账失败", "Failed", "grey"], rejected: ["已拒绝", "Rejected", "grey"] };
  const TRANSFER = { requested: ["已提交", "Requested", "blue"], wait_user_confirm: ["待推广员确认", "Awaiting the promoter", "orange"],
    processing: ["处理中", "Processing", "blue"], succeeded: ["成功", "Succeeded", "green"], failed: ["失败", "Failed", "grey"],
    cancelled: ["已撤销", "Cancelled", "grey"] };
  let state = "pending_review";

  function actions(w) {
    if (w.state !== "pending_review") return "";
    return h`<button type="button" class="lb-btn green small" data-act="approve" data-testid="withdrawal-approve">${L("通过并打款", "Approve and pay")}</button>
      <button type="button" class="lb-btn ghost small" data-act="reject" data-testid="withdrawal-reject">${L("拒绝", "Reject")}</button>`;
  }

  const table = CM.liveTable(document.getElementById("withdrawal-table"), [
    { title: "#", render: (w) => h`${w.id}` },
    { title: L("推广员", "Promoter"), render: (w) => h`<b>${w.nickname || "—"}</b><br><small class="lb-muted">#${w.customer_id}</small>` },
    { title: L("提现金额", "Amount"), render: (w) => h`<b class="cm-money">${LB.yuan(w.amount_fen)}</b>` },
    { title: L("手续费 / 实际到账", "Fee / paid out"), render: (w) => h`<span class="cm-money">${LB.yuan(w.fee_fen)} / ${LB.yuan(w.net_fen)}</span>` },
    { title: L("状态", "Status"), render: (w) => h`${CM.badge(w.state, STATE, "withdrawal-state")}${w.auto_approved ? h`<br><small class="lb-muted">${L("自动通过", "auto-approved")}</small>` : ""}${w.reject_reason ? h`<br><small class="lb-muted">${w.reject_reason}</small>` : ""}` },
    { title: L("转账", "Transfer"), render: (w) => (w.out_bill_no ? h`${CM.badge(w.transfer_state || "requested", TRANSFER, "transfer-state")}<br><small class="lb-muted">${w.out_bill_no}</small>` : "—") },
    { title: L("时间", "When"), render: (w) => h`<small>${L("申请", "asked")} ${LB.time(w.created_at)}${w.decided_at ? h`<br>${L("处理", "decided")} ${LB.time(w.decided_at)}` : ""}${w.finished_at ? h`<br>${L("完成", "finished")} ${LB.time(w.finished_at)}` : ""}</small>` },
    { title: "", render: actions },
  ], (limit, offset) => LB.get("distribution/withdrawals" + CM.qs({ state, limit, offset })), {
    every: 10000, stamp: "#refreshed", testid: "withdrawal-row", status: (w) => w.state,
    empty: L("没有这类提现申请", "No withdrawal here"),
    async onAction(act, w) {
      if (act === "reject") return openReject(w);
      if (!(await CM.confirm(L(`通过 ${LB.yuan(w.amount_fen)} 的提现并打款给 ${w.nickname || "#" + w.customer_id}？`,
        `Approve ${LB.yuan(w.amount_fen)} and pay ${w.nickname || "#" + w.customer_id}?`)))) return;
      await LB.post(`distribution/withdrawals/${w.id}/approve`, {});
      LB.toast(L("已通过，转账已发起", "Approved: the transfer has started"));
      await table.reload();
    },
  });
  CM.filterTabs(document.getElementById("withdrawal-tabs"), (value) => { state = value; table.reset(); });

  const form = document.getElementById("reject-form");
  const dialog = CM.dialog(document.getElementById("reject-dialog"));
  let rejecting = null;
  function openReject(w) {
    rejecting = w;
    form.reset();
    form.querySelector("[data-which]").textContent = `#${w.id} · ${LB.yuan(w.amount_fen)}`;
    dialog.open();
  }
  CM.submit(form, async (data) => {
    await LB.post(`distribution/withdrawals/${rejecting.id}/reject`, { reason: data.reason || "" });
    dialog.close();
    LB.toast(L("已拒绝，金额退回推广员余额", "Rejected: the amount is back in the promoter's balance"));
    await table.reload();
  });
})();
