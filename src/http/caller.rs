//! Routes that staff and API clients share: a bearer token of either kind,
//! confirmed against the database for the scope the route needs.
//!
//! An API client's token names the client, its tenant, the secret epoch it
//! was issued under and the scopes granted; the client's standing (not
//! revoked, secret not rotated since, tenant active) is read on every
//! request, as a staff member's is.

use actix_web::{web, FromRequest, HttpRequest};

use super::extract::{bearer, verified, CurrentStaff, StaffClaims};
use super::AppState;
use crate::audit::Actor;
use crate::db::{self, DbConnection};
use crate::domain::ids::TenantId;
use crate::domain::role::Role;
use crate::domain::scope::{Scope, Scopes};
use crate::error::ApiError;
use crate::security::jwt::Claims;

/// The `role` claim of API client tokens: what tells them from staff and
/// subject tokens.
pub const CLIENT_ROLE: &str = "api_client";

/// 403 `insufficient_scope`: an API client's token on a route its scopes do
/// not open (every route but the few of API.md's "API clients").
pub fn insufficient_scope() -> ApiError {
    ApiError::Forbidden {
        code: "insufficient_scope",
        detail: "this API client's token does not open this route; see its scopes".into(),
    }
}

/// A verified API client token: who, for which tenant, which scopes.
#[derive(Debug, Clone)]
pub struct ClientClaims {
    pub id: String,
    pub tenant: TenantId,
    epoch: i32,
    scopes: Scopes,
}

impl ClientClaims {
    fn from_claims(c: Claims) -> Result<Self, ApiError> {
        let invalid = || ApiError::Unauthorized("the token is invalid or expired");
        let tenant = c.tid.as_deref().and_then(TenantId::parse).ok_or_else(invalid)?;
        let scopes = c.scope.as_deref().and_then(Scopes::from_oauth).ok_or_else(invalid)?;
        Ok(Self { id: c.sub, tenant, epoch: c.sep.ok_or_else(invalid)?, scopes })
    }

    /// The client as the database has it now: 401 once revoked, rotated or
    /// its tenant suspended; 403 `insufficient_scope` unless both the token
    /// and the client (still) hold `scope`.
    pub fn confirm(&self, conn: &mut DbConnection, scope: Scope) -> Result<CurrentClient, ApiError> {
        self.confirm_as_stored(db::api_clients::in_standing(conn, self.tenant, &self.id, self.epoch)?, scope)
    }

    /// What `db::api_clients::in_standing` looks the client up by, besides
    /// its tenant: its id and the secret epoch of its token.
    pub fn standing_key(&self) -> (String, i32) {
        (self.id.clone(), self.epoch)
    }

    /// [`ClientClaims::confirm`] with the client's scopes as
    /// `db::api_clients::in_standing` read them (`None`: not in standing).
    pub fn confirm_as_stored(&self, stored: Option<String>, scope: Scope) -> Result<CurrentClient, ApiError> {
        let stored = stored
            .ok_or(ApiError::Unauthorized("the API client was revoked, its secret rotated, or its tenant suspended"))?;
        let held = Scopes::from_oauth(&stored).is_some_and(|s| s.contains(scope));
        if !(held && self.scopes.contains(scope)) {
            return Err(insufficient_scope());
        }
        Ok(CurrentClient { id: self.id.clone(), tenant: self.tenant })
    }
}

/// An API client confirmed for one scope.
#[derive(Debug, Clone)]
pub struct CurrentClient {
    pub id: String,
    pub tenant: TenantId,
}

/// The bearer token of a route open to staff and API clients, verified but
/// not yet confirmed.
pub enum Bearer {
    Staff(StaffClaims),
    Client(ClientClaims),
}

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let parsed = match req.app_data::<web::Data<AppState>>() {
            Some(state) => verified(state, bearer(req)).and_then(|c| {
                if c.role == CLIENT_ROLE {
                    ClientClaims::from_claims(c).map(Bearer::Client)
                } else {
                    StaffClaims::from_claims(c).map(Bearer::Staff)
                }
            }),
            None => Err(ApiError::Internal(anyhow::anyhow!("AppState missing"))),
        };
        std::future::ready(parsed)
    }
}

impl Bearer {
    /// Confirms the caller's standing: a staff member as on every staff
    /// route, an API client for `scope`.
    pub async fn confirm(self, db: &db::Db, scope: Scope) -> Result<Caller, ApiError> {
        match self {
            Bearer::Staff(c) => db.run(move |conn| c.confirm(conn, false)).await.map(Caller::Staff),
            Bearer::Client(c) => db.run(move |conn| c.confirm(conn, scope)).await.map(Caller::Client),
        }
    }
}

/// A confirmed staff member or API client.
#[derive(Debug, Clone)]
pub enum Caller {
    Staff(CurrentStaff),
    Client(CurrentClient),
}

impl Caller {
    /// The tenant the request acts on: staff of one of `roles` as
    /// [`CurrentStaff::acting_for`]; a client always its own.
    pub fn acting_for(&self, roles: &[Role], requested: Option<uuid::Uuid>) -> Result<TenantId, ApiError> {
        match self {
            Caller::Staff(me) => me.acting_for(roles, requested),
            Caller::Client(c) => Ok(c.tenant),
        }
    }

    /// See [`CurrentStaff::agency_scope`]; a client has none.
    pub fn agency_scope(&self) -> Option<&str> {
        match self {
            Caller::Staff(me) => me.agency_scope(),
            Caller::Client(_) => None,
        }
    }

    pub fn actor(&self) -> Actor {
        match self {
            Caller::Staff(me) => Actor::Staff(me.id),
            Caller::Client(c) => Actor::ApiClient(c.id.clone()),
        }
    }
}
