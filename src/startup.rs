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
use crate::state::AppState;
use crate::webhook::idempotency;
use crate::webhook::signature::Verifier;
use crate::{health, incoming, leads, logs, openapi, pre_leads};

pub const API_BASE: &str = "/api/v1/webhooks";

pub struct Application {
    local_addr: SocketAddr,
    listener: TcpListener,
    router: Router,
    db: Db,
    max_connections: usize,
}

/// Connects and migrates the database, and assembles the routes on `listener`.
pub async fn build(config: Config, listener: TcpListener) -> anyhow::Result<Application> {
    let verifier =
        Verifier::new(&config.webhook_secrets).map_err(|reason| anyhow::anyhow!("CRM_WEBHOOK_SECRET: {reason}"))?;
    let db = Db::connect(&config).await?;
    let state =
        AppState { db: db.clone(), config: Arc::new(config), verifier: Arc::new(verifier), metrics: Arc::default() };
    spawn_idempotency_purge(db.clone());
    let max_connections = state.config.max_connections;
    let router = router(state);
    Ok(Application { local_addr: listener.local_addr()?, listener, router, db, max_connections })
}

pub fn router(state: AppState) -> Router {
    let mut api = Router::new()
        .merge(pre_leads::router())
        .merge(leads::router())
        .merge(incoming::router())
        .merge(logs::router().route_layer(from_fn_with_state(state.clone(), admin::require_admin)))
        .method_not_allowed_fallback(http::method_not_allowed);
    if state.config.rate_limit_per_minute > 0 {
        let limiter = Arc::new(rate_limit::RateLimiter::new(state.config.rate_limit_per_minute));
        limiter.spawn_sweeper();
        api = api.layer(from_fn_with_state(limiter, rate_limit::middleware));
    }
    Router::new()
        .nest(API_BASE, api)
        .merge(health::router())
        .merge(openapi::router())
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

fn spawn_idempotency_purge(db: Db) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match db.write(|conn| Box::pin(idempotency::purge(conn))).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged expired idempotency keys"),
                Err(err) => err.log_if_internal(),
            }
        }
    });
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

    /// Serves until `shutdown` resolves, then stops accepting, finishes in-flight requests,
    /// commits queued writes and closes the database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let served = crate::server::serve(self.listener, self.router, self.max_connections, shutdown).await;
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
    db.close().await;
    tracing::info!("migrations applied");
    Ok(())
}
