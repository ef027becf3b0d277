// Staff console of siyu-assistant: plain JavaScript over the admin API (/api/admin/...).
// Everything shown is built with textContent, never innerHTML, so record text cannot inject markup.
"use strict";

const TOKEN_KEY = "siyu-admin-token";
const KB_KEY = "siyu-admin-kb";
const state = { token: "", me: null, kb: "", vocab: null, tab: "products", selected: {} };

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, body, { form = null, token = state.token } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload });
  } catch (err) {
    throw new ApiError(0, { error: "无法连接服务器 Cannot reach the server" });
  }
  let data = null;
  try { data = await response.json(); } catch (err) { data = { error: `HTTP ${response.status}` }; }
  if (response.status === 401 && token === state.token && state.me) {
    logout("登录已失效，请重新登录 Your session has expired — log in again");
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const kbPath = (suffix = "") => `/api/admin/kbs/${encodeURIComponent(state.kb)}${suffix}`;
const editor = () => state.me && state.me.role === "editor";

// ------------------------------------------------------------------ small helpers

let toastTimer = null;
function toast(message, bad = false) {
  const node = $("#toast");
  node.textContent = message;
  node.classList.toggle("bad", bad);
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, bad ? 8000 : 4000);
}

function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("zh-CN", { hour12: false });
}

function describeError(err) {
  if (err.status === 403) return "只读令牌不能修改 A viewer token can only read";
  return err.message;
}

async function busy(button, work) {
  const label = button.textContent;
  button.disabled = true;
  try { return await work(); } finally { button.disabled = false; button.textContent = label; }
}

// ------------------------------------------------------------------ login

async function login(token) {
  const me = await api("GET", "/api/admin/me", undefined, { token });
  state.token = token;
  state.me = me;
  sessionStorage.setItem(TOKEN_KEY, token);
  const saved = sessionStorage.getItem(KB_KEY);
  state.kb = me.kbs.includes(saved) ? saved : me.default_kb;
  const select = $("#kb");
  select.replaceChildren(...me.kbs.map((name) => h("option", { value: name, text: name })));
  select.value = state.kb;
  const role = me.role === "editor" ? "编辑 editor" : "只读 viewer";
  $("#who").textContent = `${me.name} · ${role}`;
  document.body.classList.toggle("readonly", !editor());
  $("#login").hidden = true;
  $("#session").hidden = false;
  $("#app").hidden = false;
  state.vocab = await api("GET", "/api/admin/vocabulary");
  showTab(state.tab);
  refreshBadges();
}

function logout(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = "";
  state.me = null;
  $("#app").hidden = true;
  $("#session").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  $("#token").value = "";
  $("#token").focus();
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("#token").value.trim();
  const error = $("#login-error");
  error.textContent = "";
  if (!token) return;
  await busy($("#login-button"), async () => {
    try {
      await login(token);
    } catch (err) {
      error.textContent = err.status === 401
        ? "令牌无效，请检查后重试 Invalid token — check it and try again"
        : `登录失败 Login failed: ${err.message}`;
    }
  });
});

$("#logout").addEventListener("click", () => logout());
$("#kb").addEventListener("change", (event) => {
  state.kb = event.target.value;
  sessionStorage.setItem(KB_KEY, state.kb);
  state.selected = {};
  $$(".editor").forEach((node) => { node.hidden = true; node.replaceChildren(); });
  showTab(state.tab);
  refreshBadges();
});

// ------------------------------------------------------------------ tabs

$$(".tabs button").forEach((button) => button.addEventListener("click", () => showTab(button.dataset.tab)));

