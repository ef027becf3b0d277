// Staff console, 转人工 Handoffs tab: shoppers waiting for a person, their conversation and
// profile, replying in the group (@) or privately, and closing. Uses console.js's helpers
// (api, h, $, toast, busy, describeError, when, state); built with textContent only.
"use strict";

const handoffs = { items: [], fetchedAt: 0, selected: null, escalateAfter: 600, timer: null };

const HANDOFF_REASONS = {
  shopper_request: "顾客要求 Asked",
  offer_accepted: "接受转人工 Accepted offer",
  repeated_failure: "多次未理解 Not understood twice",
  low_confidence: "识别不确定 Low confidence",
  anger: "投诉/不满 Complaint",
};
const HANDOFF_STAGES = {
  open: "等待中 Waiting",
  claimed: "已接手 Claimed",
  answered: "已回复 Answered",
  closed: "已结束 Closed",
};
const SPEAKERS = { shopper: "顾客 Shopper", assistant: "助手 Assistant", staff: "人工 Staff" };

/** "3分05秒 · 3m 05s": how long a shopper has waited. */
function waitText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600), minutes = Math.floor((s % 3600) / 60), rest = String(s % 60).padStart(2, "0");
  if (hours) return `${hours}小时${minutes}分 · ${hours}h ${String(minutes).padStart(2, "0")}m`;
  return `${minutes}分${rest}秒 · ${minutes}m ${rest}s`;
}

/** Waiting seconds now: the server's figure plus the time since it was fetched, while unanswered. */
function waitingNow(item) {
  const ticking = item.status === "open" && !item.answered_at;
  return item.waiting_seconds + (ticking ? (Date.now() - handoffs.fetchedAt) / 1000 : 0);
}

async function loadHandoffs() {
  const tbody = $("#handoff-list tbody");
  try {
    const list = await api("GET", "/api/admin/handoffs?closed=20");
    handoffs.items = list.items;
    handoffs.fetchedAt = Date.now();
    handoffs.escalateAfter = list.escalate_after_seconds;
    $("#handoff-count").textContent = String(list.open);
    $("#handoff-count").hidden = list.open === 0;
    $("#handoff-count").classList.toggle("bad", list.escalated > 0);
    $("#handoff-rule").textContent =
      `超过 ${Math.round(list.escalate_after_seconds / 60)} 分钟未回复将升级 · escalated after ${Math.round(list.escalate_after_seconds / 60)} min without a reply`;
    if (!tbody) return;
    tbody.replaceChildren(...(list.items.length ? list.items.map(handoffRow)
      : [h("tr", {}, h("td", { colspan: 5, class: "empty", text: "没有等待人工的顾客 Nobody is waiting" }))]));
  } catch (err) {
    if (tbody) tbody.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "empty error", text: describeError(err) })));
  }
}

function handoffRow(item) {
  const status = h("td", {}, h("span", { class: `pill stage-${item.stage}`, text: HANDOFF_STAGES[item.stage] || item.stage }));
  if (item.escalated) status.append(" ", h("span", { class: "pill bad escalated", text: "已升级 Escalated" }));
  return h("tr", {
    class: `clickable${handoffs.selected === item.id ? " selected" : ""}${item.status === "closed" ? " closed" : ""}`,
    dataset: { id: item.id },
    onclick: () => openHandoff(item.id),
  },
  h("td", {}, h("div", { text: item.user_name || item.user_id }), h("div", { class: "en-line", text: item.text })),
  h("td", { class: "en-line", text: `${item.platform} · ${item.chat_id}` }),
  h("td", { text: HANDOFF_REASONS[item.reason] || item.reason }),
  h("td", { class: "num waiting", dataset: { id: item.id }, text: waitText(waitingNow(item)) }),
  status);
}

function tickWaiting() {
  for (const cell of $$("#handoff-list td.waiting")) {
    const item = handoffs.items.find((i) => String(i.id) === cell.dataset.id);
    if (item) cell.textContent = waitText(waitingNow(item));
  }
}

