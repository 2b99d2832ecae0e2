//! Prometheus text metrics: requests by route and status, and a latency histogram by route.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    sum_seconds: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<HashMap<String, RouteStats>>,
}

impl Metrics {
    pub fn record(&self, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let stats = match routes.get_mut(route) {
            Some(stats) => stats,
            None => routes.entry(route.to_string()).or_default(),
        };
        *stats.by_status.entry(status).or_default() += 1;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                stats.buckets[i] += 1;
            }
        }
        stats.sum_seconds += seconds;
        stats.count += 1;
    }

    pub fn render(&self) -> String {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<&String> = routes.keys().collect();
        names.sort();
        let mut out = String::new();
        out.push_str("# HELP crm_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE crm_http_requests_total counter\n");
        for name in &names {
            for (status, count) in &routes[*name].by_status {
                let _ = writeln!(out, "crm_http_requests_total{{route=\"{name}\",status=\"{status}\"}} {count}");
            }
        }
        out.push_str("# HELP crm_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE crm_http_request_duration_seconds histogram\n");
        for name in &names {
            let stats = &routes[*name];
            for (bound, count) in BUCKETS.iter().zip(stats.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "crm_http_request_duration_seconds_bucket{{route=\"{name}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "crm_http_request_duration_seconds_bucket{{route=\"{name}\",le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(out, "crm_http_request_duration_seconds_sum{{route=\"{name}\"}} {}", stats.sum_seconds);
            let _ = writeln!(out, "crm_http_request_duration_seconds_count{{route=\"{name}\"}} {}", stats.count);
        }
        out
    }
}

/// Routes are labelled by their template (`/api/v1/webhooks/incoming/lead/{lead_id}/update`), so
/// ids do not multiply the series; unmatched paths share one label.
pub async fn middleware(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(req).await;
    metrics.record(&route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let metrics = Metrics::default();
        metrics.record("/healthz", 200, 0.002);
        metrics.record("/healthz", 200, 0.2);
        let text = metrics.render();
        assert!(text.contains("crm_http_requests_total{route=\"/healthz\",status=\"200\"} 2"), "{text}");
        assert!(
            text.contains("crm_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.0025\"} 1"),
            "{text}"
        );
        assert!(text.contains("crm_http_request_duration_seconds_count{route=\"/healthz\"} 2"), "{text}");
    }
}
