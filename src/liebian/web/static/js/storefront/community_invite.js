/* The page a community's invite QR code opens (/s/{shop}/c/{code}): the community, its rules, and a join button.
 * A visitor without a session logs in first and comes back here. */
(function () {
  "use strict";
  const L = LB.L;
  const root = LB.$("#invite");
  const code = LB.cfg.params.code;
  const card = LB.$("#invite-card");

  function role(name) { return LB.$(`[data-role=${name}]`, root); }

  function render(c) {
    role("name").textContent = c.name;
    role("description").textContent = c.description || "";
    role("members").textContent = L(`${c.member_count} 位成员`, `${c.member_count} members`);
    role("rules").textContent = c.rules || "";
    role("rules-box").hidden = !c.rules;
    const joined = !!c.my_role;
    role("join").hidden = joined;
    role("joined").hidden = !joined;
    role("joined").textContent = L("你已是社群成员", "You are a member");
    card.dataset.role = c.my_role || "";
  }

  async function load() {
    try {
      render(await LB.get("communities/invite/" + encodeURIComponent(code), { noLoginRedirect: true }));
      role("main").hidden = false;
    } catch (err) {
      role("missing").hidden = false;
      LB.showProblem(role("missing"), err);
    } finally {
      role("loading").hidden = true;
      root.setAttribute("aria-busy", "false");
    }
  }

  LB.onClick(role("join"), async () => {
    if (!LB.cfg.customer_id) { LB.goLogin(); return; }
    render(await LB.post("communities/join", { invite_code: code }));
    LB.toast(L("加入成功", "Joined"));
  }, card);
  load();
})();
