//! Prometheus metrics of one running service. Each [`Metrics`] is its own recorder of the
//! `metrics` crate (`metrics-exporter-prometheus`), never installed as the process-wide one, so
//! several applications in one process (the tests) keep their numbers apart. Counters, gauges and
//! histograms are lock-free atomics; looking one up by name and labels reads a sharded map.
//!
//! Adding a metric: take a handle once and keep it, or look it up where it is recorded.
//!
//! ```
//! let metrics = crm_webhooks::metrics::Metrics::new();
//! metrics.describe_counter("crm_deliveries_total", "Deliveries by final status.");
//! metrics.counter("crm_deliveries_total", &[("status", "delivered".to_string())]).increment(1);
//! metrics.gauge("crm_delivery_queue_depth", &[]).set(3.0);
//! metrics.histogram("crm_delivery_latency_seconds", &[]).record(0.2);
//! assert!(metrics.render().contains("crm_deliveries_total{status=\"delivered\"} 1"));
//! ```

use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Histogram buckets (seconds) of every histogram: HTTP latency, commit time, task runs.
pub const SECONDS_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Buckets of histograms that count things rather than time (the SQLite writer's batch size).
pub const COUNT_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

const METADATA: Metadata<'static> = Metadata::new("crm_webhooks", Level::INFO, None);

#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn key(name: &'static str, labels: &[(&'static str, String)]) -> Key {
    Key::from_parts(name, labels.iter().map(|(k, v)| Label::new(*k, v.clone())).collect::<Vec<_>>())
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(metrics_exporter_prometheus::Matcher::Suffix("_size".into()), &COUNT_BUCKETS)
            })
            .expect("the bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        Self { recorder: Arc::new(recorder), handle }
    }

    pub fn counter(&self, name: &'static str, labels: &[(&'static str, String)]) -> Counter {
        self.recorder.register_counter(&key(name, labels), &METADATA)
    }

    pub fn gauge(&self, name: &'static str, labels: &[(&'static str, String)]) -> Gauge {
        self.recorder.register_gauge(&key(name, labels), &METADATA)
    }

    /// Buckets are [`SECONDS_BUCKETS`], or [`COUNT_BUCKETS`] for a name ending in `_size`.
    pub fn histogram(&self, name: &'static str, labels: &[(&'static str, String)]) -> Histogram {
        self.recorder.register_histogram(&key(name, labels), &METADATA)
    }

    /// The `# HELP` line of a counter (gauges and histograms: the same functions below).
    pub fn describe_counter(&self, name: &'static str, help: &'static str) {
        self.recorder.describe_counter(name.into(), None, help.into());
    }

    pub fn describe_gauge(&self, name: &'static str, help: &'static str) {
        self.recorder.describe_gauge(name.into(), None, help.into());
    }

    pub fn describe_histogram(&self, name: &'static str, help: &'static str) {
        self.recorder.describe_histogram(name.into(), None, help.into());
    }

    /// The Prometheus text format of everything recorded so far.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds recorded histogram samples into their buckets, so that memory stays flat between
    /// scrapes (run periodically by the application's tasks).
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_registries_do_not_share_numbers() {
        let a = Metrics::new();
        let b = Metrics::new();
        a.counter("crm_test_total", &[("route", "/x".into())]).increment(2);
        assert!(a.render().contains("crm_test_total{route=\"/x\"} 2"), "{}", a.render());
        assert!(!b.render().contains("crm_test_total"), "{}", b.render());
    }

    #[test]
    fn histograms_have_buckets_by_name() {
        let m = Metrics::new();
        m.histogram("crm_x_seconds", &[]).record(0.002);
        m.histogram("crm_x_size", &[]).record(3.0);
        let text = m.render();
        assert!(text.contains("crm_x_seconds_bucket{le=\"0.0025\"} 1"), "{text}");
        assert!(text.contains("crm_x_size_bucket{le=\"4\"} 1"), "{text}");
    }
}
