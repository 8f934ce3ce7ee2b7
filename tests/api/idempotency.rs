//! `Idempotency-Key` on creating POSTs.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, PASSWORD};

#[tokio::test]
async fn a_repeat_with_the_same_key_and_body_gets_the_first_answer_and_creates_nothing() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    let send = |body: Value| {
        app.client
            .post(app.url("/api/v1/tenants"))
            .bearer_auth(&root.access)
            .header("Idempotency-Key", "create-acme-1")
            .json(&body)
            .send()
    };
    let first = send(json!({"slug": "acme", "name": "ACME"})).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();

    let again = send(json!({"slug": "acme", "name": "ACME"})).await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["content-type"], "application/json");
    assert_eq!(again.json::<Value>().await.unwrap(), first);

    let other = send(json!({"slug": "acme2", "name": "Other"})).await.unwrap();
    let body = assert_problem(other, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "Idempotency-Key");

    let list: Value = app.get("/api/v1/tenants", Some(&root.access)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let events: Value = app
        .get(&format!("/api/v1/audit-events?tenant_id={}", first["id"].as_str().unwrap()), Some(&root.access))
        .await
        .json()
        .await
        .unwrap();
    let created = events["items"].as_array().unwrap().iter().filter(|e| e["action"] == "tenant.created").count();
    assert_eq!(created, 1);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    let mut ids = Vec::new();
    for admin in [&a.admin, &b.admin] {
        let resp = app
            .client
            .post(app.url("/api/v1/staff"))
            .bearer_auth(&admin.access)
            .header("Idempotency-Key", "same-key")
            .json(&json!({"username": "rita", "display_name": "Rita", "email": "rita@example.com", "role": "reviewer", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        assert!(resp.headers().get("idempotent-replayed").is_none());
        ids.push(resp.json::<Value>().await.unwrap()["tenant_id"].clone());
    }
    assert_eq!(ids, [json!(a.id), json!(b.id)]);
}

#[tokio::test]
async fn a_refusal_is_replayed_too_and_a_bad_key_is_a_400() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    app.post("/api/v1/tenants", Some(&root.access), json!({"slug": "acme", "name": "ACME"})).await;
    let send = |key: String| {
        app.client
            .post(app.url("/api/v1/tenants"))
            .bearer_auth(&root.access)
            .header("Idempotency-Key", key)
            .json(&json!({"slug": "acme", "name": "Again"}))
            .send()
    };
    assert_problem(send("k-409".into()).await.unwrap(), 409, "slug_taken").await;
    let replay = send("k-409".into()).await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.status(), 409);
    assert_problem(send("x".repeat(300)).await.unwrap(), 400, "invalid_idempotency_key").await;
}

#[tokio::test]
async fn answers_are_forgotten_after_a_day() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    let send = |slug: &'static str| {
        app.client
            .post(app.url("/api/v1/tenants"))
            .bearer_auth(&root.access)
            .header("Idempotency-Key", "daily")
            .json(&json!({"slug": slug, "name": "Daily"}))
            .send()
    };
    assert_eq!(send("day-one").await.unwrap().status(), 201);

    let purge = |hours| {
        let db = app.db.clone();
        let at = chrono::Utc::now().naive_utc() + chrono::Duration::hours(hours);
        tokio::task::spawn_blocking(move || filingdesk::jobs::idempotency_purge::run_once(&db, at).unwrap())
    };
    assert_eq!(purge(1).await.unwrap(), 0);
    assert_eq!(purge(25).await.unwrap(), 1);
    // The key is free again: another body is a new request now.
    assert_eq!(send("day-two").await.unwrap().status(), 201);
}