async function openHandoff(id) {
  handoffs.selected = id;
  $$("#handoff-list tbody tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.id === String(id)));
  const box = $("#handoff-detail");
  box.hidden = false;
  box.replaceChildren(h("div", { class: "empty", text: "加载中 Loading…" }));
  try {
    renderHandoff(await api("GET", `/api/admin/handoffs/${id}`));
  } catch (err) {
    box.replaceChildren(h("div", { class: "empty error", text: describeError(err) }));
  }
}

function renderHandoff(detail) {
  const item = detail.handoff;
  const box = $("#handoff-detail");
  const lines = detail.transcript.map((line) => h("div", { class: `line ${line.speaker}` },
    h("div", { class: "who-line", text: `${SPEAKERS[line.speaker] || line.speaker}${line.staff ? ` · ${line.staff}` : ""} · ${when(line.time)}` }),
    h("div", { class: "said", text: line.text })));
  const transcript = h("div", { class: "transcript", id: "handoff-transcript" },
    detail.transcript_error ? h("div", { class: "note", text: `对话记录暂不可用 Conversation unavailable: ${detail.transcript_error}` }) : null,
    lines.length ? lines : h("div", { class: "empty", text: "暂无对话 No messages yet" }));
  const profile = detail.profile
    ? h("div", { class: "card profile", id: "handoff-profile" }, h("h3", { text: "顾客档案 Profile" }),
        ...Object.entries(detail.profile).map(([key, value]) =>
          h("div", {}, h("span", { class: "en-line", text: `${key}: ` }), typeof value === "object" ? JSON.stringify(value) : String(value))))
    : h("div", { class: "en-line", id: "handoff-profile", text: "没有顾客档案 No profile on file" });
  const header = h("div", {},
    h("h3", { text: `${item.user_name || item.user_id} · #${item.id}` }),
    h("div", { class: "meta", text: `${item.platform} · ${item.chat_id} · ${HANDOFF_REASONS[item.reason] || item.reason} · ${HANDOFF_STAGES[item.stage]}` +
      (item.escalated ? " · 已升级 Escalated" : "") + (item.claimed_by ? ` · ${item.claimed_by}` : "") }));
  const parts = [header, profile, transcript];
  if (item.status === "open") parts.push(replyForm(item));
  box.replaceChildren(...parts);
  transcript.scrollTop = transcript.scrollHeight;
}

function replyForm(item) {
  const text = h("textarea", { id: "handoff-text", placeholder: "回复顾客 Reply to the shopper", maxlength: 2000 });
  const inGroup = item.chat_type === "group";
  const choice = h("div", { class: "checks", role: "radiogroup" },
    h("label", {}, h("input", { type: "radio", name: "handoff-where", value: "group", checked: inGroup, disabled: !inGroup }), "群内 @顾客 In group (@)"),
    h("label", {}, h("input", { type: "radio", name: "handoff-where", value: "private", checked: !inGroup }), "私聊 Private"));
  const send = h("button", { type: "submit", id: "handoff-send", text: "发送 Send" });
  const close = h("button", { type: "button", class: "danger", id: "handoff-close", text: "结束并交还助手 Close",
    onclick: (event) => closeHandoff(event.target, item.id) });
  return h("form", { class: "reply editor-only", id: "handoff-reply", onsubmit: (event) => {
    event.preventDefault();
    replyHandoff(send, item.id, text, $("input[name=handoff-where]:checked", event.target).value === "private");
  } }, text, choice, h("div", { class: "actions" }, send, h("span", { class: "spacer" }), close));
}

async function replyHandoff(button, id, textarea, isPrivate) {
  const text = textarea.value.trim();
  if (!text) return;
  try {
    const sent = await busy(button, () => api("POST", `/api/admin/handoffs/${id}/reply`, { text, private: isPrivate }));
    textarea.value = "";
    toast(sent.delivered ? (sent.changed_by_guard ? "已发送（合规已调整措辞）Sent, wording adjusted" : "已发送 Sent")
      : "平台未送达，已记录 Not delivered; recorded", !sent.delivered);
    await Promise.all([openHandoff(id), loadHandoffs()]);
  } catch (err) { toast(describeError(err), true); }
}

async function closeHandoff(button, id) {
  try {
    await busy(button, () => api("POST", `/api/admin/handoffs/${id}/close`));
    toast("已结束，助手恢复回答 Closed; the assistant answers again");
    await Promise.all([openHandoff(id), loadHandoffs()]);
  } catch (err) { toast(describeError(err), true); }
}

// Refresh the list (and its badge) every few seconds once logged in; tick waiting times each second.
$("#handoff-refresh").addEventListener("click", loadHandoffs);
$$(".tabs button[data-tab=handoffs]").forEach((b) => b.addEventListener("click", loadHandoffs));
setInterval(tickWaiting, 1000);
setInterval(() => { if (state.me) loadHandoffs(); }, 5000);
