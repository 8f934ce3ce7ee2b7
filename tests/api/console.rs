//! The reviewer workbench's files: served from the binary under a strict
//! Content-Security-Policy, with no inline script or style for it to
//! forbid; off with `FILINGDESK_CONSOLE=0`. (The workbench itself is driven
//! in a real browser by `scripts/browser-test.sh`.)

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_console_is_served_under_a_strict_policy_and_can_be_turned_off() {
    let app = spawn_app().await;
    let index = app.get("/console/", None).await;
    assert_eq!(index.status(), 200);
    let csp = index.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for rule in
        ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]
    {
        assert!(csp.contains(rule), "{rule} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(index.headers()["x-content-type-options"], "nosniff");
    assert_eq!(index.headers()["referrer-policy"], "no-referrer");
    let html = index.text().await.unwrap();
    // Every script is a file of our origin; nothing inline for the policy to allow.
    assert!(html.contains(r#"<script type="module" src="app.js"></script>"#));
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(!html.contains(" style=") && !html.contains("<style") && !html.contains(" on"), "inline style or handler");
    assert!(!html.contains("http://") && !html.contains("https://"), "no third-party origin");
    for (file, kind) in [
        ("app.js", "text/javascript"),
        ("i18n.js", "text/javascript"),
        ("admin.js", "text/javascript"),
        ("style.css", "text/css"),
    ] {
        let resp = app.get(&format!("/console/{file}"), None).await;
        assert_eq!(resp.status(), 200, "{file}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with(kind), "{file}");
        let body = resp.text().await.unwrap();
        assert!(!body.contains("localStorage.setItem") && !body.contains("innerHTML"), "{file}");
    }
    let slash = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = slash.get(app.url("/console")).send().await.unwrap();
    assert_eq!((resp.status().as_u16(), resp.headers()["location"].to_str().unwrap()), (308, "/console/"));
    assert_eq!(app.get("/console/../Cargo.toml", None).await.status(), 404);
    assert_eq!(app.get("/console/nothing.js", None).await.status(), 404);

    let off = spawn_app_with(|s| s.console = false).await;
    assert_eq!(off.get("/console/", None).await.status(), 404);
    assert_eq!(off.get("/console/app.js", None).await.status(), 404);
}
