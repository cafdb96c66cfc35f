/* Console: distribution settings (/console/distribution). GET distribution/settings fills the form; the
 * whole form goes back with PUT distribution/settings (rates in percent → basis points, money in yuan → fen)
 * and the API validates it as a whole; its problems are shown in the form.
 */
(function () {
  "use strict";
  const L = LB.L;
  const form = document.getElementById("distribution-form");
  const body = document.getElementById("levels-body");
  const rowTemplate = document.getElementById("level-row");
  const saved = form.querySelector("[data-testid=distribution-saved]");

  /** The rank rows are named promoter_levels.<i>.<field>, renumbered after every change. */
  function renumber() {
    body.querySelectorAll("tr").forEach((tr, i) => {
      tr.querySelectorAll("[data-level]").forEach((input) => { input.name = `promoter_levels.${i}.${input.dataset.level}`; });
    });
  }
  function addLevel() {
    body.appendChild(rowTemplate.content.cloneNode(true));
    renumber();
  }
  function fillLevels(levels) {
    body.innerHTML = "";
    levels.forEach((level) => {
      body.appendChild(rowTemplate.content.cloneNode(true));
      const tr = body.lastElementChild;
      tr.querySelector("[data-level=name]").value = level.name;
      tr.querySelector("[data-level=min_sales_fen]").value = CM.fenToYuan(level.min_sales_fen);
      tr.querySelector("[data-level=multiplier_bps]").value = CM.bpsToPercent(level.multiplier_bps);
    });
    renumber();
  }
  form.querySelector("[data-action=add-level]").addEventListener("click", addLevel);
  body.addEventListener("click", (event) => {
    const b = event.target.closest("[data-action=remove-level]");
    if (!b) return;
    b.closest("tr").remove();
    renumber();
  });

  /** One rate per level: the second rate is sent only with two levels. */
  function syncLevels() {
    const two = form.elements.levels.value === "2";
    const wrapper = form.querySelector("[data-level-two]");
    wrapper.hidden = !two;
    wrapper.querySelectorAll("input").forEach((el) => { el.disabled = !two; });
  }
  form.elements.levels.addEventListener("change", syncLevels);

  function show(settings) {
    CM.fill(form, settings);
    const rates = settings.level_rates_bps || [];
    form.elements["level_rates_bps.0"].value = CM.bpsToPercent(rates[0]);
    form.elements["level_rates_bps.1"].value = CM.bpsToPercent(rates[1] === undefined ? 0 : rates[1]);
    fillLevels(settings.promoter_levels || []);
    syncLevels();
  }

  async function load() {
    try {
      show(await LB.get("distribution/settings"));
    } catch (err) {
      LB.showProblem(form, err);
    } finally {
      form.querySelector("[data-loading]").hidden = true;
    }
  }

  CM.submit(form, async () => {
    saved.hidden = true;
    const settings = CM.body(form);
    if (!settings.promoter_levels) settings.promoter_levels = [];
    show(await LB.api("PUT", "distribution/settings", settings));
    saved.hidden = false;
    LB.toast(L("分销设置已保存", "Distribution settings saved"));
  });
  form.addEventListener("input", () => { saved.hidden = true; });
  load();
})();
