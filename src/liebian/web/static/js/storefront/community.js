/* Community: the posts feed (like, open to comment; approved promoters write posts) and the communities
 * (open ones to join, one's own, joining by invite code). */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const C = window.LBCommunity;
  const root = LB.$("#community");
  const feed = LB.$("[data-role=feed]", root);
  const more = LB.$("[data-role=more]", root);
  const groups = LB.$("[data-role=groups]", root);
  const moreGroups = LB.$("[data-role=more-groups]", root);
  const postForm = LB.$("#post-form");
  const LIMIT = 10;
  let before = null;
  let groupOffset = 0;

  async function loadFeed(reset) {
    if (reset) { before = null; feed.innerHTML = ""; }
    more.disabled = true;
    try {
      const page = await LB.get(`posts?limit=${LIMIT}` + (before ? `&before=${before}` : ""), { noLoginRedirect: true });
      if (!page.items.length && !before) {
        feed.innerHTML = String(LB.html`<p class="lb-empty">${L("还没有动态", "No posts yet")}</p>`);
      }
      feed.insertAdjacentHTML("beforeend", page.items.map((p) => String(C.post(p, false))).join(""));
      before = page.next_before;
      more.hidden = !before;
    } catch (err) {
      LB.showProblem(feed.closest("section"), err);
    } finally {
      more.disabled = false;
      root.dataset.ready = "1";
    }
  }

  async function loadGroups(reset) {
    if (reset) { groupOffset = 0; groups.innerHTML = ""; }
    moreGroups.disabled = true;
    try {
      const items = await LB.get(`communities?limit=${LIMIT}&offset=${groupOffset}`, { noLoginRedirect: true });
      if (!items.length && groupOffset === 0) {
        groups.innerHTML = String(LB.html`<p class="lb-empty">${L("还没有公开的社群", "No open community yet")}</p>`);
      }
      groups.insertAdjacentHTML("beforeend", items.map((c) => String(C.community(c))).join(""));
      groupOffset += items.length;
      moreGroups.hidden = items.length < LIMIT;
    } catch (err) {
      LB.showProblem(groups.closest("section"), err);
    } finally {
      moreGroups.disabled = false;
    }
  }

  function showPane(name) {
    LB.$$("[data-pane]", root).forEach((b) => b.classList.toggle("active", b.dataset.pane === name));
    LB.$$("[data-pane-box]", root).forEach((box) => { box.hidden = box.dataset.paneBox !== name; });
    if (name === "groups" && !groups.dataset.loaded) { groups.dataset.loaded = "1"; loadGroups(true); }
  }

  LB.$$("[data-pane]", root).forEach((b) => b.addEventListener("click", () => showPane(b.dataset.pane)));
  C.wireLikes(feed);
  more.addEventListener("click", () => loadFeed(false));
  moreGroups.addEventListener("click", () => loadGroups(false));

  LB.$("[data-role=compose-open]", root).addEventListener("click", () => {
    if (!LB.cfg.customer_id) { LB.goLogin(); return; }
    postForm.hidden = false;
    LB.$("[data-role=compose-open]", root).hidden = true;
  });
  LB.$("[data-role=compose-cancel]", root).addEventListener("click", () => {
    postForm.hidden = true;
    LB.$("[data-role=compose-open]", root).hidden = false;
  });
  LB.onSubmit(postForm, async (data) => {
    const ids = String(data.product_ids || "").split(/[,，\s]+/).filter(Boolean).map(Number);
    if (ids.some((n) => !Number.isInteger(n) || n <= 0)) {
      throw new LB.Problem(422, { code: "validation_error", detail: L("商品编号应为数字", "Product numbers are digits") });
    }
    try {
      await LB.post("posts", { title: data.title || "", body: data.body || "", product_ids: ids });
    } catch (err) {
      S.showProblem(postForm, err);
      return;
    }
    postForm.reset();
    postForm.hidden = true;
    LB.$("[data-role=compose-open]", root).hidden = false;
    LB.toast(L("发布成功", "Posted"));
    await loadFeed(true);
  });

  groups.addEventListener("click", async (e) => {
    const b = e.target.closest("[data-join]");
    if (!b || b.disabled) return;
    if (!LB.cfg.customer_id) { LB.goLogin(); return; }
    b.disabled = true;
    const card = b.closest("[data-community]");
    try {
      const joined = await LB.post(`communities/${b.dataset.join}/join`, {});
      card.outerHTML = String(C.community(joined));
      LB.toast(L("已加入社群", "Joined"));
    } catch (err) {
      LB.showProblem(card, err);
      b.disabled = false;
    }
  });

  LB.onSubmit(LB.$("#join-form"), async (data) => {
    if (!LB.cfg.customer_id) { LB.goLogin(); return; }
    const code = (data.invite_code || "").trim();
    if (!code) return;
    const joined = await LB.post("communities/join", { invite_code: code }).catch((err) => {
      LB.showProblem(LB.$("#join-code"), err);
      return null;
    });
    if (!joined) return;
    LB.$("#join-form").reset();
    LB.toast(L(`已加入「${joined.name}」`, `Joined “${joined.name}”`));
    await loadGroups(true);
  });

  if (location.hash === "#communities") showPane("groups");
  loadFeed(true);
})();
