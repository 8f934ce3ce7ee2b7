//! First-start work: the keys, the bootstrap platform admin, the demo seed,
//! and `create-admin`.

use anyhow::Context;
use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::config::{DataKey, Settings};
use crate::db::{self, staff::NewStaff, tenants::NewTenant, Backend, Db};
use crate::domain::contact::{Email, PhoneNumber};
use crate::domain::filing::{FilingNumber, IdNumber, SubjectType};
use crate::domain::ids::TenantId;
use crate::domain::role::Role;
use crate::domain::staff::{StaffPassword, StaffStatus, Username};
use crate::domain::tenant::TenantStatus;
use crate::filings::{build_row, FilingInput};
use crate::security::crypto::DataCipher;
use crate::security::{jwt::JwtKeys, password};

/// A random password for printing once: 20 letters and digits.
pub fn random_password() -> String {
    rand::rngs::OsRng.sample_iter(&Alphanumeric).take(20).map(char::from).collect()
}

/// The JWT key: configured, or generated once and kept in the database so
/// that every instance and restart shares it.
pub fn jwt_keys(db_conn: &Db, settings: &Settings) -> anyhow::Result<JwtKeys> {
    if let Some(s) = &settings.jwt_secret {
        return Ok(JwtKeys::new(s.expose().as_bytes()));
    }
    let secret = db_conn.run_blocking(|conn| {
        db::meta::get_or_insert(conn, "jwt_secret", crate::security::tokens::generate).map_err(Into::into)
    })?;
    tracing::warn!("FILINGDESK_JWT_SECRET is not set: using a generated key kept in the database");
    Ok(JwtKeys::new(secret.as_bytes()))
}

/// The key that signs audit checkpoints: configured, or generated once and
/// kept in the database (every instance signs with the same key).
pub fn audit_signer(db_conn: &Db, settings: &Settings) -> anyhow::Result<crate::audit::checkpoint::AuditSigner> {
    use crate::audit::checkpoint::AuditSigner;
    if let Some(k) = &settings.audit_signing_key {
        return Ok(AuditSigner::from_bytes(&k.0));
    }
    let stored = db_conn.run_blocking(|conn| {
        db::meta::get_or_insert(conn, "audit_signing_key", || {
            use base64::Engine;
            let mut key = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
            base64::engine::general_purpose::STANDARD.encode(key)
        })
        .map_err(Into::into)
    })?;
    tracing::warn!(
        "FILINGDESK_AUDIT_SIGNING_KEY is not set: audit checkpoints are signed with a generated key kept in the \
         database; configure one kept elsewhere, so that whoever can write the database cannot sign"
    );
    let key = DataKey::parse_base64(&stored).map_err(|m| anyhow::anyhow!("stored audit signing key: {m}"))?;
    Ok(AuditSigner::from_bytes(&key.0))
}

/// The cipher for personal data: the data key, plus the previous keys
/// still accepted during a rotation.
pub fn cipher(settings: &Settings) -> anyhow::Result<crate::security::crypto::DataCipher> {
    Ok(crate::security::crypto::DataCipher::with_previous(&data_key(settings)?, &settings.data_key_previous))
}

/// The data key: configured, or (SQLite only) generated once and kept beside
/// the database file. PostgreSQL deployments must configure it.
pub fn data_key(settings: &Settings) -> anyhow::Result<DataKey> {
    if let Some(k) = &settings.data_key {
        return Ok(k.clone());
    }
    let Some(db_path) = settings.database_url.sqlite_path() else {
        anyhow::bail!(
            "FILINGDESK_DATA_KEY: required with PostgreSQL (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)"
        );
    };
    let path = format!("{db_path}.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return DataKey::parse_base64(&text).map_err(|m| anyhow::anyhow!("{path}: {m}"));
    }
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let key = DataKey(key);
    write_private(&path, &key.to_base64()).with_context(|| format!("cannot write the generated data key to {path}"))?;
    tracing::warn!(path = %path, "FILINGDESK_DATA_KEY is not set: generated a data key beside the SQLite file; back it up");
    Ok(key)
}

fn write_private(path: &str, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(contents.as_bytes())
}

/// Creates a staff member directly (bootstrap, demo, `create-admin`), and
/// records it as done by `actor`.
pub fn create_staff(
    conn: &mut db::DbConnection,
    actor: &'static str,
    tenant: Option<&str>,
    username: &str,
    role: Role,
    password_plain: &str,
    must_change: bool,
) -> anyhow::Result<db::staff::StaffRow> {
    let username = Username::parse(username).map_err(|e| anyhow::anyhow!(e.message))?;
    let pw = StaffPassword::parse("password", password_plain, Some(username.as_str()))
        .map_err(|e| anyhow::anyhow!(StaffPassword::first_message(&e)))?;
    let hash = password::hash(pw.expose())?;
    let now = db::now();
    let row = db::staff::insert(
        conn,
        &NewStaff {
            id: db::new_id(),
            tenant_id: tenant.map(str::to_owned),
            username: username.as_str(),
            display_name: username.as_str(),
            email: &format!("{}@localhost.invalid", username.as_str()),
            role: role.as_str(),
            status: StaffStatus::Active.as_str(),
            password_hash: &hash,
            must_change_password: must_change,
            failed_logins: 0,
            agency_id: None,
            created_at: now,
            updated_at: now,
        },
    )?;
    let e = Event::new("staff.created", Actor::System(actor))
        .tenant(tenant.and_then(TenantId::parse))
        .target("staff", &row.id)
        .details(serde_json::json!({"username": row.username, "role": row.role}));
    audit::record(conn, &RequestMeta::default(), e)?;
    Ok(row)
}

