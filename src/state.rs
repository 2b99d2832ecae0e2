//! What every handler can reach.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::http::rate_limit::RateLimiter;
use crate::metrics::Metrics;
use crate::outgoing::Outgoing;
use crate::webhook::signature::Verifier;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub verifier: Arc<Verifier>,
    pub metrics: Metrics,
    /// Per-IP budget of failed signatures and admin tokens (`None`: unlimited).
    pub signature_failures: Option<Arc<RateLimiter>>,
    /// Outgoing webhooks: delivery settings, the sender, and the bell that wakes the worker.
    pub outgoing: Outgoing,
}
