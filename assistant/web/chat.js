// The group chat playground: shoppers in two groups talk to the assistant through
// POST /api/chat/send. Every message is sent, with `mentioned` saying whether it @-mentions the
// assistant; the server's group layer decides what is answered. Group replies @-mention the
// shopper; private replies go to that shopper's private panel only.
"use strict";

const COLOURS = ["#d9822b", "#5b6ee1", "#c2456b", "#2a9d8f", "#8e5bd1", "#b5651d", "#3b82b0", "#9c4f96"];

const state = {
  assistant: "澜屿小助手",
  names: ["澜屿小助手", "assistant", "助手", "小助手"],
  policies: {},           // web group id (or "*") -> { product_questions, keywords }
  people: {
    "u-lin": { id: "u-lin", name: "小林", color: COLOURS[0] },
    "u-amy": { id: "u-amy", name: "Amy", color: COLOURS[1] },
    "u-wang": { id: "u-wang", name: "王姐", color: COLOURS[2] },
    "u-chen": { id: "u-chen", name: "陈先生", color: COLOURS[3] },
  },
  groups: [
    { id: "demo-group", name: "澜屿会员群", en: "LANYU Members", members: ["u-lin", "u-amy", "u-wang"] },
    { id: "demo-newbies", name: "澜屿新品体验群", en: "New product testers", members: ["u-lin", "u-chen"] },
  ],
  current: { group: "demo-group", shopper: "u-lin" },
  history: {},            // group id -> entries shown in that group
  privates: [],           // { to, group, text, time }
  waiting: {},            // group id -> requests the assistant is still answering
  unreadGroup: {},        // group id -> replies that arrived while another group was shown
  unreadPrivate: {},      // shopper id -> private messages not seen yet
};

const $ = (id) => document.getElementById(id);
const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

function group(id = state.current.group) { return state.groups.find((g) => g.id === id); }
function person(id = state.current.shopper) { return state.people[id]; }
function now() { return new Date().toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" }); }
function escapeRegExp(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

function history(groupId) {
  if (!state.history[groupId]) {
    const g = group(groupId);
    state.history[groupId] = [{ kind: "intro" }];
  }
  return state.history[groupId];
}

/** A message @-mentions the assistant when it names one of its names after "@". */
function mentionsAssistant(text) {
  const lowered = text.toLowerCase();
  return state.names.some((name) => name && lowered.includes("@" + name.toLowerCase()));
}

/** Text with every @-mention of the assistant or a shopper highlighted (the current shopper's own in yellow). */
function mentionText(node, text) {
  const names = [...state.names, ...Object.values(state.people).map((p) => p.name)]
    .filter(Boolean).sort((a, b) => b.length - a.length);
  const pattern = new RegExp("@(" + names.map(escapeRegExp).join("|") + ")", "gi");
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) node.append(text.slice(last, match.index));
    const isMe = match[1] === person().name;
    node.append(el("span", "at" + (isMe ? " me" : ""), match[0]));
    last = match.index + match[0].length;
  }
  if (last < text.length) node.append(text.slice(last));
}

function avatar(p, bot = false) {
  const node = el("div", "avatar", bot ? "澜" : p.name.slice(0, 1));
  if (!bot) node.style.background = p.color;
  return node;
}

// ------------------------------------------------------------------ rendering

function renderGroups() {
  const list = $("groups");
  list.replaceChildren();
  for (const g of state.groups) {
    const item = el("li");
    item.dataset.chat = g.id;
    item.tabIndex = 0;
    item.setAttribute("role", "button");
    item.classList.toggle("active", g.id === state.current.group);
    const label = el("div", "label");
    label.append(el("div", "title", g.name), el("div", "meta", `${g.en} · ${g.members.length} 人`));
    item.append(el("div", "group-icon", g.name.slice(2, 3) || "群"), label);
    if (state.unreadGroup[g.id]) item.append(el("span", "badge", String(state.unreadGroup[g.id])));
    item.addEventListener("click", () => selectGroup(g.id));
    item.addEventListener("keydown", (e) => { if (e.key === "Enter") selectGroup(g.id); });
    list.append(item);
  }
}

