//! Tenant isolation, generated from the served OpenAPI document: every
//! operation whose path names an object is called for tenant A's object with
//! each kind of tenant B credential (admin, reviewer, agent, filing subject,
//! API client)
//! and with none, and must answer 401, 403 or 404 without any of A's data.
//! A new route is covered the day it is registered; one whose path
//! parameter this test cannot fill makes it fail until it can.

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, PASSWORD};
use crate::support::sms_gateway::SmsGateway;

/// Tenant A's objects, by what a path parameter names.
struct Alpha {
    tenant: String,
    staff: String,
    filing: String,
    agency: String,
    authorization: String,
    ticket: String,
    ticket_number: String,
    notification: String,
    recovery: String,
    api_client: String,
    webhook: String,
    delivery: String,
}

fn filing(number: &str, domain: &str) -> Value {
    json!({"filing_number": number, "subject_name": "甲方科技", "subject_type": "enterprise",
           "responsible_person": "张三", "id_number": "11010519491231002X", "phone": "13812345678",
           "email": "zhang.san@example.com", "domains": [domain]})
}

async fn created(resp: reqwest::Response) -> Value {
    let (url, status) = (resp.url().path().to_owned(), resp.status());
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"))
}

async fn agent(app: &TestApp, admin: &str, slug: &str, name: &str) -> (String, String) {
    let agency =
        created(app.post("/api/v1/agencies", Some(admin), json!({"name": name, "license_number": name})).await).await;
    let agency = agency["id"].as_str().unwrap().to_owned();
    let body = json!({"username": name, "display_name": name, "email": format!("{name}@example.com"),
                      "role": "agent", "password": PASSWORD, "agency_id": agency});
    created(app.post("/api/v1/staff", Some(admin), body).await).await;
    (agency, app.login(Some(slug), name, PASSWORD).await.access)
}

/// A value for `schema` (resolving `$ref`s): the required fields only.
fn sample(doc: &Value, schema: &Value, a: &Alpha) -> Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return sample(doc, &doc["components"]["schemas"][name], a);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[key].as_array() {
            let pick = options.iter().find(|o| o["type"] != "null").unwrap_or(&options[0]);
            return sample(doc, pick, a);
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return values[0].clone();
    }
    let kind = match &schema["type"] {
        Value::Array(types) => types.iter().find(|t| *t != "null").cloned().unwrap_or(Value::Null),
        t => t.clone(),
    };
    match kind.as_str() {
        Some("object") => {
            let mut out = serde_json::Map::new();
            for field in schema["required"].as_array().into_iter().flatten() {
                let name = field.as_str().unwrap();
                out.insert(name.to_owned(), sample(doc, &schema["properties"][name], a));
            }
            Value::Object(out)
        }
        Some("string") => match schema["format"].as_str() {
            Some("uuid") => json!(a.filing),
            Some("date-time") => json!((chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339()),
            _ => json!("x"),
        },
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        _ => json!({}),
    }
}

