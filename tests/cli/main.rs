//! The binary as a user runs it: bad settings are refused on one line naming the setting (exit 2,
//! nothing written), `sign` prints exactly the signature headers, `migrate` creates the schema,
//! and `serve` accepts a signed webhook, logs without leaking the secret and stops cleanly on
//! SIGTERM with its data on disk.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::Connection;

const BIN: &str = env!("CARGO_BIN_EXE_crm-webhooks");

/// Settings the binary reads; removed from every child so the developer's environment cannot leak in.
/// `every_setting_in_the_help_is_cleared_from_children` keeps it complete.
const SETTINGS: [&str; 20] = [
    "CRM_BIND",
    "CRM_DATABASE_URL",
    "CRM_WEBHOOK_SECRET",
    "CRM_ADMIN_TOKEN",
    "CRM_RATE_LIMIT_PER_MINUTE",
    "CRM_SIGNATURE_FAILURES_PER_MINUTE",
    "CRM_MAX_BODY_BYTES",
    "CRM_MAX_CONNECTIONS",
    "CRM_TRUST_FORWARDED_FOR",
    "CRM_LOG_FORMAT",
    "CRM_DATABASE_MAX_CONNECTIONS",
    "CRM_SQLITE_SYNCHRONOUS",
    "CRM_INSECURE_OPEN_ADMIN",
    "CRM_SIGN_SECRET",
    "CRM_DELIVERY_RETRY_SCHEDULE",
    "CRM_DELIVERY_TIMEOUT",
    "CRM_DELIVERY_CONCURRENCY",
    "CRM_DELIVERY_ALLOW_PRIVATE",
    "CRM_LOG_RETENTION",
    "CRM_OUTBOX_RETENTION",
];

/// How long a command that should finish at once may take before it is killed.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

const VECTOR_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const VECTOR_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const VECTOR_TIMESTAMP: &str = "1649367553";
const VECTOR_BODY: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
const VECTOR_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

/// The binary with `dir` as its working directory and no CRM_* (or RUST_LOG) from the environment.
fn crm(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CRM_") {
            command.env_remove(key);
        }
    }
    for key in SETTINGS {
        command.env_remove(key);
    }
    command.env_remove("RUST_LOG");
    command
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| !l.trim().is_empty()).collect()
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs to completion (killed after `RUN_TIMEOUT`, which fails the test), feeding `stdin`.
fn run(command: &mut Command, stdin: Option<&[u8]>) -> Ran {
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("start crm-webhooks");
    if let Some(input) = stdin {
        // A process that refuses its settings exits without reading: a broken pipe is expected then.
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} still running after {RUN_TIMEOUT:?}; stdout: {} stderr: {}",
                out.join().unwrap(),
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran { code: status.code(), stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).expect("read temp dir").map(|e| e.unwrap().path()).collect()
}

/// Exit 2, nothing on stdout, exactly one line on stderr that contains `names`, no file written.
fn assert_refused(what: &str, ran: &Ran, dir: &Path, names: &str) {
    assert_eq!(ran.code, Some(2), "{what}: exit code; stderr: {}", ran.stderr);
    assert_eq!(ran.stdout, "", "{what}: stdout");
    let lines = ran.stderr_lines();
    assert_eq!(lines.len(), 1, "{what}: one line on stderr, got {:?}", ran.stderr);
    assert!(lines[0].contains(names), "{what}: {:?} should name {names}", lines[0]);
    assert_eq!(entries(dir), Vec::<PathBuf>::new(), "{what}: nothing may be written");
}

fn hmac_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn sqlite_count(path: &Path, sql: &str) -> i64 {
    let mut conn = sqlx::SqliteConnection::connect(&sqlite_url(path)).await.expect("open the database");
    let count: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.expect(sql);
    let _ = conn.close().await;
    count
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().unwrap().port()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().unwrap()
}

mod backup;
mod migrate;
mod serve;
mod settings;
mod sign;
