/* Console product form: a new product (POST products) or the whole product saved at once (PUT products/{id}),
 * with its images (POST uploads) and SKU rows. The API checks everything; its problems show in the form.
 */
(function () {
  "use strict";
  const L = LB.L;
  const form = LB.$("#product-form");
  const rows = LB.$("#sku-rows");
  const imagesEl = LB.$("#images");
  const imagesCard = LB.$("#images-card");
  const fileInput = LB.$("[data-testid=image-upload]");
  const productId = LB.cfg.params && LB.cfg.params.product_id ? LB.cfg.params.product_id : null;
  let images = [];
  let categories = [];
  LBOps.nav("products");

  // ---- images ----
  function drawImages() {
    LB.$$(".ops-image", imagesEl).forEach((el) => el.remove());
    const upload = imagesEl.querySelector(".ops-upload");
    images.forEach((url, i) => {
      const box = document.createElement("div");
      box.className = "ops-image";
      box.dataset.testid = "image";
      box.innerHTML = String(LB.html`<img src="${url}" alt="${L("商品图片", "Product image")} ${i + 1}">
        <button type="button" title="${L("移除", "Remove")}" data-remove="${i}">×</button>`);
      imagesEl.insertBefore(box, upload);
    });
  }
  imagesEl.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove]");
    if (!button) return;
    images.splice(Number(button.dataset.remove), 1);
    drawImages();
  });

  /** multipart upload: LB.api speaks JSON only, so the same session and anti-forgery header by hand. */
  async function upload(file) {
    const body = new FormData();
    body.append("file", file, file.name);
    const headers = { Accept: "application/json" };
    const csrf = LB.cookie("lb_csrf_s");
    if (csrf) headers["X-CSRF-Token"] = csrf;
    let response;
    try {
      response = await fetch("/api/v1/console/uploads", { method: "POST", body, headers, credentials: "same-origin" });
    } catch (err) {
      throw new LB.Problem(0, { code: "network_error", title: "Network error", detail: String(err) });
    }
    const data = await response.json().catch(() => ({ detail: response.statusText }));
    if (!response.ok) {
      if (response.status === 401) LB.goLogin();
      throw new LB.Problem(response.status, data);
    }
    return data.url;
  }
  fileInput.addEventListener("change", async () => {
    const files = Array.from(fileInput.files || []);
    fileInput.value = "";
    LB.clearProblem(imagesCard);
    imagesCard.setAttribute("aria-busy", "true");
    try {
      for (const file of files) {
        images.push(await upload(file));
        drawImages();
      }
    } catch (err) {
      LB.showProblem(imagesCard, err);
    } finally {
      imagesCard.setAttribute("aria-busy", "false");
    }
  });

  // ---- SKU rows ----
  function specPair(key, value) {
    return LB.html`<div class="ops-spec">
      <input class="spec-key" value="${key}" maxlength="40" placeholder="${L("属性名，如 颜色", "Name, e.g. colour")}" data-testid="sku-spec-key">
      <span>=</span>
      <input class="spec-value" value="${value}" maxlength="40" placeholder="${L("属性值，如 红色", "Value, e.g. red")}" data-testid="sku-spec-value">
      <button type="button" data-spec-remove title="${L("移除属性", "Remove")}">×</button></div>`;
  }
  function addRow(sku, keysFrom) {
    const tr = document.createElement("tr");
    tr.dataset.testid = "sku-row";
    if (sku && sku.id) { tr.dataset.skuId = String(sku.id); tr.dataset.stockWas = String(sku.stock); }
    const pairs = sku ? Object.entries(sku.specs || {}) : (keysFrom || [""]).map((k) => [k, ""]);
    tr.innerHTML = String(LB.html`<td><div class="spec-pairs">${(pairs.length ? pairs : [["", ""]]).map(([k, v]) => specPair(k, v))}</div>
        <button type="button" class="lb-link" data-spec-add>${L("+ 属性", "+ Spec")}</button></td>
      <td><input class="num" data-field="price" inputmode="decimal" placeholder="0.00" data-testid="sku-price"
        value="${sku ? (sku.price_fen / 100).toFixed(2) : ""}"></td>
      <td><input class="num" data-field="stock" inputmode="numeric" placeholder="0" data-testid="sku-stock"
        value="${sku ? sku.stock : ""}"></td>
      <td><input data-field="code" maxlength="64" data-testid="sku-code" value="${sku && sku.code ? sku.code : ""}"></td>
      <td><button type="button" class="ops-x" data-row-remove title="${L("删除此规格", "Remove this SKU")}" data-testid="sku-remove">×</button></td>`);
    rows.appendChild(tr);
    renumber();
  }
  /** Field names follow the API's error locations (skus.1.price_fen), so its problems mark the right box. */
  function renumber() {
    LB.$$("tr", rows).forEach((tr, i) => {
      tr.querySelector("[data-field=price]").name = `skus.${i}.price_fen`;
      tr.querySelector("[data-field=stock]").name = `skus.${i}.stock`;
      tr.querySelector("[data-field=code]").name = `skus.${i}.code`;
      LB.$$(".spec-value", tr).forEach((input) => { input.name = `skus.${i}.specs`; });
    });
  }
  rows.addEventListener("click", (event) => {
    const target = event.target;
    if (target.closest("[data-spec-add]")) {
      target.closest("td").querySelector(".spec-pairs").insertAdjacentHTML("beforeend", String(specPair("", "")));
      renumber();
    } else if (target.closest("[data-spec-remove]")) {
      target.closest(".ops-spec").remove();
    } else if (target.closest("[data-row-remove]")) {
      target.closest("tr").remove();
      renumber();
    }
  });
  LB.$("#sku-add").addEventListener("click", () => {
    const last = rows.lastElementChild;
    // A new row starts with the previous row's spec names: SKUs of a product usually share them.
    const keys = last ? LB.$$(".spec-key", last).map((i) => i.value.trim()).filter(Boolean) : [""];
    addRow(null, keys.length ? keys : [""]);
  });

  function readSkus() {
    return LB.$$("tr", rows).map((tr) => {
      const specs = {};
      LB.$$(".ops-spec", tr).forEach((pair) => {
        const key = pair.querySelector(".spec-key").value.trim();
        const value = pair.querySelector(".spec-value").value.trim();
        if (key || value) specs[key] = value;
      });
      const price = tr.querySelector("[data-field=price]").value.trim();
      const stock = tr.querySelector("[data-field=stock]").value.trim();
      const code = tr.querySelector("[data-field=code]").value.trim();
      // Unreadable numbers go to the API as null: it names the field that is wrong.
      const sku = {
        specs,
        price_fen: price === "" ? null : (Number.isNaN(LB.yuanToFen(price)) ? null : LB.yuanToFen(price)),
        stock: stock === "" || !/^-?\d+$/.test(stock) ? null : Number(stock),
      };
      if (code) sku.code = code;
      if (tr.dataset.skuId) {
        sku.id = Number(tr.dataset.skuId);
        // What the form showed: the API applies the change to the stock as it is now (sales go on meanwhile).
        sku.stock_was = Number(tr.dataset.stockWas);
      }
      return sku;
    });
  }

  // ---- the form ----
  function body() {
    const f = form.elements;
    const category = f.category.value.trim();
    const max = f.max_per_order.value.trim();
    return {
      title: f.title.value, description: f.description.value, images: images.slice(),
      category: category || null,
      max_per_order: max === "" ? null : (/^\d+$/.test(max) ? Number(max) : max),
      publish: f.publish.checked, skus: readSkus(),
    };
  }

  function fill(product) {
    const f = form.elements;
    f.title.value = product.title;
    f.description.value = product.description;
    f.max_per_order.value = product.max_per_order === null ? "" : product.max_per_order;
    f.publish.checked = product.status === "published";
    const category = categories.find((c) => c.id === product.category_id);
    f.category.value = category ? category.name : "";
    images = product.images.slice();
    drawImages();
    rows.innerHTML = "";
    product.skus.filter((s) => !s.archived).forEach((s) => addRow(s));
    LB.$("#product-state").innerHTML = String(LB.html`ID ${product.id} · ${LBOps.product(product.status, "product-state")}`);
  }

  async function loadCategories() {
    categories = await LB.get("categories");
    LB.$("#category-options").innerHTML = String(LB.html`${categories.map((c) => LB.html`<option value="${c.name}">`)}`);
  }

  async function save(form_) {
    const data = body();
    if (productId) {
      const saved = await LB.api("PUT", `products/${productId}`, data);
      await loadCategories();
      fill(saved);
      LB.toast(L("已保存", "Saved"));
      form_.dataset.saved = String(Date.now());
    } else {
      const created = await LB.post("products", data);
      location.href = `/console/products/${created.id}?created=1`;
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("[data-testid=product-save]");
    button.disabled = true;
    LB.clearProblem(form);
    LB.$$(".lb-invalid", form).forEach((el) => el.classList.remove("lb-invalid"));
    try {
      await save(form);
    } catch (err) {
      LB.showProblem(form, err);
      LB.$("#form-error").scrollIntoView({ block: "center" });
    } finally {
      button.disabled = false;
    }
  });

  LB.onClick(LB.$("#product-delete"), async () => {
    if (!LBOps.sure("删除后顾客将看不到此商品，已有订单不受影响。确定删除？",
      "Customers will no longer see this product; existing orders are kept. Delete it?")) return;
    await LB.api("DELETE", `products/${productId}`);
    location.href = "/console/products";
  }, form);

  async function start() {
    try {
      await loadCategories();
      if (productId) {
        fill(await LB.get(`products/${productId}`));
        LB.$("#product-delete").hidden = false;
        if (LB.query("created")) LB.toast(L("商品已创建", "Product created"));
      } else {
        addRow(null, [""]);
      }
      form.dataset.ready = "true";
    } catch (err) {
      LB.showProblem(form, err);
    } finally {
      form.setAttribute("aria-busy", "false");
    }
  }
  start();
})();
