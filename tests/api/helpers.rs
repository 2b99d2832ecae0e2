//! `spawn_app(engine)`: the real server on port 0 against a fresh database — a temp SQLite file,
//! or a new PostgreSQL database when `CRM_TEST_POSTGRES_URL` is set — and typed request helpers.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Once;

use crm_webhooks::webhook::signature::sign_headers;
use crm_webhooks::Config;
use serde_json::Value;
use sqlx::Connection;

pub const SECRET: &str = "test-secret";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub engine: Engine,
    pub database_url: String,
    secret: Option<String>,
    admin_token: Option<String>,
    /// The database the app was started on; `None` for another instance on a borrowed one.
    _database: Option<TestDatabase>,
}

/// A fresh database of a test's own: a SQLite file in a temporary directory, or a new PostgreSQL
/// database, dropped (with its connections) when the guard goes.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

/// The PostgreSQL server URL for tests, or `None` (the suite prints `skipped` once).
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("CRM_TEST_POSTGRES_URL").ok().filter(|u| !u.trim().is_empty());
    if url.is_none() {
        static SKIPPED: Once = Once::new();
        SKIPPED.call_once(|| {
            // Written to the real stderr (not the captured test output) so it is always visible.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: PostgreSQL integration tests (set CRM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test to run them)"
            );
        });
    }
    url
}

fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let host_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    match base[host_start..].find('/') {
        Some(i) => format!("{}/{database}{query}", &base[..host_start + i]),
        None => format!("{base}/{database}{query}"),
    }
}

