//! Settings of a running service. Parsed once by the CLI (`cli.rs`), then passed by value:
//! nothing reads the environment after start-up.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// A secret string (a webhook secret, the admin token) held in `secrecy`'s [`SecretString`]:
/// `Debug` never shows the value, so a config dump cannot leak it, and the memory is zeroed
/// when dropped. [`Secret::expose`] is the one way to the value, for the code that compares or
/// signs with it.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// SQLite `synchronous`: `normal` survives a killed process (WAL), `full` survives power loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSynchronous {
    Normal,
    Full,
}

/// Requests per minute per client IP when `CRM_RATE_LIMIT_PER_MINUTE` is not set.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 100;
/// Largest request body when `CRM_MAX_BODY_BYTES` is not set (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// A client that has not sent its whole body by then gets 408.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// See [`Config::settle_window`].
pub const SETTLE_WINDOW: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    /// Every listed secret verifies (rotation); empty means verification is off.
    pub webhook_secrets: Vec<Secret>,
    pub admin_token: Option<Secret>,
    /// Requests per minute per client IP on the webhook API; 0 turns the limiter off.
    pub rate_limit_per_minute: u32,
    /// Failed signatures and admin tokens per minute per client IP before 429; 0 turns it off.
    pub signature_failures_per_minute: u32,
    pub max_body_bytes: usize,
    pub trust_forwarded_for: bool,
    pub log_format: LogFormat,
    /// A client that has not finished sending its body by then gets 408.
    pub body_timeout: Duration,
    pub db_max_connections: u32,
    pub sqlite_synchronous: SqliteSynchronous,
    /// Open client connections at most; more wait in the listen backlog.
    pub max_connections: usize,
    /// Allow serving the admin routes without a token on a non-loopback address.
    pub insecure_open_admin: bool,
    /// How long a write may take from taking its timestamp to committing. Changes younger than
    /// this are not yet answered to `sort=updated_at` syncs, so a sync never skips a change that
    /// commits late.
    pub settle_window: Duration,
    /// Outgoing webhooks: retry schedule, timeout, concurrency, private addresses.
    pub delivery: crate::outgoing::DeliveryConfig,
    /// How long log rows and finished deliveries are kept.
    pub retention: crate::retention::RetentionConfig,
}

impl Config {
    /// Settings for tests and embedding: loopback, verification off, limits as documented.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.into(),
            webhook_secrets: Vec::new(),
            admin_token: None,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            signature_failures_per_minute: 20,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            trust_forwarded_for: false,
            log_format: LogFormat::Text,
            body_timeout: BODY_TIMEOUT,
            db_max_connections: 8,
            sqlite_synchronous: SqliteSynchronous::Normal,
            insecure_open_admin: false,
            max_connections: 4096,
            settle_window: SETTLE_WINDOW,
            delivery: crate::outgoing::DeliveryConfig::default(),
            retention: crate::retention::RetentionConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_secret() {
        let mut config = Config::for_database("sqlite://x.db");
        config.webhook_secrets = vec![Secret::new("hook-s3cret-value"), Secret::new("whsec_b2xkLXNlY3JldA")];
        config.admin_token = Some(Secret::new("admin-t0ken-value"));
        let printed = format!("{config:?} {config:#?}");
        for secret in ["hook-s3cret-value", "whsec_b2xkLXNlY3JldA", "b2xkLXNlY3JldA", "admin-t0ken-value"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("[redacted]"), "{printed}");
        assert_eq!(config.admin_token.as_ref().map(Secret::expose), Some("admin-t0ken-value"));
    }
}