#[tokio::test]
async fn no_credential_of_another_tenant_reaches_any_named_object() {
    let gateway = SmsGateway::start().await;
    let url = gateway.url();
    let app = spawn_app_with(move |s| s.sms_webhook_url = Some(url)).await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    let admin_a = a.admin.access.as_str();

    // Tenant A: one of everything a path can name.
    let f = created(app.post("/api/v1/filings", Some(admin_a), filing("京ICP备12345678号", "alpha.cn")).await).await;
    let filing_a = f["id"].as_str().unwrap().to_owned();
    let sent =
        created(app.post(&format!("/api/v1/filings/{filing_a}/initial-password"), Some(admin_a), json!({})).await)
            .await;
    let staff_a = app.create_staff(admin_a, None, "rita-a", "reviewer").await;
    let (agency_a, _) = agent(&app, admin_a, "alpha", "agent-a").await;
    let until = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let auth = created(
        app.post(
            &format!("/api/v1/agencies/{agency_a}/authorizations"),
            Some(admin_a),
            json!({"filing_id": filing_a, "valid_until": until}),
        )
        .await,
    )
    .await;
    let t = created(
        app.post(
            "/api/v1/public/alpha/tickets",
            None,
            json!({"kind": "password_reset", "filing_number": "京ICP备12345678号", "contact_name": "张三",
                   "phone": "13900001111", "id_number": "11010519491231002X"}),
        )
        .await,
    )
    .await;
    let queue = created(app.get("/api/v1/tickets", Some(admin_a)).await).await;
    let recovery = app
        .post(
            "/api/v1/public/alpha/password-recovery",
            None,
            json!({"filing_number": "京ICP备12345678号", "phone": "13812345678"}),
        )
        .await;
    assert_eq!(recovery.status(), 202);
    let recovery: Value = recovery.json().await.unwrap();
    let client_a =
        created(app.post("/api/v1/api-clients", Some(admin_a), json!({"name": "a", "scopes": ["tickets:read"]})).await)
            .await;
    let hook_a = created(
        app.post(
            "/api/v1/webhooks",
            Some(admin_a),
            json!({"url": "https://hooks.alpha.example/fd", "events": ["ticket.submitted"]}),
        )
        .await,
    )
    .await;
    let hook_a = hook_a["id"].as_str().unwrap().to_owned();
    let test_a = created(app.post(&format!("/api/v1/webhooks/{hook_a}/test"), Some(admin_a), json!({})).await).await;
    let alpha = Alpha {
        tenant: a.id.clone(),
        staff: staff_a,
        filing: filing_a,
        agency: agency_a,
        authorization: auth["id"].as_str().unwrap().to_owned(),
        ticket: queue["items"][0]["id"].as_str().unwrap().to_owned(),
        ticket_number: t["number"].as_str().unwrap().to_owned(),
        notification: sent["notification_ids"][0].as_str().unwrap().to_owned(),
        recovery: recovery["recovery_id"].as_str().unwrap().to_owned(),
        api_client: client_a["id"].as_str().unwrap().to_owned(),
        webhook: hook_a,
        delivery: test_a["delivery_id"].as_str().unwrap().to_owned(),
    };

    // Tenant B: every kind of credential.
    let admin_b = b.admin.access.clone();
    app.create_staff(&admin_b, None, "rita-b", "reviewer").await;
    let reviewer_b = app.login(Some("bravo"), "rita-b", PASSWORD).await.access;
    let (_, agent_b) = agent(&app, &admin_b, "bravo", "agent-b").await;
    let fb = created(app.post("/api/v1/filings", Some(&admin_b), filing("沪ICP备12345678号", "bravo.cn")).await).await;
    created(
        app.post(
            &format!("/api/v1/filings/{}/initial-password", fb["id"].as_str().unwrap()),
            Some(&admin_b),
            json!({}),
        )
        .await,
    )
    .await;
    let report = app.deliver(chrono::Duration::hours(1)).await;
    let password = gateway
        .delivered()
        .into_iter()
        .find(|m| m["to"] == "13812345678" && m["template_param"]["filing_number"] == "沪ICP备12345678号")
        .unwrap_or_else(|| panic!("B's initial password was not delivered: {report:?}"))["template_param"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let subject = created(
        app.post(
            "/api/v1/public/bravo/subject/login",
            None,
            json!({"filing_number": "沪ICP备12345678号", "password": password}),
        )
        .await,
    )
    .await;
    let subject_b = subject["access_token"].as_str().unwrap().to_owned();
    let client_b = created(
        app.post(
            "/api/v1/api-clients",
            Some(&admin_b),
            json!({"name": "b", "scopes": ["tickets:read", "tickets:write", "filings:read"]}),
        )
        .await,
    )
    .await;
    let client_token: Value = reqwest::Client::new()
        .post(app.url("/api/v1/oauth/token"))
        .basic_auth(client_b["client_id"].as_str().unwrap(), client_b["client_secret"].as_str())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_b = client_token["access_token"].as_str().unwrap().to_owned();
    let credentials: [(&str, Option<&str>); 6] = [
        ("admin", Some(&admin_b)),
        ("api client", Some(&client_b)),
        ("reviewer", Some(&reviewer_b)),
        ("agent", Some(&agent_b)),
        ("subject", Some(&subject_b)),
        ("none", None),
    ];
    // What must never show in an answer to B.
    let forbidden = [
        alpha.tenant.as_str(),
        alpha.staff.as_str(),
        alpha.filing.as_str(),
        alpha.agency.as_str(),
        alpha.authorization.as_str(),
        alpha.ticket.as_str(),
        alpha.notification.as_str(),
        alpha.ticket_number.as_str(),
        "京ICP备12345678号",
        "alpha registrar",
        "rita-a",
    ];

    let doc: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let params: Vec<&str> = path.split('{').skip(1).map(|p| p.split('}').next().unwrap()).collect();
        // Paths that name nothing of a tenant's: none, or only the caller's
        // own templates, or only a public route's tenant.
        if params.is_empty() || params.iter().all(|p| ["kind", "locale", "tenant"].contains(p)) {
            continue;
        }
        let mut concrete = path.clone();
        for p in &params {
            let value = match (*p, path.as_str()) {
                ("tenant", _) => "alpha",
                ("number", _) => alpha.ticket_number.as_str(),
                ("authorization_id", _) => alpha.authorization.as_str(),
                ("recovery_id", _) => alpha.recovery.as_str(),
                ("id", p) if p.starts_with("/api/v1/tenants/") => alpha.tenant.as_str(),
                ("id", p) if p.starts_with("/api/v1/staff/") => alpha.staff.as_str(),
                ("id", p) if p.starts_with("/api/v1/filings/") => alpha.filing.as_str(),
                ("id", p) if p.starts_with("/api/v1/agencies/") => alpha.agency.as_str(),
                ("id", p) if p.starts_with("/api/v1/tickets/") => alpha.ticket.as_str(),
                ("id", p) if p.starts_with("/api/v1/notifications/") => alpha.notification.as_str(),
                ("id", p) if p.starts_with("/api/v1/api-clients/") => alpha.api_client.as_str(),
                ("id", p) if p.starts_with("/api/v1/webhooks/") => alpha.webhook.as_str(),
                ("delivery_id", _) => alpha.delivery.as_str(),
                (other, _) => panic!("{path}: teach this test which of tenant A's objects `{{{other}}}` names"),
            };
            concrete = concrete.replace(&format!("{{{p}}}"), value);
        }
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()) else { continue };
            // Query parameters: the required ones, and a platform admin's
            // `tenant_id` pointed at A (a tenant's staff must not escape with it).
            let mut query = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "query") {
                match p["name"].as_str().unwrap() {
                    "tenant_id" => query.push(format!("tenant_id={}", alpha.tenant)),
                    name if p["required"] == true => query.push(format!("{name}=WRONG-CODE")),
                    _ => {}
                }
            }
            let target = if query.is_empty() { concrete.clone() } else { format!("{concrete}?{}", query.join("&")) };
            let body = op["requestBody"]["content"]["application/json"]["schema"].clone();
            let body = (!body.is_null()).then(|| sample(&doc, &body, &alpha));
            for (who, token) in credentials {
                let resp = app.request(method.clone(), &target, token, body.clone()).await;
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap();
                // Self-service recovery is public by contract: anyone may ask
                // (202, the same answer always), a wrong code is 422
                // `invalid_code`, and five of them end it (410 `gone`, a
                // known gap: SECURITY.md); none tells anything of A's.
                let public_recovery = concrete.contains("/password-recovery")
                    && (status == 202
                        || (status == 422 && text.contains("\"invalid_code\""))
                        || (status == 410 && text.contains("\"gone\"")));
                assert!(
                    [401, 403, 404].contains(&status) || public_recovery,
                    "{method} {target} as B's {who}: {status} {text}"
                );
                for secret in forbidden {
                    assert!(!text.contains(secret), "{method} {target} as B's {who} shows A's data: {text}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 20 * credentials.len(), "only {checked} calls: the document lost routes?");

    // And A's objects are all still as they were.
    let still = created(app.get(&format!("/api/v1/tickets/{}", alpha.ticket), Some(admin_a)).await).await;
    assert_eq!((still["status"].as_str(), still["version"].as_i64()), (Some("pending_review"), Some(1)), "{still}");
    let auths =
        created(app.get(&format!("/api/v1/agencies/{}/authorizations", alpha.agency), Some(admin_a)).await).await;
    assert_eq!(auths["items"].as_array().map(Vec::len), Some(1), "no authorization was added or withdrawn: {auths}");
    assert_eq!(auths["items"][0]["revoked_at"], Value::Null);
    let clients = created(app.get("/api/v1/api-clients", Some(admin_a)).await).await;
    assert_eq!(clients["items"][0]["rotated_at"], Value::Null, "A's client was not rotated");
    let hook = created(app.get(&format!("/api/v1/webhooks/{}", alpha.webhook), Some(admin_a)).await).await;
    assert_eq!(
        (hook["enabled"].as_bool(), hook["previous_secret_until"].is_null()),
        (Some(true), true),
        "A's webhook untouched: {hook}"
    );
    let log = created(app.get(&format!("/api/v1/webhooks/{}/deliveries", alpha.webhook), Some(admin_a)).await).await;
    assert_eq!(log["items"].as_array().map(Vec::len), Some(1), "no delivery added for A's webhook: {log}");
}

/// On PostgreSQL (`None` on SQLite): tenants alpha, with one filing, and
/// bravo, with two.
async fn postgres_with_one_and_two_filings() -> Option<(TestApp, crate::helpers::Tenant, crate::helpers::Tenant)> {
    let app = spawn_app_with(|_| {}).await;
    if !app.is_postgres() {
        return None;
    }
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    created(app.post("/api/v1/filings", Some(&a.admin.access), filing("京ICP备12345678号", "alpha.cn")).await).await;
    created(app.post("/api/v1/filings", Some(&b.admin.access), filing("沪ICP备12345678号", "bravo.cn")).await).await;
    created(app.post("/api/v1/filings", Some(&b.admin.access), filing("粤ICP备12345678号", "bravo2.cn")).await).await;
    Some((app, a, b))
}

/// The PostgreSQL backend that served a pipelined read of `staff` (a tenant
/// admin of `tenant`).
async fn pipelined_backend_pid(
    reads: &filingdesk::db::Pipelined,
    tenant: filingdesk::domain::ids::TenantId,
    staff: filingdesk::domain::ids::StaffId,
) -> Result<i32, filingdesk::db::DbError> {
    let pid = pipelined_backend_pid_unless_closed(reads, tenant, staff).await?;
    Ok(pid.expect("the pipelined connections are open"))
}

/// [`pipelined_backend_pid`], `None` when the connections are closed.
async fn pipelined_backend_pid_unless_closed(
    reads: &filingdesk::db::Pipelined,
    tenant: filingdesk::domain::ids::TenantId,
    staff: filingdesk::domain::ids::StaffId,
) -> Result<Option<i32>, filingdesk::db::DbError> {
    use diesel::QueryDsl;
    use diesel_async::RunQueryDsl;
    use futures_util::FutureExt;
    let check =
        filingdesk::db::StandingCheck { staff, epoch: 0, roles: &[filingdesk::domain::role::Role::TenantAdmin] };
    reads
        .read_for_staff(tenant, check, |mut conn, unconfirmed| {
            let mut q = diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("pg_backend_pid()")).into_boxed();
            if let Some(check) = unconfirmed {
                q = q.filter(check.gate());
            }
            q.get_result::<i32>(&mut conn).boxed()
        })
        .await
}

/// The second enforcement (PostgreSQL only; SQLite has the first alone):
/// inside a tenant's transaction, row-level security hides other tenants'
/// rows from a query that deliberately has no tenant filter, and refuses to
/// write a row for another tenant.
#[tokio::test]
async fn row_level_security_hides_other_tenants_from_an_unfiltered_query() {
    use diesel::prelude::*;
    use filingdesk::db::schema::{filings, tenants, tickets};
    use filingdesk::domain::ids::TenantId;

    let Some((app, a, b)) = postgres_with_one_and_two_filings().await else { return };
    let alpha = TenantId::parse(&a.id).unwrap();

    // Outside a tenant's transaction (platform work): everything.
    let all: i64 = app
        .db
        .run(|conn| filings::table.count().get_result(conn).map_err(filingdesk::db::DbError::from))
        .await
        .unwrap();
    assert_eq!(all, 3);
    // Inside alpha's: alpha's only, with no WHERE on tenant_id anywhere.
    let (count, numbers, tenant_names, ticket_count) = app
        .db
        .run_for(alpha, |conn| -> Result<_, filingdesk::db::DbError> {
            Ok((
                filings::table.count().get_result::<i64>(conn)?,
                filings::table.select(filings::filing_number).load::<String>(conn)?,
                tenants::table.select(tenants::name).load::<String>(conn)?,
                tickets::table.count().get_result::<i64>(conn)?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(
        (count, numbers, tenant_names, ticket_count),
        (1, vec!["京ICP备12345678号".to_owned()], vec!["alpha registrar".to_owned()], 0)
    );
    // Writing bravo's row from alpha's transaction is refused by the policy.
    let bravo_id = b.id.clone();
    let refused = app
        .db
        .transaction_for(alpha, move |conn| -> Result<usize, filingdesk::db::DbError> {
            Ok(diesel::update(tenants::table.filter(tenants::id.eq(bravo_id)))
                .set(tenants::name.eq("taken"))
                .execute(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(refused, 0, "bravo's row is not even visible to update");
    let b_id = b.id.clone();
    let insert = app
        .db
        .transaction_for(alpha, move |conn| -> Result<usize, filingdesk::db::DbError> {
            Ok(diesel::sql_query(format!(
                "INSERT INTO ticket_counters (tenant_id, day, last) VALUES ('{b_id}', 'rls-test', 1)"
            ))
            .execute(conn)?)
        })
        .await;
    assert!(insert.is_err(), "a row for another tenant cannot be written");
    // And the role without a tenant set sees nothing at all (fail closed).
    let none = app
        .db
        .run(|conn| {
            conn.transaction(|conn| -> Result<i64, diesel::result::Error> {
                diesel::connection::SimpleConnection::batch_execute(conn, "SET LOCAL ROLE filingdesk_tenant")?;
                filings::table.count().get_result(conn)
            })
            .map_err(filingdesk::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(none, 0);
}

/// Tenant reads without a transaction (`Db::read_for`, used by the queue
/// page; PostgreSQL only): their connections keep the tenant of their last
/// read, so this drives one connection through alpha, bravo and alpha again
/// with a query that has no tenant filter, a refused standing in between,
/// and a write, which such a connection may not do.
#[tokio::test]
async fn tenant_reads_on_one_reused_connection_each_see_only_their_tenant() {
    use diesel::prelude::*;
    use filingdesk::db::schema::{filings, tenants};
    use filingdesk::db::{DbError, StandingCheck};
    use filingdesk::domain::ids::{StaffId, TenantId};
    use filingdesk::domain::role::Role;

    let Some((app, a, b)) = postgres_with_one_and_two_filings().await else { return };
    let (alpha, bravo) = (TenantId::parse(&a.id).unwrap(), TenantId::parse(&b.id).unwrap());

    // (filings seen with no tenant filter, the server process of the connection)
    let read = |tenant: TenantId| {
        app.db.read_for(tenant, |conn| -> Result<(i64, i32), DbError> {
            let seen = filings::table.count().get_result(conn)?;
            let pid =
                diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("pg_backend_pid()")).get_result(conn)?;
            Ok((seen, pid))
        })
    };
    let (seen_a, pid) = read(alpha).await.unwrap();
    let (seen_b, pid_b) = read(bravo).await.unwrap();
    assert_eq!((seen_a, seen_b), (1, 2));
    assert_eq!(pid, pid_b, "one connection, reused (else this test proves less)");

    // Bravo's admin is no staff of alpha: refused before the work runs.
    let bravo_admin = StaffId::parse(&crate::helpers::token_subject(&b.admin.access)).unwrap();
    let check = StandingCheck { staff: bravo_admin, epoch: 0, roles: &[Role::TenantAdmin] };
    let refused = app
        .db
        .read_for_staff(alpha, Some(check), |_, _| -> Result<(), DbError> { panic!("ran after a refused standing") })
        .await;
    assert!(matches!(refused, Err(DbError::NotInStanding)), "{refused:?}");
    let (seen_a, pid_a) = read(alpha).await.unwrap();
    assert_eq!((seen_a, pid_a), (1, pid), "alpha's again, on the same connection");

    // Read-only for its whole session.
    let write = app
        .db
        .read_for(alpha, |conn| -> Result<usize, DbError> {
            Ok(diesel::update(tenants::table).set(tenants::name.eq("taken")).execute(conn)?)
        })
        .await;
    assert!(write.is_err(), "a tenant read wrote: {write:?}");
    // The pool for everything else never takes on a tenant read's settings.
    let all: i64 = app.db.run(|conn| filings::table.count().get_result(conn).map_err(DbError::from)).await.unwrap();
    assert_eq!(all, 3);
}

/// The queue page's pipelined reads (`db::Pipelined`, PostgreSQL only):
/// the statement entering the tenant and the read go out in one flight, so
/// the read must still run after the tenant is entered — on a fresh
/// connection (nothing prepared yet) and on a reused one. One connection,
/// alternating between alpha and bravo with a query that has no tenant
/// filter; a refused standing in between, whose read's result is never
/// given back; and no write.
#[tokio::test]
async fn pipelined_reads_on_one_reused_connection_each_see_only_their_tenant() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use filingdesk::db::schema::tenants;
    use filingdesk::db::{DbError, StandingCheck};
    use filingdesk::domain::ids::{StaffId, TenantId};
    use filingdesk::domain::role::Role;
    use futures_util::FutureExt;

    let Some((app, a, b)) = postgres_with_one_and_two_filings().await else { return };
    let reads = app.db.pipelined().expect("PostgreSQL reads are pipelined");
    let (alpha, bravo) = (TenantId::parse(&a.id).unwrap(), TenantId::parse(&b.id).unwrap());
    let admin = |t: &crate::helpers::Tenant| StaffId::parse(&crate::helpers::token_subject(&t.admin.access)).unwrap();
    let check = |staff| StandingCheck { staff, epoch: 0, roles: &[Role::TenantAdmin] };

    let read = |tenant: TenantId, staff: StaffId| seen_and_backend(reads, tenant, staff, 0.0);
    let (_, pid) = read(alpha, admin(&a)).await.unwrap();
    for _ in 0..5 {
        assert_eq!(read(alpha, admin(&a)).await.unwrap(), (1, pid));
        assert_eq!(read(bravo, admin(&b)).await.unwrap(), (2, pid), "one connection, reused");
    }

    // Bravo's admin is no staff of alpha: refused, and the read's rows (run
    // under bravo, the connection's last tenant) are not handed out.
    let refused = read(alpha, admin(&b)).await;
    assert!(matches!(refused, Err(DbError::NotInStanding)), "{refused:?}");
    assert_eq!(read(alpha, admin(&a)).await.unwrap(), (1, pid), "alpha's again, on the same connection");

    // Read-only for its whole session.
    let write = reads
        .read_for_staff(alpha, check(admin(&a)), |mut conn, _| {
            diesel::update(tenants::table).set(tenants::name.eq("taken")).execute(&mut conn).boxed()
        })
        .await;
    assert!(write.is_err(), "a pipelined read wrote: {write:?}");
    assert_eq!(read(alpha, admin(&a)).await.unwrap(), (1, pid), "a failed read leaves a good connection in the pool");
}

/// The pipelined reads connect as libpq would for the URL's `sslmode`:
/// encrypted by default (`prefer`; the PostgreSQL of CI offers TLS),
/// in the clear with `sslmode=disable`; a URL with an option only libpq
/// knows (`sslrootcert`, `sslmode=verify-full`) keeps the synchronous reads.
#[tokio::test]
async fn pipelined_reads_connect_as_the_urls_sslmode_says() {
    use filingdesk::db::{DatabaseUrl, Pipelined};
    use filingdesk::domain::ids::{StaffId, TenantId};

    let Some((app, a, _)) = postgres_with_one_and_two_filings().await else { return };
    let tenant = TenantId::parse(&a.id).unwrap();
    let staff = StaffId::parse(&crate::helpers::token_subject(&a.admin.access)).unwrap();
    // Whether the pipelined connection that served a read is encrypted, as
    // PostgreSQL sees it (asked on a connection of its own: the tenant role
    // may not read another role's session statistics).
    let database_url = app.database_url();
    let encrypted = |reads: Option<Pipelined>| {
        let database_url = database_url.clone();
        async move {
            let pid = pipelined_backend_pid(&reads.expect("pipelined"), tenant, staff).await.unwrap();
            use diesel::Connection;
            let mut admin = diesel::PgConnection::establish(&database_url).unwrap();
            let ssl = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "(SELECT ssl FROM pg_stat_ssl WHERE pid = {pid})"
            )));
            diesel::RunQueryDsl::get_result::<bool>(ssl, &mut admin).unwrap()
        }
    };
    // The test databases' URLs say `sslmode=disable` (helpers::pg_server_url).
    let url = |options: &str| {
        let full = app.database_url();
        let base = full.split_once('?').map_or(full.as_str(), |(base, _)| base);
        DatabaseUrl::parse(&format!("{base}{options}")).unwrap()
    };
    let reads = |options: &str| Pipelined::for_url(&url(options), 2, 1);
    assert!(encrypted(reads("")).await, "sslmode=prefer (the default) encrypts when the server offers it");
    assert!(encrypted(reads("?sslmode=require")).await);
    assert!(!encrypted(reads("?sslmode=disable")).await);
    assert!(reads("?sslmode=verify-full").is_none());
    assert!(reads("?sslrootcert=/etc/ssl/certs/ca.pem").is_none());
}

/// Pipelined connections are renewed once they have served their lifetime
/// (30 minutes in production, as the synchronous pool's), so that the
/// generic plans their sessions keep are made again.
#[tokio::test]
async fn pipelined_connections_are_renewed_at_the_end_of_their_lifetime() {
    use filingdesk::db::{DatabaseUrl, Pipelined};
    use filingdesk::domain::ids::{StaffId, TenantId};

    let Some((app, a, _)) = postgres_with_one_and_two_filings().await else { return };
    let tenant = TenantId::parse(&a.id).unwrap();
    let staff = StaffId::parse(&crate::helpers::token_subject(&a.admin.access)).unwrap();
    let url = DatabaseUrl::parse(&app.database_url()).unwrap();
    let backend_pid = |reads: &Pipelined, tenant, staff| {
        let reads = reads.clone();
        async move { pipelined_backend_pid(&reads, tenant, staff).await.unwrap() }
    };
    let kept = Pipelined::for_url(&url, 2, 1).unwrap();
    let first = backend_pid(&kept, tenant, staff).await;
    assert_eq!(backend_pid(&kept, tenant, staff).await, first, "a young connection is reused");
    let renewed = Pipelined::with_lifetime(&url, 2, std::time::Duration::ZERO).unwrap();
    let first = backend_pid(&renewed, tenant, staff).await;
    assert_ne!(backend_pid(&renewed, tenant, staff).await, first, "an old one is replaced");
}

/// Each thread that reads (each HTTP worker) has pipelined connections of
/// its own, opened on it and driven by it: a read never waits for another
/// thread to move its bytes. The connections are shared out among the
/// threads, and a close ends every thread's.
#[tokio::test]
async fn each_thread_reads_on_connections_of_its_own_and_a_close_ends_them_all() {
    use filingdesk::db::{DatabaseUrl, Pipelined};
    use filingdesk::domain::ids::{StaffId, TenantId};

    let Some((app, a, _)) = postgres_with_one_and_two_filings().await else { return };
    let tenant = TenantId::parse(&a.id).unwrap();
    let staff = StaffId::parse(&crate::helpers::token_subject(&a.admin.access)).unwrap();
    let url = DatabaseUrl::parse(&app.database_url()).unwrap();
    // Two connections for two threads: one each.
    let reads = Pipelined::for_url(&url, 2, 2).unwrap();
    let here = pipelined_backend_pid(&reads, tenant, staff).await.unwrap();
    assert_eq!(pipelined_backend_pid(&reads, tenant, staff).await.unwrap(), here);

    // Another thread with a runtime of its own, as an HTTP worker has; it
    // keeps running (driving its connection) until told to end.
    let (pids, mut got) = tokio::sync::mpsc::unbounded_channel();
    let (end, ended) = tokio::sync::oneshot::channel::<()>();
    let worker = {
        let reads = reads.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let pid = || pipelined_backend_pid_unless_closed(&reads, tenant, staff);
                for _ in 0..2 {
                    pids.send(pid().await.unwrap()).unwrap();
                }
                let _ = ended.await;
                pids.send(pid().await.unwrap()).unwrap();
            })
        })
    };
    let there = got.recv().await.unwrap().unwrap();
    assert_eq!(got.recv().await.unwrap(), Some(there), "the other thread keeps its connection");
    assert_ne!(there, here, "and it is not this thread's");
    // This thread's one connection is its own: a second read at the same
    // time waits for it rather than taking the other thread's.
    let (one, two) =
        tokio::join!(pipelined_backend_pid(&reads, tenant, staff), pipelined_backend_pid(&reads, tenant, staff));
    assert_eq!((one.unwrap(), two.unwrap()), (here, here));

    assert!(reads.close(std::time::Duration::from_secs(5)).await, "every thread's drivers ended");
    let alive =
        |pid: i32| app.sql_strings(&format!("SELECT pid::text AS v FROM pg_stat_activity WHERE pid = {pid}")).len();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while alive(here) + alive(there) > 0 {
        assert!(std::time::Instant::now() < deadline, "a session outlived the close");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(pipelined_backend_pid_unless_closed(&reads, tenant, staff).await.unwrap(), None, "closed here");
    end.send(()).unwrap();
    assert_eq!(got.recv().await.unwrap(), None, "and on the other thread");
    worker.join().unwrap();
}

/// A connection whose session is already in the reader's tenant sends the
/// read alone, which confirms the standing in its own statement: a token
/// whose standing has lapsed is refused there as on a fresh connection,
/// also when the page it asks for is empty (the check runs before any row
/// is looked for), and the refusal leaves the connection in use.
#[tokio::test]
async fn a_read_on_a_connection_kept_in_its_tenant_still_confirms_the_standing() {
    use filingdesk::db::{tickets, DatabaseUrl, DbError, Pipelined, StandingCheck};
    use filingdesk::domain::ids::{StaffId, TenantId};
    use filingdesk::domain::role::Role;

    let Some((app, a, _)) = postgres_with_one_and_two_filings().await else { return };
    let tenant = TenantId::parse(&a.id).unwrap();
    let staff = StaffId::parse(&crate::helpers::token_subject(&a.admin.access)).unwrap();
    let url = DatabaseUrl::parse(&app.database_url()).unwrap();
    let reads = Pipelined::for_url(&url, 1, 1).unwrap();
    let check = StandingCheck { staff, epoch: 0, roles: &[Role::TenantAdmin] };
    let empty = || tickets::QueueFilter { filing_number: Some("none".into()), ..Default::default() };
    let page = |check: StandingCheck| tickets::queue_pipelined(&reads, tenant, check, empty(), None, 10);
    // The first read enters the tenant; the next ones keep it.
    let first = pipelined_backend_pid(&reads, tenant, staff).await.unwrap();
    assert_eq!(pipelined_backend_pid(&reads, tenant, staff).await.unwrap(), first);
    assert!(page(check).await.unwrap().unwrap().is_empty());
    // The role the route allows is checked against the row, not the token.
    let reviewers_only = StandingCheck { roles: &[Role::Reviewer], ..check };
    assert!(matches!(page(reviewers_only).await, Err(DbError::RoleNotAllowed)));
    // The token's sessions end (a password change, a sign-out everywhere).
    app.sql(&format!("UPDATE staff SET session_epoch = session_epoch + 1 WHERE id = '{staff}'")).unwrap();
    assert!(matches!(page(check).await, Err(DbError::NotInStanding)), "an empty page is refused too");
    assert!(matches!(pipelined_backend_pid(&reads, tenant, staff).await, Err(DbError::NotInStanding)));
    // The connection stayed, in its tenant: the current epoch reads on it.
    let current = StandingCheck { epoch: 1, ..check };
    assert!(page(current).await.unwrap().unwrap().is_empty());
    app.sql(&format!("UPDATE staff SET status = 'disabled' WHERE id = '{staff}'")).unwrap();
    assert!(matches!(page(current).await, Err(DbError::NotInStanding)));
}

/// A stop ends the pipelined connections properly while the HTTP workers
/// that drive them still run (`Leaving::stop` calls `Db::close_pipelined`
/// before the server stops): their PostgreSQL sessions end before `close`
/// returns, and the reads that still come take the synchronous path.
/// (Left to the workers' end, each connection was cut without a Terminate,
/// and PostgreSQL logged "Connection reset by peer" for it at every stop.)
#[tokio::test]
async fn closed_pipelined_connections_end_their_sessions_and_reads_go_on_without_them() {
    use filingdesk::db::{DatabaseUrl, Pipelined, PIPELINED_APPLICATION_NAME};
    use filingdesk::domain::ids::{StaffId, TenantId};

    let Some((app, a, _)) = postgres_with_one_and_two_filings().await else { return };
    let tenant = TenantId::parse(&a.id).unwrap();
    let staff = StaffId::parse(&crate::helpers::token_subject(&a.admin.access)).unwrap();
    // The connection goes through a relay that keeps what the client sent
    // (unencrypted, so that its messages can be read).
    let mut target = reqwest::Url::parse(&app.database_url()).unwrap();
    let upstream = format!("{}:{}", target.host_str().unwrap(), target.port().unwrap_or(5432));
    let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    target.set_port(Some(relay.local_addr().unwrap().port())).unwrap();
    target.query_pairs_mut().append_pair("sslmode", "disable");
    let sent = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<u8>::new()));
    let relayed = {
        let sent = sent.clone();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (client, _) = relay.accept().await.unwrap();
            let server = tokio::net::TcpStream::connect(upstream).await.unwrap();
            let ((mut client_in, mut client_out), (mut server_in, mut server_out)) =
                (client.into_split(), server.into_split());
            let answers = tokio::spawn(async move { tokio::io::copy(&mut server_in, &mut client_out).await });
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = client_in.read(&mut buf).await {
                sent.lock().await.extend_from_slice(&buf[..n]);
                server_out.write_all(&buf[..n]).await.unwrap();
            }
            let _ = server_out.shutdown().await;
            let _ = answers.await;
        })
    };
    let url = DatabaseUrl::parse(target.as_str()).unwrap();
    let pid_of = |reads: Pipelined| async move { pipelined_backend_pid_unless_closed(&reads, tenant, staff).await };
    let sessions = |pid: i32| {
        app.sql_strings(&format!(
            "SELECT application_name AS v FROM pg_stat_activity WHERE pid = {pid} AND datname = current_database()"
        ))
    };
    let reads = Pipelined::for_url(&url, 1, 1).unwrap();
    let pid = pid_of(reads.clone()).await.unwrap().unwrap();
    assert_eq!(sessions(pid), vec![PIPELINED_APPLICATION_NAME.to_owned()], "named for the operator");

    assert!(reads.close(std::time::Duration::from_secs(5)).await, "every driver ended");
    relayed.await.unwrap();
    // PostgreSQL's Terminate message ('X', length 4) is the last the client sent.
    assert!(sent.lock().await.ends_with(&[b'X', 0, 0, 0, 4]), "the connection was ended with a Terminate");
    // PostgreSQL ends the session once it has read the Terminate; wait for that.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !sessions(pid).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the session outlived the closed connection");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(pid_of(reads.clone()).await.unwrap(), None, "a closed set of connections reads nothing");

    // The application's own: once closed, the queue is read without them.
    let before = created(app.get("/api/v1/tickets", Some(&a.admin.access)).await).await;
    assert!(app.db.pipelined().is_some());
    assert!(app.db.close_pipelined(std::time::Duration::from_secs(5)).await);
    assert!(app.db.pipelined().is_none(), "reads no longer take the closed connections");
    let after = created(app.get("/api/v1/tickets", Some(&a.admin.access)).await).await;
    assert_eq!(before, after);
}