function showTab(name) {
  state.tab = name;
  $$(".tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  $$(".tab").forEach((section) => { section.hidden = section.id !== `tab-${name}`; });
  if (name === "products" || name === "faqs") loadRecords($(`#tab-${name}`));
  if (name === "unanswered") loadUnanswered();
  if (name === "sync") loadSync();
}

async function refreshBadges() {
  try {
    const [list, status] = await Promise.all([
      api("GET", `/api/admin/unanswered?kb=${encodeURIComponent(state.kb)}&limit=1`),
      api("GET", kbPath("/status")),
    ]);
    const open = list.counts.open || 0;
    $("#open-count").textContent = String(open);
    $("#open-count").hidden = open === 0;
    $("#sync-flag").hidden = status.ok;
  } catch (err) { /* badges are a convenience; the tabs show errors */ }
}

// ------------------------------------------------------------------ record lists

$$(".search-form").forEach((form) => form.addEventListener("submit", (event) => {
  event.preventDefault();
  loadRecords(form.closest(".tab"));
}));
$$(".add-record").forEach((button) => button.addEventListener("click", () => {
  const section = button.closest(".tab");
  openRecordForm(section, section.dataset.kind, null);
}));

async function loadRecords(section) {
  const kind = section.dataset.kind;
  const q = $("input[name=q]", section).value.trim();
  const tbody = $("tbody", section);
  const params = new URLSearchParams({ kind, limit: q ? "20" : "500" });
  if (q) params.set("q", q);
  try {
    const page = await api("GET", kbPath(`/records?${params}`));
    $(".count", section).textContent = q
      ? `找到 ${page.total} 条 · ${page.total} found`
      : `共 ${page.total} 条 · ${page.total} in total`;
    tbody.replaceChildren(...(page.records.length ? page.records.map((r) => recordRow(section, r))
      : [h("tr", {}, h("td", { colspan: 6, class: "empty", text: "没有记录 Nothing found" }))]));
  } catch (err) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "empty error", text: describeError(err) })));
  }
}

function nameCell(zh, en) {
  return h("td", {}, h("div", { text: zh || en || "" }), zh && en ? h("div", { class: "en-line", text: en }) : null);
}

function recordRow(section, item) {
  const r = item.record;
  const cells = section.dataset.kind === "product"
    ? [
      h("td", { class: "mono", text: item.id }),
      nameCell(r.name_zh, r.name_en),
      h("td", { text: categoryLabel(r.category) }),
      h("td", { class: "num", text: `¥${Number(r.price).toFixed(2)}` }),
      h("td", { class: "num", text: r.stock === null || r.stock === undefined ? "—" : String(r.stock) }),
      h("td", { class: "en-line", text: item.source }),
    ]
    : [
      h("td", { class: "mono", text: item.id }),
      h("td", { text: r.category }),
      nameCell(r.question_zh, r.question_en),
      h("td", { class: "en-line", text: item.source }),
    ];
  const row = h("tr", { class: "clickable", dataset: { id: item.id } }, ...cells);
  if (state.selected[section.id] === item.id) row.classList.add("selected");
  row.addEventListener("click", async () => {
    try {
      const fresh = await api("GET", kbPath(`/records/${encodeURIComponent(item.id)}`));
      state.selected[section.id] = item.id;
      $$("tbody tr", section).forEach((tr) => tr.classList.toggle("selected", tr.dataset.id === item.id));
      openRecordForm(section, section.dataset.kind, fresh);
    } catch (err) { toast(describeError(err), true); }
  });
  return row;
}

function categoryLabel(value) {
  const term = state.vocab && state.vocab.product_categories.find((t) => t.value === value);
  return term ? `${term.zh} ${term.en}` : value;
}

// ------------------------------------------------------------------ forms

const PRODUCT_FIELDS = [
  { name: "id", label: "编号 ID", type: "id" },
  { name: "category", label: "分类 Category", type: "select", options: () => state.vocab.product_categories },
  { name: "name_zh", label: "名称（中文）Name (zh)" },
  { name: "name_en", label: "名称（英文）Name (en)" },
  { name: "price", label: "价格 Price (¥)", type: "number", step: "0.01" },
  { name: "stock", label: "库存 Stock（留空=不跟踪 blank = not tracked）", type: "number", step: "1", nullable: true },
  { name: "size", label: "规格 Size" },
  { name: "routine_step", label: "护肤步骤 Routine step", type: "select", options: () => state.vocab.routine_steps, nullable: true },
  { name: "skin_types", label: "适合肤质 Skin types", type: "checks", options: () => state.vocab.skin_types, wide: true },
  { name: "concerns", label: "功效诉求 Concerns", type: "checks", options: () => state.vocab.concerns, wide: true },
  { name: "contraindications", label: "慎用人群 Contraindications", type: "checks", options: () => state.vocab.contraindications, wide: true },
  { name: "description_zh", label: "描述（中文）Description (zh)", type: "textarea", wide: true },
  { name: "description_en", label: "描述（英文）Description (en)", type: "textarea", wide: true },
  { name: "usage_zh", label: "用法（中文）Usage (zh)", type: "textarea" },
  { name: "usage_en", label: "用法（英文）Usage (en)", type: "textarea" },
  { name: "caution_zh", label: "注意（中文）Caution (zh)", type: "textarea" },
  { name: "caution_en", label: "注意（英文）Caution (en)", type: "textarea" },
  { name: "ingredients", label: "全成分 Ingredients (INCI)", type: "textarea", wide: true },
];

