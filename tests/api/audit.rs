//! The audit log: coverage of every foundation action, the hash chain under
//! tampering and concurrency, tenancy, export, retention.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp, ADMIN, ADMIN_PASSWORD, PASSWORD};

/// Every event of the caller's chain, oldest first, through the paged list.
async fn all_events(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = format!("/api/v1/audit-events?limit=3{query}");
    loop {
        let resp = app.get(&path, Some(token)).await;
        assert_eq!(resp.status(), 200);
        let page: Value = resp.json().await.unwrap();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/audit-events?limit=3{query}&cursor={c}"),
            None => break,
        }
    }
    out.reverse();
    out
}

fn actions(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

async fn verify(app: &TestApp, token: &str, query: &str) -> Value {
    let resp = app.get(&format!("/api/v1/audit-events/verify?x=1{query}"), Some(token)).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn every_foundation_action_leaves_exactly_its_event_and_no_secret() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let rita_id = app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    app.login_raw(Some("acme"), "rita", "Wrong-Password-1").await;
    app.login_raw(Some("acme"), "nobody", "Wrong-Password-2").await;
    let rita = app.login(Some("acme"), "rita", PASSWORD).await;
    app.put("/api/v1/settings", Some(&t.admin.access), json!({"reset_mode": "link"})).await;
    let resp = app
        .put(
            "/api/v1/auth/password",
            Some(&rita.access),
            json!({"current_password": PASSWORD, "new_password": "Fresh-Secret-77"}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    app.patch(&format!("/api/v1/staff/{rita_id}"), Some(&t.admin.access), json!({"role": "tenant_admin"})).await;
    let again = app.login(Some("acme"), "rita", "Fresh-Secret-77").await;
    let refreshed: Value =
        app.post("/api/v1/auth/refresh", None, json!({"refresh_token": again.refresh})).await.json().await.unwrap();
    app.post("/api/v1/auth/logout", None, json!({"refresh_token": refreshed["refresh_token"]})).await;
    let root = app.platform_admin().await;
    app.patch(&format!("/api/v1/tenants/{}", t.id), Some(&root.access), json!({"name": "ACME Cloud"})).await;

    let events = all_events(&app, &t.admin.access, "").await;
    assert_eq!(
        actions(&events),
        [
            "tenant.created",
            "staff.created",
            "auth.login.succeeded",
            "staff.created",
            "auth.login.failed",
            "auth.login.failed",
            "auth.login.succeeded",
            "settings.updated",
            "auth.password.changed",
            "staff.updated",
            "auth.login.succeeded",
            "auth.token.refreshed",
            "auth.logout",
            "tenant.updated",
        ]
    );
    let e = &events[4];
    assert_eq!(e["details"]["username"], "rita");
    assert_eq!(e["details"]["reason"], "wrong_password");
    assert_eq!(e["actor_type"], "anonymous");
    assert_eq!(e["target_id"], rita_id.as_str());
    assert_eq!(events[5]["details"]["username"], "nobody");
    assert!(e["request_id"].is_string() && e["ip"] == "127.0.0.1", "{e}");
    assert_eq!(events[7]["details"]["changes"]["reset_mode"], json!({"from": "temp_password", "to": "link"}));
    assert_eq!(events[9]["details"]["changes"], json!({"role": {"from": "reviewer", "to": "tenant_admin"}}));
    assert_eq!(events[13]["actor_type"], "staff");
    assert_eq!(events[13]["actor_id"], crate::helpers::token_subject(&root.access));

    // The chain links every event to the one before.
    for pair in events.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
        assert_eq!(pair[1]["seq"].as_i64().unwrap(), pair[0]["seq"].as_i64().unwrap() + 1);
    }

    let export = app.get("/api/v1/audit-events/export", Some(&t.admin.access)).await.text().await.unwrap();
    for secret in [PASSWORD, "Wrong-Password-1", "Wrong-Password-2", "Fresh-Secret-77", &again.refresh, &rita.access] {
        assert!(!export.contains(secret), "a secret reached the audit log");
    }
    assert_eq!(verify(&app, &t.admin.access, "").await, json!({"ok": true, "checked": 14, "first_broken_id": null}));
}

#[tokio::test]
async fn a_refused_action_leaves_a_failure_event_and_no_partial_write() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    let resp = app
        .post(
            "/api/v1/staff",
            Some(&t.admin.access),
            json!({"username": "rita", "display_name": "R2", "email": "r2@example.com", "role": "reviewer", "password": PASSWORD}),
        )
        .await;
    assert_problem(resp, 409, "username_taken").await;

    let events = all_events(&app, &t.admin.access, "").await;
    assert_eq!(actions(&events[events.len() - 2..]), ["staff.created", "staff.create.failed"]);
    assert_eq!(events.last().unwrap()["details"], json!({"username": "rita", "code": "username_taken"}));
    let staff: Value = app.get("/api/v1/staff", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(staff["items"].as_array().unwrap().len(), 2, "no second rita");

    let resp = app
        .put(
            "/api/v1/auth/password",
            Some(&t.admin.access),
            json!({"current_password": "nope", "new_password": "Whatever-123"}),
        )
        .await;
    assert_problem(resp, 422, "validation_failed").await;
    let events = all_events(&app, &t.admin.access, "&action=auth.password.change_failed").await;
    assert_eq!(events.len(), 1);
    app.login(Some("acme"), "acme-admin", PASSWORD).await;
}

#[tokio::test]
async fn lockout_and_refresh_reuse_are_on_record() {
    let app = spawn_app_with(|s| s.login_max_failures = 2).await;
    let first = app.platform_admin().await;
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
    for _ in 0..2 {
        app.login_raw(None, ADMIN, "wrong-password").await;
    }
    app.login_raw(None, ADMIN, ADMIN_PASSWORD).await;

    // The platform admin reads the platform's own chain without a tenant_id.
    let events = all_events(&app, &first.access, "").await;
    let names = actions(&events);
    assert!(
        names.ends_with(&[
            "auth.refresh.reuse_detected",
            "auth.login.failed",
            "auth.login.failed",
            "auth.address.locked",
            "auth.login.refused",
        ]),
        "{names:?}"
    );
    let reuse = events.iter().find(|e| e["action"] == "auth.refresh.reuse_detected").unwrap();
    assert_eq!(reuse["details"]["tokens_revoked"], 1);
    assert_eq!(events.last().unwrap()["details"]["reason"], "locked");
}

#[tokio::test]
async fn a_row_changed_in_the_database_is_named_by_verify() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    for i in 0..3 {
        app.put("/api/v1/settings", Some(&t.admin.access), json!({"lockout_threshold": 5 + i})).await;
    }
    let events = all_events(&app, &t.admin.access, "").await;
    let victim = events[3]["id"].as_str().unwrap().to_owned();
    assert_eq!(verify(&app, &t.admin.access, "").await["ok"], true);

    // An intruder with database access disables the guard and edits a row.
    let disable = if app.is_postgres() {
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;"
    } else {
        "DROP TRIGGER audit_events_no_update;"
    };
    app.sql(&format!(
        "{disable} UPDATE audit_events SET details = '{{\"changes\":{{\"forged\":true}}}}' WHERE id = '{victim}';"
    ))
    .unwrap();

    let v = verify(&app, &t.admin.access, "").await;
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_broken_id"], victim.as_str());
    assert_eq!(v["checked"], 4);
}

#[tokio::test]
async fn a_deleted_row_breaks_the_chain_at_its_successor() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    for i in 0..3 {
        app.put("/api/v1/settings", Some(&t.admin.access), json!({"lockout_threshold": 5 + i})).await;
    }
    let events = all_events(&app, &t.admin.access, "").await;
    let (gone, next) = (events[2]["id"].as_str().unwrap(), events[3]["id"].as_str().unwrap());
    let disable = if app.is_postgres() {
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;"
    } else {
        "DROP TRIGGER audit_events_no_delete;"
    };
    app.sql(&format!("{disable} DELETE FROM audit_events WHERE id = '{gone}';")).unwrap();
    let v = verify(&app, &t.admin.access, "").await;
    assert_eq!((v["ok"].as_bool(), v["first_broken_id"].as_str()), (Some(false), Some(next)));
}

