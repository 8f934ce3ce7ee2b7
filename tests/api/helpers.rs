//! `spawn_app()`: the application on a free port with its own fresh
//! database, and typed helpers for the requests tests make.

use std::sync::OnceLock;

use diesel::{Connection, RunQueryDsl};
use filingdesk::config::{DataKey, Settings};
use filingdesk::db::DatabaseUrl;
use filingdesk::startup::Application;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

pub const ADMIN: &str = "root-admin";
pub const ADMIN_PASSWORD: &str = "Platform-Secret-1";
pub const PASSWORD: &str = "Staff-Password-9";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The application's own database handle, for driving jobs with `run_once`.
    pub db: filingdesk::db::Db,
    /// The outbox worker of this app, for `run_once`.
    pub delivery: std::sync::Arc<filingdesk::notify::deliver::Delivery>,
    pub jobs: std::sync::Arc<filingdesk::jobs::Jobs>,
    database_url: String,
    handle: actix_web::dev::ServerHandle,
    serving: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _sqlite_dir: Option<tempfile::TempDir>,
    pg_database: Option<(String, String)>,
}

/// The server URL of the test database cluster, when tests run on PostgreSQL.
///
/// Without TLS unless the URL asks for it: the cluster is local, and libpq's
/// OpenSSL, torn down by `exit` while a pool thread of a finished test was
/// still opening or closing a connection, crashed the test binary after
/// every test had passed (SIGSEGV, now and then).
pub fn pg_server_url() -> Option<String> {
    let url = std::env::var("FILINGDESK_TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres"))?;
    Some(if url.contains("sslmode=") {
        url
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    })
}

/// The URL of database `db` on the server of `server_url`, its parameters kept.
pub fn with_database(server_url: &str, db: &str) -> String {
    let (path, query) = server_url.split_once('?').map_or((server_url, None), |(p, q)| (p, Some(q)));
    let base = path.rsplit_once('/').map_or(path, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// A migrated template database, made once per migration set; each test
/// clones it, which is much faster than migrating.
fn pg_template(server_url: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres");
            let mut files: Vec<_> = walk(std::path::Path::new(dir));
            files.sort();
            let mut text = String::new();
            for f in files {
                text.push_str(&std::fs::read_to_string(f).unwrap());
            }
            let name = format!("filingdesk_tmpl_{}", &filingdesk::security::tokens::digest(&text)[..12]);
            let mut admin = diesel::PgConnection::establish(server_url).expect("PostgreSQL for tests");
            // Several test processes may start at once: one builds the template.
            diesel::sql_query("SELECT pg_advisory_lock(727274)").execute(&mut admin).unwrap();
            let exists: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                "SELECT count(*) FROM pg_database WHERE datname = '{name}'"
            ))
            .get_result(&mut admin)
            .unwrap();
            if exists == 0 {
                let building = format!("{name}_building");
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                    .execute(&mut admin)
                    .unwrap();
                diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut admin).unwrap();
                let url = DatabaseUrl::parse(&with_database(server_url, &building)).unwrap();
                drop(filingdesk::db::Db::connect(&url, 1).expect("migrating the template"));
                diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}")).execute(&mut admin).unwrap();
            }
            diesel::sql_query("SELECT pg_advisory_unlock(727274)").execute(&mut admin).unwrap();
            name
        })
        .clone()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub fn test_settings(database_url: &str) -> Settings {
    let mut s = Settings::load(None, Vec::<(String, String)>::new()).unwrap();
    s.database_url = DatabaseUrl::parse(database_url).unwrap();
    s.listen = "127.0.0.1:0".parse().unwrap();
    s.jwt_secret = Some(filingdesk::config::Secret::new(filingdesk::security::tokens::generate()));
    s.data_key = Some(DataKey([7u8; 32]));
    s.bootstrap_admin = ADMIN.into();
    s.bootstrap_password = Some(filingdesk::config::Secret::new(ADMIN_PASSWORD));
    s.db_pool_size = 4;
    s.workers = Some(1);
    s.log_filter = "warn".into();
    // Tests run jobs by hand, with their own clock.
    s.scheduler = false;
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let (url, sqlite_dir, pg_database) = match pg_server_url() {
        Some(server) => {
            let template = pg_template(&server);
            let name = format!("filingdesk_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = diesel::PgConnection::establish(&server).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin).unwrap();
            (with_database(&server, &name), None, Some((server, name)))
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            (url, Some(dir), None)
        }
    };
    let mut settings = test_settings(&url);
    tweak(&mut settings);
    if std::env::var("TEST_LOG").is_ok() {
        settings.log_filter = "info".into();
        filingdesk::telemetry::init(&settings);
    }
    let app = Application::build(settings).await.expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let db = app.db().clone();
    let delivery = app.delivery();
    let jobs = app.jobs();
    let serving = Some(tokio::spawn(app.run_until_stopped()));
    TestApp {
        address,
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        db,
        delivery,
        jobs,
        database_url: url.clone(),
        handle,
        serving,
        _sqlite_dir: sqlite_dir,
        pg_database,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        if let Some((server, name)) = self.pg_database.take() {
            if let Ok(mut admin) = diesel::PgConnection::establish(&server) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
            }
        }
    }
}

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: String,
    pub refresh: String,
    pub body: Value,
}