const FAQ_FIELDS = [
  { name: "id", label: "编号 ID", type: "id" },
  { name: "category", label: "分类 Category", type: "category" },
  { name: "question_zh", label: "问题（中文）Question (zh)", type: "textarea", wide: true },
  { name: "question_en", label: "问题（英文）Question (en)", type: "textarea", wide: true },
  { name: "answer_zh", label: "答案（中文）Answer (zh)", type: "textarea", wide: true, tall: true },
  { name: "answer_en", label: "答案（英文）Answer (en)", type: "textarea", wide: true, tall: true },
];

function fieldInput(spec, value, creating) {
  const id = `f-${spec.name}-${Math.random().toString(36).slice(2, 8)}`;
  const readonly = !editor();
  let input;
  if (spec.type === "textarea") {
    input = h("textarea", { id, name: spec.name, rows: spec.tall ? 5 : 3 });
    input.value = value ?? "";
  } else if (spec.type === "select") {
    input = h("select", { id, name: spec.name },
      spec.nullable ? h("option", { value: "", text: "—" }) : null,
      ...spec.options().map((t) => h("option", { value: t.value, text: `${t.zh} ${t.en}` })));
    input.value = value ?? "";
  } else if (spec.type === "checks") {
    const chosen = new Set(value || []);
    input = h("div", { class: "checks", id, dataset: { name: spec.name, initial: JSON.stringify(value || []) } },
      ...spec.options().map((t) => h("label", {},
        h("input", { type: "checkbox", value: t.value, checked: chosen.has(t.value), disabled: readonly }),
        `${t.zh} ${t.en}`)));
  } else if (spec.type === "category") {
    const listId = `${id}-list`;
    input = h("input", { id, name: spec.name, list: listId, autocomplete: "off" });
    input.value = value ?? "general";
  } else {
    const type = spec.type === "number" ? "number" : "text";
    input = h("input", { id, name: spec.name, type, step: spec.step });
    input.value = value ?? "";
    if (spec.type === "id") {
      input.readOnly = !creating;
      input.placeholder = "留空自动生成 blank = generated";
      input.classList.add("mono");
    }
  }
  if (readonly && input.tagName !== "DIV") input.disabled = true;
  const field = h("div", { class: `field${spec.wide ? " wide" : ""}`, dataset: { field: spec.name } },
    spec.type === "checks" ? h("span", { class: "label", text: spec.label }) : h("label", { for: id, text: spec.label }),
    input,
    spec.type === "category" ? h("datalist", { id: `${id}-list` }, ...state.vocab.faq_categories.map((c) => h("option", { value: c }))) : null,
    h("div", { class: "field-error" }));
  return field;
}

function readForm(form, specs) {
  const values = {};
  for (const spec of specs) {
    const field = $(`[data-field="${spec.name}"]`, form);
    if (spec.type === "checks") {
      // Keep the record's own order; newly ticked values go after it.
      const ticked = $$("input[type=checkbox]", field).filter((c) => c.checked).map((c) => c.value);
      const before = JSON.parse($(".checks", field).dataset.initial || "[]");
      values[spec.name] = [...before.filter((v) => ticked.includes(v)), ...ticked.filter((v) => !before.includes(v))];
      continue;
    }
    const raw = $("input, select, textarea", field).value;
    if (spec.type === "id") {
      if (raw.trim()) values.id = raw.trim();
    } else if (spec.type === "number") {
      values[spec.name] = raw.trim() === "" ? null : Number(raw);
    } else if (spec.nullable && raw === "") {
      values[spec.name] = null;
    } else {
      values[spec.name] = raw;
    }
  }
  return values;
}

function clearErrors(form) {
  $$(".field", form).forEach((f) => { f.classList.remove("invalid"); $(".field-error", f).textContent = ""; });
  const box = $(".form-errors", form);
  box.hidden = true;
  box.replaceChildren();
}

