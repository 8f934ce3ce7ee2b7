//! The committed `openapi/openapi.json` is what the server serves.

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_committed_openapi_document_equals_the_served_one() {
    let app = spawn_app().await;
    let served: serde_json::Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap_or_default();
    assert!(
        served == committed,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn every_operation_is_documented_with_problem_responses_and_security() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json", None).await.json().await.unwrap();
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let paths = doc["paths"].as_object().unwrap();
    for route in ["/api/v1/auth/login", "/api/v1/tenants/{id}", "/api/v1/staff", "/api/v1/settings", "/readyz"] {
        assert!(paths.contains_key(route), "{route} is documented");
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path}");
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(r["content"]["application/problem+json"].is_object(), "{method} {path} {status}");
                }
            }
            let public = path.starts_with("/api/v1/auth/") || path.starts_with("/api/v1/public/");
            if path.starts_with("/api/v1/") && !public {
                assert!(op["security"].is_array(), "{method} {path} names its security");
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{method} {path}");
            }
        }
    }
}
