/* Nearby stores: GET stores/nearby around the browser's position when the visitor allows it, else around the
 * centre of a city they choose. A table QR code opens ?store=<id>&table=<label>: that store is highlighted and
 * the table named. */
(function () {
  "use strict";
  const L = LB.L;
  const S = window.LBShop;
  const root = LB.$("#stores");
  const list = LB.$("[data-role=list]", root);
  const citySelect = LB.$("[data-role=city]", root);
  const radiusSelect = LB.$("[data-role=radius]", root);
  const locate = LB.$("[data-role=locate]", root);
  const CITIES = [
    ["shenzhen", "深圳", "Shenzhen", 22.5431, 114.0579], ["guangzhou", "广州", "Guangzhou", 23.1291, 113.2644],
    ["shanghai", "上海", "Shanghai", 31.2304, 121.4737], ["beijing", "北京", "Beijing", 39.9042, 116.4074],
    ["hangzhou", "杭州", "Hangzhou", 30.2741, 120.1551], ["chengdu", "成都", "Chengdu", 30.5728, 104.0668],
  ];
  const wantedStore = Number(LB.query("store")) || null;
  const table = LB.query("table");
  let where = null;  // {lat, lng, label}
  let highlighted = null;  // the store a table/store QR named

  function distance(m) { return m < 1000 ? `${m} m` : `${(m / 1000).toFixed(1)} km`; }

  function hours(store) {
    if (!store.hours || !store.hours.length) return L("全天营业", "Open all day");
    return store.hours.map((h) => `${h.opens}–${h.closes}`).join(", ");
  }

  function card(s) {
    const isWanted = wantedStore === s.id;
    return LB.html`<div class="lb-card ss-store ${isWanted ? "highlight" : ""}" data-testid="store-${s.id}" data-store="${s.id}"
        ${LB.raw(isWanted ? 'data-highlight="1"' : "")}>
      <div class="lb-row between"><b>${s.name}</b>
        <span>${s.distance_m !== undefined ? LB.html`<span class="lb-muted ss-small" data-role="distance">${distance(s.distance_m)}</span>` : ""}</span></div>
      <div class="lb-muted ss-small">${s.address}</div>
      <div class="ss-gap" style="margin-top:6px">
        <span class="lb-badge ${s.open_now ? "green" : "grey"}">${s.open_now ? L("营业中", "Open now") : L("休息中", "Closed now")}</span>
        ${s.pickup ? LB.html`<span class="lb-badge orange" data-testid="pickup-badge">${L("可自提", "Pickup")}</span>` : ""}
        <span class="lb-muted ss-small">${hours(s)}</span>
        ${s.phone ? LB.html`<a class="ss-small" href="tel:${s.phone}">${s.phone}</a>` : ""}</div>
      ${isWanted && table ? LB.html`<p class="ss-small" style="margin:6px 0 0" data-testid="store-table">${L("桌号 ", "Table ")}<b>${table}</b></p>` : ""}
      </div>`;
  }

  async function load() {
    if (!where) return;
    LB.$("[data-role=where]", root).textContent = L("位置：", "Around: ") + where.label;
    list.classList.add("lb-loading");
    LB.clearProblem(list.closest("section"));
    try {
      const page = await LB.get(`stores/nearby?lat=${where.lat}&lng=${where.lng}&radius_m=${radiusSelect.value}&limit=50`);
      let items = page.items;
      if (highlighted) {  // the store the QR code named comes first, near or not
        const near = items.find((s) => s.id === highlighted.id);
        items = [near || highlighted].concat(items.filter((s) => s.id !== highlighted.id));
      }
      list.innerHTML = items.length ? items.map((s) => String(card(s))).join("")
        : String(LB.html`<p class="lb-empty">${L("附近没有门店，换个城市或扩大范围试试", "No store nearby: try another city or a wider radius")}</p>`);
    } catch (err) {
      LB.showProblem(list.closest("section"), err);
    } finally {
      list.classList.remove("lb-loading");
      root.dataset.ready = "1";
    }
  }

  function useCity(key) {
    const c = CITIES.find((x) => x[0] === key) || CITIES[0];
    where = { lat: c[3], lng: c[4], label: L(c[1] + "市中心", c[2] + " centre") };
    citySelect.value = c[0];
    return load();
  }

  function useBrowserPosition() {
    return new Promise((resolve) => {
      navigator.geolocation.getCurrentPosition((pos) => {
        where = { lat: pos.coords.latitude, lng: pos.coords.longitude, label: L("我的位置", "My location") };
        locate.hidden = true;
        resolve(load());
      }, () => { LB.toast(L("无法获取位置，请选择城市", "No location: choose a city"), true); resolve(); },
      { timeout: 8000, maximumAge: 600000 });
    });
  }

  async function start() {
    citySelect.innerHTML = CITIES.map((c) => String(LB.html`<option value="${c[0]}">${L(c[1], c[2])}</option>`)).join("");
    if (wantedStore) {
      try {
        highlighted = await LB.get("stores/" + wantedStore);
        const banner = LB.$("[data-role=table-banner]", root);
        banner.textContent = table ? L(`欢迎光临 ${highlighted.name} · ${table} 号桌`, `Welcome to ${highlighted.name} · table ${table}`)
          : L(`欢迎光临 ${highlighted.name}`, `Welcome to ${highlighted.name}`);
        banner.hidden = false;
      } catch (err) { highlighted = null; }
    }
    let permission = "prompt";
    if (!navigator.geolocation) permission = "denied";
    else if (navigator.permissions) {
      try { permission = (await navigator.permissions.query({ name: "geolocation" })).state; } catch (err) { permission = "prompt"; }
    }
    if (permission === "granted") { await useBrowserPosition(); if (where) return; }
    locate.hidden = permission === "denied";
    // Around the store the QR code named, else a city centre; the visitor can change either.
    if (highlighted) {
      where = { lat: highlighted.lat, lng: highlighted.lng, label: highlighted.name };
      await load();
    } else {
      await useCity("shenzhen");
    }
  }

  citySelect.addEventListener("change", () => useCity(citySelect.value));
  radiusSelect.addEventListener("change", load);
  locate.addEventListener("click", useBrowserPosition);
  start();
})();
