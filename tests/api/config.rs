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