#[tokio::test]
async fn the_database_itself_refuses_to_update_or_delete_audit_events() {
    let app = spawn_app().await;
    app.tenant("acme").await;
    let update = app.sql("UPDATE audit_events SET action = 'nothing.happened'");
    let delete = app.sql("DELETE FROM audit_events");
    assert!(update.unwrap_err().to_string().contains("append-only"));
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    if app.is_postgres() {
        assert!(app.sql("TRUNCATE audit_events").unwrap_err().to_string().contains("append-only"));
    }
    let root = app.platform_admin().await;
    let t: Value = app.get("/api/v1/tenants", Some(&root.access)).await.json().await.unwrap();
    let id = t["items"][0]["id"].as_str().unwrap();
    assert_eq!(verify(&app, &root.access, &format!("&tenant_id={id}")).await["ok"], true);
}

#[tokio::test]
async fn one_tenant_never_sees_another_tenants_events() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    app.put("/api/v1/settings", Some(&a.admin.access), json!({"reset_mode": "link"})).await;

    let b_events = all_events(&app, &b.admin.access, "").await;
    assert!(b_events.iter().all(|e| e["tenant_id"] == b.id.as_str()));
    assert!(!actions(&b_events).contains(&"settings.updated"));
    // Naming tenant A changes nothing for B's admin.
    let named = all_events(&app, &b.admin.access, &format!("&tenant_id={}", a.id)).await;
    assert_eq!(named, b_events);
    let export = app.get(&format!("/api/v1/audit-events/export?tenant_id={}", a.id), Some(&b.admin.access)).await;
    assert!(!export.text().await.unwrap().contains(&a.id));

    // The platform admin reads A's log by naming it.
    let root = app.platform_admin().await;
    let a_events = all_events(&app, &root.access, &format!("&tenant_id={}", a.id)).await;
    assert!(actions(&a_events).contains(&"settings.updated"));
}