function renderMembers() {
  const g = group();
  const list = $("members");
  list.replaceChildren();
  $("member-count").textContent = `(${g.members.length})`;
  for (const id of g.members) {
    const p = person(id);
    const item = el("li");
    item.dataset.user = id;
    item.tabIndex = 0;
    item.setAttribute("role", "button");
    item.classList.toggle("active", id === state.current.shopper);
    const label = el("div", "label");
    const privateCount = state.privates.filter((m) => m.to === id).length;
    label.append(el("div", "title", p.name),
      el("div", "meta", privateCount ? `私信 private ${privateCount}` : `id ${id}`));
    item.append(avatar(p), label);
    if (id === state.current.shopper) item.append(el("span", "tag", "发言中 speaking"));
    else if (state.unreadPrivate[id]) item.append(el("span", "badge", String(state.unreadPrivate[id])));
    item.addEventListener("click", () => selectShopper(id));
    item.addEventListener("keydown", (e) => { if (e.key === "Enter") selectShopper(id); });
    list.append(item);
  }
}

function groupRule(g) {
  const policy = state.policies[g.id] || state.policies["*"];
  const parts = [`@${state.assistant} 才回答 · answers when @-mentioned`];
  if (policy && policy.product_questions) parts.push("商品问题免 @ · product questions answered without @");
  const keywords = policy ? policy.keywords : [];
  if (keywords && keywords.length) parts.push(`关键词 keywords: ${keywords.join(" / ")}`);
  return parts.join(" | ");
}

function renderMessages() {
  const g = group();
  $("group-title").textContent = `${g.name} ${g.en} (${g.members.length})`;
  $("group-rule").textContent = groupRule(g);
  const box = $("messages");
  box.replaceChildren();
  for (const entry of history(g.id)) {
    if (entry.kind === "intro") {
      box.append(el("div", "system", `${g.name} · 左侧选择发言人,@${state.assistant} 提问 — ` +
        "pick who speaks on the left, @ the assistant to ask"));
      continue;
    }
    if (entry.kind === "system") { box.append(el("div", "system", entry.text)); continue; }
    const bot = entry.kind === "bot";
    const p = bot ? null : person(entry.from);
    const row = el("div", "msg" + (bot ? " bot" : "") + (!bot && entry.from === state.current.shopper ? " self" : ""));
    row.dataset.kind = entry.kind;
    if (bot) row.dataset.to = entry.to; else row.dataset.from = entry.from;
    if (entry.state) row.dataset.state = entry.state;
    const body = el("div", "body");
    const name = el("div", "name");
    name.append(bot ? `${state.assistant} · 助手 Bot` : p.name, el("span", "", entry.time || ""));
    const bubble = el("div", "bubble");
    mentionText(bubble, entry.text);
    body.append(name, bubble);
    if (entry.note) body.append(el("div", "note", entry.note));
    row.append(bot ? avatar(null, true) : avatar(p), body);
    box.append(row);
  }
  if (state.waiting[g.id]) box.append(el("div", "typing", `${state.assistant} 正在输入… · typing`));
  box.scrollTop = box.scrollHeight;
}

function renderPrivate() {
  const p = person();
  $("private-title").textContent = `${state.assistant} ↔ ${p.name} · 只有 ${p.name} 能看到 (only ${p.name} sees these)`;
  const box = $("private");
  box.replaceChildren();
  box.dataset.user = p.id;
  const mine = state.privates.filter((m) => m.to === p.id);
  if (!mine.length) {
    box.append(el("div", "empty",
      `${p.name} 还没有私信。订单等个人信息会私信发到这里。\nNo private messages for ${p.name} yet — order details arrive here.`));
    return;
  }
  for (const message of mine) {
    const card = el("div", "pm");
    card.dataset.group = message.group;
    card.append(el("div", "from", `${state.assistant} → ${p.name} · 来自「${group(message.group).name}」 · ${message.time}`));
    const body = el("div", "text");
    mentionText(body, message.text);
    card.append(body);
    box.append(card);
  }
  box.scrollTop = box.scrollHeight;
}

function renderSpeaker() {
  const p = person();
  const node = $("speaker");
  node.replaceChildren(avatar(p), "以 ", el("b", "", p.name), ` 的身份在「${group().name}」发言 · speaking as ${p.name}`);
}

