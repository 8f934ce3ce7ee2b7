//! Extractors: the signed-in staff member, pagination, and the error
//! handlers that turn actix's own extraction failures into problems.

use std::future::Future;
use std::pin::Pin;

use actix_web::error::PathError;
use actix_web::{web, FromRequest, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use crate::db;
use crate::domain::ids::{StaffId, TenantId};
use crate::domain::role::Role;
use crate::error::ApiError;

/// The staff member a valid bearer token speaks for, as the database has
/// them on this request: role, tenant, agency and status are read, never
/// taken from the token, so a role change, disabling a user, suspending a
/// tenant or ending a session takes effect at once, not when the token
/// expires.
#[derive(Debug, Clone)]
pub struct CurrentStaff {
    pub id: StaffId,
    pub tenant: Option<TenantId>,
    pub role: Role,
    /// An agent's agency: what limits which filings they see.
    pub agency: Option<String>,
}

impl CurrentStaff {
    /// 403 unless the role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden("your role may not do this"))
        }
    }

    /// [`require`](Self::require) then [`tenant_scope`](Self::tenant_scope):
    /// the tenant a tenant-level route acts on, for the roles it allows.
    pub fn acting_for(&self, roles: &[Role], requested: Option<uuid::Uuid>) -> Result<TenantId, ApiError> {
        self.require(roles)?;
        self.tenant_scope(requested.map(TenantId::from))
    }

    /// The agency whose authorizations limit what this staff member sees:
    /// `Some` for agents (an agent without an agency sees nothing), `None`
    /// for everyone else.
    pub fn agency_scope(&self) -> Option<&str> {
        (self.role == Role::Agent).then(|| self.agency.as_deref().unwrap_or(""))
    }

    /// The tenant a request acts on: a tenant's staff always act on their
    /// own; the platform admin names one with `?tenant_id=`.
    pub fn tenant_scope(&self, requested: Option<TenantId>) -> Result<TenantId, ApiError> {
        match (self.tenant, requested) {
            (Some(own), _) => Ok(own),
            (None, Some(t)) => Ok(t),
            (None, None) => Err(ApiError::field("tenant_id", "required", "platform staff must name a tenant_id")),
        }
    }
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// The claims of the request's bearer token: 401 without one, or when it
/// does not verify (signature, algorithm, expiry).
pub fn verified(state: &AppState, token: Option<String>) -> Result<crate::security::jwt::Claims, ApiError> {
    let token = token.ok_or(ApiError::Unauthorized("a bearer token is required"))?;
    state.jwt.verify(&token).ok_or(ApiError::Unauthorized("the token is invalid or expired"))
}

/// 403 `wrong_token_kind`: a valid token of the other kind (a subject's
/// on a staff route, or a staff member's on a subject route).
pub fn wrong_token_kind(detail: &str) -> ApiError {
    ApiError::Forbidden { code: "wrong_token_kind", detail: detail.into() }
}

/// 403 `password_change_required`: the account's password was set by
/// someone else, and it opens only the change and the account itself.
pub fn password_change_required() -> ApiError {
    ApiError::Forbidden { code: "password_change_required", detail: "change your password first".into() }
}

/// A staff token that verified: it names who asks and the session it
/// belongs to, nothing more. What they may do is read from the database
/// ([`StaffClaims::confirm`]), or, on the busiest route, checked in the
/// round trip that enters its tenant ([`StaffClaims::read_for`]).
#[derive(Debug, Clone)]
pub struct StaffClaims {
    pub id: StaffId,
    /// The session epoch the token was issued in.
    epoch: i32,
    /// The tenant the token was issued for: which tenant's transaction to
    /// open; the database confirms the staff member belongs to it.
    tenant: Option<TenantId>,
    /// Whether the token was issued to an agent, whose agency comes from
    /// their row (the database confirms the role either way).
    agent: bool,
}

