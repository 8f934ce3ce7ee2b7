//! `GET /api/v1/public/lookup`.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db;
use crate::domain::filing::{Domain, FilingNumber};
use crate::error::ApiError;
use crate::http::extract::Query;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// e.g. `京ICP备12345678号` (a website's `-N` is accepted).
    pub filing_number: Option<String>,
    /// e.g. `www.example.cn`
    pub domain: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HostingTenant {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Lookup {
    /// Whether a registrar on this platform manages the filing.
    pub hosted: bool,
    /// Every registrar here that hosts it (a site may use several access
    /// providers), by slug; none is preferred.
    pub tenants: Vec<HostingTenant>,
    /// The first of `tenants`, kept for older clients: use `tenants`.
    #[schema(deprecated)]
    pub tenant: Option<HostingTenant>,
    /// Where to go next.
    pub guidance: String,
}

const MIIT: &str = "the MIIT ICP filing system (https://beian.miit.gov.cn)";

/// Which platform manages a filing, by filing number or domain.
///
/// Says only which registrars host it (every one, none preferred), or
/// where to go when none here does; nothing else about the filing.
#[utoipa::path(
    tag = "subject",
    params(LookupQuery),
    responses((status = 200, description = "Hosted here or not, and where to go", body = Lookup))
)]
#[get("/public/lookup")]
pub async fn lookup_filing(
    state: web::Data<AppState>,
    meta: crate::audit::RequestMeta,
    q: Query<LookupQuery>,
) -> Result<HttpResponse, ApiError> {
    let keys = Keys {
        group: "lookup",
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: None,
        tenant: None,
        target: None,
    };
    enforce(&state, keys).await?;
    let q = q.into_inner();
    let (number, domain) = match (q.filing_number.as_deref(), q.domain.as_deref()) {
        (Some(n), None) => (Some(FilingNumber::parse(n).map_err(|e| ApiError::Validation(vec![e]))?), None),
        (None, Some(d)) => (None, Some(Domain::parse("domain", d).map_err(|e| ApiError::Validation(vec![e]))?)),
        _ => return Err(ApiError::field("filing_number", "one_required", "give either filing_number or domain")),
    };
    let (n, d) = (number.clone(), domain.clone());
    let hosts = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let numbers: Vec<&str> = n.iter().flat_map(|n| [n.as_str(), n.subject_number()]).collect();
            Ok(db::filings::hosting_tenants(conn, &numbers, d.as_ref().map(Domain::as_str))?)
        })
        .await?;
    let tenants: Vec<HostingTenant> = hosts.into_iter().map(|(slug, name)| HostingTenant { slug, name }).collect();
    let body = match tenants.as_slice() {
        [] => Lookup {
            hosted: false,
            tenants: Vec::new(),
            tenant: None,
            guidance: match &number {
                Some(n) => format!(
                    "Not managed on this platform. {} was issued in {} by the {}; look it up in {MIIT} or ask that administration which registrar hosts it.",
                    n.as_str(),
                    n.province(),
                    n.administration()
                ),
                None => format!("Not managed on this platform. Look the domain up in {MIIT} to find its filing and registrar."),
            },
        },
        [one] => Lookup {
            hosted: true,
            guidance: format!("Managed by {}: sign in to its filing-management module with the filing number and query password.", one.name),
            tenant: Some(one.clone()),
            tenants,
        },
        several => Lookup {
            hosted: true,
            guidance: format!(
                "Managed by {} registrars here ({}): sign in to the filing-management module of the one you use, with the filing number and its query password there.",
                several.len(),
                several.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
            tenant: several.first().cloned(),
            tenants,
        },
    };
    Ok(HttpResponse::Ok().json(body))
}
