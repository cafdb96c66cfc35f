/* Console products: the catalog as a paginated table (GET products), search, on/off sale. */
(function () {
  "use strict";
  const L = LB.L;
  const section = LB.$("#products");
  const tableEl = LB.$("#products-table");
  const search = LB.$("#product-search");
  let categories = {};
  const filters = { q: "", status: "" };

  function active(p) { return p.skus.filter((s) => !s.archived); }

  function priceRange(p) {
    const prices = active(p).map((s) => s.price_fen);
    if (!prices.length) return "—";
    const low = Math.min(...prices), high = Math.max(...prices);
    return low === high ? LB.yuan(low) : `${LB.yuan(low)} – ${LB.yuan(high)}`;
  }

  const columns = [
    { title: "", render: (p) => (p.images.length
      ? LB.html`<img class="ops-thumb" src="${p.images[0]}" alt="">`
      : LB.html`<span class="ops-thumb empty"></span>`) },
    { title: L("商品", "Product"), render: (p) => LB.html`<a href="/console/products/${p.id}" data-testid="product-link"
        data-id="${p.id}">${p.title}</a><br><small class="lb-muted">ID ${p.id} · ${active(p).length} ${L("个规格", "SKUs")}</small>` },
    { title: L("分类", "Category"), render: (p) => LB.esc(p.category_id ? categories[p.category_id] || "—" : "—") },
    { title: L("价格", "Price"), render: (p) => LB.html`<span data-testid="product-price">${priceRange(p)}</span>` },
    { title: L("库存", "Stock"), render: (p) => LB.esc(active(p).reduce((n, s) => n + s.stock, 0)) },
    { title: L("状态", "Status"), render: (p) => LBOps.product(p.status, "product-status") },
    { title: L("操作", "Actions"), render: (p) => LB.html`<span class="ops-actions">
        <a class="lb-btn ghost small" href="/console/products/${p.id}">${L("编辑", "Edit")}</a>
        ${p.status === "published"
          ? LB.html`<button type="button" class="lb-btn ghost small" data-action="unpublish" data-id="${p.id}">${L("下架", "Take off sale")}</button>`
          : LB.html`<button type="button" class="lb-btn ghost small" data-action="publish" data-id="${p.id}">${L("上架", "Put on sale")}</button>`}
      </span>` },
  ];

  function loader(limit, offset) {
    const params = new URLSearchParams({ limit, offset });
    if (filters.q) params.set("q", filters.q);
    if (filters.status) params.set("status", filters.status);
    return LB.get("products?" + params);
  }

  let table = null;
  async function start() {
    try {
      const list = await LB.get("categories");
      categories = Object.fromEntries(list.map((c) => [c.id, c.name]));
    } catch (err) {
      LB.showProblem(section, err);
    }
    table = LB.table(tableEl, columns, loader, { empty: L("还没有商品，先新建一个吧", "No products yet: create one") });
  }

  search.addEventListener("submit", (event) => {
    event.preventDefault();
    LB.clearProblem(section);
    filters.q = search.elements.q.value.trim();
    filters.status = search.elements.status.value;
    if (table) table.reset();
  });
  search.elements.status.addEventListener("change", () => search.requestSubmit());

  tableEl.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) return;
    button.disabled = true;
    try {
      await LB.post(`products/${button.dataset.id}/${button.dataset.action}`);
      LB.toast(button.dataset.action === "publish" ? L("已上架", "On sale") : L("已下架", "Taken off sale"));
      await table.reload();
    } catch (err) {
      LB.showProblem(section, err);
      button.disabled = false;
    }
  });

  start();
})();