/// [`postgres_with_one_and_two_filings`] as pipelined reads see it: each
/// tenant with its admin, and the URL to open connections of the test's own.
async fn alpha_and_bravo() -> Option<(
    TestApp,
    [(filingdesk::domain::ids::TenantId, filingdesk::domain::ids::StaffId); 2],
    filingdesk::db::DatabaseUrl,
)> {
    use filingdesk::domain::ids::{StaffId, TenantId};
    let (app, a, b) = postgres_with_one_and_two_filings().await?;
    let ids = |t: &crate::helpers::Tenant| {
        (TenantId::parse(&t.id).unwrap(), StaffId::parse(&crate::helpers::token_subject(&t.admin.access)).unwrap())
    };
    let url = filingdesk::db::DatabaseUrl::parse(&app.database_url()).unwrap();
    Some((app, [ids(&a), ids(&b)], url))
}

/// A pipelined read of `staff` (a tenant admin of `tenant`): the filings it
/// sees with no tenant filter and the backend that served it, holding its
/// connection `hold` seconds longer.
async fn seen_and_backend(
    reads: &filingdesk::db::Pipelined,
    tenant: filingdesk::domain::ids::TenantId,
    staff: filingdesk::domain::ids::StaffId,
    hold: f64,
) -> Result<(i64, i32), filingdesk::db::DbError> {
    let read = seen_and_backend_unless_closed(reads, tenant, staff, hold).await?;
    Ok(read.expect("the pipelined connections are open"))
}