// Show the API's problems next to their fields; what staff typed stays in the form.
function showErrors(form, err) {
  clearErrors(form);
  const box = $(".form-errors", form);
  const loose = [];
  const fields = err.body.fields || [];
  for (const problem of fields) {
    const name = String(problem.field || "").split(".")[0];
    const field = $(`[data-field="${CSS.escape(name)}"]`, form);
    if (field) {
      field.classList.add("invalid");
      const slot = $(".field-error", field);
      slot.textContent = slot.textContent ? `${slot.textContent}; ${problem.problem}` : problem.problem;
    } else {
      loose.push(`${problem.field}: ${problem.problem}`);
    }
  }
  box.append(h("strong", { text: err.status === 422 ? "未保存：请修改标红的字段 Not saved — fix the marked fields" : `未保存 Not saved: ${describeError(err)}` }));
  if (err.status === 422 && !fields.length) loose.push(err.message);
  if (loose.length) box.append(h("ul", {}, ...loose.map((text) => h("li", { text }))));
  box.hidden = false;
  const first = $(".field.invalid input, .field.invalid textarea, .field.invalid select", form);
  if (first) first.focus();
}

// kind: "product" | "faq"; item: the API record (null: a new one); options.fromQuestion: an unanswered question.
function openRecordForm(section, kind, item, options = {}) {
  const container = options.container || $(".editor", section);
  const specs = kind === "product" ? PRODUCT_FIELDS : FAQ_FIELDS;
  const values = item ? item.record : (options.values || {});
  const creating = !item;
  const title = options.fromQuestion ? "把问题变成问答 Turn the question into an FAQ"
    : creating ? (kind === "product" ? "新增商品 New product" : "新增问答 New FAQ")
      : `${item.title_zh || item.title_en || item.id}`;
  const save = h("button", { type: "submit", class: "editor-only save", text: "保存 Save" });
  const remove = creating ? null : h("button", { type: "button", class: "danger editor-only delete", text: "删除 Delete" });
  const close = h("button", { type: "button", class: "secondary", text: "关闭 Close" });
  const form = h("form", { class: "record-form", dataset: { kind }, novalidate: true },
    h("div", { class: "form-errors", role: "alert", hidden: true }),
    h("div", { class: "fields" }, ...specs.map((spec) => fieldInput(spec, values[spec.name], creating))),
    h("div", { class: "actions" }, save, remove, h("span", { class: "spacer" }), close));
  const notes = [];
  if (options.fromQuestion) {
    const q = options.fromQuestion;
    notes.push(h("div", { class: "note" },
      h("div", { text: `顾客问题 Shopper asked (${q.count}×): “${q.text}”` }),
      q.draft.draft_from
        ? h("div", { text: `答案草稿来自最相近的 ${q.draft.draft_from}（相似度 ${Number(q.draft.draft_similarity || 0).toFixed(2)}），请核对后保存。Draft answer from the closest record — check it before saving.` })
        : h("div", { text: "请填写答案后保存。Write the answer, then save." })));
  }
  const meta = item ? h("div", { class: "meta", text: `${item.id} · 来源 source: ${item.source} · v${item.version} · ${item.updated_by || "—"} · ${when(item.updated_at)}` }) : null;
  container.replaceChildren(...[h("h3", { text: title }), meta, ...notes, form].filter(Boolean));
  container.hidden = false;

  close.addEventListener("click", () => {
    container.hidden = true;
    container.replaceChildren();
    if (section) delete state.selected[section.id];
  });
  if (remove) {
    let armed = null;
    remove.addEventListener("click", async () => {
      if (!armed) {
        remove.classList.add("armed");
        remove.textContent = "确认删除? Confirm delete";
        armed = setTimeout(() => { armed = null; remove.classList.remove("armed"); remove.textContent = "删除 Delete"; }, 5000);
        return;
      }
      clearTimeout(armed);
      await busy(remove, async () => {
        try {
          await api("DELETE", kbPath(`/records/${encodeURIComponent(item.id)}`));
          toast(`已删除 Deleted ${item.id}`);
          container.hidden = true;
          container.replaceChildren();
          loadRecords(section);
        } catch (err) { showErrors(form, err); }
      });
    });
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!editor()) return;
    const fields = readForm(form, specs);
    await busy(save, async () => {
      save.textContent = "保存中… Saving";
      try {
        let result;
        if (options.fromQuestion) {
          delete fields.kind;
          result = await api("POST", `/api/admin/unanswered/${options.fromQuestion.id}/faq`, fields);
          toast(`已创建问答 ${result.faq.id}，问题已解决 FAQ created; question resolved`);
          container.hidden = true;
          container.replaceChildren();
          loadUnanswered();
          refreshBadges();
          return;
        }
        if (creating) {
          result = await api("POST", kbPath("/records?source=console"), { kind, ...fields });
        } else {
          delete fields.id;
          result = await api("PATCH", kbPath(`/records/${encodeURIComponent(item.id)}?source=console`), fields);
        }
        const saved = result.records[0];
        const version = result.version;
        toast(version ? `已保存 Saved · ${saved ? saved.id : ""} · v${version}` : "没有变化 Nothing changed");
        if (saved) {
          state.selected[section.id] = saved.id;
          openRecordForm(section, kind, saved);
        }
        loadRecords(section);
      } catch (err) {
        showErrors(form, err);
      }
    });
  });
  const firstInput = $("input:not([readonly]), textarea, select", form);
  if (firstInput && creating) firstInput.focus();
  return form;
}

