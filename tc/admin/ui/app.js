// atcc-tc admin page: plain JavaScript over the JSON API, no build step.
// Every value from the coordinator is written with textContent, never as
// HTML: application ids, names and errors come from clients.
"use strict";

const $ = (sel) => document.querySelector(sel);
let nextCursor = "";
let current = null; // the transaction shown

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function statusClass(s) {
  if (/Failed|Timeout$/.test(s) && s !== "TimeoutRollbacking") return "status failed";
  if (/Retrying/.test(s)) return "status retrying";
  if (/^(Committed|Rollbacked|TimeoutRollbacked)$/.test(s)) return "status ended";
  return "status";
}

function age(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m";
  if (s < 86400) return Math.floor(s / 3600) + "h" + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d";
}

function say(msg, isError) {
  const m = $("#message");
  m.textContent = msg;
  m.className = isError ? "error" : "";
  m.hidden = false;
}

async function api(path, opts) {
  const r = await fetch(path, Object.assign({ credentials: "same-origin" }, opts || {}));
  let body = null;
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  if (!r.ok) throw new Error((body && body.error) || (r.status + " " + r.statusText));
  return body;
}

async function loadList(append) {
  const q = new URLSearchParams();
  if ($("#f-status").value) q.set("status", $("#f-status").value);
  if ($("#f-app").value) q.set("application", $("#f-app").value);
  if ($("#f-age").value) q.set("min_age", $("#f-age").value);
  if (append && nextCursor) q.set("after", nextCursor);
  const data = await api("api/transactions?" + q.toString());
  const tbody = $("#tx-list tbody");
  if (!append) tbody.replaceChildren();
  for (const t of data.transactions) {
    const tr = el("tr");
    tr.dataset.xid = t.xid;
    const a = el("a", t.xid);
    a.href = "#/tx/" + encodeURIComponent(t.xid);
    const xidCell = el("td", null, "mono");
    xidCell.append(a);
    const st = el("td");
    st.append(el("span", t.status, statusClass(t.status)));
    tr.append(xidCell, st, el("td", t.application_id), el("td", t.name), el("td", age(t.age_ms)), el("td", t.attempts));
    tbody.append(tr);
  }
  nextCursor = data.next;
  $("#next-page").hidden = !data.next;
  $("#empty").hidden = tbody.children.length > 0;
}

async function loadDetail(xid) {
  const t = await api("api/transactions/" + encodeURIComponent(xid));
  current = t;
  $("#detail-xid").textContent = t.xid;
  const info = $("#detail-info");
  info.replaceChildren();
  const st = el("span", t.status, statusClass(t.status));
  st.id = "detail-status";
  const rows = [
    ["Status", st], ["Application", t.application_id], ["Service group", t.tx_service_group],
    ["Name", t.name], ["Begun", t.begin + " (" + age(t.age_ms) + " ago)"], ["Timeout", t.timeout_ms + " ms"],
    ["Failed attempts", t.attempts], ["Next action due", t.due || "never"], ["Driven by", t.owner || "nobody"],
  ];
  for (const [k, v] of rows) {
    const dd = el("dd");
    if (v instanceof Node) dd.append(v); else dd.textContent = String(v);
    info.append(el("dt", k), dd);
  }
  $("#retry").hidden = !t.actions.includes("retry");
  $("#resolve").hidden = !t.actions.includes("resolve");
  $("#resolve-panel").hidden = true;
  const bt = $("#branches tbody");
  bt.replaceChildren();
  for (const b of t.branches) {
    const tr = el("tr");
    const s = el("td");
    s.append(el("span", b.status, statusClass(b.status)));
    tr.append(el("td", b.branch_id, "mono"), el("td", b.type), el("td", b.resource_id, "mono"), s,
      el("td", b.attempts), el("td", b.last_error, "error"), el("td", b.client_id, "mono"));
    bt.append(tr);
  }
  const lt = $("#locks tbody");
  lt.replaceChildren();
  for (const l of t.locks) {
    const tr = el("tr");
    tr.append(el("td", l.branch_id, "mono"), el("td", l.resource_id, "mono"), el("td", l.table), el("td", l.pk, "mono"));
    lt.append(tr);
  }
  $("#locks-count").textContent = "(" + t.locks.length + (t.more_locks ? "+" : "") + ")";
}

async function act(action, body) {
  const xid = current.xid;
  const r = await api("api/transactions/" + encodeURIComponent(xid) + "/" + action, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Atcc-Admin": "1" },
    body: JSON.stringify(body || {}),
  });
  say(action === "resolve" ? xid + " resolved: " + r.status : xid + ": phase two retried now");
  await loadDetail(xid);
}

function route() {
  const m = location.hash.match(/^#\/tx\/(.+)$/);
  $("#list-view").hidden = !!m;
  $("#detail-view").hidden = !m;
  const p = m ? loadDetail(decodeURIComponent(m[1])) : loadList(false);
  p.catch((e) => say(e.message, true));
}

document.addEventListener("DOMContentLoaded", () => {
  $("#filter").addEventListener("submit", (e) => { e.preventDefault(); loadList(false).catch((er) => say(er.message, true)); });
  $("#next-page").addEventListener("click", () => loadList(true).catch((e) => say(e.message, true)));
  $("#retry").addEventListener("click", () => act("retry").catch((e) => say(e.message, true)));
  $("#resolve").addEventListener("click", () => { $("#resolve-panel").hidden = false; $("#resolve-reason").focus(); });
  $("#resolve-cancel").addEventListener("click", () => { $("#resolve-panel").hidden = true; });
  $("#resolve-confirm").addEventListener("click", () =>
    act("resolve", { reason: $("#resolve-reason").value }).catch((e) => say(e.message, true)));
  window.addEventListener("hashchange", () => { $("#message").hidden = true; route(); });
  route();
});
