//! `GET /api/v1/public/lookup`.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db;
use crate::domain::filing::{Domain, FilingNumber};
use crate::domain::settings::Locale;
use crate::error::ApiError;
use crate::http::extract::Query;
use crate::http::limits::{enforce, Keys};
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// e.g. `京ICP备12345678号` (a website's `-N` is accepted).
    pub filing_number: Option<String>,
    /// e.g. `www.example.cn`, `blog.example.cn` (matched against the filed
    /// `example.cn`) or a pasted address such as `https://www.example.cn/path`.
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
const MIIT_ZH: &str = "工信部 ICP/IP 地址/域名信息备案管理系统（https://beian.miit.gov.cn）";

/// Which platform manages a filing, by filing number or domain.
///
/// Says only which registrars host it (every one, none preferred), or
/// where to go when none here does; nothing else about the filing. A host
/// matches its filed domain and the parents up to the registrable domain;
/// `guidance` is in the caller's language (`Accept-Language`: zh-CN by
/// default, or en), named in `Content-Language`.
#[utoipa::path(
    tag = "subject",
    params(LookupQuery),
    responses((status = 200, description = "Hosted here or not, and where to go", body = Lookup))
)]
#[get("/public/lookup")]
pub async fn lookup_filing(
    state: web::Data<AppState>,
    meta: crate::audit::RequestMeta,
    req: actix_web::HttpRequest,
    q: Query<LookupQuery>,
) -> Result<HttpResponse, ApiError> {
    let language = req.headers().get(actix_web::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    let locale = Locale::from_accept_language(language);
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
        (None, Some(d)) => (None, Some(Domain::parse_host("domain", d).map_err(|e| ApiError::Validation(vec![e]))?)),
        _ => return Err(ApiError::field("filing_number", "one_required", "give either filing_number or domain")),
    };
    let (n, d) = (number.clone(), domain.clone());
    let hosts = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let numbers: Vec<&str> = n.iter().flat_map(|n| [n.as_str(), n.subject_number()]).collect();
            let domains = d.as_ref().map(Domain::with_parents);
            let hosts = db::filings::hosting_tenants(conn, &numbers, domains.as_deref())?;
            // Which of them offer self-service recovery (a public setting).
            let mut out = Vec::new();
            for (slug, name) in hosts {
                let tenant =
                    db::tenants::find_by_slug(conn, &slug)?.and_then(|t| crate::domain::ids::TenantId::parse(&t.id));
                let offers = match tenant {
                    Some(t) => db::settings::get(conn, t)?.self_service_recovery,
                    None => false,
                };
                out.push((slug, name, offers));
            }
            Ok(out)
        })
        .await?;
    let offering: Vec<String> = hosts.iter().filter(|h| h.2).map(|h| h.1.clone()).collect();
    let tenants: Vec<HostingTenant> = hosts.into_iter().map(|(slug, name, _)| HostingTenant { slug, name }).collect();
    let mut guidance = guidance(locale, &tenants, number.as_ref());
    if !offering.is_empty() {
        let names: Vec<&str> = offering.iter().map(String::as_str).collect();
        if locale == Locale::En {
            guidance.push(' ');
        }
        guidance.push_str(&crate::recovery::guidance(locale, Some(&names)));
    }
    let body = Lookup { hosted: !tenants.is_empty(), tenant: tenants.first().cloned(), tenants, guidance };
    Ok(HttpResponse::Ok().insert_header(("content-language", locale.tag())).json(body))
}

/// Where to go next, in `locale`.
fn guidance(locale: Locale, tenants: &[HostingTenant], number: Option<&FilingNumber>) -> String {
    let names = tenants.iter().map(|t| t.name.as_str()).collect::<Vec<_>>();
    match (locale, tenants, number) {
        (Locale::ZhCn, [], Some(n)) => format!(
            "本平台没有托管该备案。{} 由{}核发；请在{MIIT_ZH}查询，或向该管理局询问其接入服务商。",
            n.as_str(),
            n.administration()
        ),
        (Locale::ZhCn, [], None) => format!("本平台没有托管该域名。请在{MIIT_ZH}查询该域名的备案及其接入服务商。"),
        (Locale::ZhCn, [one], _) => format!("该备案由{}托管：请登录其备案管理系统，使用备案号和查询密码登录。", one.name),
        (Locale::ZhCn, several, _) => format!(
            "该备案由本平台的 {} 家接入商托管（{}）：请登录您所使用的接入商的备案管理系统，使用备案号和在该处设置的查询密码登录。",
            several.len(),
            names.join("、")
        ),
        (Locale::En, [], Some(n)) => format!(
            "Not managed on this platform. {} was issued in {} by the {}; look it up in {MIIT} or ask that administration which registrar hosts it.",
            n.as_str(),
            n.province(),
            n.administration()
        ),
        (Locale::En, [], None) => {
            format!("Not managed on this platform. Look the domain up in {MIIT} to find its filing and registrar.")
        }
        (Locale::En, [one], _) => format!(
            "Managed by {}: sign in to its filing-management module with the filing number and query password.",
            one.name
        ),
        (Locale::En, several, _) => format!(
            "Managed by {} registrars here ({}): sign in to the filing-management module of the one you use, with the filing number and its query password there.",
            several.len(),
            names.join(", ")
        ),
    }
}