impl StaffClaims {
    fn from_token(state: &AppState, token: Option<String>) -> Result<Self, ApiError> {
        Self::from_claims(verified(state, token)?)
    }

    /// The staff claims of a verified token; another kind of token is 403.
    pub fn from_claims(claims: crate::security::jwt::Claims) -> Result<Self, ApiError> {
        let invalid = || ApiError::Unauthorized("the token is invalid or expired");
        if claims.role == crate::http::subject::ROLE {
            return Err(wrong_token_kind(
                "this route is for staff; a filing subject's token opens only /api/v1/subject routes",
            ));
        }
        if claims.role == crate::http::caller::CLIENT_ROLE {
            return Err(crate::http::caller::insufficient_scope());
        }
        let id = StaffId::parse(&claims.sub).ok_or_else(invalid)?;
        let role = Role::parse(&claims.role).ok_or_else(invalid)?;
        let tenant = claims.tid.as_deref().map(|t| TenantId::parse(t).ok_or_else(invalid)).transpose()?;
        let epoch = claims.sep.ok_or_else(invalid)?;
        Ok(Self { id, epoch, tenant, agent: role == Role::Agent })
    }

    /// The staff member as the database has them now: 401 unless their
    /// account and tenant are active and the token's session is current;
    /// 403 `password_change_required` while a password set by someone else
    /// is in use, unless `pending_change_ok`.
    pub fn confirm(self, conn: &mut db::DbConnection, pending_change_ok: bool) -> Result<CurrentStaff, ApiError> {
        let gone = || ApiError::Unauthorized(crate::error::NOT_IN_STANDING);
        let s = db::staff::standing(conn, &self.id.to_string())?.ok_or_else(gone)?;
        let active = s.status == "active" && s.tenant_status.as_deref().unwrap_or("active") == "active";
        if !active {
            return Err(gone());
        }
        if s.session_epoch != self.epoch {
            return Err(ApiError::Unauthorized(crate::error::SESSION_ENDED));
        }
        if s.must_change_password && !pending_change_ok {
            return Err(password_change_required());
        }
        let role = Role::parse(&s.role).ok_or_else(|| anyhow::anyhow!("stored role {} is unknown", s.role))?;
        let tenant = s.tenant_id.as_deref().map(TenantId::parse).map(|t| t.ok_or_else(gone)).transpose()?;
        Ok(CurrentStaff { id: self.id, tenant, role, agency: s.agency_id })
    }

    /// Runs `f`, a read of one statement, for a staff member of one of
    /// `roles` ([`Db::read_for_staff`]): on PostgreSQL the standing (active,
    /// current session, role, no pending password change) is confirmed in
    /// the round trip that enters their tenant, except for agents, whose
    /// agency comes from their row.
    pub async fn read_for<T, F>(self, db: &db::Db, roles: &'static [Role], f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut db::DbConnection, &Confirmed) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let tenant = self.tenant.ok_or_else(|| ApiError::forbidden("your role may not do this"))?;
        let by_database = (!self.agent).then_some(db::StandingCheck { staff: self.id, epoch: self.epoch, roles });
        db.read_for_staff(tenant, by_database, move |conn, confirmed| {
            let me = if confirmed {
                // One of `roles`, and not an agent.
                Confirmed { id: self.id, tenant, agency_scope: None }
            } else {
                let me = self.confirm(conn, false)?;
                me.require(roles)?;
                Confirmed { id: me.id, tenant, agency_scope: me.agency_scope().map(str::to_owned) }
            };
            f(conn, &me)
        })
        .await
    }

