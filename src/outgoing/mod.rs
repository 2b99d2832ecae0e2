//! Outgoing webhooks (design §7): other systems subscribe to what happens in the CRM. Every applied
//! change writes its event to an outbox in the same transaction ([`outbox`]); a worker
//! ([`dispatcher`]) delivers it to each subscription, signed the Standard Webhooks way
//! ([`signer`]), in order per record, at least once, with retries, and logs every attempt as an
//! `outgoing` row ([`record`]). This module owns the subscription and delivery admin routes,
//! their OpenAPI part, the settings of delivery and its metrics.

pub mod deliveries;
pub mod dispatcher;
pub mod events;
pub mod lease;
pub mod listeners;
pub mod metrics;
pub mod openapi;
pub mod outbox;
pub mod page;
pub mod record;
pub mod sender;
pub mod settings;
pub mod signer;
pub mod ssrf;
pub mod subscriptions;
pub mod types;

use std::sync::Arc;

use axum::Router;

use self::metrics::DeliveryMetrics;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::tasks::Tasks;
use dispatcher::Shared;
pub use outbox::OutgoingEvent;
pub use settings::DeliveryConfig;

/// This module's part of the OpenAPI document (see [`openapi`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::part()
}

/// The admin routes (mounted behind the admin token).
pub fn router() -> Router<AppState> {
    Router::new().merge(subscriptions::router()).merge(deliveries::router())
}

/// What handlers and the write path reach: the delivery settings, the HTTP sender, the metrics,
/// and the bell that wakes the worker.
#[derive(Clone)]
pub struct Outgoing {
    shared: Arc<Shared>,
}

impl Outgoing {
    pub fn new(config: DeliveryConfig, metrics: &Metrics) -> anyhow::Result<Outgoing> {
        let sender = sender::Sender::new(&config)?;
        let metrics = DeliveryMetrics::new(metrics);
        let shared = Shared {
            config,
            sender,
            metrics,
            wake: Default::default(),
            recorded: Default::default(),
            listeners: Default::default(),
        };
        Ok(Outgoing { shared: Arc::new(shared) })
    }

    pub fn config(&self) -> &DeliveryConfig {
        &self.shared.config
    }

    /// Tells the worker that deliveries may be due (after a change that queued or released some).
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// After a commit that wrote an outgoing event: wakes the worker if a subscription may take
    /// it (see [`listeners`]).
    pub fn event_queued(&self) {
        if self.shared.listeners.may_listen() {
            self.wake();
        }
    }

    /// After a subscription was created, changed or deleted through this instance: events are
    /// announced to the worker again, and the worker looks for due deliveries.
    pub fn subscriptions_changed(&self) {
        self.shared.listeners.changed();
        self.wake();
    }

    /// Starts the worker as the application's task `delivery_worker` (stopped, with its
    /// attempts in flight finished, before the database closes).
    pub async fn start_worker(&self, db: Db, tasks: &Tasks) -> anyhow::Result<()> {
        dispatcher::start(db, self.shared.clone(), tasks).await
    }

    /// Makes the first attempt of one delivery at once (the test route), unless a lease is on it,
    /// in a task of its own: the attempt is made and recorded even if the caller stops waiting.
    pub fn send_now(&self, db: &Db, delivery_id: i64) -> tokio::task::JoinHandle<()> {
        let (db, shared) = (db.clone(), self.shared.clone());
        tokio::spawn(async move {
            match dispatcher::claim(&db, &shared, 1, Some(delivery_id)).await {
                Ok(claimed) => {
                    for one in claimed {
                        let done = dispatcher::attempt(&shared, one).await;
                        record::write(&db, &shared, vec![done]).await;
                    }
                }
                Err(err) => tracing::warn!(delivery_id, error = %err, "cannot claim a test delivery"),
            }
        })
    }
}
