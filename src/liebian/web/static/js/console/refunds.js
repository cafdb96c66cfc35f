/* Console refunds: refund requests by status (GET refunds), approved or rejected here; the API's problems
 * (already decided, nothing left to refund...) show above the table. */
(function () {
  "use strict";
  const L = LB.L;
  const section = LB.$("#refunds");
  const tableEl = LB.$("#refunds-table");
  const search = LB.$("#refund-search");
  const filters = { status: LB.query("status") === null ? "pending" : LB.query("status"), order_no: LB.query("order_no") || "" };
  search.elements.order_no.value = filters.order_no;

  const table = LB.table(tableEl, [
    { title: "ID", render: (r) => LB.esc(r.id) },
    { title: L("订单号", "Order no."), render: (r) => LB.html`<a href="/console/orders/${r.order_no}">${r.order_no}</a>` },
    { title: L("金额", "Amount"), render: (r) => LB.html`<b>${LB.yuan(r.amount_fen)}</b>` },
    { title: L("原因", "Reason"), render: (r) => LB.html`${r.reason}${r.reject_reason
        ? LB.html`<br><small class="lb-muted">${L("拒绝理由：", "Rejected: ")}${r.reject_reason}</small>` : ""}` },
    { title: L("发起方", "By"), render: (r) => LB.esc(r.initiated_by === "shop" ? L("商家", "Shop") : L("顾客", "Customer")) },
    { title: L("申请时间", "Requested"), render: (r) => LB.esc(LB.time(r.created_at)) },
    { title: L("处理时间", "Decided"), render: (r) => LB.esc(r.decided_at ? LB.time(r.decided_at) : "—") },
    { title: L("状态", "Status"), render: (r) => LBOps.refund(r.status, `refund-status-${r.id}`) },
    { title: L("操作", "Actions"), render: (r) => (r.status === "pending" ? LB.html`<span class="ops-actions">
        <button type="button" class="lb-btn small green" data-refund="${r.id}" data-decision="approve" data-testid="refund-approve-${r.id}">${L("同意退款", "Approve")}</button>
        <button type="button" class="lb-btn small ghost" data-refund="${r.id}" data-decision="reject" data-testid="refund-reject-${r.id}">${L("拒绝", "Reject")}</button></span>` : "") },
  ], (limit, offset) => {
    const params = new URLSearchParams({ limit, offset });
    if (filters.status) params.set("status", filters.status);
    if (filters.order_no) params.set("order_no", filters.order_no);
    return LB.get("refunds?" + params).then((list) => ({ items: list })); // a plain list: no total
  }, { empty: L("没有退款申请", "No refund requests") });

  tableEl.addEventListener("click", (event) => {
    const b = event.target.closest("button[data-refund]");
    if (!b || b.disabled) return;
    LB.clearProblem(section);
    LBOps.decideRefund(b, () => table.reload(), section);
  });

  function markTab() {
    LB.$$("#refund-tabs button").forEach((b) => b.classList.toggle("active", b.dataset.status === filters.status));
  }
  function remember() {
    const params = new URLSearchParams({ status: filters.status });
    if (filters.order_no) params.set("order_no", filters.order_no);
    history.replaceState(null, "", location.pathname + "?" + params);
  }
  LB.$$("#refund-tabs button").forEach((b) => b.addEventListener("click", () => {
    filters.status = b.dataset.status;
    markTab(); remember(); LB.clearProblem(section); table.reset();
  }));
  search.addEventListener("submit", (event) => {
    event.preventDefault();
    filters.order_no = search.elements.order_no.value.trim();
    remember(); LB.clearProblem(section); table.reset();
  });
  markTab();
})();