    /// For a read of one statement that PostgreSQL can take in the flight
    /// that enters the tenant and confirms the standing ([`db::Pipelined`]):
    /// the connections, the tenant and the check; `None` where
    /// [`StaffClaims::read_for`] must be used instead (SQLite; agents, whose
    /// agency comes from their row).
    pub fn pipelined<'d>(
        &self,
        db: &'d db::Db,
        roles: &'static [Role],
    ) -> Result<Option<(&'d db::Pipelined, TenantId, db::StandingCheck)>, ApiError> {
        let tenant = self.tenant.ok_or_else(|| ApiError::forbidden("your role may not do this"))?;
        Ok(match db.pipelined() {
            Some(reads) if !self.agent => {
                Some((reads, tenant, db::StandingCheck { staff: self.id, epoch: self.epoch, roles }))
            }
            _ => None,
        })
    }
}

/// A staff member confirmed by [`StaffClaims::read_for`] in one of the
/// route's roles.
#[derive(Debug, Clone)]
pub struct Confirmed {
    pub id: StaffId,
    pub tenant: TenantId,
    /// See [`CurrentStaff::agency_scope`].
    pub agency_scope: Option<String>,
}

impl FromRequest for StaffClaims {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let claims = match req.app_data::<web::Data<AppState>>() {
            Some(state) => StaffClaims::from_token(state, bearer(req)),
            None => Err(ApiError::Internal(anyhow::anyhow!("AppState missing"))),
        };
        std::future::ready(claims)
    }
}

/// Reads the standing of the token's holder for an extractor.
fn load_staff(
    req: &HttpRequest,
    pending_change_ok: bool,
) -> Pin<Box<dyn Future<Output = Result<CurrentStaff, ApiError>>>> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let token = bearer(req);
    Box::pin(async move {
        let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState missing")))?;
        let claims = StaffClaims::from_token(&state, token)?;
        state.db.run(move |conn| claims.confirm(conn, pending_change_ok)).await
    })
}

impl FromRequest for CurrentStaff {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        load_staff(req, false)
    }
}

/// [`CurrentStaff`] for the two routes a pending password change leaves
/// open: the change itself and the account's own record.
#[derive(Debug, Clone)]
pub struct StaffChangingPassword(pub CurrentStaff);

impl FromRequest for StaffChangingPassword {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let fut = load_staff(req, true);
        Box::pin(async move { fut.await.map(StaffChangingPassword) })
    }
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated page request; `after` is where the previous page ended.
pub struct PageRequest<K = String> {
    pub limit: i64,
    pub after: Option<K>,
}

impl PageParams {
    /// For lists keyed by row id (UUIDv7).
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        self.parse_as(|s| uuid::Uuid::parse_str(s).ok().map(|_| s.to_owned()))
    }

    /// For lists keyed by something else: `key` parses the cursor's content.
    pub fn parse_as<K>(&self, key: impl Fn(&str) -> Option<K>) -> Result<PageRequest<K>, ApiError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::field("limit", "out_of_range", "limit must be between 1 and 200"));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(
                URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| key(&s))
                    .ok_or_else(|| ApiError::field("cursor", "invalid", "cursor is not one this service issued"))?,
            ),
        };
        Ok(PageRequest { limit: i64::from(limit), after })
    }
}

/// One page of a list, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    /// Builds a page from rows fetched with `limit + 1`: the extra row only
    /// tells whether there is a next page.
    pub fn from_rows<R, K: AsRef<[u8]>>(
        mut rows: Vec<R>,
        limit: i64,
        key_of: impl Fn(&R) -> K,
        to_item: impl Fn(R) -> T,
    ) -> Self {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if has_more { rows.last().map(|r| URL_SAFE_NO_PAD.encode(key_of(r))) } else { None };
        Self { items: rows.into_iter().map(to_item).collect(), next_cursor }
    }
}

/// A row id in a path, as stored (hyphenated UUID); anything else names
/// nothing: 404.
pub fn uuid_path_id(raw: &str) -> Result<String, ApiError> {
    parse_path_id(raw, |s| uuid::Uuid::parse_str(s).ok()).map(|u| u.to_string())
}

