//! HTTP metrics: requests by route and status, and a latency histogram by route, recorded into
//! the application's [`Metrics`](crate::metrics::Metrics) without a lock shared by requests.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::metrics::Metrics;

pub const REQUESTS: &str = "crm_http_requests_total";
pub const DURATION: &str = "crm_http_request_duration_seconds";

pub fn describe(metrics: &Metrics) {
    metrics.describe_counter(REQUESTS, "HTTP requests by route and status.");
    metrics.describe_histogram(DURATION, "HTTP request latency by route.");
}

pub fn record(metrics: &Metrics, route: &str, status: u16, seconds: f64) {
    metrics.counter(REQUESTS, &[("route", route.to_string()), ("status", status.to_string())]).increment(1);
    metrics.histogram(DURATION, &[("route", route.to_string())]).record(seconds);
}

/// Routes are labelled by their template (`/api/v1/webhooks/incoming/lead/{lead_id}/update`), so
/// ids do not multiply the series; unmatched paths share one label.
pub async fn middleware(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(req).await;
    record(&metrics, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let metrics = Metrics::new();
        describe(&metrics);
        record(&metrics, "/healthz", 200, 0.002);
        record(&metrics, "/healthz", 200, 0.2);
        let text = metrics.render();
        assert!(text.contains("crm_http_requests_total{route=\"/healthz\",status=\"200\"} 2"), "{text}");
        assert!(
            text.contains("crm_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.0025\"} 1"),
            "{text}"
        );
        assert!(text.contains("crm_http_request_duration_seconds_count{route=\"/healthz\"} 2"), "{text}");
        assert!(text.contains("# HELP crm_http_requests_total HTTP requests by route and status."), "{text}");
    }
}
