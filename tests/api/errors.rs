//! Every error is a problem document, including actix's own.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/v1/nothing-here", None).await, 404, "not_found").await;
    assert_problem(app.get("/", None).await, 404, "not_found").await;
}

#[tokio::test]
async fn a_known_route_with_another_method_is_a_405_problem_with_allow() {
    let app = spawn_app().await;
    let resp = app.request(Method::DELETE, "/api/v1/tenants", None, None).await;
    let allow = resp.headers()["allow"].to_str().unwrap().to_owned();
    assert_problem(resp, 405, "method_not_allowed").await;
    assert_eq!(allow, "GET, POST");
    let resp = app.request(Method::GET, "/api/v1/auth/login", None, None).await;
    assert_problem(resp, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"username": "a", "#)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "malformed_json").await;
}

#[tokio::test]
async fn wrong_types_missing_fields_and_unknown_enum_values_are_422_problems_without_the_value() {
    let app = spawn_app().await;
    let resp = app.post("/api/v1/auth/login", None, json!({"username": "admin", "password": 12345678})).await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert!(!body.to_string().contains("12345678"), "{body}");

    let resp = app.post("/api/v1/auth/login", None, json!({"username": "admin"})).await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert!(body["detail"].as_str().unwrap().contains("password"), "{body}");

    let t = app.tenant("acme").await;
    let resp = app.put("/api/v1/settings", Some(&t.admin.access), json!({"reset_mode": "carrier-pigeon"})).await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert!(!body.to_string().contains("carrier-pigeon"), "{body}");
    assert_eq!(body["errors"][0]["field"], "reset_mode", "the real field, not `body`");
    // Nested values are named by their path; a missing field by its name.
    let nested = json!({"rate_limits": {"per_address_per_minute": "many", "per_tenant_per_minute": 1, "per_filing_per_hour": 1}});
    let body =
        assert_problem(app.put("/api/v1/settings", Some(&t.admin.access), nested).await, 422, "validation_failed")
            .await;
    assert_eq!(body["errors"][0]["field"], "rate_limits.per_address_per_minute");
    let resp = app.post("/api/v1/auth/login", None, json!({"username": "admin"})).await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(
        (body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
        (Some("password"), Some("required"))
    );
    let resp = app.post("/api/v1/auth/login", None, json!({"username": "admin", "password": "x", "extra": 1})).await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(
        (body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
        (Some("extra"), Some("unknown_field"))
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let app = spawn_app().await;
    let big = "x".repeat(200 * 1024);
    let resp = app.post("/api/v1/auth/login", None, json!({"username": big, "password": "p"})).await;
    assert_problem(resp, 413, "payload_too_large").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_problem() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("username=admin")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn bad_query_values_and_bad_path_ids_are_problems() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    let body =
        assert_problem(app.get("/api/v1/tenants?limit=abc", Some(&root.access)).await, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "limit");
    assert_problem(app.get("/api/v1/tenants?limit=0", Some(&root.access)).await, 422, "validation_failed").await;
    assert_problem(app.get("/api/v1/tenants?limit=201", Some(&root.access)).await, 422, "validation_failed").await;
    assert_problem(app.get("/api/v1/tenants?cursor=not-ours", Some(&root.access)).await, 422, "validation_failed")
        .await;
    assert_problem(app.get("/api/v1/tenants/not-a-uuid", Some(&root.access)).await, 404, "not_found").await;
}
