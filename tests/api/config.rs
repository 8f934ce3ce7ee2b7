//! The binary itself: configuration errors, subcommands.

use std::process::Command;

fn filingdesk() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_filingdesk"));
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

#[test]
fn a_bad_configuration_value_stops_start_up_with_one_line_and_exit_code_2() {
    for (var, value) in [
        ("FILINGDESK_LISTEN", "not-an-address"),
        ("FILINGDESK_DATABASE_URL", "mysql://localhost/x"),
        ("FILINGDESK_DATA_KEY", "dG9vIHNob3J0"),
        ("FILINGDESK_LOGIN_MAX_FAILURES", "-1"),
        ("FILINGDESK_JWT_SECRET", "short"),
        ("FILINGDESK_METRICS_TOKEN", "too-short"),
        ("FILINGDESK_CORS_ORIGINS", "console.example.com"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = filingdesk().current_dir(dir.path()).env(var, value).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{var}: {stderr}");
        assert!(stderr.contains(var), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!dir.path().join("filingdesk.db").exists(), "nothing was created");
    }
}

#[test]
fn postgresql_without_a_data_key_is_a_configuration_error() {
    let out =
        filingdesk().env("FILINGDESK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FILINGDESK_DATA_KEY"));
}

/// A job's leader lock holds a connection while the job uses another: one
/// connection on PostgreSQL with the scheduler on would starve every job.
#[test]
fn a_single_connection_pool_with_scheduled_jobs_on_postgresql_is_a_configuration_error() {
    let out = filingdesk()
        .env("FILINGDESK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        .env("FILINGDESK_DATA_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .env("FILINGDESK_DB_POOL_SIZE", "1")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FILINGDESK_DB_POOL_SIZE"));
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["openapi", "--help"],
        &["create-admin", "--help"],
        &["audit", "verify", "--help"],
    ] {
        let out = filingdesk().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8(out.stdout).unwrap().contains("Usage"), "{args:?}");
    }
}

#[test]
fn the_openapi_command_prints_the_committed_document() {
    let out = filingdesk().arg("openapi").output().unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap_or_default();
    assert!(printed == committed, "regenerate with `cargo run -- openapi > openapi/openapi.json`");
}

