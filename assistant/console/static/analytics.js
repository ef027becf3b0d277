// Staff console, "数据 Analytics" tab: KPI tiles, SVG charts and tables over /api/admin/analytics.
// Uses console.js's helpers (state, api, h, $, toast); charts are plain SVG, no library, so the
// console works without internet. Text goes in with textContent only.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const analytics = { data: null };

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

const pct = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`);
const minutes = (value) => (value === null || value === undefined ? "—" : `${value.toFixed(1)} 分钟 min`);
const count = (value) => (value === null || value === undefined ? "—" : String(value));

function analyticsParams() {
  const params = new URLSearchParams();
  const from = $("#analytics-from").value;
  const to = $("#analytics-to").value;
  const group = $("#analytics-group").value;
  if (from) params.set("from", from);
  if (to) params.set("to", to);
  if (group) params.set("group", group);
  return params;
}

async function loadAnalytics() {
  const status = $("#analytics-status");
  status.textContent = "加载中… Loading…";
  try {
    const data = await api("GET", `/api/admin/analytics?${analyticsParams()}`);
    analytics.data = data;
    // The server picks the default range in the brand's time zone, not the browser's.
    $("#analytics-from").value = data.from;
    $("#analytics-to").value = data.to;
    status.textContent = `${data.from} ~ ${data.to} · ${data.timezone}`;
    renderGroupFilter(data);
    renderTiles(data.totals);
    renderMessagesChart(data.days);
    renderRateChart(data.days);
    renderGroupTable(data.groups);
    renderQuestions(data.top_questions);
  } catch (err) {
    status.textContent = "";
    toast(`无法加载数据 Could not load analytics: ${describeError(err)}`, true);
  }
}

function renderGroupFilter(data) {
  const select = $("#analytics-group");
  const chosen = select.value;
  const options = [h("option", { value: "", text: "全部群 All groups" })];
  for (const group of data.known_groups) options.push(h("option", { value: group, text: group }));
  select.replaceChildren(...options);
  select.value = data.known_groups.includes(chosen) ? chosen : "";
}

function renderTiles(t) {
  const tiles = [
    ["消息 Messages", count(t.messages), `${t.shoppers} 位顾客 shoppers`],
    ["未解答率 Unanswered", pct(t.unanswered_rate), `${t.unanswered + t.failed} 条未解答 unanswered`],
    ["转人工 Handoffs", count(t.handoffs), `转人工率 rate ${pct(t.handoff_rate)}`],
    ["首次回复 First reply", minutes(t.first_reply_minutes_median),
      `中位数 median · 平均 avg ${minutes(t.first_reply_minutes_avg)}`],
    ["处理完成 Closed in", minutes(t.close_minutes_median), `${t.handoffs_closed} 已关闭 closed`],
    ["推荐点击率 CTR", pct(t.ctr), `${t.clicks} 点击 clicks / ${t.recommendations} 推荐 recs`],
  ];
  $("#analytics-tiles").replaceChildren(...tiles.map(([label, value, note]) =>
    h("div", { class: "tile" },
      h("div", { class: "tile-label", text: label }),
      h("div", { class: "tile-value", text: value }),
      h("div", { class: "tile-note", text: note }))));
}

// Chart frame: width 640 x height 220 with margins for the axis labels; scales to its box.
const CHART = { w: 640, h: 220, left: 44, right: 12, top: 12, bottom: 28 };

function chartFrame(maxValue, label) {
  const { w, h: height, left, right, top, bottom } = CHART;
  const root = svg("svg", {
    viewBox: `0 0 ${w} ${height}`, class: "chart-svg", role: "img", "aria-label": label,
  });
  const plotH = height - top - bottom;
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    root.append(svg("line", { x1: left, x2: w - right, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis",
      text: label === "rate" ? `${Math.round((maxValue * i) / 4 * 100)}%` : formatTick((maxValue * i) / 4) }));
  }
  return root;
}

function formatTick(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function xLabels(root, days, x) {
  const every = Math.max(1, Math.ceil(days.length / 8));
  days.forEach((day, i) => {
    if (i % every !== 0 && i !== days.length - 1) return;
    root.append(svg("text", { x: x(i), y: CHART.h - 8, "text-anchor": "middle", class: "axis",
      text: day.day.slice(5) }));
  });
}

function renderMessagesChart(days) {
  const box = $("#chart-messages");
  const peak = Math.max(4, ...days.map((d) => d.messages));
  const max = Math.ceil(peak / 4) * 4;
  const root = chartFrame(max, "messages per day");
  const { w, h: height, left, right, top, bottom } = CHART;
  const plotH = height - top - bottom;
  const slot = (w - left - right) / Math.max(1, days.length);
  const barW = Math.max(2, Math.min(36, slot * 0.7));
  const x = (i) => left + slot * i + slot / 2;
  days.forEach((day, i) => {
    const answeredH = (plotH * (day.messages - day.unanswered - day.failed)) / max;
    const missedH = (plotH * (day.unanswered + day.failed)) / max;
    const base = top + plotH;
    const tip = `${day.day}: ${day.messages} 消息 messages, ${day.unanswered + day.failed} 未解答 unanswered`;
    const bar = svg("g", { class: "bar", "data-day": day.day },
      svg("title", { text: tip }),
      svg("rect", { x: x(i) - barW / 2, y: base - answeredH, width: barW, height: answeredH, class: "bar-ok" }),
      svg("rect", { x: x(i) - barW / 2, y: base - answeredH - missedH, width: barW, height: missedH,
        class: "bar-missed" }));
    root.append(bar);
  });
  xLabels(root, days, x);
  box.replaceChildren(root, legend([["bar-ok", "已解答 answered"], ["bar-missed", "未解答 unanswered"]]));
}

function renderRateChart(days) {
  const box = $("#chart-unanswered");
  const rates = days.map((d) => d.unanswered_rate);
  const peak = Math.max(0.2, ...rates.filter((r) => r !== null));
  const max = Math.min(1, Math.ceil(peak * 5) / 5);
  const root = chartFrame(max, "rate");
  const { w, h: height, left, right, top, bottom } = CHART;
  const plotH = height - top - bottom;
  const step = (w - left - right) / Math.max(1, days.length);
  const x = (i) => left + step * i + step / 2;
  const y = (rate) => top + plotH - (plotH * Math.min(rate, max)) / max;
  // Days without messages have no rate: the line breaks there instead of dropping to zero.
  let path = "";
  let pen = false;
  days.forEach((day, i) => {
    if (day.unanswered_rate === null) { pen = false; return; }
    path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(day.unanswered_rate).toFixed(1)} `;
    pen = true;
  });
  if (path) root.append(svg("path", { d: path.trim(), class: "rate-line" }));
  days.forEach((day, i) => {
    if (day.unanswered_rate === null) return;
    root.append(svg("circle", { cx: x(i), cy: y(day.unanswered_rate), r: 3.5, class: "rate-dot",
      "data-day": day.day }, svg("title", { text: `${day.day}: ${pct(day.unanswered_rate)}` })));
  });
  xLabels(root, days, x);
  box.replaceChildren(root);
}

