/* The console's fission pages: the date range toolbar kept in the URL, channel names, ECharts set-up.
 *
 * Every chart is drawn from an API answer; the data drawn is also written to the chart element's
 * data-chart attribute (JSON), so what the page shows can be read without looking at pixels.
 */
(function () {
  "use strict";
  const L = LB.L;

  const CHANNELS = {
    friend: ["好友", "Friend"], group_chat: ["群聊", "Group chat"], moments: ["朋友圈", "Moments"],
    poster: ["海报", "Poster"], offline_qr: ["线下二维码", "Offline QR"], moments_ad: ["朋友圈广告", "Moments ad"],
    official_account: ["公众号", "Official account"], search: ["搜索", "Search"], nearby: ["附近", "Nearby"],
    community: ["社群", "Community"], unknown: ["未知", "Unknown"],
  };
  function channel(key) {
    const names = CHANNELS[key];
    return names ? L(names[0], names[1]) : String(key);
  }
  function channelOptions(withAll) {
    const all = withAll ? [`<option value="">${LB.esc(L("全部渠道", "All channels"))}</option>`] : [];
    return all.concat(Object.keys(CHANNELS).filter((k) => k !== "unknown")
      .map((k) => `<option value="${k}">${LB.esc(channel(k))}</option>`)).join("");
  }

  /** "3 天 4 小时" from seconds. */
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.round(seconds);
    if (s < 60) return s + L(" 秒", " s");
    if (s < 3600) return Math.round(s / 60) + L(" 分钟", " min");
    if (s < 86400) return (s / 3600).toFixed(1) + L(" 小时", " h");
    return (s / 86400).toFixed(1) + L(" 天", " d");
  }
  function bpsPercent(bps) { return bps === null || bps === undefined ? "—" : (bps / 100).toFixed(1) + "%"; }
  function num(n) { return n === null || n === undefined ? "—" : Number(n).toLocaleString(LB.en ? "en-GB" : "zh-CN"); }

  /**
   * The toolbar's inputs (each with a name) mirrored in the query string; onChange(params) runs on load and
   * whenever one changes. Empty values are left out, so the API's defaults (the last 30 days) apply.
   */
  function filters(toolbar, onChange) {
    const inputs = LB.$$("[name]", toolbar);
    const query = new URLSearchParams(location.search);
    inputs.forEach((el) => { if (query.has(el.name)) el.value = query.get(el.name); });
    function current() {
      const out = {};
      inputs.forEach((el) => { if (el.value !== "") out[el.name] = el.value; });
      return out;
    }
    function changed() {
      const params = current();
      const keep = new URLSearchParams(location.search);
      inputs.forEach((el) => keep.delete(el.name));
      Object.entries(params).forEach(([k, v]) => keep.set(k, v));
      const search = keep.toString();
      history.replaceState(null, "", location.pathname + (search ? "?" + search : ""));
      onChange(params);
    }
    inputs.forEach((el) => el.addEventListener("change", changed));
    const reset = LB.$("[data-action=reset-range]", toolbar);
    if (reset) {
      reset.addEventListener("click", () => {
        inputs.filter((el) => el.type === "date").forEach((el) => { el.value = ""; });
        changed();
      });
    }
    onChange(current());
    return { current };
  }

  /** "analytics/x?from=..&to=.." with the given params (empty ones left out). */
  function path(base, params) {
    const q = new URLSearchParams();
    Object.entries(params || {}).forEach(([k, v]) => { if (v !== "" && v !== null && v !== undefined) q.set(k, v); });
    const s = q.toString();
    return base + (s ? "?" + s : "");
  }

  // The page's own fonts (a canvas cannot "inherit": an invalid font string is ignored, the last one kept).
  const FONTS = getComputedStyle(document.body).fontFamily || "sans-serif";
  const charts = new Map();
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

  /** Draw `option` in `el` (one ECharts instance per element); `data` is what the element says it shows. */
  function draw(el, option, data) {
    const wasEmpty = el.classList.contains("fi-empty");
    el.classList.remove("fi-empty");
    let chart = charts.get(el);
    if (!chart) {
      chart = echarts.init(el, null, { renderer: "canvas" });
      charts.set(el, chart);
    } else if (wasEmpty) {
      chart.resize();
    }
    chart.clear();
    chart.setOption(Object.assign({ animationDuration: 300, textStyle: { fontFamily: FONTS } }, option));
    el.dataset.chart = JSON.stringify(data === undefined ? null : data);
    el.dataset.ready = "1";
    const box = el.parentElement && el.parentElement.querySelector(".fi-chart-empty");
    if (box) box.hidden = true;
    return chart;
  }
  /** An empty chart: the message instead of axes. */
  function nothing(el, message) {
    const chart = charts.get(el);
    if (chart) chart.clear();
    el.classList.add("fi-empty");
    el.dataset.chart = JSON.stringify(null);
    el.dataset.ready = "1";
    let box = el.parentElement.querySelector(".fi-chart-empty");
    if (!box) {
      box = document.createElement("div");
      box.className = "fi-chart-empty lb-muted";
      el.parentElement.insertBefore(box, el);
    }
    box.textContent = message || L("所选时间内暂无数据", "Nothing in this range yet");
    box.hidden = false;
  }
  /** While a chart's data loads (tests wait for data-ready). */
  function loading(el) { delete el.dataset.ready; el.classList.add("lb-loading"); }
  function loaded(el) { el.classList.remove("lb-loading"); }

  const COLORS = ["#e4393c", "#ff7a00", "#2f6bd8", "#1a9c55", "#8e44ad", "#13c2c2", "#faad14", "#eb2f96",
    "#595959", "#a0d911"];

  window.LBF = { channel, channelOptions, duration, bpsPercent, num, filters, path, draw, nothing, loading,
    loaded, COLORS, charts };
})();
