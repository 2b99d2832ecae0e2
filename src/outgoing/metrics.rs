//! Delivery metrics of design §7 in the application's registry (`crate::metrics`, lock-free):
//! deliveries by the status an attempt left them in, attempts by outcome, the commit-to-delivery
//! latency histogram and the queue depth (pending deliveries, refreshed by the worker).

use std::time::Duration;

use ::metrics::{Counter, Gauge, Histogram};

use super::sender::Outcome;
use crate::metrics::Metrics;

pub const DELIVERIES: &str = "crm_outgoing_deliveries_total";
pub const ATTEMPTS: &str = "crm_outgoing_attempts_total";
pub const LATENCY: &str = "crm_outgoing_delivery_latency_seconds";
pub const QUEUE_DEPTH: &str = "crm_outgoing_queue_depth";

const OUTCOMES: [Outcome; 5] =
    [Outcome::Delivered, Outcome::HttpError, Outcome::Timeout, Outcome::Connection, Outcome::Refused];

/// Where a delivery went after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reached {
    Delivered,
    Retrying,
    Dead,
}

/// Handles taken once; every series shows in `/metrics` from the start, at zero.
pub struct DeliveryMetrics {
    by_status: [Counter; 3],
    attempts: [Counter; 5],
    latency: Histogram,
    queue_depth: Gauge,
}

impl DeliveryMetrics {
    pub fn new(metrics: &Metrics) -> Self {
        metrics.describe_counter(DELIVERIES, "Deliveries by the status an attempt left them in.");
        metrics.describe_counter(ATTEMPTS, "Delivery attempts by outcome.");
        metrics.describe_histogram(LATENCY, "From the commit of a change to the delivery of its event.");
        metrics.describe_gauge(QUEUE_DEPTH, "Pending deliveries.");
        let status = |name: &str| metrics.counter(DELIVERIES, &[("status", name.to_string())]);
        let by_status = [status("delivered"), status("retrying"), status("dead")];
        let attempts = OUTCOMES.map(|outcome| metrics.counter(ATTEMPTS, &[("outcome", outcome.label().to_string())]));
        for counter in by_status.iter().chain(&attempts) {
            counter.increment(0);
        }
        let queue_depth = metrics.gauge(QUEUE_DEPTH, &[]);
        queue_depth.set(0.0);
        DeliveryMetrics { by_status, attempts, latency: metrics.histogram(LATENCY, &[]), queue_depth }
    }

    pub fn attempt(&self, outcome: Outcome) {
        let index = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(0);
        self.attempts[index].increment(1);
    }

    pub fn reached(&self, status: Reached) {
        self.by_status[status as usize].increment(1);
    }

    pub fn latency(&self, elapsed: Duration) {
        self.latency.record(elapsed.as_secs_f64());
    }

    pub fn set_queue_depth(&self, pending: i64) {
        self.queue_depth.set(pending as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_series_is_rendered() {
        let registry = Metrics::new();
        let metrics = DeliveryMetrics::new(&registry);
        metrics.attempt(Outcome::Timeout);
        metrics.reached(Reached::Delivered);
        metrics.latency(Duration::from_millis(15));
        metrics.set_queue_depth(7);
        let text = registry.render();
        for line in [
            "crm_outgoing_attempts_total{outcome=\"timeout\"} 1",
            "crm_outgoing_attempts_total{outcome=\"delivered\"} 0",
            "crm_outgoing_deliveries_total{status=\"delivered\"} 1",
            "crm_outgoing_delivery_latency_seconds_bucket{le=\"0.025\"} 1",
            "crm_outgoing_queue_depth 7",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}
