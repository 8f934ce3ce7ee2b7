//! Agencies, their authorizations, and what an agent may see.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp, PASSWORD};

fn filing(number: &str, domain: &str) -> Value {
    json!({
        "filing_number": number, "subject_name": "示例科技", "subject_type": "enterprise",
        "responsible_person": "张三", "id_number": "11010519491231002X", "phone": "13812345678",
        "email": "zhang.san@example.com", "domains": [domain],
    })
}

async fn created(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn agency(app: &TestApp, token: &str, license: &str) -> String {
    let a =
        created(app.post("/api/v1/agencies", Some(token), json!({"name": "代理甲", "license_number": license})).await)
            .await;
    a["id"].as_str().unwrap().to_owned()
}

async fn agent(app: &TestApp, token: &str, tenant: &str, username: &str, agency: &str) -> String {
    let body = json!({
        "username": username, "display_name": username, "email": format!("{username}@example.com"),
        "role": "agent", "password": PASSWORD, "agency_id": agency,
    });
    created(app.post("/api/v1/staff", Some(token), body).await).await;
    app.login(Some(tenant), username, PASSWORD).await.access
}

fn in_a_month() -> String {
    (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339()
}

async fn visible_ids(app: &TestApp, token: &str) -> Vec<String> {
    let page: Value = app.get("/api/v1/filings", Some(token)).await.json().await.unwrap();
    page["items"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn agencies_are_validated_unique_by_license_and_audited() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let a = created(
        app.post(
            "/api/v1/agencies",
            Some(&t.admin.access),
            json!({"name": " 北京代理 ", "license_number": "９１１１0000 ma01abcd3x"}),
        )
        .await,
    )
    .await;
    assert_eq!(a["name"], "北京代理");
    assert_eq!(a["license_number"], "91110000MA01ABCD3X");
    let resp = app
        .post(
            "/api/v1/agencies",
            Some(&t.admin.access),
            json!({"name": "别名", "license_number": "91110000MA01ABCD3X"}),
        )
        .await;
    assert_problem(resp, 409, "agency_exists").await;
    let resp = app.post("/api/v1/agencies", Some(&t.admin.access), json!({"name": "", "license_number": "9"})).await;
    let problem = assert_problem(resp, 422, "validation_failed").await;
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "license_number"]);
    let resp = app.post("/api/v1/agencies", Some(&t.admin.access), json!({"name": 5, "license_number": "x"})).await;
    assert_problem(resp, 422, "validation_failed").await;

    let list: Value = app.get("/api/v1/agencies", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let got: Value = app
        .get(&format!("/api/v1/agencies/{}", a["id"].as_str().unwrap()), Some(&t.admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, a);
    let events: Value =
        app.get("/api/v1/audit-events?action=agency.created", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(events["items"][0]["target_id"], a["id"]);
}

#[tokio::test]
async fn an_agent_sees_only_filings_its_agency_is_currently_authorized_for() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let admin = t.admin.access.as_str();
    let f1 = created(app.post("/api/v1/filings", Some(admin), filing("京ICP备12345678号", "one.cn")).await).await;
    let f2 = created(app.post("/api/v1/filings", Some(admin), filing("沪ICP备12345678号", "two.cn")).await).await;
    let (f1, f2) = (f1["id"].as_str().unwrap(), f2["id"].as_str().unwrap());
    let ours = agency(&app, admin, "LIC-1").await;
    let theirs = agency(&app, admin, "LIC-2").await;
    let ada = agent(&app, admin, "acme", "ada", &ours).await;
    let bob = agent(&app, admin, "acme", "bob", &theirs).await;
    assert!(visible_ids(&app, &ada).await.is_empty(), "no authorization, nothing to see");

    let auth = created(
        app.post(
            &format!("/api/v1/agencies/{ours}/authorizations"),
            Some(admin),
            json!({"filing_id": f1, "valid_until": in_a_month()}),
        )
        .await,
    )
    .await;
    assert_eq!(auth["filing_id"], f1);
    assert_eq!(visible_ids(&app, &ada).await, [f1]);
    let seen: Value = app.get(&format!("/api/v1/filings/{f1}"), Some(&ada)).await.json().await.unwrap();
    assert_eq!(seen["phone_masked"], "138****5678");
    assert_problem(app.get(&format!("/api/v1/filings/{f2}"), Some(&ada)).await, 404, "not_found").await;
    // Another agency of the same tenant sees none of it.
    assert!(visible_ids(&app, &bob).await.is_empty());
    assert_problem(app.get(&format!("/api/v1/filings/{f1}"), Some(&bob)).await, 404, "not_found").await;

    // An agent never triggers a password, writes filings or manages agencies.
    let resp = app.post(&format!("/api/v1/filings/{f1}/initial-password"), Some(&ada), json!({})).await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app.post("/api/v1/filings", Some(&ada), filing("粤ICP备12345678号", "three.cn")).await;
    assert_problem(resp, 403, "forbidden").await;
    assert_problem(app.get("/api/v1/agencies", Some(&ada)).await, 403, "forbidden").await;
    let resp = app
        .post(
            &format!("/api/v1/agencies/{ours}/authorizations"),
            Some(&ada),
            json!({"filing_id": f2, "valid_until": in_a_month()}),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;

    // An authorization that ran out authorizes nothing.
    app.sql(&format!(
        "UPDATE agency_authorizations SET valid_from = '2020-01-01 00:00:00', valid_until = '2021-01-01 00:00:00' WHERE id = '{}'",
        auth["id"].as_str().unwrap()
    ))
    .unwrap();
    assert!(visible_ids(&app, &ada).await.is_empty());
    assert_problem(app.get(&format!("/api/v1/filings/{f1}"), Some(&ada)).await, 404, "not_found").await;

    // A fresh one, withdrawn.
    let again = created(
        app.post(
            &format!("/api/v1/agencies/{ours}/authorizations"),
            Some(admin),
            json!({"filing_id": f1, "valid_until": in_a_month()}),
        )
        .await,
    )
    .await;
    assert_eq!(visible_ids(&app, &ada).await, [f1]);
    let path = format!("/api/v1/agencies/{ours}/authorizations/{}", again["id"].as_str().unwrap());
    let resp = app.request(reqwest::Method::DELETE, &path, Some(admin), None).await;
    assert_eq!(resp.status(), 204);
    assert!(visible_ids(&app, &ada).await.is_empty());
    assert_problem(app.request(reqwest::Method::DELETE, &path, Some(admin), None).await, 404, "not_found").await;
    let list: Value =
        app.get(&format!("/api/v1/agencies/{ours}/authorizations"), Some(admin)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(list["items"][0]["revoked_at"].is_string());
    let events: Value =
        app.get("/api/v1/audit-events?action=agency.authorization.revoked", Some(admin)).await.json().await.unwrap();
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn authorizations_and_agents_are_validated() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let admin = t.admin.access.as_str();
    let f = created(app.post("/api/v1/filings", Some(admin), filing("京ICP备12345678号", "one.cn")).await).await;
    let f = f["id"].as_str().unwrap();
    let a = agency(&app, admin, "LIC-1").await;
    let path = format!("/api/v1/agencies/{a}/authorizations");
    let past = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let problem = assert_problem(
        app.post(&path, Some(admin), json!({"filing_id": f, "valid_until": past})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["code"], "in_the_past");
    let resp = app
        .post(
            &path,
            Some(admin),
            json!({"filing_id": f, "valid_from": "2099-01-02T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["code"], "before_start");
    let resp = app.post(&path, Some(admin), json!({"filing_id": "nope", "valid_until": in_a_month()})).await;
    assert_problem(resp, 422, "validation_failed").await;
    let resp =
        app.post(&path, Some(admin), json!({"filing_id": uuid::Uuid::now_v7(), "valid_until": in_a_month()})).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["field"], "filing_id");
    let resp = app
        .post(
            &format!("/api/v1/agencies/{}/authorizations", uuid::Uuid::now_v7()),
            Some(admin),
            json!({"filing_id": f, "valid_until": in_a_month()}),
        )
        .await;
    assert_problem(resp, 404, "not_found").await;
    assert_problem(app.get("/api/v1/agencies/not-a-uuid", Some(admin)).await, 404, "not_found").await;

    // An agent needs an agency of its own tenant; others have none.
    let body = |role: &str, agency: Option<&str>| {
        json!({"username": "ada", "display_name": "Ada", "email": "ada@example.com", "role": role,
               "password": PASSWORD, "agency_id": agency})
    };
    let resp = app.post("/api/v1/staff", Some(admin), body("agent", None)).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["code"], "required");
    let resp = app.post("/api/v1/staff", Some(admin), body("reviewer", Some(&a))).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["code"], "not_allowed");
    let other = app.tenant("other").await;
    let resp = app.post("/api/v1/staff", Some(&other.admin.access), body("agent", Some(&a))).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["code"], "unknown");
    // A filing may only name an agency of its own tenant.
    let mut theirs = filing("沪ICP备12345678号", "two.cn");
    theirs["agency_id"] = json!(a);
    let resp = app.post("/api/v1/filings", Some(&other.admin.access), theirs.clone()).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["field"], "agency_id");
    created(app.post("/api/v1/filings", Some(admin), theirs).await).await;
    // Roles do not move in or out of `agent`.
    let rita = app.create_staff(admin, None, "rita", "reviewer").await;
    let resp = app.patch(&format!("/api/v1/staff/{rita}"), Some(admin), json!({"role": "agent"})).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["code"], "agency_bound");
    let staff: Value = app.get("/api/v1/staff", Some(admin)).await.json().await.unwrap();
    assert!(staff["items"].as_array().unwrap().iter().all(|s| s["username"] != "ada"), "no partial write");
}

#[tokio::test]
async fn another_tenant_reaches_no_agency() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    let f =
        created(app.post("/api/v1/filings", Some(&a.admin.access), filing("京ICP备12345678号", "one.cn")).await).await;
    let ag = agency(&app, &a.admin.access, "LIC-1").await;
    let auth = created(
        app.post(
            &format!("/api/v1/agencies/{ag}/authorizations"),
            Some(&a.admin.access),
            json!({"filing_id": f["id"], "valid_until": in_a_month()}),
        )
        .await,
    )
    .await;
    let theirs = b.admin.access.as_str();
    assert_problem(app.get(&format!("/api/v1/agencies/{ag}"), Some(theirs)).await, 404, "not_found").await;
    let path = format!("/api/v1/agencies/{ag}/authorizations");
    assert_problem(app.get(&path, Some(theirs)).await, 404, "not_found").await;
    let resp = app.post(&path, Some(theirs), json!({"filing_id": f["id"], "valid_until": in_a_month()})).await;
    assert_problem(resp, 404, "not_found").await;
    let revoke = format!("{path}/{}", auth["id"].as_str().unwrap());
    assert_problem(app.request(reqwest::Method::DELETE, &revoke, Some(theirs), None).await, 404, "not_found").await;
    let list: Value = app.get("/api/v1/agencies", Some(theirs)).await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));
    // The same license number is free in another tenant.
    agency(&app, theirs, "LIC-1").await;
    // An agent of another tenant's agency sees nothing here either.
    let b_agency = agency(&app, theirs, "LIC-9").await;
    let eve = agent(&app, theirs, "bravo", "eve", &b_agency).await;
    assert_problem(
        app.get(&format!("/api/v1/filings/{}", f["id"].as_str().unwrap()), Some(&eve)).await,
        404,
        "not_found",
    )
    .await;
}
