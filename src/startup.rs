//! Wiring: `build(config, listener)` returns the server, so tests bind port 0; `serve` adds
//! logging, warnings and graceful shutdown around it for the binary.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::from_fn_with_state;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::config::{Config, LogFormat};
use crate::db::Db;
use crate::http::{self, admin, client_ip, metrics, rate_limit};
use crate::metrics::Metrics;
use crate::outgoing::Outgoing;
use crate::state::AppState;
use crate::tasks::Tasks;
use crate::webhook::idempotency;
use crate::webhook::signature::Verifier;
use crate::{dashboard, health, logs, openapi, outgoing, records, stats, timeline, webhook};

pub use crate::http::API_BASE;

pub struct Application {
    local_addr: SocketAddr,
    listener: TcpListener,
    router: Router,
    db: Db,
    tasks: Tasks,
    max_connections: usize,
}

/// How often expired idempotency keys are deleted.
const IDEMPOTENCY_PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How often rate limiters forget clients whose budget has refilled.
const LIMITER_SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often recorded histogram samples are folded into their buckets.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Connects and migrates the database, starts the background tasks, and assembles the routes
/// on `listener`.
pub async fn build(config: Config, listener: TcpListener) -> anyhow::Result<Application> {
    let verifier =
        Verifier::new(&config.webhook_secrets).map_err(|reason| anyhow::anyhow!("CRM_WEBHOOK_SECRET: {reason}"))?;
    let metrics = Metrics::new();
    metrics::describe(&metrics);
    let tasks = Tasks::new(metrics.clone());
    let db = Db::connect_with(&config, &tasks).await?;
    crate::records::search::backfill(&db).await?;
    let limiter = new_limiter(config.rate_limit_per_minute);
    let signature_failures = new_limiter(config.signature_failures_per_minute);
    let outgoing = Outgoing::new(config.delivery.clone(), &metrics)?;
    outgoing.start_worker(db.clone(), &tasks).await?;
    let state = AppState {
        db: db.clone(),
        config: Arc::new(config),
        verifier: Arc::new(verifier),
        metrics: metrics.clone(),
        signature_failures: signature_failures.clone(),
        outgoing,
    };
    start_tasks(&tasks, &state, limiter.clone(), signature_failures);
    let max_connections = state.config.max_connections;
    let router = router(state, limiter);
    Ok(Application { local_addr: listener.local_addr()?, listener, router, db, tasks, max_connections })
}

fn new_limiter(per_minute: u32) -> Option<Arc<rate_limit::RateLimiter>> {
    (per_minute > 0).then(|| Arc::new(rate_limit::RateLimiter::new(per_minute)))
}

/// Every background task of the service starts here (see `tasks.rs`).
fn start_tasks(
    tasks: &Tasks,
    state: &AppState,
    limiter: Option<Arc<rate_limit::RateLimiter>>,
    failures: Option<Arc<rate_limit::RateLimiter>>,
) {
    let db = state.db.clone();
    tasks.spawn_periodic("idempotency_purge", IDEMPOTENCY_PURGE_EVERY, move || {
        let db = db.clone();
        async move {
            let purged = db.write(|conn| Box::pin(idempotency::purge(conn))).await?;
            if purged > 0 {
                tracing::info!(purged, "purged expired idempotency keys");
            }
            Ok(())
        }
    });
    let limiters: Vec<_> = limiter.into_iter().chain(failures).collect();
    if !limiters.is_empty() {
        tasks.spawn_periodic("rate_limit_sweep", LIMITER_SWEEP_EVERY, move || {
            let now = std::time::Instant::now();
            for limiter in &limiters {
                limiter.sweep(now);
            }
            std::future::ready(Ok(()))
        });
    }
    stats::start(tasks, state.db.clone());
    crate::retention::start(tasks, &state.db, state.config.retention);
    let metrics = state.metrics.clone();
    tasks.spawn_periodic("metrics_upkeep", METRICS_UPKEEP_EVERY, move || {
        metrics.run_upkeep();
        std::future::ready(Ok(()))
    });
}

/// The routes. `limiter` (`CRM_RATE_LIMIT_PER_MINUTE`) applies to the webhook routes under
/// `/incoming` only; the admin routes need the token instead.
pub fn router(state: AppState, limiter: Option<Arc<rate_limit::RateLimiter>>) -> Router {
    let mut webhooks = Router::new().merge(webhook::router());
    if let Some(limiter) = limiter {
        webhooks = webhooks.route_layer(from_fn_with_state(limiter, rate_limit::middleware));
    }
    let admin = || from_fn_with_state(state.clone(), admin::require_admin);
    let api = Router::new()
        .merge(webhooks)
        .merge(logs::router().route_layer(admin()))
        .merge(webhook::replay::router().route_layer(admin()))
        .merge(outgoing::router().route_layer(admin()))
        .method_not_allowed_fallback(http::method_not_allowed);
    Router::new()
        .nest(API_BASE, api)
        .merge(records::api::router().route_layer(admin()))
        .merge(timeline::router().route_layer(admin()))
        .merge(stats::router().route_layer(admin()))
        .merge(health::router())
        .merge(openapi::router())
        .merge(dashboard::router())
        .fallback(http::not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(from_fn_with_state(state.metrics.clone(), metrics::middleware))
        .layer(from_fn_with_state(state.config.trust_forwarded_for, client_ip::middleware))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

impl Application {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// Serves until the process ends (tests).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// The database, for a component started beside the routes (it closes after the tasks stop).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The background tasks, for a component that adds its own (see `tasks.rs`).
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    /// Serves until `shutdown` resolves, then stops accepting, finishes in-flight requests,
    /// stops the background tasks and waits for them, commits queued writes and closes the
    /// database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let served = crate::server::serve(self.listener, self.router, self.max_connections, shutdown).await;
        self.tasks.shutdown().await;
        self.db.close().await;
        served
    }
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// `crm-webhooks serve`.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    init_tracing(config.log_format);
    if config.webhook_secrets.is_empty() {
        tracing::warn!("CRM_WEBHOOK_SECRET is not set: webhook signatures are NOT verified");
    }
    if config.admin_token.is_none() {
        tracing::warn!("CRM_ADMIN_TOKEN is not set: /logs is open to anyone who can reach this address");
    }
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on {} (CRM_BIND): {err}", config.bind))?;
    let app = build(config, listener).await?;
    tracing::info!(address = %app.local_addr(), "listening");
    app.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// `crm-webhooks migrate`.
pub async fn migrate_only(config: Config) -> anyhow::Result<()> {
    init_tracing(config.log_format);
    let db = Db::connect(&config).await?;
    crate::records::search::backfill(&db).await?;
    db.close().await;
    tracing::info!("migrations applied");
    Ok(())
}