function render() {
  state.unreadGroup[state.current.group] = 0;
  state.unreadPrivate[state.current.shopper] = 0;
  renderGroups();
  renderMembers();
  renderMessages();
  renderPrivate();
  renderSpeaker();
}

// ------------------------------------------------------------------ actions

function selectGroup(id) {
  state.current.group = id;
  if (!group(id).members.includes(state.current.shopper)) state.current.shopper = group(id).members[0];
  render();
}

function selectShopper(id) {
  state.current.shopper = id;
  render();
  $("text").focus();
}

function addShopper(event) {
  event.preventDefault();
  const input = $("new-name");
  const name = input.value.trim();
  const g = group();
  $("add-error").textContent = "";
  if (!name) { $("add-error").textContent = "请填写昵称 · enter a name"; return; }
  const existing = Object.values(state.people).find((p) => p.name === name);
  if (existing && g.members.includes(existing.id)) {
    $("add-error").textContent = `${name} 已在群里 · already in this group`;
    selectShopper(existing.id);
    return;
  }
  let p = existing;
  if (!p) {
    const id = "u-" + Math.random().toString(16).slice(2, 10);
    p = { id, name, color: COLOURS[Object.keys(state.people).length % COLOURS.length] };
    state.people[id] = p;
  }
  g.members.push(p.id);
  history(g.id).push({ kind: "system", text: `${name} 加入了群聊 · ${name} joined the group` });
  input.value = "";
  selectShopper(p.id);
}

function insertMention() {
  const input = $("text");
  const tag = "@" + state.assistant;
  if (!mentionsAssistant(input.value)) {
    const at = input.selectionStart ?? input.value.length;
    const before = input.value.slice(0, at);
    const after = input.value.slice(at);
    const spaced = (before && !before.endsWith(" ") ? " " : "") + tag + " ";
    input.value = before + spaced + after.replace(/^ /, "");
    const caret = (before + spaced).length;
    input.setSelectionRange(caret, caret);
  }
  input.focus();
}

async function send(event) {
  event.preventDefault();
  const input = $("text");
  const text = input.value;
  if (!text.trim()) return;
  const g = group();
  const me = person();
  const mentioned = mentionsAssistant(text);
  const entry = { kind: "shopper", from: me.id, text, time: now(), state: "pending" };
  history(g.id).push(entry);
  if (mentioned) state.waiting[g.id] = (state.waiting[g.id] || 0) + 1;
  input.value = "";
  render();
  try {
    const response = await fetch("/api/chat/send", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ chat_id: g.id, user_id: me.id, user_name: me.name, text, mentioned }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      entry.state = "failed";
      entry.note = `发送失败 · not sent: ${body.error || response.status}`;
    } else {
      receive(g.id, entry, body.replies || [], mentioned);
    }
  } catch (problem) {
    entry.state = "failed";
    entry.note = "网络错误,请稍后再试 · network error, please try again";
  } finally {
    if (mentioned) state.waiting[g.id] -= 1;
    render();
  }
}

function receive(groupId, entry, replies, mentioned) {
  if (!replies.length) {
    entry.state = mentioned ? "unanswered" : "ignored";
    entry.note = mentioned
      ? "助手没有回复(重复、太频繁,或已转人工、等工作人员回复) · no reply (a repeat, too fast, or waiting for staff after a handoff)"
      : "未 @ 助手,助手不回复 · not addressed to the assistant — no reply";
    return;
  }
  entry.state = "answered";
  if (!mentioned) entry.note = "未 @,按本群规则回答 · answered by this group's rule";
  for (const reply of replies) showReply(groupId, reply);
}

/** One reply in the group (it @-mentions its shopper) or in that shopper's private panel. */
function showReply(groupId, reply) {
  if (reply.private) {
    state.privates.push({ to: reply.to_user, group: groupId, text: reply.text, time: now() });
    if (reply.to_user !== state.current.shopper) {
      state.unreadPrivate[reply.to_user] = (state.unreadPrivate[reply.to_user] || 0) + 1;
    }
  } else {
    history(groupId).push({ kind: "bot", to: reply.to_user, text: reply.text, time: now() });
    if (groupId !== state.current.group) state.unreadGroup[groupId] = (state.unreadGroup[groupId] || 0) + 1;
  }
}

