//! The binary as a user runs it: bad settings are refused on one line naming the setting (exit 2,
//! nothing written), `sign` prints exactly the signature headers, `migrate` creates the schema,
//! and `serve` accepts a signed webhook, logs without leaking the secret and stops cleanly on
//! SIGTERM with its data on disk.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crm_webhooks::webhook::signature::sign_headers;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use sqlx::Connection;

const BIN: &str = env!("CARGO_BIN_EXE_crm-webhooks");

/// Settings the binary reads; removed from every child so the developer's environment cannot leak in.
const SETTINGS: [&str; 12] = [
    "CRM_BIND",
    "CRM_DATABASE_URL",
    "CRM_WEBHOOK_SECRET",
    "CRM_ADMIN_TOKEN",
    "CRM_RATE_LIMIT_PER_MINUTE",
    "CRM_MAX_BODY_BYTES",
    "CRM_TRUST_FORWARDED_FOR",
    "CRM_LOG_FORMAT",
    "CRM_DATABASE_MAX_CONNECTIONS",
    "CRM_SQLITE_SYNCHRONOUS",
    "CRM_INSECURE_OPEN_ADMIN",
    "CRM_SIGN_SECRET",
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

#[test]
fn version_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(crm(dir.path()).arg("--version"), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert!(ran.stdout.contains(env!("CARGO_PKG_VERSION")), "{}", ran.stdout);
}

// ---------------------------------------------------------------------------------------------
// Bad settings

const BAD_SETTINGS: [(&str, &str); 14] = [
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

// ---------------------------------------------------------------------------------------------
// sign

/// The four header lines, as (name, value), in order; fails on anything else in stdout.
fn header_lines(stdout: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "exactly four lines: {stdout:?}");
    let names = ["X-Webhook-Signature", "webhook-id", "webhook-timestamp", "webhook-signature"];
    lines
        .iter()
        .zip(names)
        .map(|(line, name)| {
            let value = line.strip_prefix(&format!("{name}: ")).unwrap_or_else(|| panic!("{line:?} should be {name}"));
            (name.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn sign_prints_exactly_the_signature_headers_for_the_file_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // Bytes are signed as they are: a trailing newline, CRLF and non-UTF-8 included.
    let body: &[u8] = b"{\"event\":\"new_lead\",\"data\":{\"first_name\":\"Ada\"}}\r\n\xff\n";
    std::fs::write(dir.path().join("body.json"), body).unwrap();
    let secret = "s3cret-for-signing";
    let ran = run(crm(dir.path()).args(["sign", "body.json", "--secret", secret]), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert_eq!(ran.stderr, "", "nothing on stderr");
    let headers = header_lines(&ran.stdout);
    let hex_signature = &headers[0].1;
    assert_eq!(hex_signature.len(), 64, "{hex_signature}");
    assert!(hex_signature.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{hex_signature}");
    assert_eq!(hex_signature, &hmac_hex(secret.as_bytes(), body), "HMAC-SHA256(secret, file bytes)");
    let id = &headers[1].1;
    assert!(id.starts_with("msg_") && id.len() > 4, "a fresh msg_ id: {id}");
    let timestamp: i64 = headers[2].1.parse().expect("unix seconds");
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 120, "timestamp defaults to now: {timestamp}");
    let expected = sign_headers(secret, id, timestamp, body);
    assert_eq!(headers[3].1, expected[3].1, "webhook-signature over id.timestamp.body");
    assert_eq!(headers[0].1, expected[0].1);
    assert!(!ran.stdout.contains(secret), "the secret never appears in the output");
    // A fresh id every time.
    let again = run(crm(dir.path()).args(["sign", "body.json", "--secret", secret]), None);
    assert_ne!(header_lines(&again.stdout)[1].1, *id, "a fresh webhook-id per run");
}

#[test]
fn sign_reproduces_the_standard_webhooks_test_vector() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body.json"), VECTOR_BODY).unwrap();
    let args = ["sign", "body.json", "--secret", VECTOR_SECRET, "--id", VECTOR_ID, "--timestamp", VECTOR_TIMESTAMP];
    let ran = run(crm(dir.path()).args(args), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert_eq!(ran.stderr, "");
    let expected = format!(
        "X-Webhook-Signature: {}\nwebhook-id: {VECTOR_ID}\n\
         webhook-timestamp: {VECTOR_TIMESTAMP}\nwebhook-signature: {VECTOR_SIGNATURE}\n",
        hmac_hex(VECTOR_SECRET.as_bytes(), VECTOR_BODY.as_bytes())
    );
    assert_eq!(ran.stdout, expected);
    let encoded_key = VECTOR_SECRET.strip_prefix("whsec_").unwrap();
    assert!(!ran.stdout.contains(VECTOR_SECRET) && !ran.stdout.contains(encoded_key), "secret leaked: {}", ran.stdout);
}

#[test]
fn sign_reads_standard_input_for_dash() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["sign", "-", "--secret", VECTOR_SECRET, "--id", VECTOR_ID, "--timestamp", VECTOR_TIMESTAMP];
    let ran = run(crm(dir.path()).args(args), Some(VECTOR_BODY.as_bytes()));
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    let headers = header_lines(&ran.stdout);
    assert_eq!(headers[0].1, hmac_hex(VECTOR_SECRET.as_bytes(), VECTOR_BODY.as_bytes()));
    assert_eq!(headers[1].1, VECTOR_ID);
    assert_eq!(headers[2].1, VECTOR_TIMESTAMP);
    assert_eq!(headers[3].1, VECTOR_SIGNATURE);
}

#[test]
fn sign_takes_the_secret_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body.json"), "{}").unwrap();
    // The first of a rotation list.
    let ran = run(crm(dir.path()).args(["sign", "body.json"]).env("CRM_WEBHOOK_SECRET", "first,second"), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert_eq!(header_lines(&ran.stdout)[0].1, hmac_hex(b"first", b"{}"));
    assert!(!ran.stdout.contains("first") && !ran.stdout.contains("second"), "{}", ran.stdout);
    let ran = run(crm(dir.path()).args(["sign", "body.json"]).env("CRM_SIGN_SECRET", "signing-key"), None);
    assert_eq!(ran.code, Some(0), "stderr: {}", ran.stderr);
    assert_eq!(header_lines(&ran.stdout)[0].1, hmac_hex(b"signing-key", b"{}"));
}

#[test]
fn sign_without_a_secret_is_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body.json"), "{}").unwrap();
    let ran = run(crm(dir.path()).args(["sign", "body.json"]), None);
    assert_eq!(ran.code, Some(2), "stderr: {}", ran.stderr);
    assert_eq!(ran.stdout, "");
    assert_eq!(ran.stderr_lines().len(), 1, "one line: {:?}", ran.stderr);
    assert!(ran.stderr.contains("secret"), "{}", ran.stderr);
    let ran = run(crm(dir.path()).args(["sign", "body.json", "--secret", ""]), None);
    assert_eq!(ran.code, Some(2), "empty --secret; stderr: {}", ran.stderr);
    assert_eq!(ran.stdout, "");
    assert_eq!(ran.stderr_lines().len(), 1, "one line: {:?}", ran.stderr);
}

#[test]
fn sign_of_a_missing_file_is_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(crm(dir.path()).args(["sign", "no-such-file.json", "--secret", "k"]), None);
    assert_eq!(ran.code, Some(2), "stderr: {}", ran.stderr);
    assert_eq!(ran.stdout, "");
    let lines = ran.stderr_lines();
    assert_eq!(lines.len(), 1, "one line: {:?}", ran.stderr);
    assert!(lines[0].contains("no-such-file.json"), "{}", lines[0]);
}

// ---------------------------------------------------------------------------------------------
// migrate

const TABLES: &str = "select count(*) from sqlite_master where type = 'table' and name in \
     ('pre_leads', 'leads', 'contacts', 'memos', 'status_history', 'activities', 'customers', 'orders', \
     'payments', 'webhook_logs')";

#[tokio::test]
async fn migrate_creates_the_database_with_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    for round in 0..2 {
        let ran = run(crm(dir.path()).arg("migrate").env("CRM_DATABASE_URL", sqlite_url(&db)), None);
        assert_eq!(ran.code, Some(0), "round {round}: stdout: {} stderr: {}", ran.stdout, ran.stderr);
        assert!(db.is_file(), "round {round}: {} created", db.display());
    }
    assert_eq!(sqlite_count(&db, TABLES).await, 10);
    assert_eq!(sqlite_count(&db, "select count(*) from customers").await, 0);
    assert!(sqlite_count(&db, "select count(*) from _sqlx_migrations where success").await >= 1);
}

#[tokio::test]
async fn migrate_defaults_to_crm_db_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(crm(dir.path()).arg("migrate"), None);
    assert_eq!(ran.code, Some(0), "stdout: {} stderr: {}", ran.stdout, ran.stderr);
    let db = dir.path().join("crm.db");
    assert!(db.is_file(), "crm.db created in the working directory: {:?}", entries(dir.path()));
    assert_eq!(sqlite_count(&db, TABLES).await, 10);
}