/// On a database without platform staff: creates the bootstrap admin and,
/// with `FILINGDESK_DEMO=1`, the demo tenant. Credentials are printed to
/// standard output once (never to the log).
pub fn seed(db_conn: &Db, settings: &Settings, cipher: &DataCipher) -> anyhow::Result<()> {
    let settings = settings.clone();
    let cipher = cipher.clone();
    db_conn.run_blocking(move |conn| {
        db::write_transaction(conn, |conn| {
            if db::staff::count_platform_admins(conn)? > 0 {
                return Ok(());
            }
            let (pw, generated) = match &settings.bootstrap_password {
                Some(p) => (p.expose().to_owned(), false),
                None => (random_password(), true),
            };
            create_staff(conn, "bootstrap", None, &settings.bootstrap_admin, Role::PlatformAdmin, &pw, generated)?;
            if generated {
                println!(
                    "filingdesk: created platform admin `{}` with password `{pw}` (shown once)",
                    settings.bootstrap_admin
                );
            } else {
                println!(
                    "filingdesk: created platform admin `{}` (password from FILINGDESK_BOOTSTRAP_PASSWORD)",
                    settings.bootstrap_admin
                );
            }
            if settings.demo {
                seed_demo(conn, &cipher)?;
            }
            Ok(())
        })
    })
}

fn parsed<T>(r: Result<T, crate::domain::FieldError>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow::anyhow!(e.message))
}

fn seed_demo(conn: &mut db::DbConnection, cipher: &DataCipher) -> anyhow::Result<()> {
    let now = db::now();
    let tenant = db::tenants::insert(
        conn,
        &NewTenant {
            id: db::new_id(),
            slug: "demo",
            name: "Demo Registrar",
            status: TenantStatus::Active.as_str(),
            created_at: now,
            updated_at: now,
        },
    )?;
    let e = Event::new("tenant.created", Actor::System("demo"))
        .tenant(TenantId::parse(&tenant.id))
        .target("tenant", &tenant.id)
        .details(serde_json::json!({"slug": tenant.slug, "name": tenant.name}));
    audit::record(conn, &RequestMeta::default(), e)?;
    let admin_pw = random_password();
    let reviewer_pw = random_password();
    create_staff(conn, "demo", Some(&tenant.id), "demo-admin", Role::TenantAdmin, &admin_pw, false)?;
    create_staff(conn, "demo", Some(&tenant.id), "demo-reviewer", Role::Reviewer, &reviewer_pw, false)?;
    let tenant_id = TenantId::parse(&tenant.id).ok_or_else(|| anyhow::anyhow!("bad tenant id"))?;
    let input = FilingInput {
        number: parsed(FilingNumber::parse("京ICP备00000001号"))?,
        subject_name: "示例科技有限公司".into(),
        subject_type: SubjectType::Enterprise,
        responsible_person: "张三".into(),
        id_number: parsed(IdNumber::parse("id_number", "11010519491231002X", chrono::Utc::now().date_naive()))?,
        phone: parsed(PhoneNumber::parse("phone", "13800138000"))?,
        email: parsed(Email::parse("email", "demo-subject@example.com"))?,
        agency_id: None,
    };
    let mut filing = build_row(tenant_id, cipher, input);
    let filing_pw = password::generate(12);
    filing.password_hash = Some(password::hash(&filing_pw)?);
    filing.must_change_password = true;
    db::filings::insert(conn, &filing)?;
    db::filings::set_domains(conn, tenant_id, &filing.id, &["demo.example.cn".to_owned()])?;
    let e = Event::new("filing.created", Actor::System("demo"))
        .tenant(Some(tenant_id))
        .target("filing", &filing.id)
        .details(serde_json::json!({"filing_number": filing.filing_number}));
    audit::record(conn, &RequestMeta::default(), e)?;
    println!("filingdesk: demo tenant `demo` (id {})", tenant.id);
    println!("filingdesk:   tenant admin  demo-admin / {admin_pw}");
    println!("filingdesk:   reviewer      demo-reviewer / {reviewer_pw}");
    println!("filingdesk:   filing        {} / {filing_pw} (subject sign-in; must be changed)", filing.filing_number);
    println!(
        "filingdesk:   sign in with POST /api/v1/auth/login {{\"tenant\":\"demo\",\"username\":…,\"password\":…}}"
    );
    Ok(())
}

/// Whether the backend is PostgreSQL (for messages).
pub fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Postgres => "PostgreSQL",
        Backend::Sqlite => "SQLite",
    }
}
