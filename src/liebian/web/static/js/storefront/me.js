/* Me: profile (nickname), order counts by status, my red packets to share, saved addresses, language, log out. */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const root = LB.$("#me");
  const profile = LB.$("#profile");
  const nicknameForm = LB.$("#nickname-form");
  const addressForm = LB.$("#address-edit-form");
  const addressBox = LB.$("#addresses");
  const packetBox = LB.$("#packets");
  const FIELDS = ["name", "phone", "province", "city", "district", "detail"];
  let addresses = [];

  function role(name, where) { return LB.$(`[data-role=${name}]`, where || root); }
  function field(form, name) { return form.elements.namedItem(name); }

  async function loadProfile() {
    try {
      const me = await LB.get("me");
      role("nickname").textContent = me.nickname;
      role("avatar").innerHTML = String(S.avatar(me));
      role("since").textContent = me.is_new ? L("新朋友，欢迎！", "New here: welcome!") : L("老朋友", "Returning customer");
      field(nicknameForm, "nickname").value = me.nickname;
    } catch (err) {
      LB.showProblem(profile, err);
    }
  }

  async function loadCounts() {
    await Promise.all(LB.$$("[data-count]", root).map(async (el) => {
      try {
        const page = await LB.get(`orders?status=${el.dataset.count}&limit=1`);
        el.textContent = String(page.total);
      } catch (err) { el.textContent = "—"; }
    }));
  }

  const packets = S.moreList(role("packets", packetBox), role("more-packets", packetBox), async (offset) => {
    const items = await LB.get(`red-packets/mine?limit=10&offset=${offset}`);
    return { items, more: items.length === 10 };
  }, (p) => LB.html`<div class="ss-comment" data-testid="my-packet-${p.id}"><div class="lb-row between">
      <a href="${S.shopUrl("rp/" + encodeURIComponent(p.code))}"><b>${LB.yuan(p.total_fen)}</b> ${L(`· ${p.parts} 份`, `· ${p.parts} parts`)}</a>
      <span class="lb-badge ${p.status === "open" ? "" : "grey"}">${p.status === "open" ? L(`已领 ${p.parts_claimed}/${p.parts}`,
        `${p.parts_claimed}/${p.parts} opened`) : p.status === "finished" ? L("已领完", "All opened") : L("已过期", "Expired")}</span></div>
      <div class="lb-row between"><span class="lb-muted ss-small">${L("订单 ", "Order ")}${p.order_no}</span>
        ${p.status === "open" ? LB.html`<button type="button" class="lb-btn small secondary" data-share-packet="${p.id}">${L("分享", "Share")}</button>` : ""}</div></div>`,
  L("还没有红包：下单后可获得分享红包", "No packets yet: paid orders can earn one"));

  function addressRow(a) {
    return LB.html`<div class="ss-comment" data-testid="address-${a.id}" data-address="${a.id}">
      <div class="lb-row between"><b>${a.name} ${a.phone}</b>${a.is_default ? LB.html`<span class="lb-badge">${L("默认", "Default")}</span>` : ""}</div>
      <div class="lb-muted ss-small">${a.province}${a.city}${a.district} ${a.detail}</div>
      <div class="ss-actions" style="margin-top:4px">
        ${a.is_default ? "" : LB.html`<button type="button" class="lb-btn ghost small" data-act="default">${L("设为默认", "Make default")}</button>`}
        <button type="button" class="lb-btn ghost small" data-act="edit">${L("编辑", "Edit")}</button>
        <button type="button" class="lb-btn ghost small" data-act="delete">${L("删除", "Delete")}</button></div></div>`;
  }

  async function loadAddresses() {
    try {
      addresses = await LB.get("me/addresses");
      role("addresses", addressBox).innerHTML = addresses.length ? addresses.map((a) => String(addressRow(a))).join("")
        : String(LB.html`<p class="lb-muted">${L("还没有保存的地址，下单时会自动保存", "None yet: checkout saves the one you use")}</p>`);
    } catch (err) {
      LB.showProblem(addressBox, err);
    }
  }

  function editAddress(a) {
    addressForm.reset();
    field(addressForm, "id").value = a ? String(a.id) : "";
    FIELDS.forEach((k) => { field(addressForm, k).value = a ? a[k] : ""; });
    field(addressForm, "is_default").checked = a ? a.is_default : addresses.length === 0;
    addressForm.hidden = false;
    field(addressForm, "name").focus();
  }

  function body(a) {
    const out = {};
    FIELDS.forEach((k) => { out[k] = typeof a[k] === "string" ? a[k].trim() : a[k]; });
    out.is_default = !!a.is_default;
    return out;
  }

  role("addresses", addressBox).addEventListener("click", async (e) => {
    const b = e.target.closest("[data-act]");
    if (!b) return;
    const a = addresses.find((x) => x.id === Number(b.closest("[data-address]").dataset.address));
    try {
      if (b.dataset.act === "edit") { editAddress(a); return; }
      if (b.dataset.act === "default") await LB.api("PUT", `me/addresses/${a.id}`, body(Object.assign({}, a, { is_default: true })));
      if (b.dataset.act === "delete") {
        if (!confirm(L("删除这个地址？", "Delete this address?"))) return;
        await LB.api("DELETE", `me/addresses/${a.id}`);
      }
      await loadAddresses();
    } catch (err) {
      LB.showProblem(addressBox, err);
    }
  });

  LB.onSubmit(addressForm, async (data) => {
    const id = field(addressForm, "id").value;
    try {
      if (id) await LB.api("PUT", `me/addresses/${id}`, body(data));
      else await LB.post("me/addresses", body(data));
    } catch (err) {
      S.showProblem(addressForm, err);
      return;
    }
    addressForm.hidden = true;
    LB.toast(L("地址已保存", "Address saved"));
    await loadAddresses();
  });

  LB.onSubmit(nicknameForm, async (data) => {
    try {
      await LB.api("PATCH", "me", { nickname: (data.nickname || "").trim() });
    } catch (err) {
      S.showProblem(profile, err);
      return;
    }
    nicknameForm.hidden = true;
    await loadProfile();
  });

  role("edit-name", profile).addEventListener("click", () => { nicknameForm.hidden = !nicknameForm.hidden; });
  role("add-address", addressBox).addEventListener("click", () => editAddress(null));
  role("cancel-address", addressBox).addEventListener("click", () => { addressForm.hidden = true; });
  LB.$$("[data-toggle]", root).forEach((b) => b.addEventListener("click", () => {
    const box = LB.$("#" + b.dataset.toggle);
    box.hidden = !box.hidden;
    if (!box.hidden && !box.dataset.loaded) {
      box.dataset.loaded = "1";
      if (box === packetBox) packets.load(); else loadAddresses();
    }
  }));
  role("packets", packetBox).addEventListener("click", (e) => {
    const b = e.target.closest("[data-share-packet]");
    if (b) LBShare.open({ target_type: "red_packet", target_id: Number(b.dataset.sharePacket) }).catch((err) => LB.showProblem(packetBox, err));
  });
  LB.$("[data-testid=logout]").addEventListener("click", () => LB.logout());
  if (location.hash === "#addresses" || location.hash === "#packets") LB.$(`[data-toggle=${location.hash.slice(1)}]`).click();
  loadProfile();
  loadCounts();
})();
