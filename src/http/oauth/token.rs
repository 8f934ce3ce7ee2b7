//! `POST /api/v1/oauth/token`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::scope::Scopes;
use crate::error::ApiError;
use crate::http::caller::CLIENT_ROLE;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;
use crate::security::jwt::ACCESS_TTL_SECS;
use crate::security::tokens;

/// The form body (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"grant_type": "client_credentials", "scope": "tickets:read tickets:write"}))]
pub struct TokenRequest {
    /// `client_credentials`.
    pub grant_type: String,
    /// Space-separated; a subset of the client's scopes (default: all of them).
    pub scope: Option<String>,
    /// With `client_secret`, instead of HTTP Basic authentication.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// RFC 6749 §5.1.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9.…", "token_type": "Bearer", "expires_in": 900, "scope": "tickets:read tickets:write"}))]
pub struct TokenResponse {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds: 900.
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// RFC 6749 §5.2.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": "invalid_client", "error_description": "client authentication failed"}))]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_scope`,
    /// `unsupported_grant_type`, or `temporarily_unavailable` (429, too many
    /// requests: see `Retry-After`).
    pub error: &'static str,
    pub error_description: String,
}

struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into(), retry_after: None }
    }
    fn request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    fn client() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed")
    }

    fn into_response(self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        no_store(&mut r);
        if self.status == StatusCode::UNAUTHORIZED {
            r.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="filingdesk", charset="UTF-8""#));
        }
        if let Some(s) = self.retry_after {
            r.insert_header((header::RETRY_AFTER, s.to_string()));
        }
        r.json(OAuthError { error: self.error, error_description: self.description })
    }
}

/// Token answers are never cached (RFC 6749 §5.1).
fn no_store(r: &mut actix_web::HttpResponseBuilder) {
    r.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
}

/// The parameters of a form body; a parameter given twice is refused
/// (RFC 6749 §3.2).
fn form(req: &HttpRequest, body: &[u8]) -> Result<Vec<(String, String)>, Refusal> {
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(Refusal::request("the body must be application/x-www-form-urlencoded"));
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(seen, _)| seen == k) {
            return Err(Refusal::request(format!("{k} is given more than once")));
        }
    }
    Ok(pairs)
}

/// The client's id and secret from HTTP Basic (each part form-encoded,
/// RFC 6749 §2.3.1) or from the form, never both.
fn credentials(req: &HttpRequest, form: &[(String, String)]) -> Result<(String, String), Refusal> {
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let basic = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, rest) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then(|| rest.trim().to_owned())
    });
    let in_form = (field("client_id"), field("client_secret"));
    match (basic, in_form) {
        (Some(_), (Some(_), _) | (_, Some(_))) => {
            Err(Refusal::request("authenticate the client one way: HTTP Basic or the form, not both"))
        }
        (Some(b), _) => {
            let decoded =
                STANDARD.decode(b).ok().and_then(|d| String::from_utf8(d).ok()).ok_or_else(Refusal::client)?;
            let (id, secret) = decoded.split_once(':').ok_or_else(Refusal::client)?;
            let un = |s: &str| form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
            Ok((un(id).ok_or_else(Refusal::client)?, un(secret).ok_or_else(Refusal::client)?))
        }
        (None, (Some(id), Some(secret))) => Ok((id, secret)),
        (None, _) => Err(Refusal::client()),
    }
}

