//! One HTTP attempt of a delivery: a shared reqwest client (rustls, connection reuse, no
//! redirects, no proxy, DNS through the SSRF guard), Standard Webhooks headers, a deadline over the whole
//! attempt, at most 64 KiB of the answer read, and every failure told in one sentence
//! (`timeout after 15 s`, `connection refused`, `HTTP 500`, …).

use std::error::Error as _;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use super::settings::{describe, DeliveryConfig};
use super::signer;
use super::ssrf::{self, GuardedResolver, Refused};

/// The first this many bytes of an answer are kept; the rest is never read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// A `Retry-After` longer than this is cut to it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

pub const AGENT: &str = concat!("crm-webhooks/", env!("CARGO_PKG_VERSION"));

/// How an attempt ended, for metrics and retry decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    HttpError,
    Timeout,
    Connection,
    Refused,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::HttpError => "http_error",
            Outcome::Timeout => "timeout",
            Outcome::Connection => "connection_error",
            Outcome::Refused => "address_refused",
        }
    }
}

/// What one attempt sent and got.
#[derive(Debug)]
pub struct Attempt {
    pub outcome: Outcome,
    pub status: Option<u16>,
    /// The first 64 KiB of the answer, as text.
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// From a 429 or 503 answer's `Retry-After` (seconds), at most an hour.
    pub retry_after: Option<Duration>,
    /// The headers sent, the signature redacted (for the log).
    pub logged_headers: String,
    pub duration: Duration,
}

/// What to send.
pub struct Outbound<'a> {
    pub url: &'a str,
    pub webhook_id: &'a str,
    pub body: &'a str,
    pub secrets: Vec<&'a str>,
}

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    timeout: Duration,
    allow_private: bool,
}

impl Sender {
    pub fn new(config: &DeliveryConfig) -> anyhow::Result<Sender> {
        let client = reqwest::Client::builder()
            // A proxy from the environment would resolve the receiver's name itself, past the guard.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver { allow_private: config.allow_private })
            .connect_timeout(config.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(config.concurrency)
            .build()
            .map_err(|err| anyhow::anyhow!("cannot build the delivery HTTP client: {err}"))?;
        Ok(Sender { client, timeout: config.timeout, allow_private: config.allow_private })
    }

    pub async fn send(&self, out: &Outbound<'_>) -> Attempt {
        let started = Instant::now();
        let timestamp = chrono::Utc::now().timestamp();
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
        let signature = signer::signature_header(&out.secrets, out.webhook_id, timestamp, out.body.as_bytes());
        let mut logged = serde_json::Map::new();
        for (name, value) in [
            ("content-type", "application/json".to_string()),
            ("user-agent", AGENT.to_string()),
            ("webhook-id", out.webhook_id.to_string()),
            ("webhook-timestamp", timestamp.to_string()),
        ] {
            logged.insert(name.into(), value.clone().into());
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        if let Ok(value) = HeaderValue::from_str(&signature) {
            headers.insert("webhook-signature", value);
        }
        logged.insert("webhook-signature".into(), "[redacted]".into());
        let logged_headers = serde_json::Value::Object(logged).to_string();
        let mut attempt = self.exchange(out, headers, started).await;
        attempt.logged_headers = logged_headers;
        attempt.duration = started.elapsed();
        attempt
    }

    async fn exchange(&self, out: &Outbound<'_>, headers: HeaderMap, started: Instant) -> Attempt {
        let failed = |outcome: Outcome, error: String| Attempt {
            outcome,
            status: None,
            response_body: None,
            error: Some(error),
            retry_after: None,
            logged_headers: String::new(),
            duration: Duration::ZERO,
        };
        let url = match ssrf::check_url(out.url, self.allow_private) {
            Ok(url) => url,
            Err(why) => return failed(Outcome::Refused, why.to_string()),
        };
        let deadline = tokio::time::Instant::from_std(started + self.timeout);
        let request = self.client.post(url).headers(headers).body(out.body.to_string()).send();
        let response = match tokio::time::timeout_at(deadline, request).await {
            Err(_) => return failed(Outcome::Timeout, format!("timeout after {}", describe(self.timeout))),
            Ok(Err(err)) => return self.failure(&err),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let retry_after = match status {
            429 | 503 => retry_after(response.headers().get(RETRY_AFTER)),
            _ => None,
        };
        // The status decides; the answer is read until the deadline and 64 KiB, whichever first.
        let body = read_capped(response, deadline).await;
        let delivered = (200..300).contains(&status);
        Attempt {
            outcome: if delivered { Outcome::Delivered } else { Outcome::HttpError },
            status: Some(status),
            response_body: Some(body),
            error: (!delivered).then(|| format!("HTTP {status}")),
            retry_after,
            logged_headers: String::new(),
            duration: Duration::ZERO,
        }
    }

    fn failure(&self, err: &reqwest::Error) -> Attempt {
        let (outcome, error) = describe_error(err, self.timeout);
        Attempt {
            outcome,
            status: None,
            response_body: None,
            error: Some(error),
            retry_after: None,
            logged_headers: String::new(),
            duration: Duration::ZERO,
        }
    }
}

async fn read_capped(mut response: reqwest::Response, deadline: tokio::time::Instant) -> String {
    let mut kept: Vec<u8> = Vec::new();
    while kept.len() < MAX_RESPONSE_BYTES {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                let room = MAX_RESPONSE_BYTES - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&kept).replace('\0', "\u{FFFD}")
}

/// `Retry-After` in seconds (an HTTP date is not honoured), at most an hour.
fn retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    let seconds: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// One sentence for a failed request, from the innermost cause that says something.
fn describe_error(err: &reqwest::Error, timeout: Duration) -> (Outcome, String) {
    if err.is_timeout() {
        return (Outcome::Timeout, format!("timeout after {}", describe(timeout)));
    }
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return (Outcome::Refused, refused.to_string());
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            let sentence = match io.kind() {
                ConnectionRefused => "connection refused",
                ConnectionReset => "connection reset by the receiver",
                ConnectionAborted | BrokenPipe | UnexpectedEof => "connection closed before a response",
                TimedOut => return (Outcome::Timeout, format!("timeout after {}", describe(timeout))),
                _ => "",
            };
            if !sentence.is_empty() {
                return (Outcome::Connection, sentence.to_string());
            }
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            if hyper.is_incomplete_message() || hyper.is_canceled() || hyper.is_closed() {
                return (Outcome::Connection, "connection closed before a response".into());
            }
            if hyper.is_parse() || hyper.is_parse_status() {
                return (Outcome::Connection, "invalid HTTP response".into());
            }
        }
        source = cause.source();
    }
    if err.is_connect() {
        return (Outcome::Connection, format!("cannot connect: {}", innermost(err)));
    }
    (Outcome::Connection, format!("request failed: {}", innermost(err)))
}

fn innermost(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text = cause.to_string();
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_at_most_an_hour() {
        assert_eq!(retry_after(Some(&HeaderValue::from_static("120"))), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(Some(&HeaderValue::from_static("86400"))), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(Some(&HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"))), None);
        assert_eq!(retry_after(None), None);
    }
}
