/* The storefront's share panel: LBShare.open({target_type, target_id, channel?, parent_code?}).
 *
 * It records a share (POST shares: the API mints the code that attributes later visits and orders), then shows
 * the link, a copy button, the QR code and the poster. Switching the channel records a share on that channel, so
 * the shop's funnels see where a visit came from. Without a session the API answers 401 and LB sends the visitor
 * to the login page, back here afterwards. Sharing earns nothing (WeChat's rules on induced sharing).
 */
(function () {
  "use strict";
  const L = LB.L;
  const CHANNELS = [
    ["friend", "发给好友", "To a friend"], ["group_chat", "发到群聊", "To a group chat"],
    ["moments", "朋友圈", "Moments"], ["poster", "海报", "Poster"],
  ];
  let dialog = null;
  let current = null;  // {target, shares: {channel: share}}

  /** The link opened on this host (the API's own base URL may name another host behind a proxy). */
  function absoluteLink(share) {
    const path = "/s/" + LB.cfg.shop + "/r/" + encodeURIComponent(share.code);
    return location.origin + path;
  }

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "lb-dialog";
    dialog.dataset.testid = "share-panel";
    dialog.setAttribute("data-testid", "share-panel");
    dialog.innerHTML = String(LB.html`
      <div class="lb-row between"><h3 style="margin:0">${L("分享给好友", "Share")}</h3>
        <button type="button" class="lb-btn ghost small" data-role="close">${L("关闭", "Close")}</button></div>
      <p class="lb-muted ss-small">${L("好友通过你的链接下单，订单会记在你的分享下。", "Orders through your link are attributed to your share.")}</p>
      <div class="ss-share-channels" data-role="channels">${CHANNELS.map(([c, zh, en]) =>
        LB.html`<button type="button" data-channel="${c}">${L(zh, en)}</button>`)}</div>
      <div class="lb-error" hidden></div>
      <div class="ss-share-link"><input readonly data-testid="share-link" aria-label="${L("分享链接", "Share link")}">
        <button type="button" class="lb-btn small" data-testid="share-copy">${L("复制链接", "Copy link")}</button></div>
      <div class="ss-share-images">
        <figure style="margin:0"><img data-role="qr" alt="${L("二维码", "QR code")}" data-testid="share-qr">
          <figcaption class="lb-muted ss-small">${L("扫码打开", "Scan to open")}</figcaption></figure>
        <figure class="poster" style="margin:0"><img data-role="poster" alt="${L("分享海报", "Poster")}" data-testid="share-poster">
          <figcaption class="lb-muted ss-small"><a data-role="poster-link" download>${L("保存海报", "Save the poster")}</a></figcaption></figure>
      </div>`);
    document.body.appendChild(dialog);
    dialog.querySelector("[data-role=close]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });
    dialog.querySelectorAll("[data-channel]").forEach((b) => b.addEventListener("click", () => show(b.dataset.channel)));
    dialog.querySelector("[data-testid=share-copy]").addEventListener("click", copy);
  }

  async function copy() {
    const input = dialog.querySelector("[data-testid=share-link]");
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (err) {  // plain http, or no permission: select it for the visitor to copy
      input.select();
      try { document.execCommand("copy"); } catch (ignored) { /* the text stays selected */ }
    }
    LB.toast(L("链接已复制", "Link copied"));
  }

  async function shareFor(channel) {
    if (!current.shares[channel]) {
      const body = { target_type: current.target.target_type, target_id: Number(current.target.target_id), channel };
      if (current.target.parent_code) body.parent_code = current.target.parent_code;
      current.shares[channel] = await LB.post("shares", body);
    }
    return current.shares[channel];
  }

  async function show(channel) {
    LB.clearProblem(dialog);
    dialog.querySelectorAll("[data-channel]").forEach((b) => b.classList.toggle("active", b.dataset.channel === channel));
    let share;
    try {
      share = await shareFor(channel);
    } catch (err) {
      LB.showProblem(dialog, err);
      return null;
    }
    dialog.dataset.code = share.code;
    dialog.querySelector("[data-testid=share-link]").value = absoluteLink(share);
    dialog.querySelector("[data-role=qr]").src = share.qr_png_url;
    dialog.querySelector("[data-role=poster]").src = share.poster_png_url;
    dialog.querySelector("[data-role=poster-link]").href = share.poster_png_url;
    return share;
  }

  /** Open the panel for a target; resolves with the share made (or null when the API refused). */
  async function open(target) {
    if (!target || !target.target_type || target.target_id === undefined || target.target_id === null) {
      throw new Error("LBShare.open needs target_type and target_id");
    }
    const parent = target.parent_code || LB.query("share") || undefined;
    current = { target: Object.assign({}, target, { parent_code: parent }), shares: {} };
    // The first share is made before the dialog shows: a visitor without a session goes to log in instead.
    const first = await shareFor(target.channel || "friend");
    if (!dialog) build();
    if (!dialog.open) dialog.showModal();
    await show(target.channel || "friend");
    return first;
  }

  window.LBShare = { open };
})();
