/* Posts and communities as the community pages draw them, and the like button both pages use. */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;

  function authorLabel(post) {
    return post.author.type === "shop" ? LB.html`${post.author.nickname} <span class="lb-badge">${L("官方", "Shop")}</span>`
      : LB.html`${post.author.nickname} <span class="lb-badge blue">${L("推广员", "Promoter")}</span>`;
  }

  function post(p, full) {
    const images = (p.images || []).filter(S.sameOrigin).slice(0, 9);
    return LB.html`<article class="lb-card ss-post ${full ? "full" : ""}" data-testid="post-${p.id}" data-post="${p.id}">
      <div class="ss-post-head">${S.avatar({ nickname: p.author.nickname })}<div>
        <div>${authorLabel(p)}</div><div class="lb-muted ss-small">${LB.time(p.created_at)}</div></div></div>
      ${full ? LB.html`<h2 style="font-size:17px">${p.title}</h2>`
        : LB.html`<h3><a href="${S.shopUrl("posts/" + p.id)}" style="color:inherit">${p.title}</a></h3>`}
      <div class="ss-post-body">${p.body}</div>
      ${images.length ? LB.html`<div class="ss-post-images">${images.map((src) => LB.html`<img src="${src}" alt="">`)}</div>` : ""}
      ${p.video_url ? LB.html`<p class="ss-small"><a href="${p.video_url}" rel="noopener" target="_blank">${L("观看视频", "Watch the video")}</a></p>` : ""}
      <div class="ss-post-foot">
        <button type="button" data-like="${p.id}" data-testid="post-like-${p.id}" class="${p.liked ? "on" : ""}"
          aria-pressed="${p.liked ? "true" : "false"}">♥ <span data-role="like-count">${p.like_count}</span></button>
        <a href="${S.shopUrl("posts/" + p.id)}#comments" style="color:inherit">💬 ${p.comment_count}</a>
        ${p.product_ids.length ? LB.html`<span>${L(`${p.product_ids.length} 件商品`, `${p.product_ids.length} product(s)`)}</span>` : ""}
      </div></article>`;
  }

  /** One listener for every like button under `container`: POST or DELETE posts/{id}/like. */
  function wireLikes(container) {
    container.addEventListener("click", async (e) => {
      const b = e.target.closest("[data-like]");
      if (!b || b.disabled) return;
      b.disabled = true;
      try {
        const on = !b.classList.contains("on");
        const answer = await LB.api(on ? "POST" : "DELETE", `posts/${b.dataset.like}/like`);
        b.classList.toggle("on", answer.liked);
        b.setAttribute("aria-pressed", answer.liked ? "true" : "false");
        LB.$("[data-role=like-count]", b).textContent = String(answer.like_count);
      } catch (err) {
        LB.showProblem(b.closest("section") || b.closest("article"), err);
      } finally {
        b.disabled = false;
      }
    });
  }

  function community(c) {
    const joined = !!c.my_role;
    return LB.html`<div class="lb-card" data-testid="community-${c.id}" data-community="${c.id}">
      <div class="lb-row between"><b>${c.name}</b>
        <span class="lb-badge ${c.join === "open" ? "green" : "grey"}">${c.join === "open" ? L("公开", "Open") : L("邀请加入", "Invite only")}</span></div>
      <p class="lb-muted ss-small" style="margin:4px 0">${c.description || ""}</p>
      <div class="lb-row between"><span class="lb-muted ss-small">${L(`${c.member_count} 位成员`, `${c.member_count} members`)}</span>
        ${joined ? LB.html`<span class="lb-badge blue" data-role="joined">${L("已加入", "Joined")}</span>`
          : c.join === "open" ? LB.html`<button type="button" class="lb-btn small" data-join="${c.id}" data-testid="community-join-${c.id}">${L("加入", "Join")}</button>`
          : ""}</div>
      ${joined && c.invite_code ? LB.html`<p class="ss-small" style="margin:6px 0 0">${L("邀请码 ", "Invite code ")}<b>${c.invite_code}</b>
        · <a href="${S.shopUrl("c/" + c.invite_code)}">${L("邀请页", "Invite page")}</a></p>` : ""}
      <div class="lb-error" hidden></div></div>`;
  }

  window.LBCommunity = { post, wireLikes, community };
})();
