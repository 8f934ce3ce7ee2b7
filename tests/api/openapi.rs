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
                // The OAuth token endpoint answers its own errors in RFC 6749 §5.2 JSON.
                let oauth = path == "/api/v1/oauth/token" && ["400", "401", "429"].contains(&status.as_str());
                if oauth {
                    assert_eq!(r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/OAuthError");
                } else if status.starts_with('4') || status.starts_with('5') {
                    assert!(r["content"]["application/problem+json"].is_object(), "{method} {path} {status}");
                }
            }
            let public = path.starts_with("/api/v1/auth/")
                || path.starts_with("/api/v1/public/")
                || path.starts_with("/api/v1/oauth/");
            if path.starts_with("/api/v1/") && !public {
                assert!(op["security"].is_array(), "{method} {path} names its security");
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{method} {path}");
            }
        }
    }
}

/// Every schema name belongs to one Rust type: utoipa keeps one schema per
/// name, so two types sharing a name silently swap one's schema for the
/// other's (a ticket's `verification` once pointed at the audit chain's
/// `{ok, checked, first_broken_id}`). Read from the source: every type
/// deriving `ToSchema`, under its own or its `#[schema(as = …)]` name.
#[test]
fn every_schema_name_is_registered_by_one_type() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")), &mut files);
    let mut owners: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !(line.trim_start().starts_with("#[derive(") && line.contains("ToSchema")) {
                continue;
            }
            let mut renamed = None;
            for next in &lines[i + 1..] {
                let next = next.trim_start();
                if let Some(rest) = next.strip_prefix("#[schema(as = ") {
                    renamed = rest.split([')', ',']).next().map(|s| s.trim().to_owned());
                }
                let decl = next.strip_prefix("pub struct ").or_else(|| next.strip_prefix("pub enum "));
                if let Some(decl) = decl {
                    let name: String = decl.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    let place = format!("{}:{}", file.display(), i + 1);
                    owners.entry(renamed.unwrap_or(name)).or_default().push(place);
                    break;
                }
            }
        }
    }
    assert!(owners.len() > 50, "the walk found the schemas ({})", owners.len());
    let shared: Vec<_> = owners.iter().filter(|(_, places)| places.len() > 1).collect();
    assert!(shared.is_empty(), "schema names registered by more than one type: {shared:?}");
}

/// The ticket's verification is the per-field result, and the audit walk
/// has its own schema.
#[tokio::test]
async fn the_ticket_verification_and_the_chain_verification_are_two_schemas() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    let fields = |name: &str| -> Vec<String> {
        let mut f: Vec<String> = schemas[name]["properties"].as_object().unwrap().keys().cloned().collect();
        f.sort();
        f
    };
    assert_eq!(
        fields("Verification"),
        ["console", "contact_name", "email", "filing_found", "id_number", "phone", "subject"]
    );
    assert_eq!(fields("ChainVerification"), ["checked", "first_broken_id", "ok"]);
    let verify = &doc["paths"]["/api/v1/audit-events/verify"]["get"]["responses"]["200"]["content"]["application/json"];
    assert_eq!(verify["schema"]["$ref"], "#/components/schemas/ChainVerification");
}

/// What client generators and linters rely on: servers and a licence,
/// a description on every operation, an example on every request body,
/// `security: []` on public operations, bounds on `limit`, and list pages
/// that refer to their item schema instead of copying it.
#[tokio::test]
async fn the_document_gives_generators_what_they_rely_on() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app.get("/openapi.json", None).await.json().await.unwrap();
    assert_eq!(doc["servers"][0]["url"], "/");
    assert_eq!(doc["info"]["license"]["identifier"], "Apache-2.0");
    let schemas = &doc["components"]["schemas"];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            assert!(op["description"].as_str().is_some_and(|d| d.len() > 20), "{at} has a description");
            assert!(op["security"].is_array(), "{at} says whether it needs a token");
            if let Some(content) = op["requestBody"]["content"].as_object() {
                for (kind, media) in content {
                    let named = media["schema"]["$ref"]
                        .as_str()
                        .or_else(|| media["schema"]["oneOf"][0]["$ref"].as_str())
                        .map(|r| &schemas[r.rsplit('/').next().unwrap()]);
                    let example = media.get("example").or_else(|| named.and_then(|s| s.get("example")));
                    assert!(example.is_some(), "{at} {kind} has an example");
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["name"] == "limit") {
                assert_eq!(
                    (p["schema"]["minimum"].as_i64(), p["schema"]["maximum"].as_i64()),
                    (Some(1), Some(200)),
                    "{at}"
                );
            }
        }
    }
    for (name, schema) in schemas.as_object().unwrap().iter().filter(|(n, _)| n.starts_with("Page_")) {
        let item = &name["Page_".len()..];
        assert_eq!(schema["properties"]["items"]["items"]["$ref"], format!("#/components/schemas/{item}"), "{name}");
    }
    let login = &doc["paths"]["/api/v1/auth/login"]["post"];
    assert_eq!(login["security"], serde_json::json!([]));
    assert_eq!(schemas["CreateStaff"]["properties"]["password"]["minLength"], 12);
}