/// A tenant with its admin signed in.
pub struct Tenant {
    pub id: String,
    pub admin: Session,
}

impl TestApp {
    /// The PostgreSQL database of this test, when on PostgreSQL.
    pub fn db_name(&self) -> Option<String> {
        self.pg_database.as_ref().map(|(_, n)| n.clone())
    }

    /// The SQLite file of this test, when on SQLite.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._sqlite_dir.as_ref().map(|d| d.path().join("test.db"))
    }

    /// Runs SQL directly against this test's database, as an intruder with
    /// database access would.
    pub fn sql(&self, statements: &str) -> Result<(), diesel::result::Error> {
        use diesel::connection::SimpleConnection;
        match self.database_url.strip_prefix("sqlite://") {
            Some(path) => sqlite(path).batch_execute(statements),
            None => diesel::PgConnection::establish(&self.database_url).unwrap().batch_execute(statements),
        }
    }

    /// Reads one text column (aliased `v`) straight from the database.
    pub fn sql_strings(&self, query: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let rows: Vec<Row> = match self.database_url.strip_prefix("sqlite://") {
            Some(path) => diesel::sql_query(query).load(&mut sqlite(path)).unwrap(),
            None => diesel::sql_query(query)
                .load(&mut diesel::PgConnection::establish(&self.database_url).unwrap())
                .unwrap(),
        };
        rows.into_iter().map(|r| r.v).collect()
    }

    /// On PostgreSQL, a function that ends every session on this test's
    /// database but its own, as a PostgreSQL restart or failover does, and
    /// waits until they are gone; `None` on SQLite, which has no sessions.
    pub fn connection_killer(&self) -> Option<impl Fn() + Send + Sync + 'static> {
        let (server, name) = self.pg_database.clone()?;
        Some(move || {
            use diesel::RunQueryDsl;
            let mut admin = diesel::PgConnection::establish(&server).unwrap();
            diesel::sql_query(format!(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ))
            .execute(&mut admin)
            .unwrap();
        })
    }

    /// Stops the server as SIGTERM ends its drain does (in-flight requests
    /// finished) and returns once the application has stopped entirely.
    /// The app's `db` is closed then; read with [`TestApp::sql_strings`].
    pub async fn stop_gracefully(&mut self) {
        self.handle.stop(true).await;
        if let Some(serving) = self.serving.take() {
            serving.await.expect("the application stopped without panicking").expect("it served");
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone()
    }

    pub fn is_postgres(&self) -> bool {
        self.pg_database.is_some()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Runs the outbox worker once at `now` plus `ahead`.
    pub async fn deliver(&self, ahead: chrono::Duration) -> filingdesk::notify::deliver::Report {
        let at = chrono::Utc::now().naive_utc() + ahead;
        filingdesk::jobs::outbox::run_once(&self.delivery, at)
            .await
            .unwrap_or_else(|e| panic!("the outbox run failed: {e:#}"))
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn login_raw(&self, tenant: Option<&str>, username: &str, password: &str) -> Response {
        self.post("/api/v1/auth/login", None, json!({"tenant": tenant, "username": username, "password": password}))
            .await
    }

    /// Signs in. An account an admin created must change its password
    /// before anything else (`tests/api/trust.rs` proves it); tests about
    /// something else take the shortcut of clearing that flag in the
    /// database, which the service reads on every request.
    pub async fn login(&self, tenant: Option<&str>, username: &str, password: &str) -> Session {
        let resp = self.login_raw(tenant, username, password).await;
        assert_eq!(resp.status(), StatusCode::OK, "login of {username}");
        let body: Value = resp.json().await.unwrap();
        if body["must_change_password"] == true {
            let id = token_subject(body["access_token"].as_str().unwrap());
            self.sql(&format!("UPDATE staff SET must_change_password = false WHERE id = '{id}'")).unwrap();
        }
        Session {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
            body,
        }
    }

    pub async fn platform_admin(&self) -> Session {
        self.login(None, ADMIN, ADMIN_PASSWORD).await
    }

    /// Creates a tenant and its first admin (`{slug}-admin`, [`PASSWORD`]), signed in.
    pub async fn tenant(&self, slug: &str) -> Tenant {
        let root = self.platform_admin().await;
        let resp = self
            .post("/api/v1/tenants", Some(&root.access), json!({"slug": slug, "name": format!("{slug} registrar")}))
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let username = format!("{slug}-admin");
        self.create_staff(&root.access, Some(&id), &username, "tenant_admin").await;
        let admin = self.login(Some(slug), &username, PASSWORD).await;
        Tenant { id, admin }
    }

    /// Creates a staff member with [`PASSWORD`]; returns their id.
    pub async fn create_staff(&self, token: &str, tenant_id: Option<&str>, username: &str, role: &str) -> String {
        let mut body = json!({
            "username": username, "display_name": username, "email": format!("{username}@example.com"),
            "role": role, "password": PASSWORD,
        });
        if let Some(t) = tenant_id {
            body["tenant_id"] = json!(t);
        }
        let resp = self.post("/api/v1/staff", Some(token), body).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "creating {username}");
        resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
    }
}

/// Asserts a problem document with `status` and `code`; returns it.
pub async fn assert_problem(resp: Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(ct.starts_with("application/problem+json"), "content type {ct}");
    let request_id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["request_id"], request_id.as_str(), "{body}");
    assert!(body["title"].is_string() && body["type"].is_string() && body["detail"].is_string(), "{body}");
    body
}

/// The `sub` claim of an access token (the staff id).
pub fn token_subject(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

/// `POST /api/v1/filings/import` with a CSV body (UTF-8 or not).
pub async fn import_csv(app: &TestApp, token: &str, body: impl Into<reqwest::Body>) -> Response {
    app.client
        .post(app.url("/api/v1/filings/import"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A connection of the test's own to the app's SQLite file. It waits for the
/// app's writers as the app's connections do: a bare connection answered
/// "database is locked" at once when it met work the app does after its
/// answer (a recovery request queues its code 50 ms after answering; the
/// isolation test failed so twice in CI).
fn sqlite(path: &str) -> diesel::SqliteConnection {
    use diesel::connection::SimpleConnection;
    let mut conn = diesel::SqliteConnection::establish(path).unwrap();
    conn.batch_execute("PRAGMA busy_timeout = 10000;").unwrap();
    conn
}
