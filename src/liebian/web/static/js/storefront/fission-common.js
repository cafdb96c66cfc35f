/* Small pieces the group, bargain and promoter pages share: avatars, product thumbnails, polling, links.
 * Nothing here decides anything: the API says who may do what, these only draw it. */
(function () {
  "use strict";
  const L = LB.L;

  /** Only our own images (uploads under /media) and data: URLs pass the page's CSP; others get initials. */
  function sameOrigin(url) { return typeof url === "string" && (/^\/[^/]/.test(url) || url.startsWith("data:")); }

  /** A round avatar: the picture when we can show it, else the first letter of the (masked) nickname. */
  function avatar(person, extraClass, badge) {
    const name = (person && person.nickname) || "*";
    const inner = person && sameOrigin(person.avatar)
      ? LB.html`<img src="${person.avatar}" alt="">` : LB.html`${name.slice(0, 1)}`;
    return LB.html`<span class="fi-person"><span class="sf-avatar ${extraClass || ""}">${inner}</span>
      ${badge ? LB.html`<em class="fi-tag">${badge}</em>` : ""}<small>${name}</small></span>`;
  }

  /** The product's first photo, or a placeholder with the title's first letter. */
  function thumb(el, product) {
    const img = product && product.images && product.images.find(sameOrigin);
    el.innerHTML = String(img ? LB.html`<img src="${img}" alt="">`
      : LB.html`<span class="fi-thumb-letter">${(product && product.title ? product.title : "?").slice(0, 1)}</span>`);
  }

  /** Read `load()` every `seconds` while `keepGoing()` and the tab is visible; returns stop(). */
  function poll(load, seconds, keepGoing) {
    let timer = null;
    let busy = false;
    async function tick() {
      if (document.hidden || busy || !keepGoing()) return;
      busy = true;
      try { await load(); } catch (err) { /* the next tick tries again; a 404 shows on reload */ }
      finally { busy = false; }
    }
    timer = setInterval(tick, seconds * 1000);
    document.addEventListener("visibilitychange", tick);
    return () => { clearInterval(timer); document.removeEventListener("visibilitychange", tick); };
  }

  /** /s/{shop}/<path> */
  function shopUrl(path) { return "/s/" + LB.cfg.shop + (path ? "/" + path : ""); }

  /** The checkout URL for the query fields given (empty ones are left out). */
  function checkoutUrl(fields) {
    const q = new URLSearchParams();
    Object.keys(fields).forEach((k) => {
      if (fields[k] !== null && fields[k] !== undefined && fields[k] !== "") q.set(k, String(fields[k]));
    });
    return shopUrl("checkout?" + q.toString());
  }

  /** The share panel of the storefront (static/js/storefront/share.js), or a clear message without it. */
  async function share(target) {
    if (!window.LBShare || typeof window.LBShare.open !== "function") {
      LB.toast(L("分享暂不可用，请刷新页面", "Sharing is not available; reload the page"), true);
      return;
    }
    await window.LBShare.open(target);
  }

  /** The page URL with `name=value` added (or removed when value is null), for login round trips. */
  function withParam(name, value) {
    const url = new URL(location.href);
    if (value === null) url.searchParams.delete(name); else url.searchParams.set(name, value);
    return url.pathname + url.search;
  }

  function loginThenBack(extraParam) {
    const back = extraParam ? withParam(extraParam, "1") : location.pathname + location.search;
    location.href = shopUrl("login?next=" + encodeURIComponent(back));
  }

  window.LBFission = { avatar, thumb, poll, shopUrl, checkoutUrl, share, withParam, loginThenBack, sameOrigin };
})();
