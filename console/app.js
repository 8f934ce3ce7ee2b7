// The reviewer workbench: plain ES modules on the public REST API, the
// staff token kept in sessionStorage (never localStorage), every element
// built with textContent (no HTML from data), no inline script (the page's
// Content-Security-Policy forbids it). URLs carry ticket ids only.
import { t, lang, switchLanguage } from "./i18n.js";
import { adminPages } from "./admin.js";

const API = "/api/v1";
const main = document.getElementById("main");
const notice = document.getElementById("notice");
let session = JSON.parse(sessionStorage.getItem("fd.session") || "null");
let me = null;
let refreshTimer = null;
const REFRESH_MARGIN_MS = 60000;

// ---- DOM -------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
function say(text, ok = false) { notice.textContent = text || ""; notice.className = ok ? "ok" : ""; }
function when(iso) { return iso ? new Date(iso).toLocaleString(lang) : ""; }
function label(word) { return t(word); }
function translate() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

// ---- API -------------------------------------------------------------
class Problem extends Error {
  constructor(status, body) { super(body && body.detail || String(status)); this.status = status; this.body = body || {}; }
  get code() { return this.body.code || (this.status === 0 ? "network" : "other"); }
}
async function api(method, path, body) {
  // A token about to expire is renewed first, so a tab whose timers the
  // browser slowed down still never sends an expired one.
  if (!path.startsWith("/auth/")) await fresh();
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session) headers.authorization = `Bearer ${session.access}`;
  let resp;
  try {
    resp = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch { throw new Problem(0, { code: "network" }); }
  const text = await resp.text();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) {
    const p = new Problem(resp.status, data);
    p.retryAfter = resp.headers.get("retry-after");
    if (resp.status === 401 && session && !path.startsWith("/auth/")) endSession(t("e_unauthorized"));
    throw p;
  }
  return data;
}
function explain(e) {
  const details = (e.body.errors || []).map((x) => `${x.field}: ${x.message}`).join("; ") || e.body.detail || "";
  const key = `e_${e.code}`;
  const known = t(key) !== key;
  return known ? t(key, { d: details }) : t("e_other", { d: details || e.message });
}