// ------------------------------------------------------------------ unanswered questions

$("#unanswered-status").addEventListener("change", () => loadUnanswered());
$("#unanswered-refresh").addEventListener("click", () => { loadUnanswered(); refreshBadges(); });

const REASONS = { low_score: "得分低 low score", fallback: "未识别 fallback" };
const STATUS = { open: "待处理 open", resolved: "已解决 resolved", dismissed: "已忽略 dismissed" };

async function loadUnanswered() {
  const status = $("#unanswered-status").value;
  const tbody = $("#unanswered-list tbody");
  try {
    const list = await api("GET", `/api/admin/unanswered?kb=${encodeURIComponent(state.kb)}&status=${status}`);
    tbody.replaceChildren(...(list.items.length ? list.items.map(unansweredRow)
      : [h("tr", {}, h("td", { colspan: 6, class: "empty", text: "没有待解答的问题 No questions here" }))]));
  } catch (err) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "empty error", text: describeError(err) })));
  }
}

function unansweredRow(q) {
  const actions = h("td", { class: "num" });
  if (q.status === "open") {
    actions.append(
      h("button", { type: "button", class: "small editor-only make-faq", text: "生成问答 Make FAQ", onclick: () => {
        openRecordForm(null, "faq", null, { container: $("#unanswered-editor"), values: q.draft, fromQuestion: q });
      } }),
      " ",
      h("button", { type: "button", class: "small secondary editor-only dismiss", text: "忽略 Dismiss", onclick: async (event) => {
        try {
          await busy(event.target, () => api("POST", `/api/admin/unanswered/${q.id}/dismiss`));
          toast("已忽略 Dismissed");
          loadUnanswered();
          refreshBadges();
        } catch (err) { toast(describeError(err), true); }
      } }));
  } else {
    actions.append(h("span", { class: "en-line", text: `${STATUS[q.status]}${q.faq_id ? ` → ${q.faq_id}` : ""}` }));
  }
  return h("tr", { dataset: { id: q.id } },
    h("td", {}, h("div", { text: q.text }), h("div", { class: "en-line", text: `${q.lang} · ${q.conversation_id}` })),
    h("td", { class: "num", text: String(q.count) }),
    h("td", { text: REASONS[q.reason] || q.reason }),
    h("td", {}, q.best_id ? [h("div", { class: "mono", text: `${q.best_id} · ${Number(q.best_score || 0).toFixed(2)}` }),
      h("div", { class: "en-line", text: q.best_title || "" })] : "—"),
    h("td", { class: "en-line", text: when(q.last_asked_at) }),
    actions);
}

// ------------------------------------------------------------------ sync, upload, history

async function loadSync() {
  const box = $("#sync-status");
  try {
    const [status, history] = await Promise.all([api("GET", kbPath("/status")), api("GET", kbPath("/history?limit=30"))]);
    renderStatus(box, status);
    renderHistory(history);
  } catch (err) {
    box.replaceChildren(h("p", { class: "error", text: describeError(err) }));
  }
}