/// [`seen_and_backend`], `None` when the connections are closed (also while
/// the read waited for one).
async fn seen_and_backend_unless_closed(
    reads: &filingdesk::db::Pipelined,
    tenant: filingdesk::domain::ids::TenantId,
    staff: filingdesk::domain::ids::StaffId,
    hold: f64,
) -> Result<Option<(i64, i32)>, filingdesk::db::DbError> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use filingdesk::db::schema::filings;
    use futures_util::FutureExt;
    let check =
        filingdesk::db::StandingCheck { staff, epoch: 0, roles: &[filingdesk::domain::role::Role::TenantAdmin] };
    reads
        .read_for_staff(tenant, check, move |mut conn, unconfirmed| {
            async move {
                let mut unfiltered = filings::table.into_boxed();
                if let Some(check) = unconfirmed {
                    unfiltered = unfiltered.filter(check.gate());
                }
                let seen: i64 = unfiltered.count().get_result(&mut conn).await?;
                let pid: i32 = diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("pg_backend_pid()"))
                    .get_result(&mut conn)
                    .await?;
                if hold > 0.0 {
                    diesel::sql_query(format!("SELECT pg_sleep({hold})")).execute(&mut conn).await?;
                }
                Ok((seen, pid))
            }
            .boxed()
        })
        .await
}