// ---- session -----------------------------------------------------------
function keep(pair, tenant, username) {
  session = { access: pair.access_token, refresh: pair.refresh_token, expires: Date.now() + pair.expires_in * 1000, tenant, username };
  sessionStorage.setItem("fd.session", JSON.stringify(session));
  scheduleRefresh();
}
// Refresh tokens rotate and a reused one ends the whole session, so the
// timer and a request that finds the token old share one refresh.
let refreshing = null;
function refresh() {
  if (!refreshing) {
    const current = session;
    refreshing = api("POST", "/auth/refresh", { refresh_token: current.refresh })
      .then((pair) => keep(pair, current.tenant, current.username))
      .catch(() => endSession(t("e_unauthorized")))
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}
// The current token, renewed first when it is about to expire (for the
// calls that do not go through api(), such as the export download).
async function fresh() {
  if (session && session.expires - Date.now() < REFRESH_MARGIN_MS) await refresh();
  return session && session.access;
}
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const wait = Math.max(5000, session.expires - Date.now() - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(() => { if (session) refresh(); }, wait);
}
function endSession(message = "") {
  clearTimeout(refreshTimer);
  session = null; me = null;
  sessionStorage.removeItem("fd.session");
  // Replaced, not pushed: going back must not reopen a signed-in page.
  history.replaceState(null, "", "#/signin");
  say(message);
  route();
}
async function signOut() {
  if (session) { try { await api("POST", "/auth/logout", { refresh_token: session.refresh }); } catch { /* ended anyway */ } }
  endSession();
}

// ---- sign-in -------------------------------------------------------------
function signInView() {
  const form = h("form", { class: "signin", id: "signin" },
    h("h1", {}, t("sign_in")),
    h("label", {}, t("tenant"), h("input", { name: "tenant", autocomplete: "organization", required: true, value: (session && session.tenant) || "" })),
    h("label", {}, t("username"), h("input", { name: "username", autocomplete: "username", required: true })),
    h("label", {}, t("password"), h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { class: "primary", type: "submit" }, t("sign_in")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const tenant = f.get("tenant").trim(), username = f.get("username").trim(), password = f.get("password");
    try {
      const pair = await api("POST", "/auth/login", { tenant, username, password });
      keep(pair, tenant, username);
      say("");
      if (pair.must_change_password) return changePasswordView(password);
      location.hash = "#/queue";
      route();
    } catch (e) {
      if (e.status === 423) say(t("locked", { s: e.retryAfter || "?" }));
      else if (e.status === 401) say(t("bad_credentials"));
      else say(explain(e));
    }
  });
  main.replaceChildren(form);
  form.querySelector(session && session.tenant ? "[name=username]" : "[name=tenant]").focus();
}
function changePasswordView(current) {
  const form = h("form", { class: "signin", id: "change-password" },
    h("h1", {}, t("change_password")), h("p", {}, t("must_change")),
    h("label", {}, t("new_password"), h("input", { name: "new_password", type: "password", autocomplete: "new-password", required: true })),
    h("button", { class: "primary", type: "submit" }, t("change_password")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const next = new FormData(form).get("new_password");
    try {
      await api("PUT", "/auth/password", { current_password: current, new_password: next });
      const pair = await api("POST", "/auth/login", { tenant: session.tenant, username: session.username, password: next });
      keep(pair, session.tenant, session.username);
      location.hash = "#/queue";
      route();
    } catch (e) { say(explain(e)); }
  });
  main.replaceChildren(form);
}

// ---- the queue -------------------------------------------------------------
const STATUSES = ["pending_review", "in_review", "awaiting_second_approval", "needs_info", "resolved", "rejected", "cancelled", "expired"];
const KINDS = ["password_reset", "initial_password_resend", "contact_change"];
const queueState = { status: "", kind: "", assignee: "", sla: false, cursors: [] };

function slaCell(tk) {
  if (tk.sla_breached) return h("span", { class: "badge breach" }, t("overdue"));
  const ms = new Date(tk.sla_due_at) - Date.now();
  if (["resolved", "rejected", "cancelled", "expired"].includes(tk.status)) return "";
  if (ms <= 0) return h("span", { class: "badge breach" }, t("overdue"));
  const hrs = Math.floor(ms / 3600000), mins = Math.floor((ms % 3600000) / 60000);
  return `${hrs}h ${mins}m ${t("left")}`;
}
async function queueView() {
  const select = (name, values, current) => h("select", { name, id: `f-${name}` },
    h("option", { value: "" }, t("all")), values.map((v) => h("option", { value: v, selected: v === current }, label(v))));
  const filters = h("form", { class: "filters", id: "filters" },
    h("label", {}, t("status"), select("status", STATUSES, queueState.status)),
    h("label", {}, t("kind"), select("kind", KINDS, queueState.kind)),
    h("label", {}, t("assignee"), h("select", { name: "assignee", id: "f-assignee" },
      h("option", { value: "" }, t("all")), h("option", { value: "me", selected: queueState.assignee === "me" }, t("mine")),
      h("option", { value: "none", selected: queueState.assignee === "none" }, t("unassigned")))),
    h("label", {}, h("span", {}, t("sla_breached")), h("input", { type: "checkbox", name: "sla", id: "f-sla", checked: queueState.sla })),
    h("button", { type: "submit" }, t("apply")));
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new FormData(filters);
    Object.assign(queueState, { status: f.get("status"), kind: f.get("kind"), assignee: f.get("assignee"), sla: f.get("sla") === "on", cursors: [] });
    queueView();
  });
  const q = new URLSearchParams({ limit: "25" });
  if (queueState.status) q.set("status", queueState.status);
  if (queueState.kind) q.set("kind", queueState.kind);
  if (queueState.assignee) q.set("assignee", queueState.assignee);
  if (queueState.sla) q.set("sla_breached", "true");
  const cursor = queueState.cursors[queueState.cursors.length - 1];
  if (cursor) q.set("cursor", cursor);
  let page;
  try { page = await api("GET", `/tickets?${q}`); } catch (e) { say(explain(e)); return; }
  const rows = page.items.map((tk) => {
    const open = () => { location.hash = `#/ticket/${tk.id}`; };
    return h("tr", { class: "row", tabindex: "0", "data-id": tk.id, onclick: open, onkeydown: (ev) => { if (ev.key === "Enter") open(); } },
      h("td", {}, tk.number, tk.flagged ? h("span", { class: "badge flag", title: t("flagged") }, "!") : ""),
      h("td", {}, label(tk.kind)), h("td", { class: "status" }, label(tk.status)), h("td", {}, tk.filing_number),
      h("td", {}, tk.assignee_id ? (me && tk.assignee_id === me.id ? t("mine") : "✓") : "—"),
      h("td", {}, when(tk.created_at)), h("td", {}, slaCell(tk)));
  });
  const table = h("table", { id: "queue" },
    h("thead", {}, h("tr", {}, [t("number"), t("kind"), t("status"), t("filing_number"), t("assignee"), t("created"), t("sla")].map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: "7", class: "muted" }, t("empty")))));
  const pager = h("div", { class: "pager" },
    h("button", { type: "button", id: "queue-first", disabled: !queueState.cursors.length, onclick: () => { queueState.cursors = []; queueView(); } }, t("first")),
    h("button", { type: "button", id: "next-page", disabled: !page.next_cursor, onclick: () => { queueState.cursors.push(page.next_cursor); queueView(); } }, t("next")));
  main.replaceChildren(h("h1", {}, t("queue")), filters, table, pager);
}

