//! Settings: `FILINGDESK_*` environment variables over an optional TOML file.
//!
//! One typed struct, passed around (never a global). The file may use the
//! variable names (`FILINGDESK_LISTEN = "…"`) or their short lower-case form
//! (`listen = "…"`); the environment wins. A bad value is reported as one
//! line naming the variable.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use base64::Engine;

use crate::db::DatabaseUrl;

/// A secret from the configuration (`secrecy`): `Debug` prints nothing, the
/// memory is zeroed when it is dropped, and reading it takes an explicit
/// [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(secrecy::SecretString);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(secrecy::SecretString::from(s.into()))
    }
    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The 32-byte key that encrypts personal data at rest.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey(pub [u8; 32]);

impl Drop for DataKey {
    fn drop(&mut self) {
        secrecy::zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(***)")
    }
}

impl DataKey {
    pub fn parse_base64(s: &str) -> Result<Self, String> {
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(s.trim()).map_err(|_| "not valid base64".to_owned())?;
        let key: [u8; 32] =
            bytes.try_into().map_err(|b: Vec<u8>| format!("must decode to 32 bytes, got {}", b.len()))?;
        Ok(Self(key))
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `FILINGDESK_DATABASE_URL`: `sqlite://PATH` (default `sqlite://filingdesk.db`) or `postgres://…`.
    pub database_url: DatabaseUrl,
    /// `FILINGDESK_LISTEN`: address to serve on (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// `FILINGDESK_JWT_SECRET`: HMAC key for tokens (at least 32 bytes); generated and kept in the database when unset.
    pub jwt_secret: Option<Secret>,
    /// `FILINGDESK_DATA_KEY`: base64 32-byte key; generated beside the SQLite file when unset; required with PostgreSQL.
    pub data_key: Option<DataKey>,
    /// `FILINGDESK_AUDIT_SIGNING_KEY`: base64 Ed25519 private key (32 bytes) that signs audit
    /// checkpoints; generated and kept in the database, with a warning, when unset.
    pub audit_signing_key: Option<DataKey>,
    /// `FILINGDESK_WEBHOOK_ALLOW_PRIVATE=1`: webhook URLs may name loopback or private addresses
    /// (tests, on-premises receivers); otherwise they are refused and re-checked at delivery.
    pub webhook_allow_private: bool,
    /// `FILINGDESK_WEBHOOK_TIMEOUT_SECONDS` (default 10): how long one webhook delivery may take,
    /// the receiver's answer included.
    pub webhook_timeout_secs: u32,
    /// `FILINGDESK_CONSOLE` (default on): `0` turns the reviewer workbench at `/console/` off.
    pub console: bool,
    /// `FILINGDESK_RESET_URL`: the console page that consumes reset links; a link is
    /// `URL?tenant=SLUG&token=TOKEN` (default `http://127.0.0.1:8080/reset-password`).
    pub reset_url: String,
    /// `FILINGDESK_DATA_KEY_PREVIOUS`: earlier data keys (base64, comma-separated), still accepted for
    /// reading while `filingdesk rotate-data-key` re-encrypts everything with the current one.
    pub data_key_previous: Vec<DataKey>,
    /// `FILINGDESK_BOOTSTRAP_ADMIN`: platform admin created on an empty database (default `admin`).
    pub bootstrap_admin: String,
    /// `FILINGDESK_BOOTSTRAP_PASSWORD`: its password; random and printed once when unset.
    pub bootstrap_password: Option<Secret>,
    /// `FILINGDESK_SMTP_URL`: e.g. `smtp://127.0.0.1:2525`; unset means no e-mail channel.
    pub smtp_url: Option<Secret>,
    /// `FILINGDESK_SMTP_FROM`: sender address for e-mail.
    pub smtp_from: Option<String>,
    /// `FILINGDESK_SMS_WEBHOOK_URL`: the SMS gateway; unset means no SMS channel.
    pub sms_webhook_url: Option<String>,
    /// `FILINGDESK_SMS_WEBHOOK_SECRET`: HMAC key for the gateway signature.
    pub sms_webhook_secret: Option<Secret>,
    /// `FILINGDESK_DEMO`: `1` seeds a demo tenant on an empty database.
    pub demo: bool,
    /// `FILINGDESK_LOG_FORMAT`: `human` (default) or `json`.
    pub log_format: LogFormat,
    /// `FILINGDESK_LOG`: tracing filter (default `info`).
    pub log_filter: String,
    /// `FILINGDESK_LOGIN_MAX_FAILURES`: failed staff sign-ins before a lock (default 5, 1–100).
    pub login_max_failures: u32,
    /// `FILINGDESK_LOCKOUT_MINUTES`: how long a staff lock lasts (default 15, 1–1440).
    pub lockout_minutes: u32,
    /// `FILINGDESK_REFRESH_TOKEN_DAYS`: refresh token lifetime (default 14, 1–90).
    pub refresh_token_days: u32,
    /// `FILINGDESK_DB_POOL_SIZE`: database connections per instance (default 10, 1–200).
    pub db_pool_size: u32,
    /// `FILINGDESK_WORKERS`: HTTP worker threads (default: one fewer than the
    /// cores, at least one; [`Settings::http_workers`]).
    pub workers: Option<usize>,
    /// `FILINGDESK_NOTIFY_MAX_ATTEMPTS`: delivery attempts before a notification is dead (default 8, 1–50).
    pub notify_max_attempts: u32,
    /// `FILINGDESK_NOTIFY_RETRY_BASE_SECONDS`: first retry delay, doubling up to an hour (default 10, 1–3600).
    pub notify_retry_base_secs: u32,
    /// `FILINGDESK_NOTIFY_LEASE_SECONDS`: how long a sender holds the rows it took; a crashed
    /// instance's rows are sent again after it (default 120, 20–3600).
    pub notify_lease_secs: u32,
    /// `FILINGDESK_SCHEDULER`: `0` runs no scheduled jobs in this instance (default `1`).
    pub scheduler: bool,
    /// `FILINGDESK_OUTBOX_INTERVAL_SECONDS`: seconds between outbox deliveries (default 5, 1–59).
    pub outbox_interval_secs: u32,
    /// `FILINGDESK_DRAIN_SECONDS`: after SIGTERM, how long `/readyz` answers
    /// 503 while requests are still served, so the load balancer stops
    /// sending before the instance stops accepting (default 5, 0–120).
    pub drain_secs: u32,
    /// `FILINGDESK_DEV_SHOW_SECRETS`: `1` prints delivered secrets on the log channel (development only).
    pub dev_show_secrets: bool,
    /// `FILINGDESK_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of the reverse proxies
    /// in front of this service, whose `X-Forwarded-For` is believed (default none: the client
    /// address, for rate limits and audit, is the TCP peer).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `FILINGDESK_METRICS_TOKEN`: when set (16 characters or more), `/metrics` answers only
    /// `Authorization: Bearer <token>`; unset, it is open and should be blocked at the proxy.
    pub metrics_token: Option<Secret>,
    /// `FILINGDESK_CORS_ORIGINS`: comma-separated origins (`https://console.example.com`) of console
    /// front ends allowed to call the API from a browser (default none: no CORS headers).
    pub cors_origins: Vec<String>,
}

/// A configuration value that cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

const KEYS: &[&str] = &[
    "DATABASE_URL",
    "LISTEN",
    "JWT_SECRET",
    "DATA_KEY",
    "DATA_KEY_PREVIOUS",
    "BOOTSTRAP_ADMIN",
    "BOOTSTRAP_PASSWORD",
    "SMTP_URL",
    "SMTP_FROM",
    "SMS_WEBHOOK_URL",
    "SMS_WEBHOOK_SECRET",
    "DEMO",
    "RESET_URL",
    "LOG_FORMAT",
    "LOG",
    "LOGIN_MAX_FAILURES",
    "LOCKOUT_MINUTES",
    "REFRESH_TOKEN_DAYS",
    "DB_POOL_SIZE",
    "WORKERS",
    "NOTIFY_MAX_ATTEMPTS",
    "DEV_SHOW_SECRETS",
    "SCHEDULER",
    "NOTIFY_RETRY_BASE_SECONDS",
    "NOTIFY_LEASE_SECONDS",
    "OUTBOX_INTERVAL_SECONDS",
    "DRAIN_SECONDS",
    "TRUSTED_PROXIES",
    "METRICS_TOKEN",
    "CORS_ORIGINS",
    "AUDIT_SIGNING_KEY",
    "WEBHOOK_ALLOW_PRIVATE",
    "WEBHOOK_TIMEOUT_SECONDS",
    "CONSOLE",
];

/// Raw values by full variable name, before parsing.
struct Raw(BTreeMap<String, String>);

impl Raw {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(&format!("FILINGDESK_{key}")).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn err(key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError { variable: format!("FILINGDESK_{key}"), message: message.into() }
    }

