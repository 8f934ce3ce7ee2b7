//! Staff sign-in: login, lockout, tokens, refresh rotation, logout, password.

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, ADMIN, ADMIN_PASSWORD, PASSWORD};

const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";

#[tokio::test]
async fn platform_and_tenant_staff_sign_in_with_the_contracted_body() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    assert_eq!(root.body["token_type"], "Bearer");
    assert_eq!(root.body["expires_in"], 900);
    assert_eq!(root.body["role"], "platform_admin");
    assert_eq!(root.body["tenant_id"], Value::Null);
    assert_eq!(root.body["must_change_password"], false);

    let t = app.tenant("acme").await;
    assert_eq!(t.admin.body["role"], "tenant_admin");
    assert_eq!(t.admin.body["tenant_id"], t.id.as_str());
    assert_eq!(t.admin.body["must_change_password"], true, "an admin-set password should be changed");
}

#[tokio::test]
async fn unknown_user_wrong_password_and_unknown_tenant_get_the_same_answer() {
    let app = spawn_app().await;
    app.tenant("acme").await;
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("request_id");
        v
    };
    let wrong_pw =
        assert_problem(app.login_raw(Some("acme"), "acme-admin", "wrong-password").await, 401, "unauthorized").await;
    let no_user =
        assert_problem(app.login_raw(Some("acme"), "nobody", "wrong-password").await, 401, "unauthorized").await;
    let no_tenant =
        assert_problem(app.login_raw(Some("nope"), "acme-admin", PASSWORD).await, 401, "unauthorized").await;
    let wrong_realm = assert_problem(app.login_raw(None, "acme-admin", PASSWORD).await, 401, "unauthorized").await;
    assert_eq!(strip(wrong_pw.clone()), strip(no_user));
    assert_eq!(strip(wrong_pw.clone()), strip(no_tenant));
    assert_eq!(strip(wrong_pw), strip(wrong_realm));
}