// ---- one ticket ------------------------------------------------------------
// What the API would accept, mirroring its state machine (the API stays
// the judge: a refusal is explained in words).
function allowed(action, tk) {
  const mine = me && tk.assignee_id === me.id;
  const free = !tk.assignee_id;
  const approvedByMe = me && tk.approvals.some((a) => a.reviewer_id === me.id);
  const submittedByMe = me && tk.submitted_by === me.id;
  switch (action) {
    case "claim": return tk.status === "pending_review" || (tk.status === "awaiting_second_approval" && free && !approvedByMe);
    case "release": return ["in_review", "awaiting_second_approval"].includes(tk.status) && mine;
    case "request-info": return tk.status === "in_review" && mine;
    case "reject": return ["in_review", "awaiting_second_approval"].includes(tk.status) && mine;
    case "approve": return ["in_review", "awaiting_second_approval"].includes(tk.status) && mine && !approvedByMe && !submittedByMe;
    default: return false;
  }
}
async function ticketView(id) {
  let tk;
  try { tk = await api("GET", `/tickets/${encodeURIComponent(id)}`); } catch (e) { say(explain(e)); return; }
  const v = tk.verification;
  const fields = ["filing_found", "contact_name", "phone", "id_number", "email", "subject", "console"].filter((f) => v[f]);
  const verification = h("div", { class: "card", id: "verification" }, h("h2", {}, t("verification")),
    h("table", {}, h("tbody", {}, fields.map((f) => h("tr", {}, h("th", {}, t(f)), h("td", {}, h("span", { class: `badge ${v[f]}`, "data-field": f }, t(v[f]))))))));
  const a = tk.applicant || {};
  const applicant = h("div", { class: "card" }, h("h2", {}, t("applicant")),
    h("ul", { class: "plain" }, h("li", {}, `${t("contact_name")}: ${tk.contact_name}`),
      ["phone", "id_number", "email", "new_phone", "new_email"].filter((k) => a[k]).map((k) => h("li", {}, `${t(k)}: ${a[k]}`)),
      tk.message ? h("li", {}, `${t("message")}: ${tk.message}`) : ""));
  const holder = tk.assignee_id ? (me && tk.assignee_id === me.id ? t("held_by_you") : t("held_by_other")) : t("nobody_holds");
  const approvals = h("div", { class: "card", id: "approvals" }, h("h2", {}, t("approvals")),
    h("p", {}, t("of_needed", { n: tk.approvals.length, m: tk.approvals_required })),
    h("ul", { class: "plain" }, tk.approvals.map((x) => h("li", {}, `${when(x.at)} — ${x.reviewer_id === (me && me.id) ? t("mine") : x.reviewer_id}${x.note ? ` — ${x.note}` : ""}`))));
  const comments = h("div", { class: "card", id: "comments" }, h("h2", {}, t("comments")),
    h("ul", { class: "plain" }, tk.comments.map((c) => h("li", { class: c.visibility }, h("span", { class: "badge" }, t(c.visibility)), " ", when(c.created_at), " — ", c.body))));
  const notifications = h("div", { class: "card", id: "ticket-notifications" }, h("h2", {}, t("notifications")),
    h("ul", { class: "plain" }, tk.notifications.map((n) => h("li", {}, `${n.channel} · ${n.kind} · ${n.recipient_masked} · ${t(n.status)}`))));
  const audit = h("div", { class: "card", id: "audit" }, h("h2", {}, t("audit")));
  if (me && me.role === "tenant_admin") {
    api("GET", `/audit-events?target_id=${encodeURIComponent(tk.id)}&limit=50`).then((page) => {
      audit.append(h("ul", { class: "plain" }, page.items.map((e) => h("li", {}, `${when(e.at)} · ${e.action} · ${e.actor_type}`))));
    }).catch(() => audit.append(h("p", { class: "muted" }, t("audit_admins_only"))));
  } else audit.append(h("p", { class: "muted" }, t("audit_admins_only")));

  const text = h("textarea", { id: "action-text", "aria-label": t("comment_body") });
  const visibility = h("select", { id: "comment-visibility", "aria-label": t("visibility") },
    h("option", { value: "internal" }, t("internal")), h("option", { value: "public" }, t("public")));
  const act = async (action, body) => {
    try {
      await api("POST", `/tickets/${tk.id}/${action}`, body);
      say(t("done"), true);
    } catch (e) { say(explain(e)); }
    ticketView(id);
  };
  const button = (action, word, body) => h("button", { type: "button", id: `do-${action}`, disabled: !allowed(action, tk), onclick: () => act(action, body()) }, t(word));
  const actions = h("div", { class: "actions" },
    button("claim", "claim", () => ({})), button("release", "release", () => ({})),
    button("approve", "approve", () => (text.value.trim() ? { note: text.value.trim() } : {})),
    button("request-info", "request_info", () => ({ message: text.value.trim() })),
    button("reject", "reject", () => ({ reason: text.value.trim() })),
    h("button", { type: "button", id: "do-comment", onclick: () => act("comments", { body: text.value.trim(), visibility: visibility.value }) }, t("comment")));
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/queue" }, t("back"))),
    h("h1", {}, `${tk.number} · `, h("span", { id: "ticket-status" }, label(tk.status))),
    h("p", { class: "muted" }, `${label(tk.kind)} · ${tk.filing_number} · ${holder}`, tk.sla_breached ? h("span", { class: "badge breach" }, ` ${t("overdue")}`) : ""),
    h("div", { class: "card" }, actions, h("label", {}, t("reason"), " / ", t("comment_body"), text), h("label", {}, t("visibility"), " ", visibility)),
    h("div", { class: "grid" }, verification, applicant, approvals, comments, notifications, audit));
}