function renderStatus(box, status) {
  const syncButton = status.directory
    ? h("button", { type: "button", class: "editor-only", id: "sync-now", text: "立即同步 Sync now", onclick: (event) => syncNow(event.target) })
    : null;
  const pill = status.at === null ? h("span", { class: "pill", text: "从未同步 never synced" })
    : status.ok ? h("span", { class: "pill ok", text: "成功 OK" }) : h("span", { class: "pill bad", text: "失败 Failed" });
  const rows = status.errors.map((e) => h("tr", {},
    h("td", { class: "mono", text: e.file || "" }),
    h("td", { class: "num", text: e.line ?? "" }),
    h("td", { class: "mono", text: e.record_id || "" }),
    h("td", { class: "mono", text: e.field || "" }),
    h("td", { text: e.message })));
  box.replaceChildren(...[
    h("h3", { text: "文件同步 File sync" }),
    h("div", { class: "status-line" }, pill,
      h("span", { text: `上次同步 Last sync: ${when(status.at)}` }),
      status.actor ? h("span", { class: "en-line", text: `by ${status.actor}` }) : null,
      h("span", { class: "spacer" }), syncButton),
    h("div", { class: "en-line", text: status.directory ? `文件夹 Folder: ${status.directory}` : "此知识库只在控制台/API 编辑 This knowledge base is edited in the console/API only" }),
    status.summary ? h("p", { text: status.summary }) : null,
    rows.length ? h("div", {},
      h("p", { class: "error", text: `上次同步有 ${rows.length} 个错误，知识库保持原样。The last sync found ${rows.length} problem(s); nothing was changed.` }),
      h("table", { class: "list sync-errors" },
        h("thead", {}, h("tr", {}, ...["文件 File", "行 Line", "编号 Record", "字段 Field", "问题 Problem"].map((t) => h("th", { text: t })))),
        h("tbody", {}, ...rows))) : null,
  ].filter(Boolean));
  $("#sync-flag").hidden = status.ok;
}

async function syncNow(button) {
  await busy(button, async () => {
    button.textContent = "同步中… Syncing";
    try {
      const result = await api("POST", kbPath("/sync"));
      const c = result;
      toast(`同步完成 Synced: +${c.added.length} ~${c.updated.length} -${c.deleted.length}`);
    } catch (err) {
      toast(`同步失败 Sync failed: ${err.message}`, true);
    }
  });
  loadSync();
}

function renderHistory(history) {
  const tbody = $("#history tbody");
  tbody.replaceChildren(...history.versions.map((v) => {
    const changes = [`+${v.added.length}`, `~${v.updated.length}`, `-${v.deleted.length}`].join(" ");
    const ids = [...v.added, ...v.updated, ...v.deleted].slice(0, 4).join(", ");
    const rollback = h("button", { type: "button", class: "small secondary editor-only", text: "回滚到此 Roll back", onclick: async (event) => {
      const button = event.target;
      if (!button.classList.contains("armed")) {
        button.classList.add("armed");
        button.textContent = `确认回滚到 v${v.version}? Confirm`;
        return;
      }
      try {
        const result = await busy(button, () => api("POST", kbPath("/rollback"), { version: v.version }));
        toast(`已回滚到 v${v.version} Rolled back (new version v${result.version ?? "—"})`);
      } catch (err) { toast(describeError(err), true); }
      loadSync();
    } });
    return h("tr", {},
      h("td", { class: "num", text: `v${v.version}` }),
      h("td", { class: "en-line", text: when(v.created_at) }),
      h("td", { text: v.actor }),
      h("td", { text: v.note ? `${v.action} (${v.note})` : v.action }),
      h("td", {}, h("span", { class: "mono", text: changes }), ids ? h("div", { class: "en-line", text: ids }) : null),
      h("td", { class: "num" }, rollback));
  }));
}

$("#upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("input[type=file]", event.target);
  const out = $("#upload-result");
  if (!input.files.length) { out.replaceChildren(h("p", { class: "error", text: "请选择文件 Choose a file first" })); return; }
  const form = new FormData();
  for (const file of input.files) form.append("file", file, file.name);
  await busy($("button", event.target), async () => {
    try {
      const result = await api("POST", kbPath("/upload"), undefined, { form });
      out.replaceChildren(...result.files.map((f) => h("p", { text: `✓ ${f.name}: +${f.change.added.length} ~${f.change.updated.length} -${f.change.deleted.length}${f.change.version ? ` (v${f.change.version})` : ""}` })));
      input.value = "";
      loadSync();
    } catch (err) {
      const problems = err.body.problems || [];
      out.replaceChildren(h("p", { class: "error", text: `上传失败 Upload failed: ${err.message}` }),
        ...problems.map((p) => h("p", { class: "error", text: p.text })));
    }
  });
});

// ------------------------------------------------------------------ start

(async () => {
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (!saved) { $("#token").focus(); return; }
  try { await login(saved); } catch (err) { logout(err.status === 401 ? "登录已失效，请重新登录 Session expired — log in again" : err.message); }
})();
