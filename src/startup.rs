//! Builds the application the binary and the tests run: database, keys,
//! bootstrap, and the HTTP server bound to its listener.

use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use anyhow::Context;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::afterwards::Afterwards;
use crate::bootstrap;
use crate::config::Settings;
use crate::db::Db;
use crate::http::extract::path_config;
use crate::http::fallback::{not_matched, KnownPaths};
use crate::http::{routes, AppState};
use crate::jobs::{scheduler, Jobs};
use crate::leaving::Leaving;
use crate::openapi::ApiDoc;
use crate::telemetry::{self, Metrics};
use tokio_cron_scheduler::JobScheduler;

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    delivery: Arc<crate::notify::deliver::Delivery>,
    jobs: Arc<Jobs>,
    scheduler: Option<JobScheduler>,
    draining: Arc<AtomicBool>,
    afterwards: Afterwards,
    /// A second descriptor of the listening socket, for [`Leaving`].
    listener: TcpListener,
}

impl Application {
    /// Connects and migrates the database, seeds an empty one, and binds the
    /// listener (port 0 picks a free port, as the tests do).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::connect_serving(&settings.database_url, settings.db_pool_size, settings.http_workers())?;
        // One instance at a time makes the keys and the first admin; the
        // others then find them (instances started together all come up).
        let startup = db.startup_lock()?;
        let cipher = bootstrap::cipher(&settings)?;
        let jwt = bootstrap::jwt_keys(&db, &settings)?;
        let signer = Arc::new(bootstrap::audit_signer(&db, &settings)?);
        bootstrap::seed(&db, &settings, &cipher)?;
        drop(startup);
        let listener =
            TcpListener::bind(settings.listen).with_context(|| format!("cannot listen on {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        tracing::info!(
            address = %listener.local_addr()?,
            database = %settings.database_url.redacted(),
            backend = bootstrap::backend_name(db.backend()),
            "filingdesk listening; Swagger UI at /swagger-ui/"
        );
        let delivery =
            Arc::new(crate::notify::deliver::Delivery::from_settings(db.clone(), cipher.clone(), &settings)?);
        let channels = crate::notify::ChannelSet::from_settings(&settings);
        let webhooks = Arc::new(crate::webhooks::deliver::Dispatcher::new(
            db.clone(),
            cipher.clone(),
            settings.webhook_allow_private,
            std::time::Duration::from_secs(u64::from(settings.webhook_timeout_secs)),
        ));
        let jobs = Arc::new(Jobs::new(
            db.clone(),
            delivery.clone(),
            webhooks,
            signer.clone(),
            cipher.clone(),
            channels,
            settings.outbox_interval_secs,
        ));
        let scheduler = if settings.scheduler { Some(scheduler::start(jobs.clone()).await?) } else { None };
        let draining = Arc::new(AtomicBool::new(false));
        let afterwards = Afterwards::here();
        let state = AppState {
            db: db.clone(),
            jwt,
            signer,
            cipher,
            channels,
            jobs: jobs.clone(),
            settings: Arc::new(settings.clone()),
            draining: draining.clone(),
            afterwards: afterwards.clone(),
            numbers: Default::default(),
            tenant_ids: Default::default(),
            leases: Default::default(),
            submissions: Default::default(),
        };
        let own = listener.try_clone()?;
        let server = serve(listener, state, settings.http_workers())?;
        Ok(Self { port, server, db, delivery, jobs, scheduler, draining, afterwards, listener: own })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The outbox worker (run by the scheduler; tests call `run_once`).
    pub fn delivery(&self) -> Arc<crate::notify::deliver::Delivery> {
        self.delivery.clone()
    }

    /// The scheduled jobs (tests run them by hand).
    pub fn jobs(&self) -> Arc<Jobs> {
        self.jobs.clone()
    }

    /// Takes the instance out of service in steps (see [`Leaving`]).
    pub fn leaving(&self) -> anyhow::Result<Leaving> {
        Ok(Leaving::new(self.server.handle(), self.draining.clone(), self.listener.try_clone()?, self.db.clone()))
    }

    /// Stops the server from elsewhere (tests stop theirs when done).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped through [`Application::handle`], finishing
    /// in-flight requests first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        // Answered requests' remaining work first: it may queue messages.
        if !self.afterwards.finish(std::time::Duration::from_secs(30)).await {
            tracing::warn!("stopping with work of answered requests still running");
        }
        if let Some(mut s) = self.scheduler {
            let _ = s.shutdown().await;
        }
        // A job cut off mid-run could leave messages sent but unrecorded.
        self.jobs.finish(std::time::Duration::from_secs(30)).await;
        // Whatever a request or job left with the database workers (a task
        // cut off at the end while its work had been taken up) ends before
        // the process does.
        if !self.db.close(std::time::Duration::from_secs(30)).await {
            tracing::warn!("stopping with database work still running");
        }
        served
    }
}

/// `/swagger-ui` as typed: to the UI, whose relative links need the slash.
async fn swagger_ui_slash() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect().insert_header(("location", "/swagger-ui/")).finish()
}

/// CORS for the console front ends named in `FILINGDESK_CORS_ORIGINS`
/// (outermost, so that preflights are answered before anything else). A
/// request from any other origin goes on without CORS headers, so the
/// browser keeps its answer from that origin's page, while same-origin
/// pages (Swagger UI) work as before; with none named, nothing changes.
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::header;
    let mut cors = actix_cors::Cors::default().block_on_origin_mismatch(false);
    if origins.is_empty() {
        return cors;
    }
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors.allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(3600)
}

fn serve(listener: TcpListener, state: AppState, workers: usize) -> anyhow::Result<Server> {
    let doc = crate::openapi::document();
    let known = web::Data::new(KnownPaths::from_openapi(&doc));
    let state = web::Data::new(state);
    let metrics = web::Data::new(Metrics::new());
    let (sizes, waiting) = state.submissions.metrics();
    metrics.include(sizes);
    metrics.include(waiting);
    let origins = state.settings.cors_origins.clone();
    let console = state.settings.console;
    let server = HttpServer::new(move || {
        let (app, _) = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .configure(routes::ops_routes)
            .configure(routes::api_routes)
            .split_for_parts();
        app.app_data(state.clone())
            .app_data(metrics.clone())
            .app_data(known.clone())
            .app_data(path_config())
            .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/openapi.json", doc.clone()))
            .route("/swagger-ui", web::get().to(swagger_ui_slash))
            .configure(|cfg| {
                if console {
                    crate::http::console::routes(cfg);
                }
            })
            .default_service(web::to(not_matched))
            .wrap(middleware::from_fn(crate::http::idempotency::idempotency))
            .wrap(middleware::from_fn(crate::http::nul_bytes::refuse_nul))
            .wrap(middleware::from_fn(telemetry::observe))
            .wrap(cors(&origins))
    })
    // The binary listens for SIGTERM/SIGINT itself, from before start-up,
    // and stops the server through its handle (see `main.rs`).
    .disable_signals()
    .shutdown_timeout(15)
    .workers(workers)
    .listen(listener)?;
    Ok(server.run())
}
