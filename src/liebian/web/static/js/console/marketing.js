/* Helpers shared by the console's marketing pages (campaigns, distribution, promoters, withdrawals, ads,
 * moderation): forms whose inputs are named like the API's body fields, converted on the way out and filled
 * back from an API object; status badges; dialogs; a table that refreshes itself.
 *
 * Conversions (by the input's data-type): yuan → fen (LB.formData), percent → basis points ("12.5" → 1250,
 * exact, no floating point), datetime → RFC 3339 with the browser's offset, id-list/list → arrays. A name
 * with dots ("scope.type", "level_rates_bps.0") builds nested objects and arrays.
 */
(function () {
  "use strict";
  const L = LB.L;
  const pad = (n) => String(Math.trunc(Math.abs(n))).padStart(2, "0");

  /** "2026-11-20T10:30" (the browser's local time) → "2026-11-20T10:30:00+08:00". */
  function rfc3339(local) {
    const d = new Date(local);
    if (!local || Number.isNaN(d.getTime())) return local;
    const off = -d.getTimezoneOffset();
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:`
      + `${pad(d.getMinutes())}:${pad(d.getSeconds())}${off >= 0 ? "+" : "-"}${pad(off / 60)}:${pad(off % 60)}`;
  }
  /** An RFC 3339 time → the value of a datetime-local input (the browser's local time). */
  function localInput(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  /** Percent text → basis points, exactly ("12.5" → 1250); NaN when it is not a number. */
  function percentToBps(text) { return LB.yuanToFen(text); }
  function bpsToPercent(bps) {
    if (bps === null || bps === undefined) return "";
    return (bps / 100).toFixed(2).replace(/\.?0+$/, "");
  }
  function fenToYuan(fen) {
    if (fen === null || fen === undefined) return "";
    const abs = Math.abs(fen);
    return (fen < 0 ? "-" : "") + Math.floor(abs / 100) + "." + String(abs % 100).padStart(2, "0");
  }

  function setPath(out, path, value) {
    const parts = path.split(".");
    let node = out;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1]);
      const key = /^\d+$/.test(part) ? Number(part) : part;
      if (last) node[key] = value;
      else {
        if (node[key] === undefined) node[key] = nextIsIndex ? [] : {};
        node = node[key];
      }
    });
  }

  /** The form's body for the API: LB.formData, then the conversions above, then nested names. */
  function body(form) {
    const flat = LB.formData(form);
    Array.from(form.elements).forEach((el) => {
      if (!el.name || el.disabled || !(el.name in flat)) return;
      const value = flat[el.name];
      const type = el.dataset.type || (el.type === "datetime-local" ? "datetime" : "");
      if (type === "datetime") flat[el.name] = rfc3339(value);
      else if (type === "percent") flat[el.name] = percentToBps(value);
      else if (type === "id-list") flat[el.name] = String(value).split(/[,，\s]+/).filter(Boolean).map(Number);
      else if (type === "list") {
        flat[el.name] = String(value).split(/[,，]+/).map((s) => s.trim()).filter(Boolean)
          .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      }
    });
    const out = {};
    Object.keys(flat).forEach((name) => setPath(out, name, flat[name]));
    return out;
  }

  function valueAt(obj, path) {
    return path.split(".").reduce((node, key) => (node === null || node === undefined ? undefined : node[key]), obj);
  }

  /** Fill a form's inputs from an API object (fen → yuan, bps → percent, times → local). */
  function fill(form, data) {
    Array.from(form.elements).forEach((el) => {
      if (!el.name) return;
      const value = valueAt(data, el.name);
      if (el.type === "checkbox") { el.checked = Boolean(value); return; }
      const type = el.dataset.type || (el.type === "datetime-local" ? "datetime" : "");
      if (value === undefined || value === null) { el.value = el.tagName === "SELECT" ? el.value : ""; return; }
      if (type === "yuan") el.value = fenToYuan(value);
      else if (type === "percent") el.value = bpsToPercent(value);
      else if (type === "datetime") el.value = localInput(value);
      else if (Array.isArray(value)) el.value = value.join(", ");
      else el.value = String(value);
    });
  }

  /** What changed between two bodies: a field left empty that had a value is sent as null (cleared). */
  function changes(before, after) {
    const out = {};
    Object.keys(after).forEach((k) => {
      if (JSON.stringify(after[k]) !== JSON.stringify(before[k])) out[k] = after[k];
    });
    Object.keys(before).forEach((k) => { if (!(k in after)) out[k] = null; });
    return out;
  }

  /** A modal dialog: [data-action=close] closes it; returns {open, close, el}. */
  function dialog(el) {
    el.querySelectorAll("[data-action=close]").forEach((b) => b.addEventListener("click", () => el.close()));
    return {
      el,
      open() { LB.clearProblem(el.querySelector("form") || el); if (!el.open) el.showModal(); },
      close() { if (el.open) el.close(); },
    };
  }

  /** Ask before an action that cannot be undone; resolves true when confirmed. */
  function confirm(text) {
    const el = document.getElementById("confirm-dialog");
    if (!el) return Promise.resolve(window.confirm(text));
    el.querySelector("[data-confirm-text]").textContent = text;
    return new Promise((resolve) => {
      const ok = el.querySelector("[data-testid=confirm-ok]");
      const done = (answer) => { ok.onclick = null; el.onclose = null; if (el.open) el.close(); resolve(answer); };
      ok.onclick = () => done(true);
      el.onclose = () => done(false);
      el.showModal();
    });
  }

  /** A coloured badge for a status: map is {status: [zh, en, colour]}; data-status carries the raw value. */
  function badge(status, map, testid) {
    const [zh, english, colour] = map[status] || [status, status, "grey"];
    return LB.html`<span class="lb-badge ${colour}" data-testid="${testid || "status"}" data-status="${status}">${L(zh, english)}</span>`;
  }

  /**
   * LB.table plus: each row <tr> gets data-testid/data-id/data-status (rowAttrs), clicks on
   * [data-act] buttons go to onAction(act, row, button) (problems shown in `section`), and the table reloads
   * every `every` ms while the page is visible (live counters), saying when it last did.
   */
  function liveTable(el, columns, loader, opts) {
    const o = Object.assign({ every: 0, testid: "row" }, opts || {});
    const section = el.closest("section");
    const stamp = o.stamp ? document.querySelector(o.stamp) : null;
    let rows = [];
    const handle = LB.table(el, columns, async (limit, offset) => {
      const page = await loader(limit, offset);
      rows = page.items || [];
      if (stamp) stamp.textContent = L("更新于 ", "Updated ") + new Date().toLocaleTimeString(LB.en ? "en-GB" : "zh-CN", { hour12: false });
      return page;
    }, {
      limit: o.limit || 20, empty: o.empty,
      after(container, items) {
        container.querySelectorAll("tbody tr").forEach((tr, i) => {
          const row = items[i];
          if (!row) return;
          tr.setAttribute("data-testid", o.testid);
          tr.dataset.id = String(o.id ? o.id(row) : row.id);
          if (o.status) tr.dataset.status = o.status(row);
        });
        if (o.after) o.after(container, items);
      },
    });
    el.addEventListener("click", async (event) => {
      const button = event.target.closest("[data-act]");
      if (!button || !el.contains(button) || button.disabled) return;
      const tr = button.closest("tr");
      const row = rows.find((r) => String(o.id ? o.id(r) : r.id) === (tr && tr.dataset.id));
      if (!row || !o.onAction) return;
      button.disabled = true;
      LB.clearProblem(section);
      try { await o.onAction(button.dataset.act, row, button); } catch (err) { LB.showProblem(section, err); }
      finally { button.disabled = false; }
    });
    let timer = null;
    if (o.every) {
      timer = setInterval(() => {
        const busy = document.querySelector("dialog[open]");
        if (!document.hidden && !busy && !el.classList.contains("lb-loading")) handle.reload();
      }, o.every);
    }
    return { reload: handle.reload, reset: handle.reset, stop() { clearInterval(timer); }, rows: () => rows };
  }

  /** Tabs of filters: buttons [data-filter] in `nav`; onChange(value) when one is chosen. */
  function filterTabs(nav, onChange) {
    nav.addEventListener("click", (event) => {
      const b = event.target.closest("[data-filter]");
      if (!b) return;
      nav.querySelectorAll("[data-filter]").forEach((x) => x.classList.toggle("active", x === b));
      onChange(b.dataset.filter);
    });
  }

  /** After LB.showProblem: name each field the API refused, by its label, with the API's message. */
  function explain(where, problem) {
    const box = where.querySelector(".lb-error");
    if (!box || !problem.errors || !problem.errors.length) return;
    const lines = problem.errors.map((e) => {
      const loc = (e.loc || []).filter((part) => part !== "body");
      const name = loc.join(".");
      const field = name && where.querySelector(`[name="${CSS.escape(name)}"]`);
      if (field) field.classList.add("lb-invalid");
      const label = field && field.closest("label") && field.closest("label").querySelector("span");
      return (label ? label.textContent.replace("*", "").trim() : name || "—") + ": " + (e.msg || "");
    });
    box.textContent += " — " + lines.join("; ");
  }

  /** LB.onSubmit, and the fields the API refused are named in the form's problem box. */
  function submit(form, handler) {
    LB.onSubmit(form, async (data, f) => {
      try {
        await handler(data, f);
      } catch (err) {
        if (!(err instanceof LB.Problem)) throw err;
        LB.showProblem(form, err);
        explain(form, err);
      }
    });
  }

  /** Query string of the defined values. */
  function qs(params) {
    const q = new URLSearchParams();
    Object.keys(params).forEach((k) => {
      if (params[k] !== null && params[k] !== undefined && params[k] !== "") q.set(k, params[k]);
    });
    const text = q.toString();
    return text ? "?" + text : "";
  }

  function pct(part, whole) {
    if (!whole) return 0;
    return Math.max(0, Math.min(100, Math.round((part * 100) / whole)));
  }
  function progress(part, whole) {
    return LB.html`<div class="lb-progress cm-progress" title="${part} / ${whole}"><i style="width:${pct(part, whole)}%"></i></div>`;
  }

  /** Inputs in seconds [data-duration] say what they mean ("= 1 天 6 小时") and offer presets. */
  function durations(root) {
    root.querySelectorAll("[data-duration]").forEach((input) => {
      const box = input.closest(".cm-duration");
      const hintEl = box.querySelector("[data-duration-hint]");
      const say = () => {
        const s = Number(input.value);
        if (!input.value || !Number.isFinite(s) || s <= 0) { hintEl.textContent = ""; return; }
        const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
        hintEl.textContent = "= " + [d ? d + L(" 天", "d") : "", hh ? hh + L(" 小时", "h") : "", m ? m + L(" 分钟", "min") : ""]
          .filter(Boolean).join(" ");
      };
      input.addEventListener("input", say);
      box.querySelectorAll("[data-seconds]").forEach((b) => b.addEventListener("click", () => {
        input.value = b.dataset.seconds;
        say();
      }));
      input.form.addEventListener("reset", () => setTimeout(say));
      say();
    });
  }
  durations(document);

  window.CM = { rfc3339, localInput, percentToBps, bpsToPercent, fenToYuan, body, fill, changes, dialog, confirm,
    badge, liveTable, filterTabs, qs, progress, explain, submit };
})();