function legend(items) {
  return h("div", { class: "legend" }, items.map(([cls, label]) =>
    h("span", {}, h("i", { class: `swatch ${cls}` }), label)));
}

function renderGroupTable(groups) {
  const tbody = $("#analytics-groups tbody");
  if (!groups.length) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 10, class: "empty",
      text: "这段时间没有顾客消息 No shopper messages in this period" })));
    return;
  }
  tbody.replaceChildren(...groups.map((g) => h("tr", { "data-group": g.group },
    h("td", { class: "mono", text: g.group }),
    h("td", { class: "num", text: count(g.messages) }),
    h("td", { class: "num", text: count(g.shoppers) }),
    h("td", { class: "num", text: pct(g.unanswered_rate) }),
    h("td", { class: "num", text: count(g.handoffs) }),
    h("td", { class: "num", text: pct(g.handoff_rate) }),
    h("td", { class: "num", text: minutes(g.first_reply_minutes_median) }),
    h("td", { class: "num", text: count(g.recommendations) }),
    h("td", { class: "num", text: count(g.clicks) }),
    h("td", { class: "num", text: pct(g.ctr) }))));
}

function renderQuestions(questions) {
  const tbody = $("#analytics-questions tbody");
  if (!questions.length) {
    tbody.replaceChildren(h("tr", {}, h("td", { colspan: 4, class: "empty", text: "暂无 None yet" })));
    return;
  }
  tbody.replaceChildren(...questions.map((q) => h("tr", {},
    h("td", { text: q.question }),
    h("td", { class: "num", text: count(q.count) }),
    h("td", { class: "num", text: pct(q.unanswered_rate) }),
    h("td", { class: "num", text: count(q.groups) }))));
}

async function downloadCsv(kind, button) {
  const params = analyticsParams();
  params.set("kind", kind);
  await busy(button, async () => {
    try {
      const response = await fetch(`/api/admin/analytics.csv?${params}`, {
        headers: { Authorization: `Bearer ${state.token}` },
      });
      if (!response.ok) {
        let message = `HTTP ${response.status}`;
        try { message = (await response.json()).error || message; } catch (err) { /* not JSON */ }
        throw new Error(message);
      }
      const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
      const url = URL.createObjectURL(await response.blob());
      const link = h("a", { href: url, download: name ? name[1] : `analytics-${kind}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      toast(`导出失败 Export failed: ${err.message}`, true);
    }
  });
}

$(".tabs button[data-tab=analytics]").addEventListener("click", () => loadAnalytics());
$("#analytics-form").addEventListener("submit", (event) => { event.preventDefault(); loadAnalytics(); });
$("#analytics-group").addEventListener("change", () => loadAnalytics());
$("#analytics-csv").addEventListener("click", (event) => downloadCsv("daily", event.currentTarget));
$("#analytics-questions-csv").addEventListener("click",
  (event) => downloadCsv("questions", event.currentTarget));