// ------------------------------------------------------------------ staff replies
// Staff answering a hand-off from the console reach the page through GET /api/chat/updates:
// each group is polled from the newest reply seen (a fresh page starts at "now").
const staffPoll = { after: {}, every: 2000 };

async function pollStaffReplies() {
  for (const g of state.groups) {
    try {
      const params = new URLSearchParams({ chat_id: g.id });
      if (staffPoll.after[g.id] !== undefined) params.set("after", staffPoll.after[g.id]);
      const response = await fetch(`/api/chat/updates?${params}`);
      if (!response.ok) continue;
      const body = await response.json();
      for (const reply of body.replies || []) showReply(g.id, reply);
      staffPoll.after[g.id] = body.last;
      if ((body.replies || []).length) render();
    } catch (problem) {
      // The next poll tries again; the page keeps working meanwhile.
    }
  }
  setTimeout(pollStaffReplies, staffPoll.every);
}

// ------------------------------------------------------------------ photos
// A photo goes out like a platform's image message: POST /api/chat/send with `image` (base64).
// It is addressed to the assistant (as a photo sent in reply to it would be), so the after-sales
// flow keeps it with the shopper's ticket. Photos are shrunk here to fit the server's limit;
// anything that is no image is sent as it is, and the server's refusal is shown.
const photoUpload = { maxBytes: 700 * 1024, maxSide: 1600 };

function readAsDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

async function shrinkPhoto(file) {
  if (!file.type.startsWith("image/") || file.size <= photoUpload.maxBytes) return readAsDataUrl(file);
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, photoUpload.maxSide / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    for (const quality of [0.85, 0.7, 0.55, 0.4]) {
      const url = canvas.toDataURL("image/jpeg", quality);
      if ((url.length - url.indexOf(",") - 1) * 0.75 <= photoUpload.maxBytes) return url;
    }
  } catch (problem) {
    // A format the browser cannot draw (HEIC in most browsers): the server judges the original.
  }
  return readAsDataUrl(file);
}

async function sendPhoto() {
  const picker = $("photo-file");
  const file = picker.files[0];
  picker.value = "";
  if (!file) return;
  const g = group();
  const me = person();
  const entry = { kind: "shopper", from: me.id, text: `[照片 photo] ${file.name}`, time: now(), state: "pending" };
  history(g.id).push(entry);
  state.waiting[g.id] = (state.waiting[g.id] || 0) + 1;
  render();
  try {
    const image = await shrinkPhoto(file);
    const response = await fetch("/api/chat/send", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ chat_id: g.id, user_id: me.id, user_name: me.name, text: "", mentioned: true, image }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.ok) {
      receive(g.id, entry, body.replies || [], true);
    } else {
      entry.state = "failed";
      entry.note = response.status === 413
        ? "图片太大 · the picture is too large"
        : `发送失败 · not sent: ${body.error || response.status}`;
    }
  } catch (problem) {
    entry.state = "failed";
    entry.note = "网络错误,请稍后再试 · network error, please try again";
  } finally {
    state.waiting[g.id] -= 1;
    render();
  }
}

$("photo").addEventListener("click", () => $("photo-file").click());
$("photo-file").addEventListener("change", sendPhoto);

async function loadInfo() {
  try {
    const response = await fetch("/api/chat/info");
    if (!response.ok) return;
    const info = await response.json();
    if (info.assistant_name) state.assistant = info.assistant_name;
    if (Array.isArray(info.assistant_names) && info.assistant_names.length) state.names = info.assistant_names;
    state.policies = info.groups || {};
    if (info.keywords && info.keywords.length && !state.policies["*"]) {
      state.policies["*"] = { product_questions: false, keywords: info.keywords };
    }
  } catch (problem) {
    // The defaults above match the demo's settings.
  }
  $("mention").textContent = "@" + state.assistant;
  render();
  document.body.dataset.ready = "1";
}

$("composer").addEventListener("submit", send);
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) send(event);
});
$("mention").addEventListener("click", insertMention);
$("add-shopper").addEventListener("submit", addShopper);
render();
loadInfo();
pollStaffReplies();
