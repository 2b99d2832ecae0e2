//! `serve` accepts a signed webhook, logs without leaking the secret and stops cleanly on SIGTERM.

use crm_webhooks::webhook::signature::sign_headers;
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::sign::header_lines;
use crate::{client, crm, drain, entries, free_port, run, sqlite_count, sqlite_url};

// ---------------------------------------------------------------------------------------------
// serve

pub(crate) struct Server {
    child: Child,
    base: String,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

pub(crate) struct Stopped {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Server {
    /// Starts `serve` on a free port against `db` with the webhook secret `s3cret`; returns when
    /// /healthz answers 200.
    pub(crate) async fn start(dir: &Path, db: &Path, extra: &[(&str, &str)]) -> Server {
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

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn collect(&mut self, code: Option<i32>) -> Stopped {
        let stdout = self.stdout.take().map(|h| h.join().unwrap()).unwrap_or_default();
        let stderr = self.stderr.take().map(|h| h.join().unwrap()).unwrap_or_default();
        Stopped { code, stdout, stderr }
    }

    /// Sends SIGTERM and waits (at most 15 s) for the process to end.
    pub(crate) async fn terminate(mut self) -> Stopped {
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

pub(crate) fn example(event: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/examples/{event}.request.json"));
    std::fs::read(path).expect("example request")
}

fn assert_no_secret(stopped: &Stopped) {
    assert!(!stopped.stdout.contains("s3cret"), "secret in stdout: {}", stopped.stdout);
    assert!(!stopped.stderr.contains("s3cret"), "secret in stderr: {}", stopped.stderr);
}

pub(crate) const LEAD_CREATE: &str = "/api/v1/webhooks/incoming/lead/create";

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

/// A proxy named in the environment would resolve the receiver's name itself, past the check of
/// its addresses: deliveries never use one.
#[tokio::test]
async fn deliveries_ignore_a_proxy_in_the_environment() {
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let reached = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = reached.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = proxy.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            use tokio::io::AsyncWriteExt;
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let proxies = [("HTTP_PROXY", &proxy_url), ("http_proxy", &proxy_url), ("ALL_PROXY", &proxy_url)];
    let extra: Vec<(&str, &str)> = proxies.iter().map(|(name, url)| (*name, url.as_str())).collect();
    let server = Server::start(dir.path(), &dir.path().join("crm.db"), &extra).await;
    let subscription = client()
        .post(server.url("/api/v1/webhooks/subscriptions"))
        .json(&serde_json::json!({"url": format!("http://localhost:{}/hooks", free_port())}))
        .send()
        .await
        .unwrap();
    assert_eq!(subscription.status(), 201);
    let id = subscription.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let tested = client().post(server.url(&format!("/api/v1/webhooks/subscriptions/{id}/test"))).send().await.unwrap();
    let delivery: Value = tested.json().await.unwrap();
    assert_eq!(delivery["last_error"], "address not allowed: localhost resolves to no public address", "{delivery}");
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0, "the proxy was used");
    server.terminate().await;
}
