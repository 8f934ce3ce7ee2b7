//! The reviewer workbench at `/console/`: static files embedded in the
//! binary (`console/`), served under a strict Content-Security-Policy (no
//! inline script, nothing from another origin). It talks only to the public
//! REST API. `FILINGDESK_CONSOLE=0` turns it off.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

/// No inline script or style, nothing from another origin, not framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const FILES: &[(&str, &str, &str)] = &[
    ("", "text/html; charset=utf-8", include_str!("../../console/index.html")),
    ("index.html", "text/html; charset=utf-8", include_str!("../../console/index.html")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../console/app.js")),
    ("i18n.js", "text/javascript; charset=utf-8", include_str!("../../console/i18n.js")),
    ("admin.js", "text/javascript; charset=utf-8", include_str!("../../console/admin.js")),
    ("style.css", "text/css; charset=utf-8", include_str!("../../console/style.css")),
];

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(slash)).route("/console/{file:.*}", web::get().to(file));
}

async fn slash() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/console/")).finish()
}

async fn file(name: web::Path<String>) -> HttpResponse {
    let Some((_, kind, body)) = FILES.iter().find(|(n, _, _)| *n == name.as_str()) else {
        return HttpResponse::NotFound().finish();
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(kind)))
        .insert_header((header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        // A new binary serves new files at once.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .body(*body)
}
