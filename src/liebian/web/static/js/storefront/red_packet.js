/* Red packet page (/s/{shop}/rp/{code}): the packet, the parts left, who opened it (masked), and the claim button.
 * A visitor without a session is sent to log in and comes back here; what one got is a coupon. */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const root = LB.$("#packet");
  const code = LB.cfg.params.code;
  const card = LB.$("#packet-card");
  let packet = null;
  let stop = null;

  function role(name) { return LB.$(`[data-role=${name}]`, root); }

  function showResult(amountFen) {
    const box = role("result");
    box.textContent = L(`你抢到了 ${LB.yuan(amountFen)} 优惠券，已放入“我的优惠券”`,
      `You got a ${LB.yuan(amountFen)} coupon: it is in My coupons`);
    box.dataset.fen = String(amountFen);
    box.hidden = false;
    role("use").hidden = false;
  }

  const STATUS = { open: ["", ""], finished: ["红包已被抢完", "All opened"], expired: ["红包已过期", "Expired"] };

  function render(p) {
    packet = p;
    root.dataset.status = p.status;
    role("headline").textContent = p.status === "open" ? L("好友送你一个红包", "A friend sent you a red packet")
      : L(STATUS[p.status][0], STATUS[p.status][1]);
    role("total").textContent = LB.yuan(p.total_fen);
    const left = p.parts - p.parts_claimed;
    const parts = role("parts");
    parts.textContent = L(`共 ${p.parts} 份，剩 ${left} 份`, `${p.parts} parts, ${left} left`);
    parts.dataset.left = String(left);
    role("terms").textContent = (p.coupon_threshold_fen > 0 ? L(`满 ${LB.yuan(p.coupon_threshold_fen)} 可用`,
      `On ${LB.yuan(p.coupon_threshold_fen)} or more`) : L("无门槛优惠券", "No minimum spend"))
      + L(`，领取后 ${p.coupon_valid_days} 天内有效`, `, valid ${p.coupon_valid_days} days`);
    if (stop) stop();
    role("countdown-row").hidden = p.status !== "open";
    if (p.status === "open") stop = LB.countdown(role("countdown"), p.expires_at, () => setTimeout(load, 1500));
    role("claims").innerHTML = p.claims.length ? p.claims.map((c) => String(LB.html`<li data-testid="redpacket-claim-row">
      <span>${c.nickname} ${c.is_luckiest ? LB.html`<span class="lb-badge orange">${L("手气最佳", "Luckiest")}</span>` : ""}</span>
      <span><b>${LB.yuan(c.amount_fen)}</b> <span class="lb-muted ss-small">${LB.time(c.claimed_at)}</span></span></li>`)).join("")
      : String(LB.html`<li class="lb-muted">${L("还没有人领取", "Nobody yet")}</li>`);
    const claim = role("claim");
    const mine = p.my_amount_fen !== null && p.my_amount_fen !== undefined;
    if (mine) showResult(p.my_amount_fen);
    claim.hidden = mine || p.status !== "open";
  }

  async function load() {
    let p;
    try {
      p = await LB.get("red-packets/" + encodeURIComponent(code), { noLoginRedirect: true });
    } catch (err) {
      role("loading").hidden = true;
      role("missing").hidden = false;
      LB.showProblem(role("missing"), err);
      return;
    }
    render(p);
    role("loading").hidden = true;
    role("main").hidden = false;
    root.setAttribute("aria-busy", "false");
  }

  LB.onClick(role("claim"), async () => {
    if (!LB.cfg.customer_id) { LB.goLogin(); return; }  // back here after logging in
    const got = await LB.post("red-packets/" + encodeURIComponent(code) + "/claim", {});
    render(got.packet);
    showResult(got.amount_fen);
  }, card);
  LB.onClick(LB.$("[data-testid=share]", root), () => LBShare.open({ target_type: "red_packet", target_id: packet.id }),
    card);
  load();
})();
