// Compiled with `tsc --strict` against the types openapi-typescript makes
// from openapi/openapi.json (scripts/clients-test.sh): if the document
// stops describing what the service answers, this stops compiling.
import createClient from "openapi-fetch";
import type { paths, components } from "./schema"; // generated into the work directory by scripts/clients-test.sh

type Verification = components["schemas"]["Verification"];

export async function journey(baseUrl: string): Promise<Verification | undefined> {
  const client = createClient<paths>({ baseUrl });
  const login = await client.POST("/api/v1/auth/login", {
    body: { tenant: "acme", username: "acme-admin", password: "Staff-Password-9" },
  });
  if (!login.data) throw new Error(login.error?.detail ?? "sign-in failed");
  const headers = { Authorization: `Bearer ${login.data.access_token}` };
  const created = await client.POST("/api/v1/filings", {
    headers,
    body: {
      filing_number: "浙ICP备2021035785号", subject_name: "示例", subject_type: "enterprise",
      responsible_person: "张三", id_number: "11010519491231002X", phone: "13812345678", email: "z@example.com",
    },
  });
  const filingId: string | undefined = created.data?.id;
  const ticket = await client.POST("/api/v1/public/{tenant}/tickets", {
    params: { path: { tenant: "acme" } },
    body: { kind: "password_reset", filing_number: "浙ICP备2021035785号", contact_name: "张三",
            phone: "13900001111", id_number: "11010519491231002X" },
  });
  const number: string | undefined = ticket.data?.number;
  const queue = await client.GET("/api/v1/tickets", { headers, params: { query: { status: "pending_review", limit: 10 } } });
  const first = queue.data?.items[0];
  if (!first || !filingId || !number) return undefined;
  const one = await client.GET("/api/v1/tickets/{id}", { headers, params: { path: { id: first.id } } });
  const audit = await client.GET("/api/v1/audit-events", { headers, params: { query: { limit: 5 } } });
  const actions: string[] = audit.data?.items.map((e) => e.action) ?? [];
  console.log(actions.length);
  const verification = one.data?.verification;
  // The per-field result, not the audit walk's `{ok, checked}`.
  const found: "match" | "mismatch" | "absent" | undefined = verification?.filing_found;
  console.log(found);
  return verification;
}