/// `read`'s outcome, with `name` noted in `ended` as it comes.
async fn noting<T>(
    ended: &std::sync::Mutex<Vec<&'static str>>,
    name: &'static str,
    read: impl std::future::Future<Output = T>,
) -> T {
    let outcome = read.await;
    ended.lock().unwrap().push(name);
    outcome
}

/// Reads in the tenant a pipelined connection is in share it, their
/// statements queued on it one behind the other; a read that must enter
/// another tenant has a connection to itself (another one, or the same once
/// the reads on it are done), so that nothing moves a session under a read
/// in flight; and reads that come while it waits do not keep that
/// connection from coming free.
#[tokio::test]
async fn reads_in_a_connections_tenant_share_it_and_one_entering_another_tenant_has_one_to_itself() {
    use filingdesk::db::Pipelined;

    let Some((_app, [(alpha, alpha_admin), (bravo, bravo_admin)], url)) = alpha_and_bravo().await else { return };

    // Two connections for this thread; the first read leaves one in alpha.
    let reads = Pipelined::for_url(&url, 2, 1).unwrap();
    let (_, first) = seen_and_backend(&reads, alpha, alpha_admin, 0.0).await.unwrap();
    let (held, shared, entered) = tokio::join!(
        async { seen_and_backend(&reads, alpha, alpha_admin, 0.3).await.unwrap() },
        async { seen_and_backend(&reads, alpha, alpha_admin, 0.0).await.unwrap() },
        async { seen_and_backend(&reads, bravo, bravo_admin, 0.0).await.unwrap() },
    );
    assert_eq!(held, (1, first));
    assert_eq!(shared, (1, first), "shared with the read holding it, in the same tenant");
    assert_eq!(entered.0, 2);
    assert_ne!(entered.1, first, "entering bravo took the other connection");

    // One connection: bravo waits for alpha's read on it to end; an alpha
    // read coming after bravo's does not slip onto it meanwhile.
    let reads = Pipelined::for_url(&url, 1, 1).unwrap();
    let (_, only) = seen_and_backend(&reads, alpha, alpha_admin, 0.0).await.unwrap();
    let ended = std::sync::Mutex::new(Vec::new());
    let (held, entered, late) = tokio::join!(
        noting(&ended, "alpha, held", seen_and_backend(&reads, alpha, alpha_admin, 0.3)),
        noting(&ended, "bravo", seen_and_backend(&reads, bravo, bravo_admin, 0.0)),
        noting(&ended, "alpha, late", seen_and_backend(&reads, alpha, alpha_admin, 0.0)),
    );
    assert_eq!(
        (held.unwrap(), entered.unwrap(), late.unwrap()),
        ((1, only), (2, only), (1, only)),
        "each saw its own tenant"
    );
    assert_eq!(*ended.lock().unwrap(), ["alpha, held", "bravo", "alpha, late"]);
}

