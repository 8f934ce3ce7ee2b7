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

  async function settings() {
    let s;
    try { s = await api("GET", "/settings"); } catch (e) { say(explain(e)); return; }
    const kinds = ["password_reset", "initial_password_resend", "contact_change"];
    const num = (name, value) => h("input", { name, type: "number", min: "1", value: String(value), required: true });
    const form = h("form", { class: "card", id: "settings" },
      h("label", {}, t("reset_mode"), " ", h("select", { name: "reset_mode" }, ["temp_password", "link"].map((m) => h("option", { value: m, selected: m === s.reset_mode }, t(m))))),
      h("label", {}, " ", t("default_locale"), " ", h("select", { name: "default_locale" }, ["zh-CN", "en"].map((l) => h("option", { value: l, selected: l === s.default_locale }, l)))),
      h("label", {}, " ", h("input", { type: "checkbox", name: "self_service_recovery", checked: s.self_service_recovery }), " ", t("self_service_recovery")),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, t("kind")), h("th", {}, t("approvals")), h("th", {}, t("sla_hours")))),
        h("tbody", {}, kinds.map((k) => h("tr", {}, h("td", {}, t(k)), h("td", {}, num(`a_${k}`, s.approvals_required[k])), h("td", {}, num(`s_${k}`, s.sla_hours[k])))))),
      h("button", { type: "submit", class: "primary" }, t("save")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const per = (p) => Object.fromEntries(kinds.map((k) => [k, Number(f.get(`${p}_${k}`))]));
      const body = { reset_mode: f.get("reset_mode"), default_locale: f.get("default_locale"),
        self_service_recovery: f.get("self_service_recovery") === "on", approvals_required: per("a"), sla_hours: per("s") };
      try { await api("PUT", "/settings", body); say(t("done"), true); } catch (e) { say(explain(e)); }
    });
    main.replaceChildren(h("h1", {}, t("settings")), form);
  }

  async function notifications() {
    let page;
    try { page = await api("GET", "/notifications?limit=100"); } catch (e) { say(explain(e)); return; }
    const retry = async (n) => { try { await api("POST", `/notifications/${n.id}/retry`, {}); say(t("done"), true); notifications(); } catch (e) { say(explain(e)); } };
    main.replaceChildren(h("h1", {}, t("notifications")),
      table("notifications", [t("created"), t("channel"), t("kind"), t("recipient"), t("status"), t("attempts"), t("last_error"), ""],
        page.items.map((n) => h("tr", {}, h("td", {}, when(n.created_at)), h("td", {}, n.channel), h("td", {}, n.kind),
          h("td", {}, n.recipient_masked), h("td", {}, n.status), h("td", {}, String(n.attempts)), h("td", {}, n.last_error || ""),
          h("td", {}, ["failed", "dead"].includes(n.status) ? h("button", { type: "button", onclick: () => retry(n) }, t("retry")) : "")))));
  }

  async function audit() {
    const out = h("p", { id: "verify-result" });
    const verify = async () => {
      try { const v = await api("GET", "/audit-events/verify"); out.textContent = v.ok ? t("chain_ok", { n: v.checked }) : t("chain_broken", { id: v.first_broken_id }); }
      catch (e) { say(explain(e)); }
    };
    // The export needs the token, so it is fetched and handed over as a file.
    const exportAs = async (format) => {
      const resp = await fetch(`/api/v1/audit-events/export?format=${format}`, { headers: { authorization: `Bearer ${token()}` } });
      if (!resp.ok) { say(t("e_other", { d: resp.status })); return; }
      const url = URL.createObjectURL(await resp.blob());
      const a = h("a", { href: url, download: `audit.${format}` });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    };
    let page;
    try { page = await api("GET", "/audit-events?limit=100"); } catch (e) { say(explain(e)); return; }
    main.replaceChildren(h("h1", {}, t("audit")),
      h("div", { class: "actions" }, h("button", { type: "button", id: "verify-chain", onclick: verify }, t("verify_chain")),
        h("button", { type: "button", onclick: () => exportAs("ndjson") }, t("export"), " NDJSON"),
        h("button", { type: "button", onclick: () => exportAs("csv") }, t("export"), " CSV")), out,
      table("audit-events", [t("created"), t("action"), t("actor"), t("target")], page.items.map((e) => h("tr", {},
        h("td", {}, when(e.at)), h("td", {}, e.action), h("td", {}, e.actor_type), h("td", {}, e.target_type || "")))));
  }

  return { filings, filing, staff, settings, notifications, audit };
}
