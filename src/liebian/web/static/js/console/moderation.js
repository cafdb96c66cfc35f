/* Console: content moderation (/console/moderation). Reported posts awaiting review first
 * (GET posts?awaiting_review=true, the most unreviewed reports first): keep one (POST posts/{id}/approve: its
 * reports are reviewed, it stays or comes back) or hide it (POST posts/{id}/hide: it leaves every feed).
 * Also every post, the hidden ones, the shop's comments (hide / unhide) and the banned authors.
 */
(function () {
  "use strict";
  const L = LB.L;
  const h = LB.html;
  const section = document.getElementById("moderation");
  const hint = section.querySelector("[data-hint]");
  const POST = { review: ["待审核", "Awaiting review", "orange"], visible: ["正常显示", "Visible", "green"],
    hidden: ["已隐藏", "Hidden", "grey"] };
  const COMMENT = { visible: ["正常显示", "Visible", "green"], hidden: ["已隐藏", "Hidden", "grey"] };
  const HINTS = {
    review: L("被举报且尚未处理的动态，举报最多的在前。保留后如有新举报会再次进入此列表。",
      "Reported posts nobody reviewed yet, the most reported first. A kept post comes back if new reports arrive."),
    reported: L("所有收到过举报的动态。", "Every post that was ever reported."),
    all: L("店铺和推广员发布的全部动态，最新的在前。", "Every post by the shop and its promoters, newest first."),
    hidden: L("已隐藏的动态只有作者本人能看到。", "Only their authors see hidden posts."),
    comments: L("全部评论，最新的在前；隐藏后顾客看不到。", "Every comment, newest first; hidden ones vanish for customers."),
    bans: L("被禁言的顾客不能发动态、评论、话题和回复。", "Banned customers cannot post, comment or discuss."),
  };
  const postState = (p) => (p.hidden ? "hidden" : p.awaiting_review ? "review" : "visible");
  const btn = (act, zh, en, cls) => h`<button type="button" class="lb-btn ${cls || "ghost"} small" data-act="${act}" data-testid="${act}">${L(zh, en)}</button>`;
  let view = "review";
  let commentPost = null;

  function postActions(p) {
    const out = [];
    if (p.awaiting_review) out.push(btn("post-approve", "保留", "Keep", "green"));
    if (!p.hidden) out.push(btn("post-hide", "隐藏", "Hide"));
    else out.push(btn("post-approve", "恢复显示", "Show again", "green"));
    if (p.report_count) out.push(btn("post-reports", "举报记录", "Reports"));
    if (p.comment_count) out.push(btn("post-comments", "评论", "Comments"));
    if (p.author.id) out.push(btn("ban", "禁言作者", "Ban the author"));
    return h`${out}`;
  }
  function postBody(p) {
    const text = p.body.length > 140 ? p.body.slice(0, 140) + "…" : p.body;
    const images = p.images.length ? h`<br><small class="lb-muted">${L(`${p.images.length} 张图片`, `${p.images.length} image(s)`)}${p.video_url ? L(" · 视频", " · video") : ""}</small>` : "";
    return h`<b>${p.title}</b><div class="cm-post-body">${text}</div>${images}`;
  }
  function show(which) {
    ["post-table", "comment-table", "ban-table"].forEach((id) => { document.getElementById(id).hidden = id !== which; });
  }

  const posts = CM.liveTable(document.getElementById("post-table"), [
    { title: "#", render: (p) => h`${p.id}` },
    { title: L("动态", "Post"), render: postBody },
    { title: L("作者", "Author"), render: (p) => h`${p.author.nickname}<br><small class="lb-muted">${p.author.type === "shop" ? L("店铺", "shop") : L("推广员 #", "promoter #") + p.author.id}</small>` },
    { title: L("互动", "Engagement"), render: (p) => h`<small>${L("赞", "likes")} ${p.like_count} · ${L("评论", "comments")} ${p.comment_count}</small>` },
    { title: L("举报", "Reports"), render: (p) => h`<b data-counter="reports">${p.report_count}</b>${p.reports_reviewed ? h`<br><small class="lb-muted">${L("已处理", "reviewed")} ${p.reports_reviewed}</small>` : ""}` },
    { title: L("状态", "Status"), render: (p) => CM.badge(postState(p), POST, "post-status") },
    { title: L("发布时间", "Posted"), render: (p) => h`<small>${LB.time(p.created_at)}</small>` },
    { title: "", render: postActions },
  ], (limit, offset) => {
    const filter = { review: { awaiting_review: true }, reported: { reported: true }, all: {}, hidden: { hidden: true } }[view];
    return LB.get("posts" + CM.qs({ ...filter, limit, offset }));
  }, {
    every: 15000, stamp: "#refreshed", testid: "post-row", status: postState,
    empty: L("这里没有动态", "No post here"),
    async onAction(act, p) {
      if (act === "post-reports") return openReports(p);
      if (act === "post-comments") { commentPost = p; return select("comments"); }
      if (act === "ban") return openBan(p.author.id, p.author.nickname);
      if (act === "post-hide" && !(await CM.confirm(L("隐藏后这条动态从所有信息流消失，只有作者本人能看到。确定隐藏？",
        "The post leaves every feed; only its author still sees it. Hide it?")))) return;
      await LB.post(`posts/${p.id}/${act === "post-hide" ? "hide" : "approve"}`, {});
      LB.toast(act === "post-hide" ? L("已隐藏", "Hidden") : L("已保留", "Kept"));
      await posts.reload();
    },
  });

  let comments = null;
  function commentTable() {
    if (comments) return comments.reset();
    comments = CM.liveTable(document.getElementById("comment-table"), [
      { title: L("评论", "Comment"), render: (c) => h`<div class="cm-post-body">${c.body}</div>` },
      { title: L("作者", "Author"), render: (c) => h`${c.nickname}<br><small class="lb-muted">#${c.customer_id}</small>` },
      { title: L("所属动态", "On post"), render: (c) => h`${c.post_title}<br><small class="lb-muted">#${c.post_id}</small>` },
      { title: L("状态", "Status"), render: (c) => CM.badge(c.hidden ? "hidden" : "visible", COMMENT, "comment-status") },
      { title: L("时间", "When"), render: (c) => h`<small>${LB.time(c.created_at)}</small>` },
      { title: "", render: (c) => h`${c.hidden ? btn("comment-unhide", "恢复显示", "Show again") : btn("comment-hide", "隐藏", "Hide")} ${btn("ban", "禁言", "Ban")}` },
    ], (limit, offset) => LB.get("comments" + CM.qs({ post_id: commentPost ? commentPost.id : null, limit, offset })), {
      every: 15000, stamp: "#refreshed", testid: "comment-row", status: (c) => (c.hidden ? "hidden" : "visible"),
      empty: L("没有评论", "No comment"),
      async onAction(act, c) {
        if (act === "ban") return openBan(c.customer_id, c.nickname);
        await LB.post(`comments/${c.id}/${act === "comment-hide" ? "hide" : "unhide"}`, {});
        await comments.reload();
      },
    });
    return null;
  }

  let bans = null;
  function banTable() {
    if (bans) return bans.reset();
    bans = CM.liveTable(document.getElementById("ban-table"), [
      { title: L("顾客", "Customer"), render: (b) => h`${b.nickname}<br><small class="lb-muted">#${b.customer_id}</small>` },
      { title: L("原因", "Reason"), render: (b) => h`${b.reason || "—"}` },
      { title: L("时间", "When"), render: (b) => h`<small>${LB.time(b.banned_at)}</small>` },
      { title: "", render: () => btn("unban", "解除禁言", "Lift the ban") },
    ], async (limit, offset) => ({ items: await LB.get("community/bans" + CM.qs({ limit, offset })) }), {
      testid: "ban-row", id: (b) => b.customer_id, empty: L("没有被禁言的顾客", "Nobody is banned"),
      async onAction(act, b) {
        await LB.api("DELETE", `community/bans/${b.customer_id}`);
        await bans.reload();
      },
    });
    return null;
  }

  function select(which) {
    view = which;
    section.querySelectorAll("[data-filter]").forEach((x) => x.classList.toggle("active", x.dataset.filter === which));
    hint.textContent = HINTS[which] + (which === "comments" && commentPost
      ? L(`（仅看动态 #${commentPost.id}）`, ` (post #${commentPost.id} only)`) : "");
    if (which === "comments") { show("comment-table"); return commentTable(); }
    commentPost = null;
    if (which === "bans") { show("ban-table"); return banTable(); }
    show("post-table");
    return posts.reset();
  }
  CM.filterTabs(document.getElementById("moderation-tabs"), (value) => {
    if (value === "comments") commentPost = null;
    select(value);
  });
  hint.textContent = HINTS.review;

  // --- reports and bans -----------------------------------------------------------------------------------
  const reportsEl = document.getElementById("reports-dialog");
  const reportsDialog = CM.dialog(reportsEl);
  let reportsOf = null;
  let reports = null;
  function openReports(p) {
    reportsOf = p;
    reportsEl.querySelector("[data-which]").textContent = `#${p.id} ${p.title}`;
    reportsDialog.open();
    if (reports) { reports.reset(); return; }
    reports = LB.table(document.getElementById("report-table"), [
      { title: L("举报人", "Reporter"), render: (r) => h`#${r.customer_id}` },
      { title: L("原因", "Reason"), render: (r) => h`${r.reason}` },
      { title: L("时间", "When"), render: (r) => h`<small>${LB.time(r.created_at)}</small>` },
    ], async (limit, offset) => ({ items: await LB.get(`posts/${reportsOf.id}/reports` + CM.qs({ limit, offset })) }),
    { limit: 20, empty: L("没有举报", "No report") });
  }

  const banForm = document.getElementById("ban-form");
  const banDialog = CM.dialog(document.getElementById("ban-dialog"));
  function openBan(customerId, nickname) {
    banForm.reset();
    banForm.elements.customer_id.value = String(customerId);
    banForm.querySelector("[data-which]").textContent = `${nickname || ""} #${customerId}`;
    banDialog.open();
  }
  CM.submit(banForm, async () => {
    const data = CM.body(banForm);
    await LB.post("community/bans", data);
    banDialog.close();
    LB.toast(L("已禁言", "Banned"));
    if (bans) bans.reload();
  });
})();