/// A stop closes the pipelined connections while reads wait for one, or
/// open one: such a read is handed back unsent (`None`), as every read
/// after the close; the queue's route reads those on the synchronous pool
/// (its branch for a closed set, shown in
/// `closed_pipelined_connections_end_their_sessions_and_reads_go_on_without_them`).
/// They were answered 503. The read already on a connection ends normally,
/// and the close waits for it.
#[tokio::test]
async fn reads_waiting_for_a_pipelined_connection_when_a_stop_closes_them_are_handed_back_unsent() {
    use filingdesk::db::Pipelined;

    let Some((_app, [(alpha, alpha_admin), (bravo, bravo_admin)], url)) = alpha_and_bravo().await else { return };
    let within = std::time::Duration::from_secs(5);

    // One connection, left in alpha. Polled in this order: an alpha read
    // holds it 0.3 s, a bravo read waits for it to itself, then the stop.
    let reads = Pipelined::for_url(&url, 1, 1).unwrap();
    let (_, only) = seen_and_backend(&reads, alpha, alpha_admin, 0.0).await.unwrap();
    let (held, waiting, closed) = tokio::join!(
        seen_and_backend_unless_closed(&reads, alpha, alpha_admin, 0.3),
        seen_and_backend_unless_closed(&reads, bravo, bravo_admin, 0.0),
        reads.close(within),
    );
    assert_eq!(held.unwrap(), Some((1, only)), "the read on the connection ended normally");
    assert_eq!(waiting.unwrap(), None, "the waiting read was handed back, unsent");
    assert!(closed, "every driver ended");

    // No connection yet: the first read opens one, and the stop comes
    // while it connects.
    let reads = Pipelined::for_url(&url, 1, 1).unwrap();
    let (opening, closed) =
        tokio::join!(seen_and_backend_unless_closed(&reads, bravo, bravo_admin, 0.0), reads.close(within));
    assert_eq!(opening.unwrap(), None, "the opened connection was ended, the read handed back");
    assert!(closed);
}

