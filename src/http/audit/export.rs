//! `GET /api/v1/audit-events/export`.

use actix_web::{get, web, HttpResponse};
use futures_util::stream;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AuditFilter;
use crate::audit::export::{render, Format};
use crate::db::audit::Order;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Query};
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `ndjson` (default) or `csv`.
    pub format: Option<Format>,
}

/// Rows fetched per database round trip while streaming.
const BATCH: i64 = 1000;

/// Export every event of the filter, oldest first, streamed.
///
/// The export is read in batches as the client consumes it, so memory stays
/// flat however long the log is.
#[utoipa::path(
    tag = "audit",
    params(ExportParams, AuditFilter),
    security(("bearer" = [])),
    responses((status = 200, description = "The events", content(
        (String = "application/x-ndjson"),
        (String = "text/csv"),
    )))
)]
#[get("/audit-events/export")]
pub async fn export_audit_events(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<AuditFilter>,
    f: Query<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let chain = q.chain(&me)?;
    let filter = q.filter();
    let format = f.format.unwrap_or(Format::Ndjson);
    let db = state.db.clone();
    // Each poll fetches and renders the next batch; `None` after the last.
    let body = stream::unfold(Some((None::<i64>, true)), move |cursor| {
        let (db, chain, filter) = (db.clone(), chain.clone(), filter.clone());
        async move {
            let (after, first) = cursor?;
            let fetched = db
                .run(move |conn| {
                    let rows = crate::db::audit::page(conn, &chain, &filter, Order::OldestFirst, after, BATCH)?;
                    let last = rows.last().map(|r| r.seq);
                    let full = rows.len() as i64 == BATCH;
                    let bytes = render(format, rows, first)?;
                    Ok::<_, ApiError>((bytes, last, full))
                })
                .await;
            match fetched {
                Ok((bytes, last, full)) => {
                    let next = if full { Some((last, false)) } else { None };
                    Some((Ok::<_, actix_web::Error>(web::Bytes::from(bytes)), next))
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit export stopped");
                    Some((Err(actix_web::error::ErrorInternalServerError("export failed")), None))
                }
            }
        }
    });
    let name = match format {
        Format::Ndjson => "audit-events.ndjson",
        Format::Csv => "audit-events.csv",
    };
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .streaming(body))
}
