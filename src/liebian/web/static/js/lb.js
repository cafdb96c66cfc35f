/* Liebian pages: the one small library every storefront and console page uses.
 *
 * LB.api() calls the JSON API with the page's cookie session and its anti-forgery header, and turns a
 * problem+json answer into an LB.Problem; LB.showProblem() puts its message (in the visitor's language) next
 * to the form that caused it. Nothing here knows a business rule: the API decides, the page shows.
 */
(function () {
  "use strict";
  const cfgEl = document.getElementById("lb-page");
  const cfg = cfgEl ? JSON.parse(cfgEl.textContent) : {};
  const kind = cfg.kind || "customer";
  const en = cfg.lang === "en";

  /** L("中文", "English"): the visitor's language. */
  function L(zh, english) { return en ? english : zh; }

  /** Escape text for HTML; use LB.html`...${value}...` for templates. */
  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  /** A tagged template that escapes every value, unless it is LB.raw(html). */
  class Raw { constructor(s) { this.s = s; } toString() { return this.s; } }
  function raw(s) { return new Raw(s); }
  function html(strings, ...values) {
    let out = strings[0];
    values.forEach((v, i) => {
      if (Array.isArray(v)) out += v.map((x) => (x instanceof Raw ? x.s : esc(x))).join("");
      else out += v instanceof Raw ? v.s : esc(v);
      out += strings[i + 1];
    });
    return raw(out);
  }

  function cookie(name) {
    const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return hit ? decodeURIComponent(hit.slice(name.length + 1)) : null;
  }

  // Chinese wording for problems people meet often; any other code shows the API's own title and detail.
  const PROBLEMS_ZH = {
    not_authenticated: "请先登录", token_expired: "登录已过期，请重新登录", invalid_token: "请重新登录",
    csrf_failed: "页面已过期，请刷新后重试", validation_error: "请检查填写的内容", not_found: "内容不存在或已下架",
    out_of_stock: "库存不足", insufficient_stock: "库存不足", rate_limited: "操作太频繁，请稍后再试",
    invalid_credentials: "邮箱或密码错误", too_many_attempts: "尝试次数过多，请稍后再试",
    internal_error: "服务器开小差了，请稍后再试", network_error: "网络错误，请检查连接",
  };
  const problemMessages = Object.assign({}, PROBLEMS_ZH);

  class Problem extends Error {
    constructor(status, body) {
      super(body.detail || body.title || "HTTP " + status);
      this.status = status; this.code = body.code || "http_" + status;
      this.title = body.title || ""; this.detail = body.detail || ""; this.body = body;
      this.errors = body.errors || [];
    }
    /** What to tell the visitor, in their language. */
    message_() {
      if (!en && problemMessages[this.code]) {
        return problemMessages[this.code] + (this.detail ? "（" + this.detail + "）" : "");
      }
      return this.detail || this.title || this.code;
    }
  }

  function apiPath(path) {
    if (/^\/|^https?:/.test(path)) return path;
    return kind === "staff" ? "/api/v1/console/" + path : "/api/v1/shops/" + cfg.shop + "/" + path;
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  /** Call the API. path "orders" means this shop's (or the console's) orders; "/api/..." is taken as is. */
  async function api(method, path, body, options) {
    const opts = options || {};
    const headers = { Accept: "application/json" };
    if (body !== undefined && body !== null) headers["Content-Type"] = "application/json";
    if (!/^(GET|HEAD)$/i.test(method)) {
      const csrf = cookie(kind === "staff" ? "lb_csrf_s" : "lb_csrf_c");
      if (csrf) headers["X-CSRF-Token"] = csrf;
    }
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    let response;
    try {
      response = await fetch(apiPath(path), {
        method, headers, credentials: "same-origin",
        body: body !== undefined && body !== null ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      throw new Problem(0, { code: "network_error", title: "Network error", detail: String(err) });
    }
    if (response.status === 204) return null;
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) {
      const problem = new Problem(response.status, typeof data === "object" ? data : { detail: data });
      if (response.status === 401 && !opts.noLoginRedirect) goLogin();
      throw problem;
    }
    return data;
  }
  const get = (path, opts) => api("GET", path, null, opts);
  const post = (path, body, opts) => api("POST", path, body === undefined ? {} : body, opts);

  function loginUrl() {
    const next = encodeURIComponent(location.pathname + location.search);
    return kind === "staff" ? "/console/login?next=" + next : "/s/" + cfg.shop + "/login?next=" + next;
  }
  let loggingOut = false;  // the page's other requests fail once the token is revoked: they must not redirect
  function goLogin() { if (!loggingOut) location.href = loginUrl(); }

  /** After the JSON login: keep the token in the HttpOnly cookie, then go where the visitor was going. */
  async function startSession(token, next) {
    await api("POST", "/web/session", { kind, token }, { noLoginRedirect: true });
    const fallback = kind === "staff" ? "/console" : "/s/" + cfg.shop;
    const target = next && next.startsWith("/") && !next.startsWith("//") ? next : fallback;
    location.href = target;
  }
  async function logout() {
    loggingOut = true;
    try {
      // Revoke the token itself (it stops working in every process), then drop the cookies.
      try { await api("POST", "auth/logout", {}, { noLoginRedirect: true }); } catch (err) { /* already gone */ }
      await api("POST", "/web/logout", { kind }, { noLoginRedirect: true });
    } finally {
      location.href = kind === "staff" ? "/console/login" : "/s/" + cfg.shop;
    }
  }

  function toast(message, isError) {
    const el = document.getElementById("lb-toast");
    if (!el) return;
    el.textContent = message;
    el.className = "lb-toast show" + (isError ? " error" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.className = "lb-toast"; }, 3200);
  }

  /** Show a problem inside `where` (a form or section): its .lb-error box, and the fields it names. */
  function showProblem(where, err) {
    const problem = err instanceof Problem ? err : new Problem(0, { code: "client_error", detail: String(err) });
    const box = where && where.querySelector(".lb-error");
    if (box) {
      box.textContent = problem.message_();
      box.dataset.code = problem.code;
      box.hidden = false;
    } else {
      toast(problem.message_(), true);
    }
    if (where) {
      where.querySelectorAll(".lb-invalid").forEach((el) => el.classList.remove("lb-invalid"));
      problem.errors.forEach((e) => {
        const name = (e.loc || []).slice(1).join(".");
        const field = name && where.querySelector(`[name="${CSS.escape(name)}"]`);
        if (field) field.classList.add("lb-invalid");
      });
    }
    return problem;
  }
  function clearProblem(where) {
    const box = where && where.querySelector(".lb-error");
    if (box) { box.hidden = true; box.textContent = ""; delete box.dataset.code; }
  }

  /** The form's fields as an object: numbers for type=number / data-type=int, booleans for checkboxes. */
  function formData(form) {
    const out = {};
    Array.from(form.elements).forEach((el) => {
      if (!el.name || el.disabled) return;
      let value;
      if (el.type === "checkbox") value = el.checked;
      else if (el.type === "radio") { if (!el.checked) return; value = el.value; }
      else if (el.type === "number" || el.dataset.type === "int") value = el.value === "" ? null : Number(el.value);
      else if (el.dataset.type === "yuan") value = el.value === "" ? null : yuanToFen(el.value);
      else value = el.value;
      if (value === null || value === "") { if (el.dataset.keepEmpty === undefined) return; }
      out[el.name] = value;
    });
    return out;
  }

  /** Submit a form through `handler(data, form)`; its button is disabled meanwhile, problems shown in it. */
  function onSubmit(form, handler) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const buttons = form.querySelectorAll("button[type=submit], button:not([type])");
      buttons.forEach((b) => { b.disabled = true; });
      clearProblem(form);
      try {
        await handler(formData(form), form);
      } catch (err) {
        showProblem(form, err);
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
  }

  /** Run an async action for a button, showing any problem next to `where`. */
  function onClick(el, handler, where) {
    el.addEventListener("click", async (event) => {
      event.preventDefault();
      if (el.disabled) return;
      el.disabled = true;
      try { await handler(event); } catch (err) { showProblem(where || el.closest("form, section"), err); }
      finally { el.disabled = false; }
    });
  }

  function yuan(fen) {
    if (fen === null || fen === undefined) return "—";
    const sign = fen < 0 ? "-" : "";
    const abs = Math.abs(Math.trunc(fen));
    return sign + "¥" + Math.floor(abs / 100) + "." + String(abs % 100).padStart(2, "0");
  }
  /** "12.5" yuan → 1250 fen, exactly (no floating point). */
  function yuanToFen(text) {
    const m = /^\s*(-?)(\d+)(?:\.(\d{0,2}))?\s*$/.exec(String(text));
    if (!m) return NaN;
    const fen = Number(m[2]) * 100 + Number((m[3] || "").padEnd(2, "0"));
    return m[1] ? -fen : fen;
  }
  function percent(bps) { return bps === null || bps === undefined ? "—" : (bps / 100).toFixed(2) + "%"; }
  function time(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return d.toLocaleString(en ? "en-GB" : "zh-CN", { hour12: false });
  }

  /** A live "剩余 01:02:03" in `el` until `iso`; calls onEnd once when it reaches zero. */
  function countdown(el, iso, onEnd) {
    const end = new Date(iso).getTime();
    function tick() {
      const left = Math.max(0, Math.floor((end - Date.now()) / 1000));
      const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      const pad = (n) => String(n).padStart(2, "0");
      el.textContent = (left >= 86400 ? Math.floor(left / 86400) + L("天 ", "d ") : "")
        + pad(h % 24) + ":" + pad(m) + ":" + pad(s);
      el.dataset.secondsLeft = String(left);
      if (left === 0) { clearInterval(timer); if (onEnd) onEnd(); }
    }
    const timer = setInterval(tick, 1000);
    tick();
    return () => clearInterval(timer);
  }

  /** A paginated table: loader(limit, offset) → {items, total}; columns: [{title, render(row) → html}]. */
  function table(container, columns, loader, options) {
    const opts = Object.assign({ limit: 20, empty: L("暂无数据", "Nothing yet") }, options || {});
    let offset = 0;
    async function load() {
      container.classList.add("lb-loading");
      try {
        const page = await loader(opts.limit, offset);
        const items = page.items || [];
        const total = page.total === undefined ? null : page.total;
        const head = columns.map((c) => html`<th>${c.title}</th>`);
        const rows = items.length
          ? items.map((row) => raw("<tr>" + columns.map((c) => "<td>" + String(c.render(row)) + "</td>").join("") + "</tr>"))
          : [html`<tr><td class="lb-empty-row" colspan="${columns.length}">${opts.empty}</td></tr>`];
        const last = total !== null ? offset + items.length >= total : items.length < opts.limit;
        container.innerHTML = String(html`<table class="lb-table"><thead><tr>${head}</tr></thead>
          <tbody>${rows}</tbody></table>
          <div class="lb-pager"><button type="button" data-page="prev" ${raw(offset === 0 ? "disabled" : "")}>${L("上一页", "Previous")}</button>
          <span>${total !== null ? L(`共 ${total} 条`, `${total} in all`) : ""} · ${L("第", "page ")}${Math.floor(offset / opts.limit) + 1}${L(" 页", "")}</span>
          <button type="button" data-page="next" ${raw(last ? "disabled" : "")}>${L("下一页", "Next")}</button></div>`);
        container.querySelector("[data-page=prev]").onclick = () => { offset = Math.max(0, offset - opts.limit); load(); };
        container.querySelector("[data-page=next]").onclick = () => { offset += opts.limit; load(); };
        if (opts.after) opts.after(container, items);
      } catch (err) {
        showProblem(container.closest("section") || container, err);
      } finally {
        container.classList.remove("lb-loading");
      }
    }
    load();
    return { reload: load, reset() { offset = 0; return load(); } };
  }

  /** Sandbox only: the embedded fake WeChat completes a payment and delivers the signed callback. */
  async function sandboxPay(outTradeNo) {
    return api("POST", "/api/v1/sandbox/wechat/payments/" + encodeURIComponent(outTradeNo) + "/succeed", {});
  }

  function wireChrome() {
    document.querySelectorAll(".lb-lang").forEach((b) => b.addEventListener("click", async () => {
      await api("POST", "/web/language", { lang: en ? "zh" : "en" }, { noLoginRedirect: true });
      location.reload();
    }));
    document.querySelectorAll("[data-action=logout]").forEach((b) => b.addEventListener("click", logout));
    const active = cfg.page;
    document.querySelectorAll(`[data-nav="${active}"], [data-tab="${active}"]`).forEach((a) => a.classList.add("active"));
  }
  document.addEventListener("DOMContentLoaded", wireChrome);

  window.LB = {
    cfg, kind, en, L, esc, html, raw, api, get, post, Problem, problemMessages, startSession, logout, goLogin,
    loginUrl, toast, showProblem, clearProblem, formData, onSubmit, onClick, yuan, yuanToFen, percent, time,
    countdown, table, sandboxPay, newKey, cookie,
    /** The query string's value, or null. */
    query(name) { return new URLSearchParams(location.search).get(name); },
    $(selector, root) { return (root || document).querySelector(selector); },
    $$(selector, root) { return Array.from((root || document).querySelectorAll(selector)); },
  };
})();