/// A read given up while it enters its tenant (its client went away, the
/// request's task was dropped) has already sent the entering statement,
/// which PostgreSQL still runs: the connection is then in no known tenant,
/// and the next read on it enters its own rather than trusting the one the
/// connection was in before.
#[tokio::test]
async fn a_read_given_up_while_entering_its_tenant_leaves_its_connection_in_no_known_tenant() {
    use filingdesk::db::Pipelined;

    let Some((_app, [(alpha, alpha_admin), (bravo, bravo_admin)], url)) = alpha_and_bravo().await else { return };
    let reads = Pipelined::for_url(&url, 1, 1).unwrap();
    let (_, only) = seen_and_backend(&reads, alpha, alpha_admin, 0.0).await.unwrap();

    // Bravo's read is dropped while its last statement still runs, long
    // after its entering statement was sent.
    let given_up =
        tokio::time::timeout(std::time::Duration::from_millis(50), seen_and_backend(&reads, bravo, bravo_admin, 1.0))
            .await;
    assert!(given_up.is_err(), "the read was given up before it ended");
    assert_eq!(
        seen_and_backend(&reads, alpha, alpha_admin, 0.0).await.unwrap(),
        (1, only),
        "alpha's own, on the same connection"
    );
}

/// Public submissions waiting together are written in one transaction, a
/// savepoint each under its own tenant (`tickets::grouped`). With every
/// database worker held, eight queue for two tenants; freed, the workers
/// write them in four groups of two (never two of one tenant in a group:
/// their locks would be taken out of order). Each part runs in its own tenant only
/// (on PostgreSQL: its setting, and row-level security shows it its own
/// tenant's ticket, never the other's), the part whose statement fails
/// (after its audit event) is rolled back alone and answered its error,
/// the others of its group commit, and both audit chains still verify.
#[tokio::test]
async fn submissions_waiting_together_are_written_together_each_under_its_own_tenant() {
    use std::sync::Arc;

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use filingdesk::audit::{self, Actor, Event, RequestMeta};
    use filingdesk::db::{schema::tickets, DbError};
    use filingdesk::domain::ids::TenantId;
    use filingdesk::tickets::grouped::{Grouped, Work};

    let app = crate::helpers::spawn_app().await;
    let slugs = ["acme", "globex"];
    let mut tenants = Vec::new();
    for slug in slugs {
        let t = app.tenant(slug).await;
        let body = json!({"kind": "password_reset", "filing_number": "京ICP备12345678号", "contact_name": "张三",
                          "phone": "13900001111", "id_number": "11010519491231002X"});
        assert_eq!(app.post(&format!("/api/v1/public/{slug}/tickets"), None, body).await.status(), 201);
        tenants.push(t);
    }
    let ids: Vec<TenantId> = tenants.iter().map(|t| TenantId::parse(&t.id).unwrap()).collect();
    let grouped: Arc<Grouped<(String, Vec<String>), DbError>> = Arc::default();
    let numbers = Arc::new(filingdesk::tickets::numbers::NumberBlocks::default());

    // Every database worker held (the test app's pool has four).
    let held = HeldWorkers::hold(&app, 4).await;

    let postgres = app.is_postgres();
    let parts: Vec<_> = (0..8usize)
        .map(|i| {
            let tenant = ids[i % 2];
            let work: Work<(String, Vec<String>), DbError> = Box::new(move |conn, _number| {
                let event =
                    Event::new("test.grouped", Actor::Anonymous).tenant(Some(tenant)).details(json!({"part": i}));
                audit::record(conn, &RequestMeta::default(), event)?;
                if i == 2 {
                    conn.batch_execute("SELECT * FROM no_such_table")?;
                }
                let setting = if postgres {
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
                        "current_setting('filingdesk.tenant_id')",
                    ))
                    .get_result::<String>(conn)?
                } else {
                    tenant.to_string()
                };
                let visible = tickets::table.select(tickets::tenant_id).load::<String>(conn)?;
                Ok((setting, visible))
            });
            let (grouped, db, numbers) = (grouped.clone(), app.db.clone(), numbers.clone());
            tokio::spawn(async move { grouped.submit(&db, &numbers, tenant, work).await })
        })
        .collect();
    until("eight submissions waiting", || grouped.metrics().1.get() == 8).await;
    held.free().await;

    for (i, part) in parts.into_iter().enumerate() {
        let answer = part.await.unwrap();
        if i == 2 {
            assert!(answer.is_err(), "the failing part answers its error");
            continue;
        }
        let (setting, visible) = answer.unwrap_or_else(|e| panic!("part {i}: {e}"));
        let own = ids[i % 2].to_string();
        assert_eq!(setting, own, "part {i} ran under its own tenant");
        if postgres {
            assert_eq!(visible, [own], "part {i} sees its own tenant's ticket only");
        } else {
            assert_eq!(visible.len(), 2, "SQLite has no row-level security");
        }
    }
    let (sizes, waiting) = grouped.metrics();
    // One submission per tenant in a group: the two tenants' in pairs.
    assert_eq!((sizes.get_sample_count(), sizes.get_sample_sum(), waiting.get()), (4, 8.0, 0), "four groups of two");
    for (t, kept) in tenants.iter().zip([3, 4]) {
        let events = app.sql_strings(&format!(
            "SELECT details AS v FROM audit_events WHERE action = 'test.grouped' AND tenant_id = '{}'",
            t.id
        ));
        assert_eq!(events.len(), kept, "{events:?}");
        assert!(events.iter().all(|d| !d.contains("\"part\":2")), "the failed part left no event");
        let verified: Value = app.get("/api/v1/audit-events/verify", Some(&t.admin.access)).await.json().await.unwrap();
        assert_eq!(verified["ok"], true, "{verified}");
    }
}