#[tokio::test]
async fn the_export_holds_exactly_the_events_of_the_paged_list() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    for i in 0..7 {
        app.put("/api/v1/settings", Some(&t.admin.access), json!({"lockout_minutes": 10 + i})).await;
    }
    let listed = all_events(&app, &t.admin.access, "").await;

    let resp = app.get("/api/v1/audit-events/export?format=ndjson", Some(&t.admin.access)).await;
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let exported: Vec<Value> = resp.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(exported, listed);

    let csv = app.get("/api/v1/audit-events/export?format=csv", Some(&t.admin.access)).await.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(reader.headers().unwrap().get(6), Some("action"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), listed.len());
    for (row, event) in rows.iter().zip(&listed) {
        assert_eq!(row.get(0), event["id"].as_str());
        assert_eq!(row.get(13), event["hash"].as_str());
    }

    let filtered = all_events(&app, &t.admin.access, "&action=settings.updated").await;
    assert_eq!(filtered.len(), 7);
    let resp = app.get("/api/v1/audit-events/export?action=settings.updated", Some(&t.admin.access)).await;
    assert_eq!(resp.text().await.unwrap().lines().count(), 7);
}

#[tokio::test]
async fn concurrent_appends_keep_one_unbroken_chain() {
    let app = spawn_app_with(|s| s.workers = Some(2)).await;
    let t = app.tenant("acme").await;
    let requests = (0..40).map(|i| {
        let (app, token) = (&app, t.admin.access.clone());
        async move { app.put("/api/v1/settings", Some(&token), json!({"lockout_minutes": 1 + i})).await.status() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let events = all_events(&app, &t.admin.access, "").await;
    assert_eq!(events.iter().filter(|e| e["action"] == "settings.updated").count(), 40);
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let v = verify(&app, &t.admin.access, "").await;
    assert_eq!(v["ok"], true);
    assert_eq!(v["checked"], events.len());
}

#[tokio::test]
async fn retention_removes_old_events_behind_a_checkpoint_and_verify_still_passes() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.put("/api/v1/settings", Some(&t.admin.access), json!({"audit_retention_days": 365})).await;
    let before = all_events(&app, &t.admin.access, "").await;

    // Nothing is old yet.
    let db = app.db.clone();
    let now = chrono::Utc::now().naive_utc();
    let report = tokio::task::spawn_blocking(move || filingdesk::jobs::audit_retention::run_once(&db, now))
        .await
        .unwrap()
        .unwrap();
    assert!(report.removed.is_empty());

    // Two years on, all of them are.
    let db = app.db.clone();
    let later = now + chrono::Duration::days(730);
    let report = tokio::task::spawn_blocking(move || filingdesk::jobs::audit_retention::run_once(&db, later))
        .await
        .unwrap()
        .unwrap();
    assert!(report.removed.contains(&(t.id.clone(), before.len() as i64)), "{report:?}");

    let after = all_events(&app, &t.admin.access, "").await;
    assert_eq!(actions(&after), ["audit.retention.applied"]);
    assert_eq!(after[0]["prev_hash"], before.last().unwrap()["hash"]);
    assert_eq!(after[0]["seq"], before.len() as i64 + 1);
    app.put("/api/v1/settings", Some(&t.admin.access), json!({"lockout_minutes": 9})).await;
    assert_eq!(verify(&app, &t.admin.access, "").await, json!({"ok": true, "checked": 2, "first_broken_id": null}));
}

#[tokio::test]
async fn audit_routes_refuse_bad_input_and_other_roles() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let token = Some(t.admin.access.as_str());
    let body =
        assert_problem(app.get("/api/v1/audit-events?since=yesterday", token).await, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "since");
    assert_problem(app.get("/api/v1/audit-events?limit=0", token).await, 422, "validation_failed").await;
    assert_problem(app.get("/api/v1/audit-events?cursor=bm9wZQ", token).await, 422, "validation_failed").await;
    let body =
        assert_problem(app.get("/api/v1/audit-events/export?format=xml", token).await, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "format");

    app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    let rita = app.login(Some("acme"), "rita", PASSWORD).await;
    for path in ["/api/v1/audit-events", "/api/v1/audit-events/export", "/api/v1/audit-events/verify"] {
        assert_problem(app.get(path, Some(&rita.access)).await, 403, "forbidden").await;
        assert_problem(app.get(path, None).await, 401, "unauthorized").await;
    }
    let since = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let resp = app.get(&format!("/api/v1/audit-events?since={since}"), token).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["items"], json!([]));
}