#[test]
fn migrate_and_create_admin_work_on_a_fresh_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| filingdesk().current_dir(dir.path()).args(args).output().unwrap();
    assert!(run(&["migrate"]).status.success());
    let out = run(&["create-admin", "--username", "ops-lead", "--password", "Ops-Password-1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["create-admin", "--username", "ops-lead", "--password", "Ops-Password-1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"));
}

#[test]
fn audit_verify_on_the_command_line_reports_each_chain_and_fails_on_a_broken_one() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| filingdesk().current_dir(dir.path()).args(args).output().unwrap();
    assert!(run(&["create-admin", "--username", "ops-lead", "--password", "Ops-Password-1"]).status.success());
    assert!(run(&["create-admin", "--username", "ops-two", "--password", "Ops-Password-2"]).status.success());

    let out = run(&["audit", "verify"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "platform: ok, 2 events checked\n");

    let mut conn = diesel::SqliteConnection::establish(dir.path().join("filingdesk.db").to_str().unwrap()).unwrap();
    conn.batch_execute(
        "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET actor_id = 'someone' WHERE seq = 2;",
    )
    .unwrap();
    let out = run(&["audit", "verify", "--tenant", "platform"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("platform: BROKEN at event "));
    assert!(!run(&["audit", "verify", "--tenant", "nope"]).status.success());
}

#[test]
fn serve_logs_json_lines_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = filingdesk()
        .current_dir(dir.path())
        .env("FILINGDESK_LISTEN", "127.0.0.1:0")
        .env("FILINGDESK_LOG_FORMAT", "json")
        .env("FILINGDESK_BOOTSTRAP_PASSWORD", "Json-Logs-Pass-1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Read until the line that says where it listens; every log line is JSON.
    let listening = loop {
        let line = lines.next().expect("the server logs before it serves").unwrap();
        if line.starts_with("filingdesk: ") {
            continue; // the bootstrap credentials notice, printed for a human
        }
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if v["message"].as_str().is_some_and(|m| m.starts_with("filingdesk listening")) {
            break v;
        }
    };
    assert_eq!(listening["level"], "INFO");
    assert!(listening["address"].as_str().unwrap().starts_with("127.0.0.1:"));

    // Serving (and so handling signals) once it answers.
    let address = listening["address"].as_str().unwrap().to_owned();
    let answered = (0..100).any(|_| {
        use std::io::{Read, Write};
        let ok = std::net::TcpStream::connect(&address).is_ok_and(|mut s| {
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            buf.starts_with("HTTP/1.0 200")
        });
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        ok
    });
    assert!(answered, "the server answers on {address}");
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let stopped = lines.map_while(Result::ok).any(|l| l.contains("filingdesk stopped"));
    assert!(stopped, "the server says it stopped");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// An empty database of this run's backend: a fresh PostgreSQL database
/// (dropped with the guard) or a path in a temporary directory.
fn empty_database() -> (String, Box<dyn std::any::Any>) {
    match crate::helpers::pg_server_url() {
        Some(server) => {
            use diesel::{Connection, RunQueryDsl};
            let name = format!("filingdesk_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = diesel::PgConnection::establish(&server).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).unwrap();
            struct Drop_(String, String);
            impl Drop for Drop_ {
                fn drop(&mut self) {
                    if let Ok(mut admin) = diesel::PgConnection::establish(&self.0) {
                        let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.1))
                            .execute(&mut admin);
                    }
                }
            }
            (crate::helpers::with_database(&server, &name), Box::new(Drop_(server, name)))
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            (format!("sqlite://{}", dir.path().join("fresh.db").display()), Box::new(dir))
        }
    }
}

/// Three instances started at once on an empty database: the migrations
/// and the first admin are made once, under the start-up lock, and every
/// instance comes up (two used to die: a failed migration, a duplicate
/// admin).
#[test]
fn three_instances_started_together_on_an_empty_database_all_come_up_with_one_admin() {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let env = |cmd: &mut Command, url: &str| {
        cmd.env("FILINGDESK_DATABASE_URL", url)
            .env("FILINGDESK_DATA_KEY", &key)
            .env("FILINGDESK_BOOTSTRAP_PASSWORD", "Together-Root-Pass-1")
            .env("FILINGDESK_SCHEDULER", "0")
            .env("FILINGDESK_LOG", "error");
    };
    // `migrate` three times at once.
    let (url, _guard) = empty_database();
    let migrating: Vec<_> = (0..3)
        .map(|_| {
            let mut cmd = filingdesk();
            env(&mut cmd, &url);
            cmd.arg("migrate")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in migrating {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    // `serve` three times at once on another empty database.
    let (url, _guard) = empty_database();
    let ports: Vec<u16> =
        (0..3).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).collect();
    let mut servers: Vec<_> = ports
        .iter()
        .map(|port| {
            let mut cmd = filingdesk();
            env(&mut cmd, &url);
            cmd.env("FILINGDESK_LISTEN", format!("127.0.0.1:{port}"))
                .arg("serve")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for (port, server) in ports.iter().zip(servers.iter_mut()) {
        loop {
            if let Ok(Some(status)) = server.try_wait() {
                let mut err = String::new();
                std::io::Read::read_to_string(server.stderr.as_mut().unwrap(), &mut err).unwrap();
                panic!("the instance on {port} exited ({status}): {err}");
            }
            let ready = status_of(*port, "/readyz").map(|s| s == 200);
            if ready == Some(true) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the instance on {port} never became ready");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    for mut server in servers {
        let _ = server.kill();
        let _ = server.wait();
    }
    let admins = count_platform_admins(&url);
    assert_eq!(admins, 1);
}

/// The status a plain HTTP/1.0 GET gets from the instance; `None` when
/// nothing answers.
fn status_of(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    answer.split(' ').nth(1)?.parse().ok()
}

/// Polls until `f` holds, for at most `secs` seconds.
fn wait_until(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !f() {
        assert!(std::time::Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// SIGTERM takes the instance out of the load balancer before it stops
/// accepting: `/readyz` answers 503 while every other route still answers,
/// for `FILINGDESK_DRAIN_SECONDS`; a second signal ends the drain, and the
/// process exits cleanly.
#[test]
fn a_stopping_instance_answers_readyz_503_while_it_still_serves() {
    use base64::Engine;
    let (url, _guard) = empty_database();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = filingdesk()
        .env("FILINGDESK_DATABASE_URL", &url)
        .env("FILINGDESK_DATA_KEY", base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
        .env("FILINGDESK_BOOTSTRAP_PASSWORD", "Draining-Root-Pass-1")
        .env("FILINGDESK_LISTEN", format!("127.0.0.1:{port}"))
        .env("FILINGDESK_DRAIN_SECONDS", "120")
        .env("FILINGDESK_LOG", "error")
        .arg("serve")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let signal = |pid: u32| {
        let ok = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success();
        assert!(ok, "kill -TERM {pid}");
    };
    wait_until(60, "ready", || status_of(port, "/readyz") == Some(200));
    signal(server.id());
    wait_until(20, "readyz 503 after SIGTERM", || status_of(port, "/readyz") == Some(503));
    assert_eq!(status_of(port, "/healthz"), Some(200), "still serving while draining");
    assert_eq!(status_of(port, "/openapi.json"), Some(200));
    signal(server.id());
    wait_until(30, "exit after the second SIGTERM", || matches!(server.try_wait(), Ok(Some(_))));
    assert!(server.wait().unwrap().success());
    assert_eq!(status_of(port, "/healthz"), None, "stopped accepting");
}

fn count_platform_admins(url: &str) -> i64 {
    use diesel::{Connection, RunQueryDsl};
    let q = diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT COUNT(*) FROM staff WHERE tenant_id IS NULL");
    match url.strip_prefix("sqlite://") {
        Some(path) => q.get_result(&mut diesel::SqliteConnection::establish(path).unwrap()).unwrap(),
        None => q.get_result(&mut diesel::PgConnection::establish(url).unwrap()).unwrap(),
    }
}
