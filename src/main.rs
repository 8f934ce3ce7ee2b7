use std::io::Write;

use clap::Parser;
use filingdesk::cli::{AuditCommand, Cli, Command};
use filingdesk::config::Settings;
use filingdesk::{bootstrap, db, domain::role::Role, startup::Application, telemetry};

// Measured: ~10 % fewer instructions per queue page than glibc malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SUCCESS: u8 = 0;
const FAILURE: u8 = 1;
const CONFIGURATION_ERROR: u8 = 2;

fn main() {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        print!("{}", filingdesk::openapi::to_pretty_json());
        end(SUCCESS);
    }
    let settings = match Settings::from_env(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("filingdesk: configuration error: {e}");
            end(CONFIGURATION_ERROR);
        }
    };
    telemetry::init(&settings);
    end(run(cli.command.unwrap_or(Command::Serve), settings))
}

/// Ends the process with `code` once its output is flushed, without the
/// exit handlers and library destructors that `exit` runs. By now nothing
/// is owed to anyone: requests are answered, jobs recorded, the database
/// workers' work finished ([`Application::run_until_stopped`]). What those
/// handlers would still do is tear down the C libraries under libpq —
/// OpenSSL's global state, Kerberos' mutexes, GnuTLS' tables — while
/// threads this program does not own may be inside them: r2d2's pool
/// threads open, renew and close connections when they choose. The process
/// then ended in SIGSEGV or SIGABRT instead of its code (3 of 100 starts
/// refused for a port in use; once in CI's rolling restart). The kernel
/// closes the sockets and files, as `exit` would have left it to.
fn end(code: u8) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` takes no pointer and only ends the process; nothing
    // of Rust's is left to run that the process needs (see above).
    #[allow(unsafe_code)]
    unsafe {
        libc::_exit(i32::from(code))
    }
}

fn run(command: Command, settings: Settings) -> u8 {
    let result = match command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            db::Db::connect(&settings.database_url, 1).map(|_| println!("filingdesk: migrations applied"))
        }
        Command::Openapi => unreachable!("handled above"),
        Command::CreateAdmin { username, password, tenant } => create_admin(&settings, &username, password, tenant),
        Command::ImportFilings { tenant, file } => match import_filings(&settings, &tenant, &file) {
            Ok(true) => Ok(()),
            Ok(false) => return FAILURE,
            Err(e) => Err(e),
        },
        Command::RotateDataKey => rotate_data_key(&settings),
        Command::Audit { command: AuditCommand::Verify { checkpoint: Some(file), public_key, .. } } => {
            match audit_verify_checkpoint(&settings, &file, public_key.as_deref()) {
                Ok(true) => Ok(()),
                Ok(false) => return FAILURE,
                Err(e) => Err(e),
            }
        }
        Command::Audit { command: AuditCommand::Verify { tenant, .. } } => {
            match audit_verify(&settings, tenant.as_deref()) {
                Ok(true) => Ok(()),
                Ok(false) => return FAILURE,
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => SUCCESS,
        Err(e) => {
            eprintln!("filingdesk: {e:#}");
            FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        // Listen for signals before anything starts, so none is missed.
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let drain = std::time::Duration::from_secs(u64::from(settings.drain_secs));
        let app = Application::build(settings).await?;
        let leaving = app.leaving()?;
        actix_web::rt::spawn(async move {
            let which = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            // Out of the load balancer first (`/readyz` 503), still serving;
            // then no new connection, and what is queued or in flight is
            // finished. A second signal cuts the drain short.
            leaving.drain();
            tracing::info!(signal = which, seconds = drain.as_secs(), "draining: /readyz answers 503");
            tokio::select! {
                _ = tokio::time::sleep(drain) => {}
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("finishing queued and in-flight requests");
            leaving.stop().await;
        });
        app.run_until_stopped().await?;
        tracing::info!("filingdesk stopped");
        Ok(())
    })
}

/// Re-encrypts under the current data key, printing each batch and a summary.
fn rotate_data_key(settings: &Settings) -> anyhow::Result<()> {
    let db = db::Db::connect(&settings.database_url, 1)?;
    let cipher = bootstrap::cipher(settings)?;
    let report = filingdesk::rotation::rotate(&db, &cipher, |table, n| eprintln!("{table}: {n} re-encrypted"))?;
    println!("filings           {:>9}", report.filings);
    println!("notifications     {:>9}", report.notifications);
    println!("idempotency_keys  {:>9}", report.idempotency_keys);
    println!("webhooks          {:>9}", report.webhooks);
    println!("every value is now under the current key; FILINGDESK_DATA_KEY_PREVIOUS may be removed");
    Ok(())
}

/// Prints one line per chain; `Ok(false)` when any is broken.
fn audit_verify(settings: &Settings, tenant: Option<&str>) -> anyhow::Result<bool> {
    use filingdesk::audit::{chain, PLATFORM_CHAIN};
    let db = db::Db::connect(&settings.database_url, 1)?;
    db.run_blocking(|conn| {
        let chains = match tenant {
            None => db::audit::chains(conn)?,
            Some(PLATFORM_CHAIN) => vec![PLATFORM_CHAIN.to_owned()],
            Some(slug) => {
                let t = db::tenants::find_by_slug(conn, slug)?
                    .ok_or_else(|| anyhow::anyhow!("no tenant with slug `{slug}`"))?;
                vec![t.id]
            }
        };
        let mut all_ok = true;
        for c in chains {
            let name = match filingdesk::domain::ids::TenantId::parse(&c) {
                Some(id) => db::tenants::find(conn, id)?.map_or(c.clone(), |t| format!("{} ({c})", t.slug)),
                None => c.clone(),
            };
            let v = chain::verify(conn, &c)?;
            if v.ok {
                println!("{name}: ok, {} events checked", v.checked);
            } else {
                all_ok = false;
                println!("{name}: BROKEN at event {} ({} checked)", v.first_broken_id.unwrap_or_default(), v.checked);
            }
        }
        Ok(all_ok)
    })
}

/// Checks a saved checkpoint against the database; prints the result as
/// JSON; `Ok(false)` unless the signature, the chain and the checkpoint hold.
fn audit_verify_checkpoint(
    settings: &Settings,
    file: &std::path::Path,
    public_key: Option<&str>,
) -> anyhow::Result<bool> {
    use anyhow::Context;
    use filingdesk::audit::{chain, checkpoint};
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let cp: checkpoint::Checkpoint =
        serde_json::from_str(&text).with_context(|| format!("{} is not a checkpoint", file.display()))?;
    let db = db::Db::connect(&settings.database_url, 1)?;
    let signed = match public_key {
        Some(k) => checkpoint::signed_by(k, &cp)?,
        None => bootstrap::audit_signer(&db, settings)?.signed(&cp),
    };
    let (walk, holds) = db.run_blocking(|conn| {
        let walk = chain::verify(conn, &cp.tenant_id)?;
        let holds = checkpoint::holds(conn, &cp.tenant_id, cp.seq, &cp.hash)?;
        Ok((walk, holds))
    })?;
    let report = serde_json::json!({
        "signature_ok": signed, "ok": walk.ok, "checked": walk.checked,
        "first_broken_id": walk.first_broken_id, "checkpoint_ok": holds,
    });
    println!("{report}");
    Ok(signed && walk.ok && holds)
}

/// Imports a CSV of filings with a progress bar, then prints a summary;
/// `false` when any line was refused (the command then exits 1).
fn import_filings(settings: &Settings, slug: &str, file: &std::path::Path) -> anyhow::Result<bool> {
    use filingdesk::audit::{Actor, RequestMeta};
    use filingdesk::http::filings::import::{parse_csv, write_batch, ImportReport};
    let started = std::time::Instant::now();
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let db = db::Db::connect(&settings.database_url, 2)?;
    let cipher = bootstrap::cipher(settings)?;
    let tenant = db.run_blocking(|conn| {
        let t =
            db::tenants::find_by_slug(conn, slug)?.ok_or_else(|| anyhow::anyhow!("no tenant with slug `{slug}`"))?;
        filingdesk::domain::ids::TenantId::parse(&t.id).ok_or_else(|| anyhow::anyhow!("bad tenant id"))
    })?;
    let (good, errors, encoding) = parse_csv(&bytes).map_err(|e| match e {
        filingdesk::error::ApiError::Validation(errors) => {
            anyhow::anyhow!("{}", errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))
        }
        e => anyhow::anyhow!("{e}"),
    })?;
    let lines = good.len() + errors.len();
    let bar = indicatif::ProgressBar::new(good.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} filings  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut report = ImportReport { errors, encoding, ..Default::default() };
    let mut rest = good;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(500));
        let n = rest.len() as u64;
        db.run_blocking(|conn| {
            db::write_transaction(conn, |conn| {
                write_batch(conn, tenant, &cipher, Actor::System("import"), &RequestMeta::default(), rest, &mut report)
                    .map_err(|e| anyhow::anyhow!("{e:?}"))
            })
        })?;
        bar.inc(n);
        rest = tail;
    }
    bar.finish_and_clear();
    report.errors.sort_by_key(|e| e.line);
    let secs = started.elapsed().as_secs_f64();
    println!("encoding        {encoding:>9}");
    println!("lines read      {lines:>9}");
    println!("created         {:>9}", report.created);
    println!("updated         {:>9}", report.updated);
    println!("refused         {:>9}", report.errors.len());
    println!("time            {secs:>8.1}s  ({:.0} lines/s)", lines as f64 / secs.max(1e-9));
    for e in report.errors.iter().take(20) {
        println!("  line {}: {} {}: {}", e.line, e.field, e.code, e.message);
    }
    if report.errors.len() > 20 {
        println!("  … and {} more", report.errors.len() - 20);
    }
    Ok(report.errors.is_empty())
}

fn create_admin(
    settings: &Settings,
    username: &str,
    password: Option<String>,
    tenant: Option<String>,
) -> anyhow::Result<()> {
    let db = db::Db::connect(&settings.database_url, 1)?;
    let (pw, generated) = match password {
        Some(p) => (p, false),
        None => (bootstrap::random_password(), true),
    };
    let row = db.run_blocking(|conn| {
        let (tenant_id, role) = match &tenant {
            None => (None, Role::PlatformAdmin),
            Some(slug) => {
                let t = db::tenants::find_by_slug(conn, slug)?
                    .ok_or_else(|| anyhow::anyhow!("no tenant with slug `{slug}`"))?;
                (Some(t.id), Role::TenantAdmin)
            }
        };
        db::write_transaction(conn, |conn| {
            bootstrap::create_staff(conn, "cli", tenant_id.as_deref(), username, role, &pw, generated)
        })
        .map_err(|e| match e.downcast_ref::<diesel::result::Error>() {
            Some(d) if db::is_unique_violation(d, db::staff::USERNAME_UNIQUE) => {
                anyhow::anyhow!("username `{username}` exists")
            }
            _ => e,
        })
    })?;
    if generated {
        println!("filingdesk: created {} `{}` with password `{pw}` (shown once)", row.role, row.username);
    } else {
        println!("filingdesk: created {} `{}`", row.role, row.username);
    }
    Ok(())
}
