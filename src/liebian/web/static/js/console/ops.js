/* Console operations pages (dashboard, products, orders, refunds, stores): the words and badges they share.
 * Only names for what the API answers; what may happen to an order is the API's to say.
 */
(function () {
  "use strict";
  const L = LB.L;

  const ORDER = {
    pending_payment: [L("待付款", "Awaiting payment"), "orange"],
    paid: [L("待发货", "Paid, to ship"), "blue"],
    shipped: [L("已发货", "Shipped"), "blue"],
    completed: [L("已完成", "Completed"), "green"],
    cancelled: [L("已取消", "Cancelled"), "grey"],
    refunding: [L("退款中", "Refunding"), "orange"],
    refunded: [L("已退款", "Refunded"), "grey"],
  };
  const REFUND = {
    pending: [L("待审核", "Pending"), "orange"],
    approved: [L("已同意，退款中", "Approved, refunding"), "blue"],
    rejected: [L("已拒绝", "Rejected"), "grey"],
    succeeded: [L("已退款", "Refunded"), "green"],
  };
  const PRODUCT = {
    published: [L("在售", "On sale"), "green"],
    unpublished: [L("已下架", "Off sale"), "grey"],
    draft: [L("草稿", "Draft"), "grey"],
    archived: [L("已删除", "Deleted"), "grey"],
  };
  const PAYMENT = {
    unpaid: L("未支付", "Unpaid"), paid: L("已支付", "Paid"), free: L("无需支付", "Free"),
    wechat: L("微信支付", "WeChat Pay"), cod: L("货到付款", "Cash on delivery"),
  };
  const PROMOTION = {
    groupbuy: L("拼团", "Group buy"), bargain: L("砍价", "Bargain"), flashsale: L("秒杀", "Flash sale"),
  };
  const CHANNEL = {
    friend: L("好友分享", "Friend"), group_chat: L("群聊", "Group chat"), moments: L("朋友圈", "Moments"),
    poster: L("海报", "Poster"), offline_qr: L("线下二维码", "Offline QR"), moments_ad: L("朋友圈广告", "Moments ad"),
    official_account: L("公众号", "Official account"), search: L("搜索", "Search"), nearby: L("附近", "Nearby"),
    community: L("社区", "Community"),
  };

  function badge(table, status, testid) {
    const [label, color] = table[status] || [status, "grey"];
    return LB.html`<span class="lb-badge ${color}" data-status="${status}" ${LB.raw(testid ? `data-testid="${LB.esc(testid)}"` : "")}>${label}</span>`;
  }

  /** "颜色: 红 / 尺码: M" */
  function specs(spec) {
    const parts = Object.entries(spec || {}).map(([k, v]) => `${k}: ${v}`);
    return parts.length ? parts.join(" / ") : L("默认规格", "Default");
  }

  /** "+12.50%" for a change in basis points; null (no base to compare with) is "—". */
  function change(bps) {
    if (bps === null || bps === undefined) return "—";
    return (bps > 0 ? "+" : "") + (bps / 100).toFixed(2) + "%";
  }

  /** Mark the sidebar entry of a page that lives under another (an order under orders). */
  function nav(name) {
    LB.$$(`[data-nav="${name}"]`).forEach((a) => a.classList.add("active"));
  }

  /** Confirm an action in the visitor's language. */
  function sure(zh, en) { return window.confirm(L(zh, en)); }

  /** A small form in a <dialog>: handler(data) runs on submit; its problems stay in the dialog, success closes it.
   * fields: [{name, label, type?: "text"|"textarea"|"yuan", placeholder?}] */
  function dialogForm(options, handler) {
    const dialog = document.createElement("dialog");
    dialog.className = "lb-dialog";
    if (options.testid) dialog.dataset.testid = options.testid;
    const fields = options.fields.map((f) => (f.type === "textarea"
      ? LB.html`<label class="lb-field"><span>${f.label}</span><textarea name="${f.name}" rows="3" maxlength="200"
          placeholder="${f.placeholder || ""}" data-testid="dialog-${f.name}"></textarea></label>`
      : LB.html`<label class="lb-field"><span>${f.label}</span><input name="${f.name}" placeholder="${f.placeholder || ""}"
          ${LB.raw(f.type === "yuan" ? 'data-type="yuan" inputmode="decimal"' : "")} data-testid="dialog-${f.name}"></label>`));
    dialog.innerHTML = String(LB.html`<form method="dialog" novalidate><h3>${options.title}</h3>${fields}
      <div class="lb-error" hidden></div>
      <div class="lb-row"><button type="submit" class="lb-btn" data-testid="dialog-submit">${options.submit || L("确定", "OK")}</button>
      <button type="button" class="lb-btn ghost" data-close>${L("取消", "Cancel")}</button></div></form>`);
    document.body.appendChild(dialog);
    const form = dialog.querySelector("form");
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => dialog.remove());
    LB.onSubmit(form, async (data) => {
      await handler(data);
      dialog.close();
    });
    dialog.showModal();
    const first = form.querySelector("input, textarea");
    if (first) first.focus();
    return dialog;
  }

  /** Approve or reject a refund request (reject asks why); then `done()` (reload what shows it). */
  async function decideRefund(button, done, where) {
    const id = button.dataset.refund;
    if (button.dataset.decision === "approve") {
      if (!sure("同意后将立即原路退款，确定同意？", "The money goes back at once. Approve?")) return;
      button.disabled = true;
      try {
        await LB.post(`refunds/${id}/approve`);
        LB.toast(L("已同意退款", "Refund approved"));
        await done();
      } catch (err) {
        LB.showProblem(where, err);
        button.disabled = false;
      }
      return;
    }
    dialogForm({ title: L("拒绝退款申请", "Reject the refund request"), testid: "refund-reject-dialog",
      submit: L("拒绝", "Reject"),
      fields: [{ name: "reason", label: L("拒绝理由（顾客可见）", "Why (the customer sees it)"), type: "textarea" }] },
    async (data) => {
      await LB.post(`refunds/${id}/reject`, { reason: data.reason || "" });
      LB.toast(L("已拒绝", "Rejected"));
      await done();
    });
  }

  window.LBOps = {
    order: (s, testid) => badge(ORDER, s, testid), refund: (s, testid) => badge(REFUND, s, testid),
    product: (s, testid) => badge(PRODUCT, s, testid), ORDER, REFUND, PRODUCT, PAYMENT, PROMOTION, CHANNEL,
    specs, change, nav, sure, dialogForm, decideRefund,
  };
})();
