//! Help, version, and bad settings refused on one line naming the setting (exit 2, nothing written).

use std::path::PathBuf;

use crate::{assert_refused, crm, entries, run, SETTINGS};

// ---------------------------------------------------------------------------------------------
// Help

#[test]
fn help_exits_zero_and_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(crm(dir.path()).arg("--help"), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    for command in ["serve", "migrate", "sign"] {
        assert!(ran.stdout.contains(command), "--help should mention {command}: {}", ran.stdout);
    }
    assert_eq!(entries(dir.path()), Vec::<PathBuf>::new(), "--help writes nothing");
}

/// Every `[env: CRM_…]` a command's help names is one the tests clear from their children.
#[test]
fn every_setting_in_the_help_is_cleared_from_children() {
    for command in ["serve", "migrate", "sign"] {
        let dir = tempfile::tempdir().unwrap();
        let ran = run(crm(dir.path()).args([command, "--help"]), None);
        assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
        let named: Vec<&str> =
            ran.stdout.split("[env: ").skip(1).map(|rest| rest.split(['=', ']']).next().unwrap_or("")).collect();
        assert!(named.len() >= 10, "{command} --help names its settings: {}", ran.stdout);
        for name in named {
            assert!(SETTINGS.contains(&name), "{name} (in {command} --help) is missing from tests/cli SETTINGS");
        }
    }
}

#[test]
fn version_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(crm(dir.path()).arg("--version"), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert!(ran.stdout.contains(env!("CARGO_PKG_VERSION")), "{}", ran.stdout);
}

// ---------------------------------------------------------------------------------------------
// Bad settings

const BAD_SETTINGS: [(&str, &str); 19] = [
    ("CRM_RATE_LIMIT_PER_MINUTE", "abc"),
    ("CRM_RATE_LIMIT_PER_MINUTE", "-1"),
    ("CRM_SIGNATURE_FAILURES_PER_MINUTE", "many"),
    ("CRM_MAX_CONNECTIONS", "0"),
    ("CRM_BIND", "nonsense"),
    ("CRM_DATABASE_URL", "mysql://x"),
    ("CRM_DATABASE_URL", "sqlite::memory:"),
    ("CRM_MAX_BODY_BYTES", "0"),
    ("CRM_LOG_FORMAT", "xml"),
    ("CRM_TRUST_FORWARDED_FOR", "maybe"),
    ("CRM_DATABASE_MAX_CONNECTIONS", "0"),
    ("CRM_SQLITE_SYNCHRONOUS", "sometimes"),
    ("CRM_ADMIN_TOKEN", "   "),
    ("CRM_WEBHOOK_SECRET", " , "),
    ("CRM_DELIVERY_RETRY_SCHEDULE", "0s,,5s"),
    ("CRM_DELIVERY_TIMEOUT", "0s"),
    ("CRM_DELIVERY_TIMEOUT", "soon"),
    ("CRM_DELIVERY_CONCURRENCY", "0"),
    ("CRM_DELIVERY_ALLOW_PRIVATE", "maybe"),
];

#[test]
fn a_bad_setting_is_one_line_naming_it_exit_2_and_nothing_written() {
    for (name, value) in BAD_SETTINGS {
        // The default command (serve), and each command explicitly.
        for args in [&[][..], &["serve"][..], &["migrate"][..], &["sign", "-", "--secret", "x"][..]] {
            let dir = tempfile::tempdir().unwrap();
            let ran = run(crm(dir.path()).args(args).env("CRM_BIND", "127.0.0.1:0").env(name, value), Some(b"{}"));
            assert_refused(&format!("{name}={value:?} {args:?}"), &ran, dir.path(), name);
        }
    }
}

#[test]
fn a_bad_setting_given_as_a_flag_names_its_env_twin() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(crm(dir.path()).args(["migrate", "--rate-limit-per-minute", "abc"]), None);
    assert_refused("--rate-limit-per-minute abc", &ran, dir.path(), "CRM_RATE_LIMIT_PER_MINUTE");
    let dir = tempfile::tempdir().unwrap();
    let ran = run(crm(dir.path()).args(["--log-format", "xml", "serve"]), None);
    assert_refused("--log-format xml", &ran, dir.path(), "CRM_LOG_FORMAT");
}

#[test]
fn an_unknown_flag_or_command_is_one_line_exit_2() {
    for args in [&["--frobnicate"][..], &["serve", "--frobnicate"][..], &["migrate", "--frobnicate=1"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let ran = run(crm(dir.path()).args(args), None);
        assert_refused(&format!("{args:?}"), &ran, dir.path(), "--frobnicate");
    }
    let dir = tempfile::tempdir().unwrap();
    let ran = run(crm(dir.path()).arg("frobnicate"), None);
    assert_refused("unknown command", &ran, dir.path(), "frobnicate");
}

/// A `whsec_` secret must carry base64 (see `signature::Verifier::new`): that is a bad setting too.
#[test]
fn a_whsec_secret_that_is_not_base64_is_refused_like_any_bad_setting() {
    for args in [&[][..], &["serve"][..], &["migrate"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let ran =
            run(crm(dir.path()).args(args).env("CRM_BIND", "127.0.0.1:0").env("CRM_WEBHOOK_SECRET", "whsec_!!!"), None);
        assert_refused(&format!("CRM_WEBHOOK_SECRET=whsec_!!! {args:?}"), &ran, dir.path(), "CRM_WEBHOOK_SECRET");
        assert!(!ran.stderr.contains("!!!"), "the secret is not echoed: {}", ran.stderr);
    }
}

/// Retention takes a duration that is `0` (keep everything) or at least an hour, from the
/// environment or the flag; anything else is refused naming the environment variable.
#[test]
fn retention_settings_take_zero_or_a_duration_of_an_hour_or_more() {
    for name in ["CRM_LOG_RETENTION", "CRM_OUTBOX_RETENTION"] {
        for bad in ["30", "30x", "-1d", "1.5d", "30m", "59m", "soon"] {
            let dir = tempfile::tempdir().unwrap();
            let ran = run(crm(dir.path()).arg("migrate").env(name, bad), None);
            assert_refused(&format!("{name}={bad:?}"), &ran, dir.path(), name);
        }
        let flag = format!("--{}", name.trim_start_matches("CRM_").to_ascii_lowercase().replace('_', "-"));
        let dir = tempfile::tempdir().unwrap();
        let ran = run(crm(dir.path()).args(["migrate", &flag, "10m"]), None);
        assert_refused(&format!("{flag} 10m"), &ran, dir.path(), name);
        for good in ["0", "1h", "36h", "90d"] {
            let dir = tempfile::tempdir().unwrap();
            let ran = run(crm(dir.path()).args(["migrate", &flag, good]), None);
            assert_eq!(ran.code, Some(0), "{flag} {good}: {}", ran.stderr);
        }
    }
}
