use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn the_platform_admin_creates_reads_and_renames_a_tenant() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    let resp =
        app.post("/api/v1/tenants", Some(&root.access), json!({"slug": "acme-cloud", "name": "  ACME Cloud  "})).await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["slug"], "acme-cloud");
    assert_eq!(created["name"], "ACME Cloud");
    assert_eq!(created["status"], "active");
    let id = created["id"].as_str().unwrap();

    let got: Value = app.get(&format!("/api/v1/tenants/{id}"), Some(&root.access)).await.json().await.unwrap();
    assert_eq!(got, created);

    let resp = app.patch(&format!("/api/v1/tenants/{id}"), Some(&root.access), json!({"name": "ACME"})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["name"], "ACME");
}

#[tokio::test]
async fn a_taken_slug_is_a_409_and_bad_input_a_422_with_every_field() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    app.post("/api/v1/tenants", Some(&root.access), json!({"slug": "acme", "name": "ACME"})).await;
    let resp = app.post("/api/v1/tenants", Some(&root.access), json!({"slug": "acme", "name": "Other"})).await;
    assert_problem(resp, 409, "slug_taken").await;

    let resp = app.post("/api/v1/tenants", Some(&root.access), json!({"slug": "Not A Slug", "name": " "})).await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["slug", "name"]);

    let resp = app
        .patch(&format!("/api/v1/tenants/{}", uuid::Uuid::now_v7()), Some(&root.access), json!({"status": "deleted"}))
        .await;
    assert_problem(resp, 422, "validation_failed").await;
    let resp =
        app.patch(&format!("/api/v1/tenants/{}", uuid::Uuid::now_v7()), Some(&root.access), json!({"name": "x"})).await;
    assert_problem(resp, 404, "not_found").await;
}

#[tokio::test]
async fn only_the_platform_admin_manages_tenants() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let reviewer_id = app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    assert!(!reviewer_id.is_empty());
    let rita = app.login(Some("acme"), "rita", crate::helpers::PASSWORD).await;

    for token in [&t.admin.access, &rita.access] {
        assert_problem(
            app.post("/api/v1/tenants", Some(token), json!({"slug": "mine", "name": "Mine"})).await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(app.get("/api/v1/tenants", Some(token)).await, 403, "forbidden").await;
        let resp = app.patch(&format!("/api/v1/tenants/{}", t.id), Some(token), json!({"status": "suspended"})).await;
        assert_problem(resp, 403, "forbidden").await;
    }
    assert_problem(
        app.post("/api/v1/tenants", None, json!({"slug": "mine", "name": "Mine"})).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn a_tenant_sees_itself_and_another_tenant_is_not_found() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    let own: Value = app.get(&format!("/api/v1/tenants/{}", a.id), Some(&a.admin.access)).await.json().await.unwrap();
    assert_eq!(own["slug"], "alpha");
    assert_problem(app.get(&format!("/api/v1/tenants/{}", b.id), Some(&a.admin.access)).await, 404, "not_found").await;
}

#[tokio::test]
async fn the_tenant_list_pages_newest_first_with_a_cursor() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    for i in 0..5 {
        app.post("/api/v1/tenants", Some(&root.access), json!({"slug": format!("t{i}"), "name": format!("T{i}")}))
            .await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/tenants?limit=2".to_owned();
    loop {
        let page: Value = app.get(&path, Some(&root.access)).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|t| t["slug"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/tenants?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["t4", "t3", "t2", "t1", "t0"]);
}

#[tokio::test]
async fn the_demo_seed_brings_a_tenant_with_staff_and_a_filing() {
    let app = crate::helpers::spawn_app_with(|s| s.demo = true).await;
    let root = app.platform_admin().await;
    let tenants: Value = app.get("/api/v1/tenants", Some(&root.access)).await.json().await.unwrap();
    assert_eq!(tenants["items"][0]["slug"], "demo");
    let id = tenants["items"][0]["id"].as_str().unwrap();
    // The platform admin reads no tenant's staff or filings: the database
    // shows what the seed made (its passwords are printed, not kept).
    let names = app.sql_strings(&format!("SELECT username AS v FROM staff WHERE tenant_id = '{id}' ORDER BY id DESC"));
    assert_eq!(names, ["demo-reviewer", "demo-admin"]);
    assert_problem(app.get(&format!("/api/v1/staff?tenant_id={id}"), Some(&root.access)).await, 403, "forbidden").await;
    let filings = app.sql_strings(&format!(
        "SELECT filing_number || ' ' || (password_hash IS NOT NULL) AS v FROM filings WHERE tenant_id = '{id}'"
    ));
    assert!(filings == ["京ICP备00000001号 true"] || filings == ["京ICP备00000001号 1"], "{filings:?}");
}