/// A submission that never reached a database worker is never written
/// afterwards: one whose request went away while it waited leaves the queue
/// at once, and one whose wait ran out (every worker held past the
/// checkout's 5 s) is answered that error (503) and leaves it too. Freed,
/// the workers run neither.
#[tokio::test]
async fn a_submission_dropped_or_timed_out_while_waiting_is_never_written() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use filingdesk::db::DbError;
    use filingdesk::domain::ids::TenantId;
    use filingdesk::tickets::grouped::{Grouped, Work};

    let app = crate::helpers::spawn_app().await;
    let tenant = TenantId::parse(&app.tenant("acme").await.id).unwrap();
    let grouped: Arc<Grouped<(), DbError>> = Arc::default();
    let numbers = Arc::new(filingdesk::tickets::numbers::NumberBlocks::default());
    let held = HeldWorkers::hold(&app, 4).await;
    let ran = Arc::new(AtomicBool::new(false));
    let submit = |ran: Arc<AtomicBool>| {
        let (grouped, db, numbers) = (grouped.clone(), app.db.clone(), numbers.clone());
        let work: Work<(), DbError> = Box::new(move |_, _| {
            ran.store(true, Ordering::SeqCst);
            Ok(())
        });
        tokio::spawn(async move { grouped.submit(&db, &numbers, tenant, work).await })
    };
    let waiting = || grouped.metrics().1.get();

    let dropped = submit(ran.clone());
    until("the submission waiting", || waiting() == 1).await;
    dropped.abort();
    assert!(dropped.await.unwrap_err().is_cancelled());
    assert_eq!(waiting(), 0, "the dropped request's submission left the queue");

    let answer = submit(ran.clone()).await.unwrap();
    assert!(matches!(answer, Err(DbError::Busy)), "{answer:?}");
    assert_eq!(waiting(), 0, "the timed-out submission left the queue");

    held.free().await;
    // A later submission's turn would take whatever were still waiting.
    let later = Arc::new(AtomicBool::new(false));
    submit(later.clone()).await.unwrap().unwrap();
    assert!(later.load(Ordering::SeqCst));
    assert!(!ran.load(Ordering::SeqCst), "neither earlier submission was written");
    let sizes = grouped.metrics().0;
    assert_eq!((sizes.get_sample_count(), sizes.get_sample_sum()), (1, 1.0), "the later one alone");
}

/// The database workers held busy by the test until [`HeldWorkers::free`].
struct HeldWorkers {
    gate: std::sync::Arc<std::sync::Barrier>,
    held: Vec<tokio::task::JoinHandle<Result<(), filingdesk::db::DbError>>>,
}

impl HeldWorkers {
    /// Returns once each of `workers` runs a piece of work that waits.
    async fn hold(app: &TestApp, workers: usize) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        let started = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(std::sync::Barrier::new(workers + 1));
        let held = (0..workers)
            .map(|_| {
                let (db, started, gate) = (app.db.clone(), started.clone(), gate.clone());
                tokio::spawn(async move {
                    db.run(move |_| -> Result<(), filingdesk::db::DbError> {
                        started.fetch_add(1, Ordering::SeqCst);
                        gate.wait();
                        Ok(())
                    })
                    .await
                })
            })
            .collect();
        until("every worker held", || started.load(Ordering::SeqCst) == workers).await;
        Self { gate, held }
    }

    async fn free(self) {
        let gate = self.gate;
        tokio::task::spawn_blocking(move || gate.wait()).await.unwrap();
        for h in self.held {
            h.await.unwrap().unwrap();
        }
    }
}

/// Polls `done` every few milliseconds; fails the test after 10 s.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what}: not within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
