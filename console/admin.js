// Tenant admin pages of the workbench: filings (search, detail, initial
// password with the confirmation the API asks for), staff, settings,
// notifications with retry, the audit log with verify and export.
import { t, lang } from "./i18n.js";

export function adminPages({ api, h, say, explain, main, token }) {
  const when = (iso) => (iso ? new Date(iso).toLocaleString(lang) : "");
  const table = (id, heads, rows) => h("table", { id },
    h("thead", {}, h("tr", {}, heads.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: String(heads.length), class: "muted" }, t("empty")))));

  async function filings() {
    const form = h("form", { class: "filters", id: "filing-search" },
      h("label", {}, t("search_filings"), h("input", { name: "q", id: "filing-q", autocomplete: "off" })),
      h("button", { type: "submit" }, t("apply")));
    const list = h("div", {});
    const load = async (q) => {
      const params = new URLSearchParams({ limit: "50" });
      if (q) params.set("q", q);
      try {
        const page = await api("GET", `/filings?${params}`);
        list.replaceChildren(table("filings", [t("filing_number"), t("subject_name"), t("phone"), t("email"), t("has_password")],
          page.items.map((f) => {
            const open = () => { location.hash = `#/filing/${f.id}`; };
            return h("tr", { class: "row", tabindex: "0", onclick: open, onkeydown: (ev) => { if (ev.key === "Enter") open(); } },
              h("td", {}, f.filing_number), h("td", {}, f.subject_name), h("td", {}, f.phone_masked), h("td", {}, f.email_masked),
              h("td", {}, f.has_password ? "✓" : "—"));
          })));
      } catch (e) { say(explain(e)); }
    };
    // The search term stays in the page, never in the URL or history.
    form.addEventListener("submit", (ev) => { ev.preventDefault(); load(new FormData(form).get("q").trim()); });
    main.replaceChildren(h("h1", {}, t("filings")), form, list);
    load("");
  }

  async function filing(id) {
    let f;
    try { f = await api("GET", `/filings/${encodeURIComponent(id)}`); } catch (e) { say(explain(e)); return; }
    const result = h("div", { id: "issue-result" });
    const issue = async (replace) => {
      try {
        const r = await api("POST", `/filings/${f.id}/initial-password`, replace ? { replace_existing: true } : {});
        result.replaceChildren();
        say(t("initial_sent", { n: r.notification_ids.length }), true);
      } catch (e) {
        if (e.code === "password_exists") {
          say("");
          result.replaceChildren(h("p", {}, t("replace_question")),
            h("button", { type: "button", id: "confirm-replace", class: "primary", onclick: () => issue(true) }, t("replace_confirm")));
        } else say(explain(e));
      }
    };
    const rows = [["filing_number", f.filing_number], ["subject_name", f.subject_name], ["responsible_person", f.responsible_person],
      ["phone", f.phone_masked], ["email", f.email_masked], ["id_number", f.id_number_masked], ["domains", (f.domains || []).join(", ")],
      ["has_password", f.has_password ? "✓" : "—"]];
    main.replaceChildren(h("p", {}, h("a", { href: "#/filings" }, t("filings"))),
      h("h1", {}, f.filing_number),
      h("div", { class: "card" }, h("table", {}, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", {}, t(k)), h("td", {}, v)))))),
      h("div", { class: "actions" }, h("button", { type: "button", id: "issue-initial", class: "primary", onclick: () => issue(false) }, t("issue_initial"))),
      result);
  }

  async function staff() {
    let page;
    try { page = await api("GET", "/staff?limit=200"); } catch (e) { say(explain(e)); return; }
    const form = h("form", { class: "filters", id: "new-staff" },
      ["username", "display_name", "email"].map((n) => h("label", {}, t(n), h("input", { name: n, required: true }))),
      h("label", {}, t("role"), h("select", { name: "role" }, ["reviewer", "tenant_admin", "agent"].map((r) => h("option", { value: r }, t(r))))),
      h("label", {}, t("initial_staff_password"), h("input", { name: "password", type: "password", autocomplete: "new-password", required: true })),
      h("button", { type: "submit" }, t("create")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = Object.fromEntries(new FormData(form));
      try { await api("POST", "/staff", body); say(t("done"), true); staff(); } catch (e) { say(explain(e)); }
    });
    const toggle = async (s) => {
      try { await api("PATCH", `/staff/${s.id}`, { status: s.status === "active" ? "disabled" : "active" }); say(t("done"), true); staff(); }
      catch (e) { say(explain(e)); }
    };
    main.replaceChildren(h("h1", {}, t("staff")),
      table("staff", [t("username"), t("display_name"), t("role"), t("status"), ""], page.items.map((s) => h("tr", {},
        h("td", {}, s.username), h("td", {}, s.display_name), h("td", {}, t(s.role)), h("td", {}, t(s.status)),
        h("td", {}, h("button", { type: "button", onclick: () => toggle(s) }, s.status === "active" ? t("disable") : t("enable")))))),
      h("h2", {}, t("new_staff")), form);
  }

  // Every setting the API has, grouped as an admin thinks of them; the
  // bounds are the API's, and its per-field refusals are shown in place.
  const KINDS = ["password_reset", "initial_password_resend", "contact_change"];
  const SETTINGS = [
    ["s_passwords", [["password_policy", ["cn_registrar", "nist"]], ["initial_password_length", 6, 12],
      ["generated_password_ttl_hours", 1, 720], ["password_max_age_days", 0, 3650],
      ["lockout_threshold", 3, 20], ["lockout_minutes", 1, 1440]]],
    ["s_resets", [["reset_mode", ["temp_password", "link"]], ["reset_link_ttl_hours", 1, 168], ["self_service_recovery"]]],
    ["s_tickets", [["approvals_required", 1, 3, KINDS.map((k) => [k, 1, 3])], ["sla_hours", 1, 720, KINDS.map((k) => [k, 1, 720])], ["needs_info_expiry_hours", 1, 2160]]],
    ["s_messages", [["default_locale", ["zh-CN", "en"]], ["sms_budget", 1, 200, [["per_minute", 1, 10], ["per_hour", 1, 60], ["per_day", 1, 200]]]]],
    ["s_limits", [["rate_limits", 1, 10000000, [["per_address_per_minute", 1, 1000000], ["per_tenant_per_minute", 1, 10000000], ["per_filing_per_hour", 1, 1000]]]]],
    ["s_audit", [["audit_retention_days", 365, 3650]]],
  ];
  async function settings() {
    let s;
    try { s = await api("GET", "/settings"); } catch (e) { say(explain(e)); return; }
    const errors = {};
    const num = (name, value, min, max) => h("input", { name, id: `set-${name}`, type: "number", min: String(min), max: String(max), value: String(value), required: true });
    const field = ([name, a, b, parts]) => {
      const err = errors[name] = h("span", { class: "field-error", role: "alert" });
      if (Array.isArray(a)) {
        return h("label", {}, t(name), h("select", { name, id: `set-${name}` }, a.map((v) => h("option", { value: v, selected: v === s[name] }, t(v)))), err);
      }
      if (a === undefined) return h("label", { class: "check" }, h("input", { type: "checkbox", name, id: `set-${name}`, checked: s[name] }), t(name), err);
      if (!parts) return h("label", {}, t(name), num(name, s[name], a, b), err);
      return h("fieldset", { class: "inner" }, h("legend", {}, t(name)),
        parts.map(([p, min, max]) => h("label", {}, t(p), num(`${name}.${p}`, s[name][p], min, max))), err);
    };
    const form = h("form", { class: "settings", id: "settings" },
      SETTINGS.map(([group, fields]) => h("fieldset", { class: "card" }, h("legend", {}, t(group)), fields.map(field))),
      h("button", { type: "submit", class: "primary" }, t("save")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const body = {};
      for (const [, fields] of SETTINGS) {
        for (const [name, a, , parts] of fields) {
          if (Array.isArray(a)) body[name] = f.get(name);
          else if (a === undefined) body[name] = f.get(name) === "on";
          else if (!parts) body[name] = Number(f.get(name));
          else body[name] = Object.fromEntries(parts.map(([p]) => [p, Number(f.get(`${name}.${p}`))]));
        }
      }
      for (const el of Object.values(errors)) el.textContent = "";
      try { s = await api("PUT", "/settings", body); say(t("saved"), true); } catch (e) {
        for (const x of e.body.errors || []) { const el = errors[x.field.split(".")[0]]; if (el) el.textContent = x.message; }
        say(explain(e));
      }
    });
    main.replaceChildren(h("h1", {}, t("settings")), form);
  }

  const noteState = { status: "" };
  async function notifications() {
    const q = new URLSearchParams({ limit: "100" });
    if (noteState.status) q.set("status", noteState.status);
    let page;
    try { page = await api("GET", `/notifications?${q}`); } catch (e) { say(explain(e)); return; }
    const retry = async (n) => { try { await api("POST", `/notifications/${n.id}/retry`, {}); say(t("retried"), true); notifications(); } catch (e) { say(explain(e)); } };
    const filter = h("form", { class: "filters", id: "notification-filter" },
      h("label", {}, t("status"), h("select", { name: "status" }, h("option", { value: "" }, t("all")),
        ["pending", "sent", "failed", "dead", "superseded", "dropped"].map((v) => h("option", { value: v, selected: v === noteState.status }, t(v))))),
      h("button", { type: "submit" }, t("apply")));
    filter.addEventListener("submit", (ev) => { ev.preventDefault(); noteState.status = new FormData(filter).get("status"); notifications(); });
    main.replaceChildren(h("h1", {}, t("notifications")), filter,
      table("notifications", [t("created"), t("channel"), t("kind"), t("recipient"), t("status"), t("attempts"), t("last_error"), ""],
        page.items.map((n) => h("tr", { "data-status": n.status, "data-kind": n.kind }, h("td", {}, when(n.created_at)), h("td", {}, n.channel), h("td", {}, n.kind),
          h("td", {}, n.recipient_masked), h("td", {}, t(n.status)), h("td", {}, String(n.attempts)), h("td", {}, n.last_error || ""),
          h("td", {}, ["failed", "dead"].includes(n.status) ? h("button", { type: "button", class: "retry", onclick: () => retry(n) }, t("retry")) : "")))));
  }

  async function audit() {
    const out = h("p", { id: "verify-result" });
    const verify = async () => {
      try { const v = await api("GET", "/audit-events/verify"); out.textContent = v.ok ? t("chain_ok", { n: v.checked }) : t("chain_broken", { id: v.first_broken_id }); }
      catch (e) { say(explain(e)); }
    };
    // The export needs the token, so it is fetched and handed over as a file.
    const exportAs = async (format) => {
      const resp = await fetch(`/api/v1/audit-events/export?format=${format}`, { headers: { authorization: `Bearer ${await token()}` } });
      if (!resp.ok) { say(t("e_other", { d: resp.status })); return; }
      say(t("exporting"), true);
      const url = URL.createObjectURL(await resp.blob());
      const a = h("a", { href: url, download: `audit.${format}` });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    };
    let page;
    try { page = await api("GET", "/audit-events?limit=100"); } catch (e) { say(explain(e)); return; }
    main.replaceChildren(h("h1", {}, t("audit")),
      h("div", { class: "actions" }, h("button", { type: "button", id: "verify-chain", onclick: verify }, t("verify_chain")),
        h("button", { type: "button", id: "export-ndjson", onclick: () => exportAs("ndjson") }, t("export"), " NDJSON"),
        h("button", { type: "button", id: "export-csv", onclick: () => exportAs("csv") }, t("export"), " CSV")), out,
      table("audit-events", [t("created"), t("action"), t("actor"), t("target")], page.items.map((e) => h("tr", {},
        h("td", {}, when(e.at)), h("td", {}, e.action), h("td", {}, e.actor_type), h("td", {}, e.target_type || "")))));
  }

  return { filings, filing, staff, settings, notifications, audit };
}
