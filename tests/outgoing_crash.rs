//! Outgoing deliveries across crashes and instances, with the real binary: SIGKILL during a stream
//! of deliveries, restart, and every event is delivered (by `webhook-id`), on SQLite and on
//! PostgreSQL; two instances on one PostgreSQL deliver 1,000 events, never one delivery twice at
//! once. The receiver runs inside the test and counts attempts in flight per `webhook-id`.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection;

const BIN: &str = env!("CARGO_BIN_EXE_crm-webhooks");

#[derive(Default)]
struct Seen {
    /// Attempts per `webhook-id`.
    attempts: HashMap<String, usize>,
    in_flight: HashMap<String, usize>,
    /// Times one `webhook-id` was being received twice at once.
    overlaps: usize,
    lead_ids: HashSet<i64>,
}

struct InFlight {
    seen: Arc<Mutex<Seen>>,
    id: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(n) = self.seen.lock().unwrap().in_flight.get_mut(&self.id) {
            *n -= 1;
        }
    }
}

/// A receiver answering 200 after `delay`, so that attempts are in flight when the test strikes.
async fn receiver(delay: Duration) -> (String, Arc<Mutex<Seen>>) {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let state = seen.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let seen = state.clone();
        async move {
            let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            {
                let mut seen = seen.lock().unwrap();
                *seen.attempts.entry(id.clone()).or_default() += 1;
                let in_flight = seen.in_flight.entry(id.clone()).or_default();
                *in_flight += 1;
                if *in_flight > 1 {
                    seen.overlaps += 1;
                }
                if let Ok(event) = serde_json::from_slice::<Value>(&body) {
                    if let Some(lead) = event["data"]["lead"]["id"].as_i64() {
                        seen.lead_ids.insert(lead);
                    }
                }
            }
            // Decremented also when the sender goes away mid-answer (the handler is dropped).
            let _guard = InFlight { seen, id };
            tokio::time::sleep(delay).await;
            StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `crm-webhooks serve` with `slots` deliveries in flight at most.
async fn start(dir: &Path, database_url: &str, slots: usize) -> Server {
    let port = free_port();
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CRM_") {
            command.env_remove(key);
        }
    }
    let child = command
        .arg("serve")
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .env("CRM_DATABASE_URL", database_url)
        .env("CRM_RATE_LIMIT_PER_MINUTE", "0")
        .env("CRM_DELIVERY_ALLOW_PRIVATE", "true")
        .env("CRM_DELIVERY_TIMEOUT", "1s")
        .env("CRM_DELIVERY_CONCURRENCY", slots.to_string())
        .env("CRM_DELIVERY_RETRY_SCHEDULE", "0s,200ms,200ms,200ms,200ms,200ms")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start crm-webhooks serve");
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(reply) = client.get(format!("{}/healthz", server.base)).send().await {
            if reply.status() == 200 {
                return server;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/healthz not 200 within 30 s");
}

async fn subscribe(server: &Server, url: &str) {
    let reply = reqwest::Client::new()
        .post(format!("{}/api/v1/webhooks/subscriptions", server.base))
        .json(&json!({"url": url, "events": ["lead.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201, "{}", reply.text().await.unwrap());
}

/// Creates `count` leads through `servers` in turn (16 at a time); returns their ids.
async fn create_leads(servers: &[&Server], count: usize) -> Vec<i64> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(16) {
        let sends = chunk.iter().map(|n| {
            let url = format!("{}/api/v1/webhooks/incoming/lead/create", servers[n % servers.len()].base);
            let body = json!({"event": "new_lead", "data": {"first_name": format!("Lead {n}"), "company_name": "Crash Test Ltd"}});
            let client = client.clone();
            async move { client.post(url).json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
        });
        for reply in futures_util::future::join_all(sends).await {
            ids.push(reply["data"]["lead_id"].as_i64().unwrap_or_else(|| panic!("{reply}")));
        }
    }
    ids
}

async fn wait_all(seen: &Arc<Mutex<Seen>>, leads: &[i64], within: Duration) {
    let started = Instant::now();
    loop {
        let got = leads.iter().filter(|id| seen.lock().unwrap().lead_ids.contains(id)).count();
        if got == leads.len() {
            return;
        }
        assert!(started.elapsed() < within, "{got} of {} leads delivered", leads.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deliveries in flight at once in the kill test.
const SLOTS: usize = 8;

/// SIGKILL while deliveries are in flight; after a restart every event arrives.
async fn killed_mid_stream_every_event_is_delivered_after_restart(database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    // At most 8 deliveries in flight, each answered after 100 ms: the 300 deliveries take at
    // least 3.75 s, far longer than creating the leads, so many are still to come at the kill.
    let (url, seen) = receiver(Duration::from_millis(100)).await;
    let mut server = start(dir.path(), database_url, SLOTS).await;
    subscribe(&server, &url).await;
    let leads = create_leads(&[&server], 300).await;
    let started = Instant::now();
    while seen.lock().unwrap().attempts.len() < 20 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().unwrap();
    let before = seen.lock().unwrap().lead_ids.len();
    assert!(before < leads.len(), "killed mid-stream: {before} of {} already delivered", leads.len());
    let _restarted = start(dir.path(), database_url, SLOTS).await;
    wait_all(&seen, &leads, Duration::from_secs(60)).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.overlaps, 0);
    assert_eq!(seen.attempts.len(), leads.len(), "one webhook-id per event");
}

/// A database of its own on the `CRM_TEST_POSTGRES_URL` server, dropped with the value.
struct PgDatabase {
    server: String,
    name: String,
    url: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // On a thread of its own: Drop cannot await, and the test's runtime may be ending.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
                    let _ =
                        sqlx::query(&format!("drop database if exists {name} with (force)")).execute(&mut admin).await;
                }
            });
        })
        .join();
    }
}

async fn postgres_database() -> Option<PgDatabase> {
    let server = std::env::var("CRM_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty())?;
    let name = format!("crm_crash_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server).await.expect("connect to CRM_TEST_POSTGRES_URL");
    sqlx::query(&format!("create database {name}")).execute(&mut admin).await.unwrap();
    let _ = admin.close().await;
    let base = server.rsplit_once('/').map(|(base, _)| base.to_string()).unwrap_or(server.clone());
    let url = format!("{base}/{name}");
    Some(PgDatabase { server, name, url })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_mid_stream_every_event_is_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crm.db").display());
    killed_mid_stream_every_event_is_delivered_after_restart(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_stream_every_event_is_delivered_after_restart() {
    let Some(database) = postgres_database().await else {
        eprintln!("skipped: PostgreSQL crash test (set CRM_TEST_POSTGRES_URL)");
        return;
    };
    killed_mid_stream_every_event_is_delivered_after_restart(&database.url).await;
}

/// Two instances share one PostgreSQL: 1,000 events, each delivered, none twice at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_deliver_a_thousand_events_never_twice_at_once() {
    let Some(database) = postgres_database().await else {
        eprintln!("skipped: PostgreSQL two-instance delivery test (set CRM_TEST_POSTGRES_URL)");
        return;
    };
    let url = database.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let (receiver_url, seen) = receiver(Duration::from_millis(2)).await;
    let first = start(dir.path(), &url, 64).await;
    let second = start(dir.path(), &url, 64).await;
    subscribe(&first, &receiver_url).await;
    let leads = create_leads(&[&first, &second], 1000).await;
    wait_all(&seen, &leads, Duration::from_secs(120)).await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.overlaps, 0, "a delivery was sent twice at once");
    assert_eq!(seen.attempts.len(), 1000);
    let repeated = seen.attempts.values().filter(|n| **n > 1).count();
    assert_eq!(repeated, 0, "no delivery was sent twice");
}
