/* Console stores: the shop's stores (GET stores), created (POST stores) or changed (PATCH stores/{id}) in a
 * dialog, and each store's printable QR codes with its tables' (GET stores/{id}/codes, POST .../tables).
 */
(function () {
  "use strict";
  const L = LB.L;
  const section = LB.$("#stores");
  const tableEl = LB.$("#stores-table");
  const dialog = LB.$("#store-dialog");
  const form = LB.$("#store-form");
  const codesDialog = LB.$("#codes-dialog");
  const tableForm = LB.$("#table-form");
  let editing = null; // the store being edited, or null for a new one
  let codesFor = null;
  let hoursBefore = "";
  let byId = {}; // the stores of the page shown, for their edit and codes buttons
  const filters = { status: "" };

  function hoursText(hours) {
    if (!hours || !hours.length) return L("全天营业", "Always open");
    return hours.map((h) => `${h.weekdays.length === 7 ? L("每天", "Daily") : h.weekdays.join(",")} ${h.opens}–${h.closes}`).join("；");
  }

  const table = LB.table(tableEl, [
    { title: L("门店", "Store"), render: (s) => LB.html`<b data-testid="store-row-name">${s.name}</b><br><small class="lb-muted">${s.address}</small>` },
    { title: L("坐标（WGS-84）", "Position (WGS-84)"), render: (s) => LB.html`${s.lat.toFixed(6)}, ${s.lng.toFixed(6)}
        <br><small class="lb-muted">GCJ-02 ${s.gcj02_lat.toFixed(6)}, ${s.gcj02_lng.toFixed(6)}</small>` },
    { title: L("营业时间", "Hours"), render: (s) => LB.html`${hoursText(s.hours)}<br>${s.status === "closed"
        ? LB.html`<span class="lb-badge grey">${L("已关闭", "Closed")}</span>`
        : s.open_now ? LB.html`<span class="lb-badge green">${L("营业中", "Open now")}</span>`
          : LB.html`<span class="lb-badge grey">${L("休息中", "Closed now")}</span>`}` },
    { title: L("自提", "Pickup"), render: (s) => LB.esc(s.pickup ? L("支持", "Yes") : L("不支持", "No")) },
    { title: L("电话", "Phone"), render: (s) => LB.esc(s.phone || "—") },
    { title: L("操作", "Actions"), render: (s) => LB.html`<span class="ops-actions">
        <button type="button" class="lb-btn ghost small" data-edit="${s.id}" data-testid="store-edit-${s.id}">${L("编辑", "Edit")}</button>
        <button type="button" class="lb-btn ghost small" data-codes="${s.id}" data-testid="store-codes-${s.id}">${L("二维码与桌码", "QR codes & tables")}</button></span>` },
  ], (limit, offset) => {
    const params = new URLSearchParams({ limit, offset });
    if (filters.status) params.set("status", filters.status);
    return LB.get("stores?" + params).then((page) => {
      byId = Object.fromEntries(page.items.map((s) => [s.id, s]));
      return page;
    });
  }, { empty: L("还没有门店", "No stores yet") });

  LB.$("#store-status").addEventListener("change", (event) => { filters.status = event.target.value; table.reset(); });

  // ---- create / edit ----
  function openForm(store) {
    editing = store;
    form.reset();
    LB.clearProblem(form);
    LB.$$(".lb-invalid", form).forEach((el) => el.classList.remove("lb-invalid"));
    const f = form.elements;
    LB.$("#store-form-title").textContent = store ? L("编辑门店", "Edit the store") : L("新建门店", "New store");
    LB.$("#store-status-field").hidden = !store;
    if (store) {
      f.name.value = store.name; f.address.value = store.address; f.phone.value = store.phone || "";
      f.coord_system.value = "gcj02";
      f.lat.value = store.gcj02_lat.toFixed(6); f.lng.value = store.gcj02_lng.toFixed(6);
      f.pickup.checked = store.pickup; f.status.value = store.status;
      const first = (store.hours || [])[0];
      f.opens.value = first ? first.opens.replace("24:00", "00:00") : ""; f.closes.value = first ? first.closes.replace("24:00", "00:00") : "";
      LB.$("#hours-note").textContent = store.hours && store.hours.length > 1
        ? L(`现有营业时间：${hoursText(store.hours)}。修改上面的时间会替换为每天同一时段。`,
          `Current hours: ${hoursText(store.hours)}. Changing the times above replaces them with one daily span.`)
        : L("不填营业时间即全天营业；时间为北京时间。", "Blank hours: always open. Times are Beijing time.");
    }
    hoursBefore = f.opens.value + "|" + f.closes.value;
    dialog.showModal();
    f.name.focus();
  }
  // The same place in the other system: the API gives both, so switching shows the matching numbers.
  form.elements.coord_system.addEventListener("change", () => {
    if (!editing) return;
    const gcj = form.elements.coord_system.value === "gcj02";
    form.elements.lat.value = (gcj ? editing.gcj02_lat : editing.lat).toFixed(6);
    form.elements.lng.value = (gcj ? editing.gcj02_lng : editing.lng).toFixed(6);
  });

  function number(text) {
    const value = String(text).trim();
    return value === "" || Number.isNaN(Number(value)) ? null : Number(value);
  }

  function storeBody() {
    const f = form.elements;
    const body = {
      name: f.name.value, address: f.address.value, lat: number(f.lat.value), lng: number(f.lng.value),
      coord_system: f.coord_system.value, pickup: f.pickup.checked,
    };
    if (f.phone.value.trim()) body.phone = f.phone.value.trim();
    const opens = f.opens.value, closes = f.closes.value;
    const changed = opens + "|" + closes !== hoursBefore;
    if ((opens || closes) && (!editing || changed)) {
      body.hours = [{ weekdays: [1, 2, 3, 4, 5, 6, 7], opens: opens || "", closes: closes || "" }];
    }
    if (editing) body.status = f.status.value;
    return body;
  }

  LB.onSubmit(form, async () => {
    const body = storeBody();
    if (editing) await LB.api("PATCH", `stores/${editing.id}`, body);
    else await LB.post("stores", body);
    dialog.close();
    LB.toast(editing ? L("门店已保存", "Store saved") : L("门店已创建", "Store created"));
    await (editing ? table.reload() : table.reset());
  });
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  LB.$("#store-new").addEventListener("click", () => openForm(null));

  // ---- QR codes ----
  function codeCard(label, code, testid) {
    return LB.html`<div class="ops-code" data-testid="${testid}">
      <a href="${code.qr_png_url}" target="_blank" rel="noopener"><img src="${code.qr_png_url}" alt="${label}"></a>
      <b>${label}</b><small>${code.url}</small></div>`;
  }
  async function showCodes() {
    const codes = await LB.get(`stores/${codesFor.id}/codes`);
    const cards = [];
    if (codes.store) cards.push(codeCard(L("门店码", "Store code"), codes.store, "store-code"));
    codes.tables.forEach((t) => { if (t.qr) cards.push(codeCard(t.label, t.qr, "table-code")); });
    LB.$("#codes").innerHTML = String(LB.html`${cards}`);
  }
  async function openCodes(store) {
    codesFor = store;
    LB.$("#codes-title").textContent = `${store.name} · ${L("二维码", "QR codes")}`;
    LB.$("#codes").innerHTML = String(LB.html`<p class="lb-muted">${L("加载中…", "Loading…")}</p>`);
    tableForm.reset();
    LB.clearProblem(tableForm);
    codesDialog.showModal();
    try { await showCodes(); } catch (err) { LB.showProblem(tableForm, err); }
  }
  LB.onSubmit(tableForm, async (data) => {
    await LB.post(`stores/${codesFor.id}/tables`, { label: data.label || "" });
    tableForm.reset();
    await showCodes();
  });
  codesDialog.querySelector("[data-close]").addEventListener("click", () => codesDialog.close());
  LB.$("#codes-print").addEventListener("click", () => {
    document.body.classList.add("ops-printing");
    window.print();
    document.body.classList.remove("ops-printing");
  });

  tableEl.addEventListener("click", (event) => {
    const edit = event.target.closest("[data-edit]");
    const codes = event.target.closest("[data-codes]");
    if (edit) openForm(byId[edit.dataset.edit]);
    else if (codes) openCodes(byId[codes.dataset.codes]).catch((err) => LB.showProblem(section, err));
  });
})();