pub async fn fresh_database(engine: Engine) -> Option<TestDatabase> {
    match engine {
        Engine::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path: PathBuf = dir.path().join("crm.db");
            Some(TestDatabase { url: format!("sqlite://{}", path.display()), _dir: Some(dir), pg: None })
        }
        Engine::Postgres => {
            let server = postgres_url()?;
            let name = format!("crm_test_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&server).await.expect("connect to CRM_TEST_POSTGRES_URL");
            sqlx::query(&format!("create database {name}")).execute(&mut admin).await.expect("create test database");
            let _ = admin.close().await;
            Some(TestDatabase { url: with_database(&server, &name), _dir: None, pg: Some((server, name)) })
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = self.pg.take() {
            // Dropped on a thread of its own: Drop cannot await, and the test runtime is ending.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
                        let _ = sqlx::query(&format!("drop database if exists {name} with (force)"))
                            .execute(&mut admin)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub async fn spawn_app(engine: Engine) -> Option<TestApp> {
    spawn_app_with(engine, |_| {}).await
}

/// Starts the app with the test defaults (signing secret set, rate limit off) changed by `tweak`.
pub async fn spawn_app_with(engine: Engine, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_env_filter("info,sqlx=warn").with_test_writer().try_init();
    }
    let database = fresh_database(engine).await?;
    let mut app = start(engine, database.url.clone(), tweak).await;
    app._database = Some(database);
    Some(app)
}

/// As [`spawn_app_with`], with `seed` run on the migrated database before the app starts (so that
/// the background tasks' first runs, made at start, find the seeded rows).
pub async fn spawn_app_seeded<F, Fut>(engine: Engine, tweak: impl FnOnce(&mut Config), seed: F) -> Option<TestApp>
where
    F: FnOnce(crm_webhooks::db::Db) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let database = fresh_database(engine).await?;
    let db = crm_webhooks::db::Db::connect(&Config::for_database(database.url.clone())).await.expect("migrate");
    seed(db.clone()).await;
    db.close().await;
    let mut app = start(engine, database.url.clone(), tweak).await;
    app._database = Some(database);
    Some(app)
}

/// As [`spawn_app`], on a database an older build made: migrated by the migrations numbered
/// below `version` only, with `seed` run on it, before the app (which applies the rest) starts.
pub async fn spawn_app_upgraded(engine: Engine, version: i64, seed: &[&str]) -> Option<TestApp> {
    let database = fresh_database(engine).await?;
    let database_url = database.url.clone();
    let folder = match engine {
        Engine::Sqlite => "migrations/sqlite",
        Engine::Postgres => "migrations/postgres",
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut older = sqlx::migrate::Migrator::new(path).await.expect("the migrations folder");
    older.migrations = older.migrations.iter().filter(|m| m.version < version).cloned().collect::<Vec<_>>().into();
    sqlx::any::install_default_drivers();
    let url = match engine {
        Engine::Sqlite => format!("{database_url}?mode=rwc"),
        Engine::Postgres => database_url.clone(),
    };
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    older.run_direct(&mut conn).await.expect("the older migrations");
    for sql in seed {
        sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    }
    let _ = conn.close().await;
    let mut app = start(engine, database_url, |_| {}).await;
    app._database = Some(database);
    Some(app)
}

async fn start(engine: Engine, database_url: String, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::for_database(database_url.clone());
    config.webhook_secrets = vec![crm_webhooks::config::Secret::new(SECRET)];
    config.rate_limit_per_minute = 0;
    tweak(&mut config);
    let secret = config.webhook_secrets.first().map(|s| s.expose().to_string());
    let admin_token = config.admin_token.as_ref().map(|s| s.expose().to_string());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let app = crm_webhooks::build(config, listener).await.expect("build the app");
    let address = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    TestApp { address, client, engine, database_url, secret, admin_token, _database: None }
}

/// What a parser says and a client must never read (`invalid type: integer `5`, expected i64`).
const PARSER_WORDS: [&str; 12] = [
    "invalid type",
    "invalid value",
    "invalid length",
    "expected ",
    "expected`",
    "i64",
    "u64",
    "f64",
    "EOF",
    "struct ",
    "unknown variant",
    "missing field",
];

/// Fails the test when an error answer speaks a parser's words. Every reply of the suite passes
/// here, so every error answer any test provokes is checked.
pub fn assert_plain_words(status: u16, text: &str) {
    if status >= 400 {
        for word in PARSER_WORDS {
            assert!(!text.contains(word), "an error answer uses the parser's word {word:?}: {text}");
        }
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    assert_plain_words(status, &text);
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, headers, body, text }
}

impl TestApp {
    /// A second server on the same database, as behind a load balancer.
    pub async fn another_instance(&self) -> TestApp {
        start(self.engine, self.database_url.clone(), |_| {}).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn webhook_url(&self, path: &str) -> String {
        self.url(&format!("/api/v1/webhooks{path}"))
    }

    /// POSTs raw bytes, signed with the X-Webhook-Signature form when a secret is configured.
    pub async fn post_raw(&self, path: &str, body: &[u8], extra: &[(&str, &str)]) -> Reply {
        let mut request = self.client.post(self.webhook_url(path)).header("content-type", "application/json");
        if let Some(secret) = &self.secret {
            let signature = sign_headers(secret, "msg_test", 0, body)[0].1.clone();
            request = request.header("x-webhook-signature", signature);
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        reply(request.body(body.to_vec()).send().await.expect("request")).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_raw(path, body.to_string().as_bytes(), &[]).await
    }

    /// A request built by the caller (for unsigned, odd headers, etc.).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        reply(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = &self.admin_token {
            request = request.bearer_auth(token);
        }
        reply(request.send().await.expect("request")).await
    }

    pub async fn create_pre_lead(&self) -> i64 {
        let reply = self.post("/incoming/pre-lead/create", &example_request("new_inquiry")).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body["data"]["pre_lead_id"].as_i64().unwrap()
    }

    pub async fn create_lead(&self) -> i64 {
        self.lead_from(&example_request("new_lead")).await
    }

    /// Creates a lead from a `new_lead` webhook whose `data` is this; returns its id.
    pub async fn new_lead(&self, data: Value) -> i64 {
        self.lead_from(&serde_json::json!({"event": "new_lead", "data": data})).await
    }

    async fn lead_from(&self, body: &Value) -> i64 {
        let reply = self.post("/incoming/lead/create", body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body["data"]["lead_id"].as_i64().unwrap()
    }

    /// Converts a new lead and returns (customer id, customer code).
    pub async fn create_customer(&self, code: &str) -> (i64, String) {
        let lead = self.create_lead().await;
        let body = serde_json::json!({"event": "lead_convert", "data": {"customer_code": code}});
        let reply = self.post(&format!("/incoming/lead/{lead}/convert"), &body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        (reply.body["data"]["customer_id"].as_i64().unwrap(), code.to_string())
    }

    /// A scalar from the app's own database (for checking what was stored).
    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.database_url).await.expect("connect");
        let row = sqlx::query(sql).fetch_one(&mut conn).await.expect(sql);
        let value: i64 = sqlx::Row::try_get(&row, 0).expect("i64");
        let _ = conn.close().await;
        value
    }

    /// Runs one statement on the app's own database (to set up what a test needs underneath it).
    pub async fn execute(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.database_url).await.expect("connect");
        sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
        let _ = conn.close().await;
    }

    pub async fn scalar_text(&self, sql: &str) -> Option<String> {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.database_url).await.expect("connect");
        let row = sqlx::query(sql).fetch_one(&mut conn).await.expect(sql);
        let value: Option<String> = sqlx::Row::try_get(&row, 0).expect("text");
        let _ = conn.close().await;
        value
    }
}

/// The events of the API document's examples, in an order where each one's prerequisites come first.
pub const EXAMPLE_EVENTS: [&str; 16] = [
    "new_inquiry",
    "pre_lead_update",
    "pre_lead_contact_add",
    "pre_lead_memo_add",
    "pre_lead_status_update",
    "pre_lead_convert",
    "pre_lead_discard",
    "new_lead",
    "lead_update",
    "lead_contact_add",
    "lead_activity_add",
    "lead_qualified_profile_update",
    "lead_memo_add",
    "lead_status_update",
    "lead_convert",
    "lead_discard",
];

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/examples")
}