/// `filingdesk audit verify --checkpoint FILE` against the test's database.
fn verify_offline(app: &TestApp, checkpoint: &Value, public_key: Option<&str>) -> (Option<i32>, Value) {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoint.json");
    std::fs::write(&file, checkpoint.to_string()).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_filingdesk"));
    cmd.env_clear()
        .env("FILINGDESK_DATABASE_URL", app.database_url())
        .env("FILINGDESK_DATA_KEY", base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
        .env("FILINGDESK_LOG", "error")
        .args(["audit", "verify", "--checkpoint"])
        .arg(&file);
    if let Some(k) = public_key {
        cmd.args(["--public-key", k]);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| panic!("{stdout} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

#[tokio::test]
async fn deleting_the_newest_events_is_caught_by_a_saved_checkpoint() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let b = app.tenant("beta").await;
    for i in 0..3 {
        app.put("/api/v1/settings", Some(&t.admin.access), json!({"lockout_threshold": 5 + i})).await;
    }
    let resp = app.get("/api/v1/audit-events/checkpoint", Some(&t.admin.access)).await;
    assert_eq!(resp.status(), 200);
    let cp: Value = resp.json().await.unwrap();
    assert_eq!(cp["tenant_id"], t.id.as_str());
    let events = all_events(&app, &t.admin.access, "").await;
    assert_eq!(cp["seq"].as_i64(), Some(events.len() as i64));
    assert_eq!(cp["hash"], events.last().unwrap()["hash"]);
    let key: Value = app.get("/api/v1/audit-events/public-key", None).await.json().await.unwrap();
    assert_eq!(key["key_id"], cp["key_id"]);

    // More happens after the checkpoint; it still holds.
    for i in 0..2 {
        app.put("/api/v1/settings", Some(&t.admin.access), json!({"lockout_threshold": 9 + i})).await;
    }
    let post = |body: Value| app.post("/api/v1/audit-events/verify", Some(&t.admin.access), body);
    let v: Value = post(cp.clone()).await.json().await.unwrap();
    assert_eq!((v["ok"].as_bool(), v["checkpoint_ok"].as_bool()), (Some(true), Some(true)), "{v}");
    let (code, report) = verify_offline(&app, &cp, key["public_key"].as_str());
    assert_eq!((code, report["checkpoint_ok"].as_bool()), (Some(0), Some(true)), "{report}");

    // An intruder deletes every event from the checkpoint's on: what is
    // left still links, so the chain walk alone says ok.
    let disable = if app.is_postgres() {
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;"
    } else {
        "DROP TRIGGER audit_events_no_delete;"
    };
    let seq = cp["seq"].as_i64().unwrap();
    app.sql(&format!("{disable} DELETE FROM audit_events WHERE chain = '{}' AND seq >= {seq};", t.id)).unwrap();
    let v: Value = post(cp.clone()).await.json().await.unwrap();
    assert_eq!((v["ok"].as_bool(), v["checkpoint_ok"].as_bool()), (Some(true), Some(false)), "{v}");
    let (code, report) = verify_offline(&app, &cp, None);
    assert_eq!((code, report["checkpoint_ok"].as_bool()), (Some(1), Some(false)), "{report}");

    // A forged or altered checkpoint is refused; so is another tenant's.
    let mut forged = cp.clone();
    forged["seq"] = json!(1);
    assert_problem(post(forged).await, 422, "invalid_checkpoint").await;
    let resp = app.post("/api/v1/audit-events/verify", Some(&b.admin.access), cp.clone()).await;
    assert_problem(resp, 422, "invalid_checkpoint").await;
    let resp = app.post("/api/v1/audit-events/verify", Some(&t.admin.access), json!({"seq": "x"})).await;
    assert!(matches!(resp.status().as_u16(), 400 | 422));
    // Reviewers may not; the platform admin names a tenant.
    app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    let rita = app.login(Some("acme"), "rita", PASSWORD).await;
    assert_problem(app.get("/api/v1/audit-events/checkpoint", Some(&rita.access)).await, 403, "forbidden").await;
    let root = app.platform_admin().await;
    let other: Value = app
        .get(&format!("/api/v1/audit-events/checkpoint?tenant_id={}", b.id), Some(&root.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(other["tenant_id"], b.id.as_str());
    // Beta's admin gets beta's checkpoint, whatever tenant_id says.
    let own: Value = app
        .get(&format!("/api/v1/audit-events/checkpoint?tenant_id={}", t.id), Some(&b.admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["tenant_id"], b.id.as_str());
}