    fn flag(&self, key: &str) -> Result<bool, ConfigError> {
        match self.get(key) {
            None | Some("0") | Some("false") => Ok(false),
            Some("1") | Some("true") => Ok(true),
            Some(v) => Err(Self::err(key, format!("expected 1 or 0, got `{v}`"))),
        }
    }

    fn number<T: std::str::FromStr + PartialOrd + fmt::Display>(
        &self,
        key: &str,
        default: T,
        min: T,
        max: T,
    ) -> Result<T, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<T>() {
                Ok(n) if n >= min && n <= max => Ok(n),
                _ => Err(Self::err(key, format!("expected a whole number from {min} to {max}, got `{v}`"))),
            },
        }
    }
}

impl Settings {
    /// The HTTP worker threads: `FILINGDESK_WORKERS`, else one fewer than the
    /// cores, and at least one. They are not the process's only busy threads
    /// (database workers, Argon2 threads, jobs) and often not the machine's
    /// (PostgreSQL's backends beside them): on two cores shared with
    /// PostgreSQL, one HTTP worker served the queue page a quarter to a
    /// third faster than two, at two thirds of the server's CPU per page, and
    /// submissions and sign-ins as fast (BENCHMARKS, issue 18, nineteenth
    /// part). Two workers, each idle part of the time, were put to sleep and
    /// woken about once a page (2.5 times the machine's context switches).
    pub fn http_workers(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
            cores.saturating_sub(1).max(1)
        })
    }

    /// Reads the optional file, then the environment over it.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let mut raw = BTreeMap::new();
        if let Some(path) = file {
            let fail =
                |m: String| ConfigError { variable: "config file".into(), message: format!("{}: {m}", path.display()) };
            let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
            let table: toml::Table = text.parse().map_err(|e: toml::de::Error| fail(e.message().to_owned()))?;
            for (k, v) in table {
                let key = k.to_ascii_uppercase();
                let key = key.strip_prefix("FILINGDESK_").unwrap_or(&key).to_owned();
                if !KEYS.contains(&key.as_str()) {
                    return Err(fail(format!("unknown key `{k}`")));
                }
                let value = match v {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => if b { "1" } else { "0" }.to_owned(),
                    _ => return Err(fail(format!("`{k}` must be a string, number or boolean"))),
                };
                raw.insert(format!("FILINGDESK_{key}"), value);
            }
        }
        raw.extend(env.into_iter().filter(|(k, _)| k.starts_with("FILINGDESK_")));
        Self::from_raw(&Raw(raw))
    }

    /// The file named by `--config` / `FILINGDESK_CONFIG`, then the process environment.
    pub fn from_env(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load(file, std::env::vars())
    }

    fn from_raw(raw: &Raw) -> Result<Self, ConfigError> {
        let database_url = DatabaseUrl::parse(raw.get("DATABASE_URL").unwrap_or("sqlite://filingdesk.db"))
            .map_err(|m| Raw::err("DATABASE_URL", m))?;
        let listen_raw = raw.get("LISTEN").unwrap_or("127.0.0.1:8080");
        let listen = listen_raw.parse().map_err(|_| {
            Raw::err("LISTEN", format!("expected HOST:PORT such as 127.0.0.1:8080, got `{listen_raw}`"))
        })?;
        let jwt_secret = match raw.get("JWT_SECRET") {
            Some(s) if s.len() < 32 => return Err(Raw::err("JWT_SECRET", "must be at least 32 bytes")),
            other => other.map(Secret::new),
        };
        let data_key =
            raw.get("DATA_KEY").map(|s| DataKey::parse_base64(s).map_err(|m| Raw::err("DATA_KEY", m))).transpose()?;
        let audit_signing_key = raw
            .get("AUDIT_SIGNING_KEY")
            .map(|s| DataKey::parse_base64(s).map_err(|m| Raw::err("AUDIT_SIGNING_KEY", m)))
            .transpose()?;
        let data_key_previous = raw
            .get("DATA_KEY_PREVIOUS")
            .unwrap_or("")
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(|k| DataKey::parse_base64(k).map_err(|m| Raw::err("DATA_KEY_PREVIOUS", m)))
            .collect::<Result<Vec<_>, _>>()?;
        if data_key.is_none() && database_url.backend() == crate::db::Backend::Postgres {
            return Err(Raw::err(
                "DATA_KEY",
                "required with PostgreSQL (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)",
            ));
        }
        let bootstrap_admin = raw.get("BOOTSTRAP_ADMIN").unwrap_or("admin").to_owned();
        crate::domain::staff::Username::parse(&bootstrap_admin).map_err(|e| Raw::err("BOOTSTRAP_ADMIN", e.message))?;
        let bootstrap_password = raw.get("BOOTSTRAP_PASSWORD").map(Secret::new);
        if let Some(p) = &bootstrap_password {
            crate::domain::staff::StaffPassword::parse("password", p.expose(), Some(&bootstrap_admin))
                .map_err(|e| Raw::err("BOOTSTRAP_PASSWORD", crate::domain::staff::StaffPassword::first_message(&e)))?;
        }
        let reset_url = raw.get("RESET_URL").unwrap_or("http://127.0.0.1:8080/reset-password").to_owned();
        if !(reset_url.starts_with("https://") || reset_url.starts_with("http://")) || reset_url.contains('?') {
            return Err(Raw::err("RESET_URL", "must be an http(s) URL without a query string"));
        }
        let smtp_url = raw.get("SMTP_URL").map(Secret::new);
        if let Some(u) = &smtp_url {
            if !(u.expose().starts_with("smtp://") || u.expose().starts_with("smtps://")) {
                return Err(Raw::err("SMTP_URL", "expected smtp://… or smtps://…"));
            }
        }
        let sms_webhook_url = raw.get("SMS_WEBHOOK_URL").map(str::to_owned);
        if let Some(u) = &sms_webhook_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(Raw::err("SMS_WEBHOOK_URL", "expected http://… or https://…"));
            }
        }
        let demo = raw.flag("DEMO")?;
        let log_format = match raw.get("LOG_FORMAT") {
            None | Some("human") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(v) => return Err(Raw::err("LOG_FORMAT", format!("expected human or json, got `{v}`"))),
        };
        let trusted_proxies = raw
            .get("TRUSTED_PROXIES")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| Raw::err("TRUSTED_PROXIES", format!("expected addresses or CIDR ranges, got `{p}`")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metrics_token = raw.get("METRICS_TOKEN").map(Secret::new);
        if metrics_token.as_ref().is_some_and(|t| t.expose().len() < 16) {
            return Err(Raw::err("METRICS_TOKEN", "must be at least 16 characters"));
        }
        let cors_origins = raw
            .get("CORS_ORIGINS")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| {
                let o = o.trim_end_matches('/');
                let scheme_ok = o.starts_with("https://") || o.starts_with("http://");
                let bare = o.split_once("://").is_some_and(|(_, rest)| !rest.is_empty() && !rest.contains('/'));
                if scheme_ok && bare {
                    Ok(o.to_owned())
                } else {
                    Err(Raw::err(
                        "CORS_ORIGINS",
                        format!("expected origins such as https://console.example.com, got `{o}`"),
                    ))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let log_filter = raw.get("LOG").unwrap_or("info").to_owned();
        tracing_subscriber::EnvFilter::try_new(&log_filter).map_err(|e| Raw::err("LOG", e.to_string()))?;
        let scheduler = raw.get("SCHEDULER").is_none() || raw.flag("SCHEDULER")?;
        let db_pool_size = raw.number("DB_POOL_SIZE", 10, 1, 200)?;
        if scheduler && db_pool_size < 2 && database_url.backend() == crate::db::Backend::Postgres {
            // A job's leader lock holds one connection while the job uses another.
            return Err(Raw::err(
                "DB_POOL_SIZE",
                "must be at least 2 on PostgreSQL while this instance runs scheduled jobs",
            ));
        }
        Ok(Self {
            database_url,
            listen,
            jwt_secret,
            data_key,
            audit_signing_key,
            webhook_allow_private: raw.flag("WEBHOOK_ALLOW_PRIVATE")?,
            webhook_timeout_secs: raw.number("WEBHOOK_TIMEOUT_SECONDS", 10, 1, 60)?,
            console: raw.get("CONSOLE").is_none() || raw.flag("CONSOLE")?,
            data_key_previous,
            reset_url,
            bootstrap_admin,
            bootstrap_password,
            smtp_url,
            smtp_from: raw.get("SMTP_FROM").map(str::to_owned),
            sms_webhook_url,
            sms_webhook_secret: raw.get("SMS_WEBHOOK_SECRET").map(Secret::new),
            demo,
            log_format,
            log_filter,
            login_max_failures: raw.number("LOGIN_MAX_FAILURES", 5, 1, 100)?,
            lockout_minutes: raw.number("LOCKOUT_MINUTES", 15, 1, 1440)?,
            refresh_token_days: raw.number("REFRESH_TOKEN_DAYS", 14, 1, 90)?,
            db_pool_size,
            workers: raw.get("WORKERS").map(|_| raw.number("WORKERS", 1, 1, 256)).transpose()?,
            notify_max_attempts: raw.number("NOTIFY_MAX_ATTEMPTS", 8, 1, 50)?,
            dev_show_secrets: raw.flag("DEV_SHOW_SECRETS")?,
            notify_retry_base_secs: raw.number("NOTIFY_RETRY_BASE_SECONDS", 10, 1, 3600)?,
            notify_lease_secs: raw.number("NOTIFY_LEASE_SECONDS", 120, 20, 3600)?,
            scheduler,
            outbox_interval_secs: raw.number("OUTBOX_INTERVAL_SECONDS", 5, 1, 59)?,
            drain_secs: raw.number("DRAIN_SECONDS", 5, 0, 120)?,
            trusted_proxies,
            metrics_token,
            cors_origins,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_need_nothing() {
        let s = Settings::load(None, env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url.sqlite_path(), Some("filingdesk.db"));
        assert_eq!(s.bootstrap_admin, "admin");
    }

    #[test]
    fn http_workers_leave_a_core_to_the_rest_unless_set() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        assert_eq!(Settings::load(None, env(&[])).unwrap().http_workers(), (cores - 1).max(1));
        assert_eq!(Settings::load(None, env(&[("FILINGDESK_WORKERS", "3")])).unwrap().http_workers(), 3);
        let e = Settings::load(None, env(&[("FILINGDESK_WORKERS", "0")])).unwrap_err();
        assert_eq!(e.variable, "FILINGDESK_WORKERS");
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let e = Settings::load(None, env(&[("FILINGDESK_LISTEN", "nowhere")])).unwrap_err();
        assert_eq!(e.variable, "FILINGDESK_LISTEN");
        let e = Settings::load(None, env(&[("FILINGDESK_DATA_KEY", "c2hvcnQ=")])).unwrap_err();
        assert_eq!(e.variable, "FILINGDESK_DATA_KEY");
        let e = Settings::load(None, env(&[("FILINGDESK_DATABASE_URL", "mysql://x")])).unwrap_err();
        assert_eq!(e.variable, "FILINGDESK_DATABASE_URL");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let s = Settings::load(None, env(&[("FILINGDESK_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1,::1")])).unwrap();
        let shown: Vec<String> = s.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.1/32", "::1/128"]);
        assert!(Settings::load(None, env(&[])).unwrap().trusted_proxies.is_empty());
        let e = Settings::load(None, env(&[("FILINGDESK_TRUSTED_PROXIES", "10.0.0.0/8,the-balancer")])).unwrap_err();
        assert_eq!(e.variable, "FILINGDESK_TRUSTED_PROXIES");
        assert!(e.message.contains("the-balancer"), "{}", e.message);
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("filingdesk.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nFILINGDESK_LOGIN_MAX_FAILURES = 7\n").unwrap();
        let s = Settings::load(Some(&path), env(&[])).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.login_max_failures, 7);
        let s = Settings::load(Some(&path), env(&[("FILINGDESK_LISTEN", "127.0.0.1:9001")])).unwrap();
        assert_eq!(s.listen.port(), 9001);
    }
}
