/* The group page /s/{shop}/g/{id}: who joined, empty places, the countdown, join and invite.
 * Everything comes from GET groupbuy/groups/{id}: its `viewer` says whether the visitor is in the group or
 * why they cannot join; the page only shows it, and re-reads the group every few seconds while it runs so the
 * leader sees friends join. */
(function () {
  "use strict";
  const L = LB.L;
  const F = window.LBFission;
  const root = LB.$("#group");
  const groupId = LB.cfg.params.group_id;
  const shareCode = LB.query("share");
  const POLL_SECONDS = 3;
  const RUNNING = ["pending", "open"];
  const STATUS = {
    pending: [L("待成团", "Waiting"), "orange"], open: [L("拼团中", "In progress"), ""],
    succeeded: [L("拼团成功", "Succeeded"), "green"], failed: [L("拼团失败", "Failed"), "grey"],
  };
  // What a refusal code means for this visitor; any other code shows the API's own detail.
  const REFUSALS = {
    already_in_group: L("你已在这个团里", "You are already in this group"),
    group_full: L("这个团已经满员了，去开一个新团吧", "This group is full; open a new one"),
    group_closed: L("这个团已经结束了，去开一个新团吧", "This group has ended; open a new one"),
    new_customers_only: L("本团仅限新顾客参团，你可以开一个新团", "Only new customers can join; you can open a new group"),
    campaign_over: L("拼团活动已结束", "This group buy is over"),
    campaign_not_started: L("拼团活动尚未开始", "This group buy has not started yet"),
    group_not_found: L("拼团不存在", "No such group"),
  };
  const OPEN_NEW = ["group_full", "group_closed", "new_customers_only"];

  let group = null;
  let campaign = null;
  let product = null;
  let stopCountdown = null;
  let countdownFor = null;
  const el = (name) => root.querySelector(`[data-role="${name}"]`);

  function productLink() {
    return F.shopUrl("p/" + group.product_id + (shareCode ? "?share=" + encodeURIComponent(shareCode) : ""));
  }

  function renderProduct() {
    const sku = product && product.skus ? product.skus.find((s) => s.id === group.sku_id) : null;
    el("title").textContent = (campaign && campaign.title) || (product ? product.title : L("拼团商品", "Group-buy item"));
    el("size-label").textContent = L(`${group.size}人团`, `Group of ${group.size}`);
    el("group-price").textContent = LB.yuan(group.group_price_fen);
    el("group-price").dataset.fen = String(group.group_price_fen);
    el("list-price").textContent = sku && sku.price_fen > group.group_price_fen ? LB.yuan(sku.price_fen) : "";
    const leader = group.leader_price_fen;
    el("leader-price").textContent = leader === null || leader === undefined ? ""
      : leader === 0 ? L("团长免单", "Free for the leader") : L("团长价 ", "Leader's price ") + LB.yuan(leader);
    el("product-link").href = productLink();
    F.thumb(el("thumb"), product);
    const ladder = el("ladder");
    if (group.ladder && group.ladder.length) {
      ladder.innerHTML = String(LB.html`${group.ladder.map((t) => LB.html`<li>${L(`满${t.size}人`, `${t.size}+ people`)}
        <b class="lb-price">${LB.yuan(t.price_fen)}</b></li>`)}`);
      ladder.hidden = false;
    }
    el("new-only").hidden = !(campaign && campaign.new_customers_only);
    el("product").hidden = false;
    el("rules").hidden = false;
  }

  function headline() {
    const missing = Math.max(0, group.size - group.members.length - (group.status === "succeeded" ? group.shop_paid_slots : 0));
    if (group.status === "pending") return L("团长付款后开始计时", "The countdown starts when the leader pays");
    if (group.status === "open") return L(`还差 ${missing} 人成团`, `${missing} more to go`);
    if (group.status === "succeeded") {
      const price = group.final_unit_price_fen !== null && group.final_unit_price_fen !== undefined
        ? L("，成团价 ", " at ") + LB.yuan(group.final_unit_price_fen) : "";
      return L("拼团成功", "The group succeeded") + price;
    }
    return L("未在时限内成团，款项将原路退回", "Not full in time; every payment is refunded");
  }

  function renderMembers() {
    const people = group.members.map((m) => F.avatar(m, m.is_leader ? "leader" : "", m.is_leader ? L("团长", "Leader") : ""));
    const slots = [];
    const running = RUNNING.includes(group.status);
    if (running) {
      for (let i = 0; i < group.paying; i++) slots.push(LB.html`<span class="fi-person"><span class="sf-avatar empty">…</span><small>${L("付款中", "Paying")}</small></span>`);
      for (let i = 0; i < group.slots_left; i++) slots.push(LB.html`<span class="fi-person" data-testid="group-slot"><span class="sf-avatar empty">?</span><small>${L("待加入", "Open")}</small></span>`);
    } else if (group.status === "succeeded") {
      for (let i = 0; i < group.shop_paid_slots; i++) slots.push(LB.html`<span class="fi-person"><span class="sf-avatar empty">✓</span><small>${L("商家补位", "By the shop")}</small></span>`);
    }
    el("members").innerHTML = String(LB.html`${people}${slots}`);
    el("members").dataset.count = String(group.members.length);
    el("paying").hidden = !(running && group.paying > 0);
    el("paying").textContent = L(`${group.paying} 人正在付款`, `${group.paying} paying now`);
    el("shop-paid").hidden = !group.completed_by_shop;
    el("shop-paid").textContent = L(`商家为本团补足了 ${group.shop_paid_slots} 个名额`, `The shop paid for ${group.shop_paid_slots} places`);
  }

  function renderCountdown() {
    const open = group.status === "open" && group.expires_at;
    el("countdown-wrap").hidden = !open;
    if (!open) { if (stopCountdown) stopCountdown(); stopCountdown = null; countdownFor = null; return; }
    if (countdownFor === group.expires_at) return;
    if (stopCountdown) stopCountdown();
    countdownFor = group.expires_at;
    stopCountdown = LB.countdown(el("countdown"), group.expires_at, () => refresh());
  }

  function message(text, warn) {
    const box = el("message");
    box.hidden = !text;
    box.textContent = text || "";
    box.classList.toggle("fi-warn", Boolean(warn));
  }

  function renderActions() {
    const running = RUNNING.includes(group.status);
    const viewer = group.viewer;
    const join = el("join");
    let canJoin = running && group.slots_left > 0;
    el("my-order").hidden = true;
    el("open-new").hidden = true;
    el("open-new").href = productLink();
    if (viewer && viewer.is_member) {
      canJoin = false;
      const paid = viewer.member_status === "paid";
      if (!running) {
        const won = group.status === "succeeded";
        message(won ? L("你已拼团成功", "You are in this successful group")
          : L("本团未成功，你的款项将原路退回", "This group failed; your payment is refunded"), !won);
      } else if (!paid) {
        message(L("你的参团订单待付款", "Your order in this group is waiting for payment"), true);
      } else {
        message(viewer.is_leader ? L("你是团长，快邀请好友参团吧", "You lead this group: invite friends")
          : L("你已参团，邀请好友一起更快成团", "You are in: invite friends to fill it faster"), false);
      }
      if (viewer.order_no) {
        el("my-order").hidden = false;
        el("my-order").href = F.shopUrl("orders/" + encodeURIComponent(viewer.order_no));
      }
    } else if (viewer && !viewer.can_join) {
      canJoin = false;
      message(REFUSALS[viewer.refusal] || viewer.refusal_detail || viewer.refusal, true);
      el("open-new").hidden = !OPEN_NEW.includes(viewer.refusal);
    } else if (!running) {
      message(group.status === "succeeded" ? L("这个团已经成功了，去开一个新团吧", "This group already succeeded; open a new one")
        : L("这个团已经结束了，去开一个新团吧", "This group has ended; open a new one"), true);
      el("open-new").hidden = false;
    } else if (group.slots_left <= 0) {
      message(L("名额已被占满，等待其他人付款", "All places are taken while others pay"), true);
    } else {
      message("", false);
    }
    join.hidden = !canJoin;
    join.textContent = L("立即参团 ", "Join for ") + LB.yuan(group.group_price_fen);
    const invite = el("invite");
    invite.hidden = !running;
    invite.classList.toggle("secondary", canJoin);
    invite.classList.toggle("orange", !canJoin);
  }

  function render() {
    const [label, colour] = STATUS[group.status] || [group.status, "grey"];
    const status = el("status");
    status.textContent = label;
    status.className = "lb-badge " + colour;
    status.dataset.status = group.status;
    el("headline").textContent = headline();
    renderMembers();
    renderCountdown();
    renderActions();
    el("group").hidden = false;
    root.setAttribute("aria-busy", "false");
  }

  async function refresh() {
    const before = group ? group.status : null;
    const countBefore = group ? group.members.length : 0;
    group = await LB.get("groupbuy/groups/" + encodeURIComponent(groupId));
    render();
    if (before && before !== group.status && group.status === "succeeded") LB.toast(L("拼团成功！", "The group succeeded!"));
    else if (group.members.length > countBefore && before) LB.toast(L("有好友加入了！", "A friend joined!"));
  }

  async function start() {
    try {
      group = await LB.get("groupbuy/groups/" + encodeURIComponent(groupId));
    } catch (err) {
      el("loading").textContent = err.code === "group_not_found" || err.status === 404
        ? L("拼团不存在或已删除", "No such group") : (err.message_ ? err.message_() : String(err));
      return;
    }
    const [c, p] = await Promise.all([
      LB.get("groupbuy/campaigns/" + group.campaign_id).catch(() => null),
      LB.get("products/" + group.product_id).catch(() => null),
    ]);
    campaign = c;
    product = p;
    el("loading").hidden = true;
    renderProduct();
    render();
    F.poll(refresh, POLL_SECONDS, () => group && RUNNING.includes(group.status));
  }

  LB.onClick(el("join"), async () => {
    // Signed out: log in first and come back here, where the group says whether this visitor may join.
    if (!LB.cfg.customer_id) { F.loginThenBack(); return; }
    location.href = F.checkoutUrl({ sku: group.sku_id, qty: 1, kind: "groupbuy", campaign: group.campaign_id,
                                    group: group.id, share: shareCode });
  }, el("group"));
  LB.onClick(el("invite"), () => F.share({ target_type: "group", target_id: group.id, channel: "friend",
                                           parent_code: shareCode || undefined }), el("group"));
  start();
})();
