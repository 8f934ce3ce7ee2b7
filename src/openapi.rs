//! The OpenAPI document: info, the bearer scheme, tags, and the problem
//! responses every operation shares (added here once, not per handler).

use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme};
use utoipa::openapi::Required;
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{Problem, PROBLEM_JSON};
use crate::http::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "filingdesk",
        description = "Filing-management backend for registrars: ICP filing query passwords, reviewed work orders, audit.\n\nErrors are RFC 9457 problem documents (`application/problem+json`) with a stable `code` and the `request_id`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    servers((url = "/", description = "This service (the document is served by it)")),
    modifiers(&BearerScheme),
    components(schemas(
        Problem,
        crate::domain::FieldError,
        // Enums used only as query parameters: referenced, so listed here.
        crate::audit::export::Format,
        crate::http::notifications::ChannelName,
        crate::http::notifications::NotificationStatus,
    )),
    tags(
        (name = "ops", description = "Health, readiness, metrics"),
        (name = "auth", description = "Staff sign-in"),
        (name = "tenants", description = "Tenants (platform admin)"),
        (name = "staff", description = "A tenant's staff"),
        (name = "settings", description = "A tenant's settings"),
        (name = "filings", description = "Filing records and their query passwords"),
        (name = "agencies", description = "Agencies and the filings that authorized them"),
        (name = "tickets", description = "Work orders: submission, tracking, review, resets"),
        (name = "subject", description = "Filing subjects: sign-in, own filing, password"),
        (name = "recovery", description = "Self-service recovery of a forgotten query password by SMS code"),
        (name = "notifications", description = "The notification outbox"),
        (name = "webhooks", description = "Webhook subscriptions: Standard Webhooks 1.0 events to the registrar's systems"),
        (name = "api-clients", description = "API clients of registrar console back ends (OAuth 2.0 client credentials)"),
        (name = "audit", description = "The audit log: list, export, verify"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
        // API clients: the few routes of their scopes take their tokens too.
        let scopes = Scopes::from_iter(
            crate::domain::scope::Scope::ALL.map(|s| (s.as_str(), crate::http::api_clients::scope_description(s))),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new("/api/v1/oauth/token", scopes))],
                "API clients of registrar console back ends: client credentials (RFC 6749 §4.4).",
            )),
        );
        // `/metrics` with `FILINGDESK_METRICS_TOKEN`: a shared secret, not a JWT.
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The complete document, exactly as `/openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::ops_routes)
        .configure(routes::api_routes)
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    add_problem_responses(&mut doc);
    reference_page_items(&mut doc);
    doc
}

/// `Page_X.items` refers to `X` instead of repeating it: utoipa inlines a
/// generic's argument, which gives generated clients a second, anonymous
/// copy of every listed type (`PageStaffViewItemsItem` beside `StaffView`).
fn reference_page_items(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{Array, Schema};
    let Some(components) = doc.components.as_mut() else { return };
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for name in &names {
        let Some(item) = name.strip_prefix("Page_").filter(|item| names.iter().any(|n| n == item)) else {
            continue;
        };
        if let Some(RefOr::T(Schema::Object(page))) = components.schemas.get_mut(name) {
            let items = Array::new(RefOr::Ref(Ref::from_schema_name(item)));
            page.properties.insert("items".to_owned(), RefOr::T(Schema::Array(items)));
        }
    }
}

fn problem(description: &str) -> Response {
    let mut r = Response::new(description);
    r.content.insert(PROBLEM_JSON.to_owned(), RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))));
    r
}

/// Gives every error response a problem body, and adds the errors every
/// operation of its kind can answer: 400 and 422 for bad input, 401 and 403
/// when it needs a token, 404 when its path names something, 500 always.
fn add_problem_responses(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let named = path.contains('{');
        let no_idempotency = crate::http::idempotency::carries_credentials(path);
        if let Some(post) = item.post.as_mut().filter(|_| !no_idempotency) {
            post.parameters.get_or_insert_with(Vec::new).push(RefOr::T(idempotency_key()));
        }
        // The routes counted by `http::limits`.
        let limited =
            path.starts_with("/api/v1/public/") || path == "/api/v1/auth/login" || path == "/api/v1/auth/refresh";
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            // Public operations say so (`security: []`), as clients and
            // linters expect, rather than saying nothing.
            op.security.get_or_insert_with(Vec::new);
            add_to_operation(op, named);
            if limited {
                let r = problem("Too many requests: see the `Retry-After` header (seconds)");
                op.responses.responses.entry("429".to_owned()).or_insert_with(|| RefOr::T(r));
            }
        }
    }
}

/// The optional `Idempotency-Key` header of creating POSTs (see
/// `http::idempotency`).
fn idempotency_key() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "A repeat with the same key and body returns the first answer (header `Idempotent-Replayed: true`); \
             the same key with another body is 422.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255))))
        .build()
}

fn add_to_operation(op: &mut Operation, named: bool) {
    // `?tenant_id=` (the platform admin's) names a tenant, which may not exist.
    let names_tenant = op.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => p.name == "tenant_id",
        RefOr::Ref(_) => false,
    });
    let named = named || names_tenant;
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_input = op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut defaults: Vec<(&str, &str)> = vec![("500", "Internal error")];
    if has_input {
        defaults.push(("400", "Malformed request"));
        defaults.push(("422", "Validation failed: see `errors`"));
    }
    if op.request_body.is_some() {
        defaults.push(("413", "Request body too large"));
        defaults.push(("415", "The body is not of the documented content type"));
    }
    if secured {
        defaults.push(("401", "Missing, invalid or expired token"));
        defaults.push(("403", "Your role may not do this"));
    }
    if named {
        defaults.push(("404", "Not found (or another tenant's)"));
    }
    let responses = &mut op.responses.responses;
    for (status, description) in defaults {
        responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(problem(description)));
    }
    for (status, resp) in responses.iter_mut() {
        if let RefOr::T(r) = resp {
            if (status.starts_with('4') || status.starts_with('5')) && r.content.is_empty() {
                *r = problem(&r.description);
            }
        }
    }
}

/// The document as committed in `openapi/openapi.json`.
pub fn to_pretty_json() -> String {
    let mut s = document().to_pretty_json().expect("the document serializes");
    s.push('\n');
    s
}
