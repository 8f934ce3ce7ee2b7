//! Filing subjects: sign in with filing number and query password, read
//! their own filing, change the password.

pub mod filing;
pub mod login;
pub mod lookup;
pub mod password;
pub mod tickets;

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};

use crate::db;
use crate::db::filings::FilingRow;
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::http::AppState;

pub const ROLE: &str = "subject";

/// The filing subject a valid subject token speaks for, with their filing
/// as it is now. Staff tokens are refused, and subject tokens are refused
/// by every staff route (their role is not a staff role).
pub struct CurrentSubject {
    pub tenant: TenantId,
    pub filing: FilingRow,
    /// `Some("password_change")` while a generated or too old password is in
    /// use: the token opens the change route and the own filing only.
    pub scope: Option<String>,
}

impl CurrentSubject {
    /// 403 `password_change_required` for a token narrowed to the change.
    pub fn require_full_access(&self) -> Result<(), ApiError> {
        match self.scope.as_deref() {
            None => Ok(()),
            Some(_) => Err(ApiError::Forbidden {
                code: "password_change_required",
                detail: "change the query password first".into(),
            }),
        }
    }
}

impl FromRequest for CurrentSubject {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = crate::http::extract::bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState missing")))?;
            let invalid = || ApiError::Unauthorized("the token is invalid or expired");
            let claims = token.and_then(|t| state.jwt.verify(&t)).ok_or_else(invalid)?;
            if claims.role == crate::http::caller::CLIENT_ROLE {
                return Err(crate::http::caller::insufficient_scope());
            }
            if claims.role != ROLE {
                return Err(crate::http::extract::wrong_token_kind("this route is for filing subjects"));
            }
            let tenant = claims.tid.as_deref().and_then(TenantId::parse).ok_or_else(invalid)?;
            let filing_id = claims.sub;
            let scope = claims.scope;
            let epoch = claims.sep.ok_or_else(invalid)?;
            let found = state
                .db
                .run(move |conn| -> Result<_, ApiError> {
                    let active = db::tenants::find(conn, tenant)?.is_some_and(|t| t.status == "active");
                    Ok(if active { db::filings::find(conn, tenant, &filing_id)? } else { None })
                })
                .await?;
            let filing = found.ok_or(ApiError::Unauthorized("the filing or its tenant is no longer available"))?;
            // A password changed, reset or recovered since, or a lockout,
            // ended the session.
            if filing.session_epoch != epoch {
                return Err(ApiError::Unauthorized(crate::error::SESSION_ENDED));
            }
            Ok(CurrentSubject { tenant, filing, scope })
        })
    }
}