/// A path id that is not a UUID names nothing: 404, like a missing one.
pub fn parse_path_id<T>(raw: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, ApiError> {
    parse(raw).ok_or(ApiError::NotFound)
}

/// A JSON body parsed into `T`. Unlike actix's `web::Json`, a value of the
/// wrong type or an unknown enum value names its field (`errors[].field`,
/// a dotted path such as `rate_limits.per_address_per_minute`), so that a
/// front end can show the error beside the input.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let json = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType("the body must be application/json".into()));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
                let chunk = chunk.map_err(|_| ApiError::BadRequest {
                    code: "bad_request",
                    detail: "the body could not be read".into(),
                })?;
                if body.len() + chunk.len() > JSON_LIMIT {
                    return Err(ApiError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(Json)
        })
    }
}

/// Parses a JSON body: malformed JSON 400, a NUL or a value that does not
/// fit 422 naming its field.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let malformed = |inner: &serde_json::Error| ApiError::BadRequest {
        code: "malformed_json",
        detail: format!("the body is not valid JSON (line {}, column {})", inner.line(), inner.column()),
    };
    super::nul_bytes::refuse_in_json(body)?;
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut de);
    if parsed.is_ok() {
        // Trailing characters after the value.
        de.end().map_err(|e| malformed(&e))?;
    }
    parsed.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return malformed(&inner);
        }
        let message = inner.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        data_error(&path, &message)
    })
}

/// A `T` from the query string, with failures named like bodies' (422
/// `validation_failed`, the parameter as the field).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// Parses a query string into `T`, naming the parameter that does not fit.
pub fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        data_error(&path, &message)
    })
}

/// 422 naming the field at `path` (or, for a missing or unknown field, the
/// field the message names), with serde's message minus any echoed value
/// (it could be a password given with the wrong type).
fn data_error(path: &str, message: &str) -> ApiError {
    let named = |prefix: &str| {
        message.strip_prefix(prefix).and_then(|rest| rest.split('`').next()).map(|f| {
            if path == "." || path.is_empty() {
                f.to_owned()
            } else {
                format!("{path}.{f}")
            }
        })
    };
    // The path of a missing field is its parent's; of an unknown one, its own.
    let (field, code) = match (named("missing field `"), message.starts_with("unknown field `")) {
        (Some(f), _) => (f, "required"),
        (None, true) => (path.to_owned(), "unknown_field"),
        _ if path == "." || path.is_empty() => ("body".to_owned(), "invalid"),
        _ => (path.to_owned(), "invalid"),
    };
    ApiError::field(&field, code, &data_error_message(message))
}

/// serde's message without any echoed value.
fn data_error_message(msg: &str) -> String {
    if msg.starts_with("missing field") || msg.starts_with("unknown field") {
        return msg.to_owned();
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        // The offending value is between the first pair of backticks.
        return format!("unknown value; {}", rest.split_once(", ").map_or("", |(_, r)| r));
    }
    if let Some((_, expected)) = msg.split_once(", expected ") {
        return format!("wrong type; expected {expected}");
    }
    "the value does not have the expected form".to_owned()
}

fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound.into()
}

/// Largest JSON body accepted (the CSV import sets its own limit).
pub const JSON_LIMIT: usize = 64 * 1024;

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(path_error)
}

/// The request facts every audit event keeps: request id, client address
/// (the peer, or whom trusted proxies forwarded for: `client_address`),
/// user agent. Rate limits use the same address.
impl FromRequest for crate::audit::RequestMeta {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect());
        std::future::ready(Ok(crate::audit::RequestMeta {
            request_id: Some(crate::error::current_request_id()),
            ip: req.peer_addr().map(|peer| {
                let trusted = req.app_data::<web::Data<AppState>>().map_or(&[][..], |s| &s.settings.trusted_proxies);
                let forwarded: Vec<&str> =
                    req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect();
                super::client_address::client_address(peer.ip(), forwarded.into_iter(), trusted).to_string()
            }),
            user_agent,
        }))
    }
}