#[tokio::test]
async fn too_many_failures_lock_the_account_even_for_the_right_password() {
    let app = spawn_app_with(|s| s.login_max_failures = 3).await;
    for _ in 0..3 {
        assert_problem(app.login_raw(None, ADMIN, "wrong-password").await, 401, "unauthorized").await;
    }
    assert_problem(app.login_raw(None, ADMIN, ADMIN_PASSWORD).await, 423, "locked").await;
    // The lock is per account: another platform admin still signs in.
    let resp = app.login_raw(None, "someone-else", ADMIN_PASSWORD).await;
    assert_problem(resp, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let app = spawn_app_with(|s| s.login_max_failures = 3).await;
    for _ in 0..2 {
        app.login_raw(None, ADMIN, "wrong-password").await;
    }
    app.platform_admin().await;
    for _ in 0..2 {
        app.login_raw(None, ADMIN, "wrong-password").await;
    }
    app.platform_admin().await;
}

fn token(claims: Value, alg: jsonwebtoken::Algorithm, secret: &str) -> String {
    filingdesk::security::jwt_provider::install();
    encode(&Header::new(alg), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

#[tokio::test]
async fn expired_tampered_and_foreign_algorithm_tokens_are_refused() {
    let app = spawn_app_with(|s| s.jwt_secret = Some(filingdesk::config::Secret::new(SECRET))).await;
    let root = app.platform_admin().await;
    let claims: Value = {
        let payload = root.access.split('.').nth(1).unwrap();
        use base64::Engine;
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };
    for key in ["sub", "role", "iat", "exp", "jti"] {
        assert!(claims.get(key).is_some(), "claim {key}");
    }
    // The genuine token works.
    assert_eq!(app.get("/api/v1/tenants", Some(&root.access)).await.status(), 200);

    let now = chrono::Utc::now().timestamp();
    let mut expired = claims.clone();
    expired["iat"] = json!(now - 3600);
    expired["exp"] = json!(now - 60);
    let expired = token(expired, jsonwebtoken::Algorithm::HS256, SECRET);
    assert_problem(app.get("/api/v1/tenants", Some(&expired)).await, 401, "unauthorized").await;

    let hs512 = token(claims.clone(), jsonwebtoken::Algorithm::HS512, SECRET);
    assert_problem(app.get("/api/v1/tenants", Some(&hs512)).await, 401, "unauthorized").await;

    let forged = token(claims.clone(), jsonwebtoken::Algorithm::HS256, "another-secret-of-at-least-32-bytes");
    assert_problem(app.get("/api/v1/tenants", Some(&forged)).await, 401, "unauthorized").await;

    // A payload edited after signing (a reviewer making themselves admin).
    let mut parts: Vec<String> = root.access.split('.').map(str::to_owned).collect();
    let mut edited = claims.clone();
    edited["role"] = json!("platform_admin");
    edited["jti"] = json!("x");
    use base64::Engine;
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(edited.to_string());
    assert_problem(app.get("/api/v1/tenants", Some(&parts.join("."))).await, 401, "unauthorized").await;

    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
    assert_problem(app.get("/api/v1/tenants", Some(&none)).await, 401, "unauthorized").await;
    assert_problem(app.get("/api/v1/tenants", None).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_its_whole_family() {
    let app = spawn_app().await;
    let first = app.platform_admin().await;
    let other_session = app.platform_admin().await;

    let resp = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
    assert_eq!(resp.status(), 200);
    let second: Value = resp.json().await.unwrap();
    assert_ne!(second["refresh_token"], first.refresh.as_str());
    assert_eq!(app.get("/api/v1/tenants", Some(second["access_token"].as_str().unwrap())).await.status(), 200);

    // The spent token comes back: someone copied it. Both it and its successor die.
    let resp = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
    assert_problem(resp, 401, "unauthorized").await;
    let resp = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": second["refresh_token"]})).await;
    assert_problem(resp, 401, "unauthorized").await;

    // Another sign-in is another family, untouched.
    let resp = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": other_session.refresh})).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn refresh_with_an_unknown_or_malformed_token_is_refused() {
    let app = spawn_app().await;
    assert_problem(app.post("/api/v1/auth/refresh", None, json!({"refresh_token": "nope"})).await, 401, "unauthorized")
        .await;
    assert_problem(app.post("/api/v1/auth/refresh", None, json!({"refresh_token": 5})).await, 422, "validation_failed")
        .await;
    assert_problem(app.post("/api/v1/auth/refresh", None, json!({})).await, 422, "validation_failed").await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let s = app.platform_admin().await;
    let resp = app.post("/api/v1/auth/logout", None, json!({"refresh_token": s.refresh})).await;
    assert_eq!(resp.status(), 204);
    assert_problem(
        app.post("/api/v1/auth/refresh", None, json!({"refresh_token": s.refresh})).await,
        401,
        "unauthorized",
    )
    .await;
    // Unknown tokens get the same 204: logout tells nothing.
    assert_eq!(app.post("/api/v1/auth/logout", None, json!({"refresh_token": "unknown"})).await.status(), 204);
    assert_problem(app.post("/api/v1/auth/logout", None, json!({"token": "x"})).await, 422, "validation_failed").await;
}

#[tokio::test]
async fn changing_the_password_checks_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let other = app.login(Some("acme"), "acme-admin", PASSWORD).await;
    let me = &t.admin.access;

    let resp = app
        .put("/api/v1/auth/password", Some(me), json!({"current_password": "wrong", "new_password": "New-Password-42"}))
        .await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "current_password");

    let resp = app
        .put("/api/v1/auth/password", Some(me), json!({"current_password": PASSWORD, "new_password": "short"}))
        .await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "too_short");

    let resp = app
        .put("/api/v1/auth/password", Some(me), json!({"current_password": PASSWORD, "new_password": PASSWORD}))
        .await;
    assert_problem(resp, 422, "validation_failed").await;

    assert_problem(
        app.put(
            "/api/v1/auth/password",
            None,
            json!({"current_password": PASSWORD, "new_password": "New-Password-42"}),
        )
        .await,
        401,
        "unauthorized",
    )
    .await;

    let resp = app
        .put(
            "/api/v1/auth/password",
            Some(me),
            json!({"current_password": PASSWORD, "new_password": "New-Password-42"}),
        )
        .await;
    assert_eq!(resp.status(), 204);

    assert_problem(app.login_raw(Some("acme"), "acme-admin", PASSWORD).await, 401, "unauthorized").await;
    let fresh = app.login(Some("acme"), "acme-admin", "New-Password-42").await;
    assert_eq!(fresh.body["must_change_password"], false);
    let resp = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": other.refresh})).await;
    assert_problem(resp, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_suspended_tenant_cannot_sign_in_and_its_tokens_stop_working() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let root = app.platform_admin().await;
    let resp =
        app.patch(&format!("/api/v1/tenants/{}", t.id), Some(&root.access), json!({"status": "suspended"})).await;
    assert_eq!(resp.status(), 200);

    assert_problem(app.login_raw(Some("acme"), "acme-admin", PASSWORD).await, 403, "tenant_suspended").await;
    // A wrong password still gets the plain 401: nothing is revealed without the password.
    assert_problem(app.login_raw(Some("acme"), "acme-admin", "wrong-password").await, 401, "unauthorized").await;
    assert_problem(app.get("/api/v1/staff", Some(&t.admin.access)).await, 401, "unauthorized").await;
    assert_problem(app.get("/api/v1/tickets", Some(&t.admin.access)).await, 401, "unauthorized").await;
    let resp = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": t.admin.refresh})).await;
    assert_problem(resp, 401, "unauthorized").await;

    let resp = app.patch(&format!("/api/v1/tenants/{}", t.id), Some(&root.access), json!({"status": "active"})).await;
    assert_eq!(resp.status(), 200);
    app.login(Some("acme"), "acme-admin", PASSWORD).await;
}
