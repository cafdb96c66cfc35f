/* The bargain page /s/{shop}/b/{id}: the price falling towards the floor, who cut, the help button for
 * friends, and the owner's buy button when the API says they may (`can_buy`). A visitor who is not logged in
 * is sent to the login picker and, back here, their cut is made (the `help=1` they left with). */
(function () {
  "use strict";
  const L = LB.L;
  const F = window.LBFission;
  const root = LB.$("#bargain");
  const bargainId = LB.cfg.params.bargain_id;
  const shareCode = LB.query("share");
  const signedIn = Boolean(LB.cfg.customer_id);
  const POLL_SECONDS = 4;
  const STATUS = {
    active: [L("砍价中", "In progress"), ""], complete: [L("已砍到底价", "At the floor"), "green"],
    ordered: [L("已下单", "Ordered"), "blue"], expired: [L("已结束", "Ended"), "grey"],
  };

  let bargain = null;
  let product = null;
  let stopCountdown = null;
  let countdownFor = null;
  const el = (name) => root.querySelector(`[data-role="${name}"]`);

  function productLink() {
    return F.shopUrl("p/" + bargain.product_id + (shareCode ? "?share=" + encodeURIComponent(shareCode) : ""));
  }

  function renderProduct() {
    el("title").textContent = bargain.title || (product ? product.title : L("砍价商品", "Bargain item"));
    el("initiator").textContent = L(`${bargain.initiator.nickname} 发起的砍价`, `${bargain.initiator.nickname}'s bargain`);
    el("product-link").href = productLink();
    F.thumb(el("thumb"), product);
    el("product").hidden = false;
  }

  function headline() {
    const b = bargain;
    if (b.status === "active") {
      if (b.mine) return L(`还需 ${b.helpers_left} 位好友帮砍，就能 ${LB.yuan(b.floor_price_fen)} 买到`,
                           `${b.helpers_left} more friends to reach ${LB.yuan(b.floor_price_fen)}`);
      return L(`还差 ${b.helpers_left} 刀砍到底价`, `${b.helpers_left} more cuts to the floor`);
    }
    if (b.status === "complete") return L("已砍到底价，可以下单了", "The floor is reached: it can be ordered");
    if (b.status === "ordered") return L("已按砍后价下单", "Ordered at the bargained price");
    return L("砍价已结束", "This bargain has ended");
  }

  function renderPrices() {
    const b = bargain;
    const current = el("current");
    current.textContent = LB.yuan(b.current_price_fen);
    current.dataset.fen = String(b.current_price_fen);
    el("start").textContent = LB.yuan(b.start_price_fen);
    el("floor").textContent = LB.yuan(b.floor_price_fen);
    el("floor").dataset.fen = String(b.floor_price_fen);
    const range = b.start_price_fen - b.floor_price_fen;
    const done = range > 0 ? Math.round(((b.start_price_fen - b.current_price_fen) * 100) / range) : 100;
    const bar = el("progress");
    bar.firstElementChild.style.width = Math.min(100, Math.max(0, done)) + "%";
    bar.dataset.percent = String(done);
    el("progress-text").textContent = L(`已砍 ${LB.yuan(b.start_price_fen - b.current_price_fen)}，距底价还差 ${LB.yuan(b.current_price_fen - b.floor_price_fen)}`,
      `${LB.yuan(b.start_price_fen - b.current_price_fen)} off, ${LB.yuan(b.current_price_fen - b.floor_price_fen)} to the floor`);
    el("headline").textContent = headline();
  }

  function renderCountdown() {
    const running = ["active", "complete"].includes(bargain.status) && bargain.seconds_left > 0;
    el("countdown-wrap").hidden = !running;
    if (!running) { if (stopCountdown) stopCountdown(); stopCountdown = null; countdownFor = null; return; }
    if (countdownFor === bargain.expires_at) return;
    if (stopCountdown) stopCountdown();
    countdownFor = bargain.expires_at;
    stopCountdown = LB.countdown(el("countdown"), bargain.expires_at, () => refresh());
  }

  function message(text) {
    el("message").hidden = !text;
    el("message").textContent = text || "";
  }

  function renderActions() {
    const b = bargain;
    el("help").hidden = b.mine || Boolean(b.my_help) || b.status !== "active";
    el("buy").hidden = !b.can_buy;
    el("buy").textContent = L(`${LB.yuan(b.current_price_fen)} 立即购买`, `Buy now for ${LB.yuan(b.current_price_fen)}`);
    el("invite").hidden = !(b.mine && b.status === "active");
    el("invite").classList.toggle("secondary", b.can_buy);
    el("order").hidden = !b.order_no;
    if (b.order_no) el("order").href = F.shopUrl("orders/" + encodeURIComponent(b.order_no));
    el("own").hidden = b.mine;
    el("own").href = productLink();
    if (b.my_help) message(L(`你已帮 TA 砍掉 ${LB.yuan(b.my_help.cut_fen)}`, `You cut ${LB.yuan(b.my_help.cut_fen)} off`));
    else if (b.mine && b.status === "active" && !b.can_buy) message(L("邀请好友帮砍，砍到底价即可下单", "Invite friends; at the floor you can order"));
    else message("");
  }

  function renderHelpers() {
    const helps = bargain.helps;
    el("helpers").innerHTML = helps.length ? String(LB.html`${helps.map((h) => LB.html`<li data-testid="bargain-helper">
        ${F.avatar(h, h.is_initiator ? "leader" : "", h.is_initiator ? L("发起人", "Starter") : "")}
        <span class="fi-helper-info"><span class="lb-muted fi-small">${LB.time(h.helped_at)}</span></span>
        <b class="lb-price">-${LB.yuan(h.cut_fen)}</b></li>`)}`)
      : String(LB.html`<li class="lb-muted">${L("还没有人帮砍", "Nobody has cut yet")}</li>`);
    el("helpers-card").hidden = false;
  }

  function render() {
    const [label, colour] = STATUS[bargain.status] || [bargain.status, "grey"];
    const status = el("status");
    status.textContent = label;
    status.className = "lb-badge " + colour;
    status.dataset.status = bargain.status;
    renderPrices();
    renderCountdown();
    renderActions();
    renderHelpers();
    el("main").hidden = false;
    root.setAttribute("aria-busy", "false");
  }

  async function refresh() {
    bargain = await LB.get("bargains/" + encodeURIComponent(bargainId));
    render();
  }

  async function help() {
    if (!signedIn) { F.loginThenBack("help"); return; }
    const answer = await LB.post("bargains/" + encodeURIComponent(bargainId) + "/help");
    const cut = el("cut");
    cut.hidden = false;
    cut.dataset.fen = String(answer.cut_fen);
    cut.textContent = answer.already_helped
      ? L(`你已经帮砍过了，砍掉了 ${LB.yuan(answer.cut_fen)}`, `You already cut ${LB.yuan(answer.cut_fen)} off`)
      : L(`你帮好友砍掉了 ${LB.yuan(answer.cut_fen)}！`, `You cut ${LB.yuan(answer.cut_fen)} off!`)
        + (answer.complete ? L("已砍到底价", " The floor is reached.") : "");
    await refresh();
  }

  async function start() {
    try {
      bargain = await LB.get("bargains/" + encodeURIComponent(bargainId));
    } catch (err) {
      el("loading").textContent = err.status === 404 ? L("砍价不存在", "No such bargain")
        : (err.message_ ? err.message_() : String(err));
      return;
    }
    product = await LB.get("products/" + bargain.product_id).catch(() => null);
    el("loading").hidden = true;
    renderProduct();
    render();
    F.poll(refresh, POLL_SECONDS, () => bargain && bargain.status === "active");
    // Back from the login picker with the cut they asked for: make it once, and forget the request.
    if (LB.query("help") === "1") {
      history.replaceState(null, "", F.withParam("help", null));
      if (signedIn && !bargain.mine && !bargain.my_help && bargain.status === "active") {
        try { await help(); } catch (err) { LB.showProblem(el("main"), err); }
      }
    }
  }

  LB.onClick(el("help"), help, el("main"));
  LB.onClick(el("buy"), async () => {
    location.href = F.checkoutUrl({ sku: bargain.sku_id, qty: 1, kind: "bargain", bargain: bargain.id, share: shareCode });
  }, el("main"));
  LB.onClick(el("invite"), () => F.share({ target_type: "bargain", target_id: bargain.id, channel: "friend",
                                           parent_code: shareCode || undefined }), el("main"));
  start();
})();
