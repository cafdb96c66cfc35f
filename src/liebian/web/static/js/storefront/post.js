/* A post: the whole text, the products it mentions, like, comments (paginated) and a comment box, report, share.
 * Opening it records the view on the post's own share code (POST visits), which is what attributes later orders
 * to the post and its author; a visit that came through a share link was recorded by the landing already. */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const C = window.LBCommunity;
  const root = LB.$("#post");
  const postId = Number(LB.cfg.params.post_id);
  const comments = LB.$("[data-role=comments]", root);
  const more = LB.$("[data-role=more]", root);
  const commentsBox = LB.$("#comments");
  const LIMIT = 20;
  let offset = 0;
  let post = null;

  function role(name) { return LB.$(`[data-role=${name}]`, root); }

  function comment(c) {
    return LB.html`<div class="ss-comment" data-testid="comment-${c.id}"><div class="lb-row between">
      <b class="ss-small">${c.nickname}${c.mine ? L("（我）", " (me)") : ""}</b>
      <span class="lb-muted ss-small">${LB.time(c.created_at)}</span></div><div>${c.body}</div></div>`;
  }

  async function loadComments(reset) {
    if (reset) { offset = 0; comments.innerHTML = ""; }
    try {
      const items = await LB.get(`posts/${postId}/comments?limit=${LIMIT}&offset=${offset}`, { noLoginRedirect: true });
      if (!items.length && offset === 0) comments.innerHTML = String(LB.html`<p class="lb-muted ss-small">${L("还没有评论", "No comments yet")}</p>`);
      comments.insertAdjacentHTML("beforeend", items.map((c) => String(comment(c))).join(""));
      offset += items.length;
      more.hidden = items.length < LIMIT;
    } catch (err) {
      LB.showProblem(commentsBox, err);
    }
  }

  async function loadProducts(ids) {
    if (!ids.length) return;
    const found = await Promise.allSettled(ids.slice(0, 9).map((id) => LB.get("products/" + id)));
    const products = found.filter((r) => r.status === "fulfilled").map((r) => r.value);
    if (!products.length) return;
    const share = LB.query("share") || (post.share_code || "");
    role("product-list").innerHTML = products.map((p) => String(LB.html`<a class="sf-product-card"
        href="${S.shopUrl("p/" + p.id) + (share ? "?share=" + encodeURIComponent(share) : "")}" data-testid="post-product-${p.id}">
      <div class="sf-thumb">${S.picture(p.images, p.title)}</div>
      <div class="sf-info"><div class="sf-title">${p.title}</div><div class="lb-price">${LB.yuan(p.price_from_fen)}</div></div></a>`)).join("");
    role("products").hidden = false;
  }

  async function recordView(p) {
    if (!p.share_code || LB.query("share") || !LB.cfg.customer_id) return;
    try { await LB.post("visits", { share_code: p.share_code }, { noLoginRedirect: true }); } catch (err) { /* a view is not worth a problem */ }
  }

  async function load() {
    try {
      post = await LB.get("posts/" + postId, { noLoginRedirect: true });
    } catch (err) {
      role("loading").hidden = true;
      role("missing").hidden = false;
      LB.showProblem(role("missing"), err);
      return;
    }
    role("article").insertAdjacentHTML("beforeend", String(C.post(post, true)));
    role("loading").hidden = true;
    role("main").hidden = false;
    root.setAttribute("aria-busy", "false");
    await Promise.all([loadComments(true), loadProducts(post.product_ids), recordView(post)]);
  }

  C.wireLikes(role("article"));
  more.addEventListener("click", () => loadComments(false));
  LB.onSubmit(LB.$("#comment-form"), async (data) => {
    if (!LB.cfg.customer_id) { LB.goLogin(); return; }
    try {
      await LB.post(`posts/${postId}/comments`, { body: data.body || "" });
    } catch (err) {
      S.showProblem(commentsBox, err);
      return;
    }
    LB.$("#comment-form").reset();
    await loadComments(true);
  });
  LB.onSubmit(LB.$("#report-form"), async (data) => {
    if (!LB.cfg.customer_id) { LB.goLogin(); return; }
    try {
      await LB.post(`posts/${postId}/reports`, { reason: data.reason || "" });
    } catch (err) {
      S.showProblem(commentsBox, err);
      return;
    }
    LB.$("#report-form").reset();
    LB.toast(L("已收到举报，我们会尽快处理", "Reported: thank you"));
  });
  LB.onClick(LB.$("[data-testid=share]", root), () => LBShare.open({ target_type: "post", target_id: postId }), commentsBox);
  load();
})();