// ---------------------------------------------------------------------------------------------
// serve

struct Server {
    child: Child,
    base: String,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

struct Stopped {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Server {
    /// Starts `serve` on a free port against `db` with the webhook secret `s3cret`; returns when
    /// /healthz answers 200.
    async fn start(dir: &Path, db: &Path, extra: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut command = crm(dir);
        command
            .arg("serve")
            .env("CRM_BIND", format!("127.0.0.1:{port}"))
            .env("CRM_DATABASE_URL", sqlite_url(db))
            .env("CRM_WEBHOOK_SECRET", "s3cret")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in extra {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start crm-webhooks serve");
        let stdout = Some(drain(child.stdout.take().unwrap()));
        let stderr = Some(drain(child.stderr.take().unwrap()));
        let mut server = Server { child, base: format!("http://127.0.0.1:{port}"), stdout, stderr };
        let client = client();
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                let stopped = server.collect(status.code());
                panic!("serve exited early ({status}); stdout: {} stderr: {}", stopped.stdout, stopped.stderr);
            }
            if let Ok(reply) = client.get(format!("{}/healthz", server.base)).send().await {
                if reply.status() == 200 {
                    return server;
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = server.child.kill();
                let code = server.child.wait().ok().and_then(|s| s.code());
                let stopped = server.collect(code);
                panic!("/healthz not 200 within 30 s; stdout: {} stderr: {}", stopped.stdout, stopped.stderr);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn collect(&mut self, code: Option<i32>) -> Stopped {
        let stdout = self.stdout.take().map(|h| h.join().unwrap()).unwrap_or_default();
        let stderr = self.stderr.take().map(|h| h.join().unwrap()).unwrap_or_default();
        Stopped { code, stdout, stderr }
    }

    /// Sends SIGTERM and waits (at most 15 s) for the process to end.
    async fn terminate(mut self) -> Stopped {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid}");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return self.collect(status.code());
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stopped = self.collect(None);
                panic!(
                    "serve did not stop within 15 s of SIGTERM; stdout: {} stderr: {}",
                    stopped.stdout, stopped.stderr
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only when a test failed half-way: never leave the child running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// POSTs `body` signed for `secret` in both forms (Standard Webhooks headers win).
async fn post_signed(url: &str, secret: &str, body: &[u8]) -> (u16, Value) {
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let mut request = client().post(url).header("content-type", "application/json");
    for (name, value) in sign_headers(secret, &id, chrono::Utc::now().timestamp(), body) {
        request = request.header(name, value);
    }
    let reply = request.body(body.to_vec()).send().await.expect("request");
    let status = reply.status().as_u16();
    let text = reply.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn example(event: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/examples/{event}.request.json"));
    std::fs::read(path).expect("example request")
}

fn assert_no_secret(stopped: &Stopped) {
    assert!(!stopped.stdout.contains("s3cret"), "secret in stdout: {}", stopped.stdout);
    assert!(!stopped.stderr.contains("s3cret"), "secret in stderr: {}", stopped.stderr);
}

const LEAD_CREATE: &str = "/api/v1/webhooks/incoming/lead/create";

#[tokio::test]
async fn serve_accepts_a_signed_lead_and_keeps_it_after_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    let server = Server::start(dir.path(), &db, &[]).await;

    let (status, body) = post_signed(&server.url(LEAD_CREATE), "s3cret", &example("new_lead")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "Lead created successfully", "{body}");
    let lead_id = body["data"]["lead_id"].as_i64().expect("lead_id");

    // Signed with another secret, or not at all: refused.
    let (status, body) = post_signed(&server.url(LEAD_CREATE), "not-the-secret", &example("new_lead")).await;
    assert_eq!((status, body["detail"].as_str()), (401, Some("Invalid signature")), "{body}");

    let stopped = server.terminate().await;
    assert_eq!(
        stopped.code,
        Some(0),
        "exit status after SIGTERM; stdout: {} stderr: {}",
        stopped.stdout,
        stopped.stderr
    );
    assert_no_secret(&stopped);

    // The lead and its log row are on disk.
    assert_eq!(sqlite_count(&db, &format!("select count(*) from leads where id = {lead_id}")).await, 1);
    assert_eq!(sqlite_count(&db, "select count(*) from leads").await, 1);
    let logged = format!("select count(*) from webhook_logs where path = '{LEAD_CREATE}' and response_status = 200");
    assert_eq!(sqlite_count(&db, &logged).await, 1);

    // A second run on the same file (migrations already applied) lists the earlier call.
    let server = Server::start(dir.path(), &db, &[]).await;
    let reply = client().get(server.url("/api/v1/webhooks/logs")).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let page: Value = reply.json().await.unwrap();
    let items = page["items"].as_array().expect("items");
    let earlier: Vec<&Value> = items.iter().filter(|item| item["response_status"] == 200).collect();
    assert_eq!(earlier.len(), 1, "{page}");
    assert_eq!(earlier[0]["path"], LEAD_CREATE, "{page}");
    assert_eq!(earlier[0]["event"], "new_lead", "{page}");
    assert_eq!(earlier[0]["entity_id"], lead_id, "{page}");
    assert!(items.iter().any(|item| item["response_status"] == 401), "the refused call is logged too: {page}");

    let stopped = server.terminate().await;
    assert_eq!(stopped.code, Some(0), "stdout: {} stderr: {}", stopped.stdout, stopped.stderr);
    assert_no_secret(&stopped);
}

/// Group commit answers only after the batch committed: every lead acknowledged before the
/// process is killed outright (no shutdown, no final checkpoint) is in the file afterwards, with
/// its log row. With `synchronous=NORMAL` the commit is in the WAL, which the next open replays.
#[tokio::test]
async fn every_acknowledged_lead_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    let mut server = Server::start(dir.path(), &db, &[("CRM_RATE_LIMIT_PER_MINUTE", "0")]).await;
    let url = server.url(LEAD_CREATE);
    let body = example("new_lead");
    let mut acknowledged = Vec::new();
    for round in 0..10 {
        let sends = (0..16).map(|_| post_signed(&url, "s3cret", &body));
        for (status, body) in futures_util::future::join_all(sends).await {
            assert_eq!(status, 200, "round {round}: {body}");
            acknowledged.push(body["data"]["lead_id"].as_i64().expect("lead_id"));
        }
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reap");
    assert_eq!(acknowledged.len(), 160);
    let ids = acknowledged.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    assert_eq!(sqlite_count(&db, &format!("select count(*) from leads where id in ({ids})")).await, 160);
    let logged = format!("select count(*) from webhook_logs where entity_id in ({ids}) and response_status = 200");
    assert_eq!(sqlite_count(&db, &logged).await, 160);
}

/// What `crm-webhooks sign` prints is what `serve` accepts.
#[tokio::test]
async fn serve_accepts_the_headers_the_sign_command_prints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    std::fs::write(dir.path().join("inquiry.json"), example("new_inquiry")).unwrap();
    let server = Server::start(dir.path(), &db, &[]).await;
    let signed = run(crm(dir.path()).args(["sign", "inquiry.json"]).env("CRM_WEBHOOK_SECRET", "s3cret"), None);
    assert_eq!(signed.code, Some(0), "stderr: {}", signed.stderr);
    let headers = header_lines(&signed.stdout);
    // Each form alone verifies (the hex header; the three Standard Webhooks headers).
    for chosen in [&headers[..1], &headers[1..]] {
        let mut request = client()
            .post(server.url("/api/v1/webhooks/incoming/pre-lead/create"))
            .header("content-type", "application/json");
        for (name, value) in chosen {
            request = request.header(name.as_str(), value.as_str());
        }
        let reply = request.body(example("new_inquiry")).send().await.unwrap();
        let status = reply.status().as_u16();
        let text = reply.text().await.unwrap();
        assert_eq!(status, 200, "{chosen:?}: {text}");
    }
    let stopped = server.terminate().await;
    assert_eq!(stopped.code, Some(0), "stdout: {} stderr: {}", stopped.stdout, stopped.stderr);
    assert_no_secret(&stopped);
}

#[tokio::test]
async fn serve_with_json_log_format_writes_only_json_objects() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    let server = Server::start(dir.path(), &db, &[("CRM_LOG_FORMAT", "json")]).await;
    let (status, body) = post_signed(&server.url(LEAD_CREATE), "s3cret", &example("new_lead")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = post_signed(&server.url(LEAD_CREATE), "wrong", &example("new_lead")).await;
    assert_eq!(status, 401);
    let reply = client().get(server.url("/no/such/route")).send().await.unwrap();
    assert_eq!(reply.status(), 404);
    let stopped = server.terminate().await;
    assert_eq!(stopped.code, Some(0), "stdout: {} stderr: {}", stopped.stdout, stopped.stderr);
    assert_no_secret(&stopped);
    let lines: Vec<&str> =
        stopped.stdout.lines().chain(stopped.stderr.lines()).filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "serve logs something (listening, stopped)");
    for line in &lines {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(matches!(parsed, Ok(Value::Object(_))), "not a JSON object: {line:?}");
    }
}

#[tokio::test]
async fn serve_on_a_port_in_use_fails_naming_crm_bind_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    let ran = run(crm(dir.path()).arg("serve").env("CRM_BIND", &bind).env("CRM_WEBHOOK_SECRET", "s3cret"), None);
    assert!(ran.code.is_some_and(|code| code != 0), "exit code {:?}", ran.code);
    assert!(ran.stderr.contains("CRM_BIND"), "stderr: {}", ran.stderr);
    assert!(!ran.stdout.contains("s3cret") && !ran.stderr.contains("s3cret"));
    assert_eq!(entries(dir.path()), Vec::<PathBuf>::new(), "no database written");
    drop(taken);
}