/// The request body of a documented example, byte for byte.
pub fn example_bytes(event: &str) -> Vec<u8> {
    std::fs::read(examples_dir().join(format!("{event}.request.json"))).expect("example request")
}

pub fn example_request(event: &str) -> Value {
    serde_json::from_slice(&example_bytes(event)).expect("example JSON")
}

pub fn example_response(event: &str) -> Value {
    let text =
        std::fs::read_to_string(examples_dir().join(format!("{event}.response.json"))).expect("example response");
    serde_json::from_str(&text).expect("example JSON")
}

/// `POST /api/v1/webhooks/…` of a documented example, with `{…_id}` still to fill.
pub fn example_endpoint(event: &str) -> String {
    let text = std::fs::read_to_string(examples_dir().join(format!("{event}.endpoint"))).expect("example endpoint");
    text.trim().strip_prefix("POST /api/v1/webhooks").expect("POST under the base path").to_string()
}

/// Runs a test body on one engine: on PostgreSQL only when it is configured.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Engine::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::postgres_url().is_some() {
                        super::$name($crate::helpers::Engine::Postgres).await;
                    }
                }
            )+
        }
    };
}

/// Every id of `path?query`, paged `limit` at a time by cursor, newest first.
pub async fn every_page(app: &TestApp, path: &str, query: &str, limit: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let after = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let reply = app.get(&format!("/api/v1/{path}?{query}&limit={limit}{after}")).await;
        assert_eq!(reply.status, 200, "{path}?{query}: {}", reply.text);
        let items = reply.body["items"].as_array().expect("items").clone();
        assert!(items.len() <= limit, "{path}?{query}");
        ids.extend(items.iter().map(|item| item["id"].as_i64().unwrap()));
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return ids,
        }
        assert!(ids.len() < 100, "{path}?{query}: the cursor does not end");
    }
}
