//! Logs, request ids and metrics.
//!
//! [`observe`] wraps every request: it takes or makes the `X-Request-Id`,
//! scopes it for problem documents and logs, turns any error answer that is
//! not yet a problem document (actix's own) into one, records metrics by
//! route template, and writes one access-log line without query strings or
//! bodies (they may carry personal data).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};
use crate::error::{problem_response, PROBLEM_JSON, REQUEST_ID};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global tracing subscriber (once; later calls are no-ops).
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // The asynchronous PostgreSQL driver writes every statement's parameters
    // at debug level (db::pipeline): never below info, whatever the filter
    // asks, so no bound value reaches the log.
    let filter = filter.add_directive("tokio_postgres=info".parse().expect("a valid directive"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match settings.log_format {
        // Each line carries the fields of the span it was written in: the
        // request's id, on the blocking threads its database work runs on too.
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Human => builder.try_init(),
    };
}

/// Prometheus metrics of the HTTP layer.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route template, method and status"),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route template and method")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["route", "method"],
        )
        .expect("valid metric");
        registry.register(Box::new(requests.clone())).expect("registered once");
        registry.register(Box::new(latency.clone())).expect("registered once");
        Self { registry, requests, latency }
    }

    /// Adds metrics kept elsewhere (the submissions' groups).
    pub fn include(&self, c: impl prometheus::core::Collector + 'static) {
        self.registry.register(Box::new(c)).expect("registered once");
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A client's request id is kept when it is short and plain; otherwise a new
/// one is made, so nothing odd reaches logs or headers.
fn request_id_of(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = request_id_of(&req);
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let start = Instant::now();
    // Every line logged for this request, wherever it runs, is in its span.
    let span = tracing::info_span!("request", request_id = %request_id);
    let mut res = REQUEST_ID
        .scope(
            request_id.clone(),
            async move {
                // Handlers and extractors turn their errors into responses
                // already; an `Err` here could only come from inner middleware.
                next.call(req).await.map(|res| normalize_error(res.map_into_boxed_body()))
            }
            .instrument(span.clone()),
        )
        .await?;
    let status = res.status();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = start.elapsed();
    if let Some(m) = metrics {
        m.requests.with_label_values(&[&route, &method, status.as_str()]).inc();
        m.latency.with_label_values(&[&route, &method]).observe(elapsed.as_secs_f64());
    }
    let _in_request = span.enter();
    tracing::info!(
        request_id = %request_id,
        method = %method,
        route = %route,
        status = status.as_u16(),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    Ok(res)
}

/// Any error answer that is not a problem document yet becomes one.
fn normalize_error(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let ct = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // The OAuth token endpoint answers in RFC 6749 §5.2 JSON, which OAuth
    // client libraries read.
    let oauth = res.request().path().starts_with("/api/v1/oauth/") && ct.starts_with("application/json");
    if ct.starts_with(PROBLEM_JSON) || oauth {
        return res;
    }
    let code = match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        s if s >= 500 => "internal",
        _ => "error",
    };
    let detail = status.canonical_reason().unwrap_or("error").to_owned();
    res.into_response(problem_response(status, code, detail, None))
}