// ---- routing -----------------------------------------------------------------
async function route() {
  translate();
  const signedIn = !!session;
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
  document.getElementById("who").textContent = signedIn ? `${session.username} @ ${session.tenant}` : "";
  if (!signedIn) return signInView();
  if (!me) {
    try { me = await api("GET", "/staff/me"); } catch (e) {
      if (e.code === "password_change_required") return say(t("e_password_change_required"));
      return signInView();
    }
  }
  document.getElementById("admin-nav").hidden = me.role !== "tenant_admin";
  const [, page, id] = location.hash.split("/");
  if (page === "ticket" && id) return ticketView(id);
  if (me.role === "tenant_admin") {
    const admin = adminPages({ api, h, say, explain, main, token: fresh });
    if (page === "filings") return admin.filings();
    if (page === "filing" && id) return admin.filing(id);
    if (page === "staff") return admin.staff();
    if (page === "settings") return admin.settings();
    if (page === "notifications") return admin.notifications();
    if (page === "audit") return admin.audit();
  }
  return queueView();
}

document.getElementById("lang").addEventListener("click", () => { switchLanguage(); route(); });
document.getElementById("signout").addEventListener("click", signOut);
window.addEventListener("hashchange", () => { say(""); route(); });
scheduleRefresh();
route();
