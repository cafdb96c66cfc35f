/* The promoter centre /s/{shop}/promoter: joining (under the shop's qualification), balances by state, share
 * links for the shop and its products, attributed orders with their commissions, the team, withdrawals and
 * the leaderboard. The programme's terms and every figure come from the API (promoter/programme, promoter/me,
 * ...); a refused withdrawal shows the API's own problem. */
(function () {
  "use strict";
  const L = LB.L;
  const F = window.LBFission;
  const root = LB.$("#promoter");
  const STATUS = {
    none: [L("未加入", "Not a promoter"), "grey"], pending: [L("审核中", "Under review"), "orange"],
    active: [L("推广员", "Promoter"), "green"], rejected: [L("未通过", "Rejected"), "grey"],
    disabled: [L("已停用", "Disabled"), "grey"],
  };
  const COMMISSION = {
    pending: [L("待结算", "Pending"), "orange"], settled: [L("已结算", "Settled"), "green"],
    cancelled: [L("已取消", "Cancelled"), "grey"],
  };
  const WITHDRAWAL = {
    pending_review: [L("审核中", "Under review"), "orange"], rejected: [L("已拒绝", "Rejected"), "grey"],
    transferring: [L("转账中", "Transferring"), "blue"], paid: [L("已到账", "Paid"), "green"],
    failed: [L("失败，已退回余额", "Failed, returned"), "grey"],
  };
  const el = (name) => root.querySelector(`[data-role="${name}"]`);
  const badge = (table, value) => {
    const [text, colour] = table[value] || [value, "grey"];
    return LB.html`<span class="lb-badge ${colour}" data-status="${value}">${text}</span>`;
  };
  const percent = (bps) => {
    const value = bps / 100;
    return (Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/0+$/, "")) + "%";
  };

  let programme = null;
  let me = null;
  const tables = {};
  let teamLevel = 1;
  let withdrawKey = null;
  let withdrawAmount = null;

  function money(name, fen) {
    const node = el(name);
    node.textContent = LB.yuan(fen);
    node.dataset.fen = String(fen);
  }

  function termsList() {
    const p = programme;
    const items = [];
    if (p.level_rates_bps.length) {
      const names = [L("直接推广", "Direct sales"), L("团队成员推广", "Your team's sales")];
      items.push(p.level_rates_bps.map((r, i) => `${names[i] || ""} ${percent(r)}`).join(L("，", ", ")));
    }
    items.push(L(`订单完成 ${p.settle_after_days} 天后佣金结算，结算后可提现`,
                 `Commissions settle ${p.settle_after_days} days after the order completes, then can be withdrawn`));
    if (p.promoter_qualification === "threshold") {
      items.push(L(`累计完成订单满 ${LB.yuan(p.qualification_threshold_fen)} 即可加入`,
                   `Join once your completed orders reach ${LB.yuan(p.qualification_threshold_fen)}`));
    }
    items.push(L("成为推广员不收取任何费用", "Becoming a promoter is free"));
    return LB.html`${items.map((t) => LB.html`<li>${t}</li>`)}`;
  }

  function renderJoin() {
    const [text, colour] = STATUS[me.status] || [me.status, "grey"];
    const status = el("status");
    status.textContent = text;
    status.className = "lb-badge " + colour;
    status.dataset.status = me.status;
    let intro;
    if (!programme.enabled) intro = L("本店暂未开放推广计划", "This shop does not run a promoter programme");
    else if (me.status === "pending") intro = L("申请已提交，等待商家审核", "Your application is waiting for the shop's review");
    else if (me.status === "rejected") intro = L("申请未通过，可以重新申请", "Your application was not approved; you may apply again");
    else if (me.status === "disabled") intro = L("你的推广资格已被商家停用", "The shop disabled your promoter account");
    else if (me.status === "active") intro = L("分享商品，好友下单后你可获得佣金", "Share products and earn when friends buy");
    else if (programme.promoter_qualification === "threshold") intro = L("达到消费门槛即可成为推广员", "Reach the spending threshold to become a promoter");
    else intro = L("提交申请，商家审核通过后即可推广赚佣金", "Apply; once the shop approves you can earn commissions");
    el("join-text").textContent = intro;
    el("terms").innerHTML = programme.enabled ? String(termsList()) : "";
    el("apply").hidden = !(programme.enabled && ["none", "rejected"].includes(me.status));
    el("join").hidden = false;
  }

  function renderCentre() {
    const show = ["active", "disabled"].includes(me.status) || me.pending_fen || me.withdrawable_fen || me.debt_fen;
    el("centre").hidden = !show;
    if (!show) return false;
    el("level-name").textContent = me.level_name || "";
    el("sales").textContent = L("累计推广 ", "Sales ") + LB.yuan(me.sales_fen);
    el("invite-code").textContent = me.invite_code || "—";
    money("pending", me.pending_fen);
    money("settled", me.settled_fen);
    money("withdrawable", me.withdrawable_fen);
    money("debt", me.debt_fen);
    el("withdrawing").hidden = !me.withdrawing_fen;
    el("withdrawing").textContent = L("提现处理中 ", "Being withdrawn ") + LB.yuan(me.withdrawing_fen);
    el("settle-note").textContent = L(`佣金在订单完成 ${programme.settle_after_days} 天后结算；退款会相应扣回`,
      `Commissions settle ${programme.settle_after_days} days after completion; refunds take them back`);
    el("team-size").textContent = String(me.team_size);
    el("team-split").textContent = programme.levels > 1
      ? L(`（直属 ${me.team_direct} · 二级 ${me.team_second}）`, ` (direct ${me.team_direct} · second ${me.team_second})`) : "";
    el("share-card").hidden = me.status !== "active";
    el("rates").textContent = L("默认佣金：", "Default commission: ")
      + programme.level_rates_bps.map((r, i) => (i ? L("二级 ", "level 2 ") : L("一级 ", "level 1 ")) + percent(r)).join(" · ")
      + L("（部分商品另有规则）", " (some products differ)");
    el("team-levels").hidden = programme.levels < 2;
    renderWithdrawTerms();
    return true;
  }

  function renderWithdrawTerms() {
    const p = programme;
    const items = [
      L("最低提现 ", "Minimum ") + LB.yuan(p.withdrawal_min_fen),
      L("手续费 ", "Fee ") + percent(p.withdrawal_fee_bps),
      L("单笔上限 ", "At most ") + LB.yuan(p.withdrawal_max_fen) + L("", " at a time"),
      L("每日限额 ", "Daily limit ") + LB.yuan(p.withdrawal_daily_limit_fen)
        + (p.withdrawn_today_fen !== null ? L("，今日已提 ", ", taken today ") + LB.yuan(p.withdrawn_today_fen) : ""),
    ];
    if (p.withdrawal_auto_approve_fen > 0) {
      items.push(L(`${LB.yuan(p.withdrawal_auto_approve_fen)} 以内自动审核`, `Up to ${LB.yuan(p.withdrawal_auto_approve_fen)} is approved at once`));
    }
    el("withdraw-terms").innerHTML = String(LB.html`${items.map((t) => LB.html`<li>${t}</li>`)}`);
    el("withdraw-available").textContent = L("可提现 ", "Withdrawable ") + LB.yuan(me.withdrawable_fen);
  }

  async function reload() {
    [programme, me] = await Promise.all([LB.get("promoter/programme"), LB.get("promoter/me")]);
    renderJoin();
    return renderCentre();
  }

  // --- tables ------------------------------------------------------------------------------------------

  function productsTable() {
    return LB.table(el("products"), [
      { title: L("商品", "Product"), render: (p) => LB.html`${p.title}` },
      { title: L("价格", "Price"), render: (p) => LB.html`<span class="lb-price">${LB.yuan(p.price_from_fen)}</span>` },
      { title: "", render: (p) => LB.html`<button type="button" class="lb-btn small secondary" data-share-product="${p.id}"
          data-testid="promote-product-${p.id}">${L("推广", "Share")}</button>` },
    ], (limit, offset) => LB.get(`products?limit=${limit}&offset=${offset}`), {
      limit: 10, empty: L("暂无可推广的商品", "No products to share yet"),
      after: (box) => box.querySelectorAll("[data-share-product]").forEach((b) => LB.onClick(b, () => F.share({
        target_type: "product", target_id: Number(b.dataset.shareProduct), channel: "friend" }), el("share-card"))),
    });
  }

  function commissionsTable() {
    return LB.table(el("commissions"), [
      { title: L("订单", "Order"), render: (c) => LB.html`<span class="fi-mono">${c.order_no}</span><br>
          <span class="lb-muted fi-small">${LB.time(c.accrued_at)}</span>` },
      { title: L("来源", "From"), render: (c) => LB.html`${c.kind === "commission"
          ? (c.level === 1 ? L("直接推广", "Direct") : L("团队推广", "Team")) : L("邀请返利", "Invite reward")}` },
      { title: L("订单金额", "Paid"), render: (c) => LB.html`${LB.yuan(c.base_fen - c.refunded_base_fen)}` },
      { title: L("佣金", "Commission"), render: (c) => LB.html`<b class="lb-price" data-testid="commission-amount"
          data-fen="${c.net_fen}">${LB.yuan(c.net_fen)}</b>` },
      { title: L("状态", "Status"), render: (c) => LB.html`${badge(COMMISSION, c.status)}${c.status === "pending" && c.settle_due_at
          ? LB.html`<br><span class="lb-muted fi-small">${L("预计 ", "Due ")}${LB.time(c.settle_due_at)}</span>` : ""}` },
    ], (limit, offset) => {
      const status = el("commission-status").value;
      return LB.get(`promoter/commissions?limit=${limit}&offset=${offset}${status ? "&status=" + status : ""}`);
    }, { empty: L("还没有推广订单，分享商品给好友吧", "No orders yet: share a product with friends") });
  }

  function teamTable() {
    return LB.table(el("team"), [
      { title: L("成员", "Member"), render: (m) => LB.html`${m.nickname || "—"}${m.is_promoter
          ? LB.html` <span class="lb-badge green">${L("推广员", "Promoter")}</span>` : ""}` },
      { title: L("加入时间", "Joined"), render: (m) => LB.html`${LB.time(m.bound_at)}` },
      { title: L("带来佣金", "Earned you"), render: (m) => LB.html`${LB.yuan(m.commission_fen)}` },
    ], (limit, offset) => LB.get(`promoter/team?level=${teamLevel}&limit=${limit}&offset=${offset}`),
    { empty: L("还没有团队成员", "No team members yet") });
  }

  function withdrawalsTable() {
    return LB.table(el("withdrawals"), [
      { title: L("时间", "When"), render: (w) => LB.html`${LB.time(w.created_at)}` },
      { title: L("金额", "Amount"), render: (w) => LB.html`${LB.yuan(w.amount_fen)}` },
      { title: L("手续费", "Fee"), render: (w) => LB.html`${LB.yuan(w.fee_fen)}` },
      { title: L("到账", "Net"), render: (w) => LB.html`${LB.yuan(w.net_fen)}` },
      { title: L("状态", "Status"), render: (w) => LB.html`${badge(WITHDRAWAL, w.state)}${w.reject_reason
          ? LB.html`<br><span class="lb-muted fi-small">${w.reject_reason}</span>` : ""}` },
    ], (limit, offset) => LB.get(`promoter/withdrawals?limit=${limit}&offset=${offset}`),
    { empty: L("暂无提现记录", "No withdrawals yet") });
  }

  function leaderboardTable() {
    return LB.table(el("leaderboard"), [
      { title: L("排名", "Rank"), render: (r) => LB.html`<b>${r.rank}</b>` },
      { title: L("推广员", "Promoter"), render: (r) => LB.html`${r.nickname}` },
      { title: L("已结算佣金", "Settled"), render: (r) => LB.html`${LB.yuan(r.settled_fen)}` },
      { title: L("订单", "Orders"), render: (r) => LB.html`${r.orders}` },
    ], async (limit, offset) => (offset ? { items: [] } : LB.get(`promoter/leaderboard?limit=${limit}`)),
    { limit: 100, empty: L("暂无排名", "Nobody ranked yet") });
  }

  const LOADERS = { commissions: commissionsTable, team: teamTable, withdraw: withdrawalsTable,
                    leaderboard: leaderboardTable };
  const TABLE_OF = { commissions: "commissions", team: "team", withdraw: "withdrawals", leaderboard: "leaderboard" };

  function showPane(name) {
    LB.$$("[data-pane]", root).forEach((b) => b.classList.toggle("active", b.dataset.pane === name));
    LB.$$("[data-pane-body]", root).forEach((p) => { p.hidden = p.dataset.paneBody !== name; });
    const key = TABLE_OF[name];
    if (!tables[key]) tables[key] = LOADERS[name]();
  }

  // --- actions -----------------------------------------------------------------------------------------

  LB.onClick(el("apply"), async () => {
    me = await LB.post("promoter/apply");
    renderJoin();
    if (renderCentre()) startCentre();
    LB.toast(me.status === "active" ? L("你已成为推广员", "You are now a promoter") : L("申请已提交", "Application sent"));
  }, el("join"));

  LB.onClick(el("promote-shop"), () => F.share({ target_type: "shop", target_id: 0, channel: "friend" }), el("share-card"));
  el("commission-status").addEventListener("change", () => tables.commissions && tables.commissions.reset());
  LB.$$("[data-level]", root).forEach((b) => b.addEventListener("click", () => {
    teamLevel = Number(b.dataset.level);
    LB.$$("[data-level]", root).forEach((x) => x.classList.toggle("ghost", x !== b));
    if (tables.team) tables.team.reset();
  }));
  LB.$$("[data-pane]", root).forEach((b) => b.addEventListener("click", () => showPane(b.dataset.pane)));

  const withdrawForm = LB.$("#withdraw-form");
  LB.onSubmit(withdrawForm, async (data) => {
    el("withdraw-result").hidden = true;
    const amount = data.amount_fen;
    if (typeof amount !== "number" || !Number.isFinite(amount) || amount <= 0) {
      throw new LB.Problem(0, { code: "validation_error", detail: L("请输入正确的金额，最多两位小数", "Enter an amount with at most two decimals"),
                                errors: [{ loc: ["body", "amount_fen"] }] });
    }
    // One key per intended withdrawal: a retry after a lost answer cannot take the money twice.
    if (withdrawKey === null || withdrawAmount !== amount) { withdrawKey = LB.newKey(); withdrawAmount = amount; }
    const made = await LB.post("promoter/withdrawals", { amount_fen: amount }, { idempotencyKey: withdrawKey });
    withdrawKey = null;
    withdrawForm.reset();
    const [state] = WITHDRAWAL[made.state] || [made.state];
    const result = el("withdraw-result");
    result.hidden = false;
    result.dataset.state = made.state;
    result.textContent = L(`已申请提现 ${LB.yuan(made.amount_fen)}，手续费 ${LB.yuan(made.fee_fen)}，实际到账 ${LB.yuan(made.net_fen)}（${state}）`,
      `Withdrawal of ${LB.yuan(made.amount_fen)} requested: fee ${LB.yuan(made.fee_fen)}, you receive ${LB.yuan(made.net_fen)} (${state})`);
    await reload();
    if (tables.withdrawals) tables.withdrawals.reset();
  });

  const invitationForm = LB.$("#invitation-form");
  LB.onSubmit(invitationForm, async (data) => {
    const bound = await LB.post("promoter/invitations", { code: (data.code || "").trim() });
    invitationForm.reset();
    LB.toast(bound.bound_promoter_id ? L("已绑定邀请人", "Bound to your inviter") : L("未能绑定邀请人", "Not bound"));
  });

  let centreStarted = false;
  function startCentre() {
    if (centreStarted) return;
    centreStarted = true;
    if (me.status === "active") tables.products = productsTable();
    showPane("commissions");
  }

  async function start() {
    try {
      const show = await reload();
      el("loading").hidden = true;
      root.setAttribute("aria-busy", "false");
      if (show) startCentre();
    } catch (err) {
      el("loading").textContent = err.message_ ? err.message_() : String(err);
    }
  }
  start();
})();