/// Get an access token for an API client (OAuth 2.0 client credentials).
///
/// RFC 6749 §4.4: form body `grant_type=client_credentials` and an optional `scope` (a subset of the client's), the client authenticated by HTTP Basic or by `client_id` and `client_secret` form fields. The token lives 15 minutes and acts for the client's tenant within its scopes; revoking the client or rotating its secret ends it at once. Errors are RFC 6749 §5.2 JSON. Rate-limited per client id and per address.
#[utoipa::path(
    tag = "api-clients",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security(()),
    responses(
        (status = 200, description = "The token", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type` or `invalid_scope`", body = OAuthError),
        (status = 401, description = "`invalid_client`: unknown client, wrong secret, revoked client or suspended tenant", body = OAuthError),
        (status = 429, description = "`temporarily_unavailable`: too many requests, see `Retry-After`", body = OAuthError),
    )
)]
#[post("/oauth/token")]
pub async fn issue_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    meta: RequestMeta,
    body: web::Bytes,
) -> HttpResponse {
    match token(state, &req, meta, &body).await {
        Ok(r) => r,
        Err(Ok(refusal)) => refusal.into_response(),
        Err(Err(e)) => actix_web::ResponseError::error_response(&e),
    }
}

async fn token(
    state: web::Data<AppState>,
    req: &HttpRequest,
    meta: RequestMeta,
    body: &[u8],
) -> Result<HttpResponse, Result<Refusal, ApiError>> {
    let form = form(req, body).map_err(Ok)?;
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (client_id, secret) = credentials(req, &form).map_err(Ok)?;
    if client_id.len() > 200 || secret.len() > 200 {
        return Err(Ok(Refusal::client()));
    }
    let keys = Keys {
        group: "oauth_token",
        actor: Some(&client_id),
        address: meta.ip.as_deref(),
        tenant_slug: None,
        tenant: None,
        target: None,
    };
    match enforce(&state, keys).await {
        Ok(_) => {}
        Err(ApiError::RateLimited(secs)) => {
            let mut r =
                Refusal::new(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", "too many token requests");
            r.retry_after = Some(secs);
            return Err(Ok(r));
        }
        Err(e) => return Err(Err(e)),
    }
    match field("grant_type") {
        None => return Err(Ok(Refusal::request("grant_type is required"))),
        Some("client_credentials") => {}
        Some(_) => {
            return Err(Ok(Refusal::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            )))
        }
    }
    let requested = match field("scope").map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Scopes::from_oauth(s).ok_or_else(|| {
            Ok(Refusal::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "scopes are tickets:read, tickets:write and filings:read",
            ))
        })?),
    };
    let presented = tokens::digest(&secret);
    let found = state
        .db
        .run(move |conn| db::api_clients::find_by_client_id(conn, &client_id).map_err(ApiError::from))
        .await
        .map_err(Err)?;
    // Compared in constant time, and compared even for an unknown client.
    let stored = found.as_ref().map_or_else(|| tokens::digest(""), |c| c.secret_hash.clone());
    let secret_ok = tokens::constant_time_eq(presented.as_bytes(), stored.as_bytes());
    let client = match found {
        Some(c) if secret_ok => c,
        Some(c) => {
            let tenant = TenantId::parse(&c.tenant_id);
            let e = Event::new("api_client.token_refused", Actor::ApiClient(c.id.clone()))
                .tenant(tenant)
                .target("api_client", &c.id)
                .details(serde_json::json!({"reason": "wrong_secret"}));
            audit::record_alone(&state.db, meta, e).await.map_err(|e| Err(e.into()))?;
            return Err(Ok(Refusal::client()));
        }
        None => return Err(Ok(Refusal::client())),
    };
    let held =
        Scopes::from_oauth(&client.scopes).ok_or_else(|| Err(anyhow::anyhow!("stored scopes unreadable").into()))?;
    let granted = match requested {
        None => held,
        Some(r) if held.covers(&r) => r,
        Some(_) => {
            return Err(Ok(Refusal::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "a scope asked for is not this client's",
            )))
        }
    };
    let tenant = TenantId::parse(&client.tenant_id).ok_or_else(|| Err(anyhow::anyhow!("bad tenant id").into()))?;
    let scope = granted.to_oauth();
    let access_token = state
        .jwt
        .issue_scoped(client.id.clone(), Some(client.tenant_id.clone()), CLIENT_ROLE, client.secret_epoch, Some(&scope))
        .map_err(|e| Err(e.into()))?;
    let (id, details) = (client.id.clone(), serde_json::json!({"scope": scope}));
    state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            db::api_clients::touch(conn, &id, db::now())?;
            let e = Event::new("api_client.token_issued", Actor::ApiClient(id.clone()))
                .tenant(Some(tenant))
                .target("api_client", &id)
                .details(details);
            audit::record(conn, &meta, e)?;
            Ok(())
        })
        .await
        .map_err(Err)?;
    let mut r = HttpResponse::Ok();
    no_store(&mut r);
    Ok(r.json(TokenResponse { access_token, token_type: "Bearer", expires_in: ACCESS_TTL_SECS, scope }))
}
