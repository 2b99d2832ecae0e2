//! The two retention settings, flattened into the CLI: how long webhook log rows are kept, and how
//! long finished outgoing deliveries (and their events and attempts) are kept. `0` keeps
//! everything.

use std::time::Duration;

use clap::Args;

use crate::setting::{self, named};

/// `CRM_LOG_RETENTION` when not set.
pub const DEFAULT_LOG_RETENTION: Duration = Duration::from_secs(30 * 86_400);
/// `CRM_OUTBOX_RETENTION` when not set.
pub const DEFAULT_OUTBOX_RETENTION: Duration = Duration::from_secs(7 * 86_400);
/// How often a purge run starts (the first one at start-up).
pub const EVERY: Duration = Duration::from_secs(60);
/// The shortest retention taken: anything shorter (`30s`, `30m` for `30d`) is far more likely a
/// slip than a wish, and would delete what an operator is still looking at.
pub const SHORTEST: Duration = Duration::from_secs(3600);

/// How long rows are kept; [`Duration::ZERO`] keeps them for ever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Webhook log rows, by `created_at`.
    pub logs: Duration,
    /// Delivered, dead and cancelled deliveries with their attempts, by the time they finished;
    /// outbox events once no delivery is left for them, by `created_at`.
    pub outbox: Duration,
    /// How often a purge run starts: [`EVERY`] (not a setting; tests shorten it).
    pub every: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { logs: DEFAULT_LOG_RETENTION, outbox: DEFAULT_OUTBOX_RETENTION, every: EVERY }
    }
}

/// The raw flags, as given.
#[derive(Args, Debug)]
pub struct RetentionSettings {
    /// How long webhook log rows are kept, such as `30d` (`0` keeps them all).
    #[arg(long, env = "CRM_LOG_RETENTION", default_value = "30d", global = true,
          value_parser = named("CRM_LOG_RETENTION", retention))]
    log_retention: Duration,
    /// How long finished outgoing deliveries and their events are kept, such as `7d` (`0` keeps them all).
    #[arg(long, env = "CRM_OUTBOX_RETENTION", default_value = "7d", global = true,
          value_parser = named("CRM_OUTBOX_RETENTION", retention))]
    outbox_retention: Duration,
}

impl RetentionSettings {
    pub fn into_config(self) -> RetentionConfig {
        RetentionConfig { logs: self.log_retention, outbox: self.outbox_retention, every: EVERY }
    }
}

/// A duration (see [`setting::duration`]) that is `0` or at least [`SHORTEST`].
pub fn retention(text: &str) -> Result<Duration, String> {
    let kept = setting::duration(text)?;
    if !kept.is_zero() && kept < SHORTEST {
        return Err(format!("expected 0 (keep everything) or at least 1h, got {text:?}"));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retention_is_zero_or_at_least_an_hour() {
        assert_eq!(retention("0"), Ok(Duration::ZERO));
        assert_eq!(retention("0d"), Ok(Duration::ZERO));
        assert_eq!(retention("1h"), Ok(SHORTEST));
        assert_eq!(retention("30d"), Ok(DEFAULT_LOG_RETENTION));
        assert_eq!(retention("7d"), Ok(DEFAULT_OUTBOX_RETENTION));
        assert_eq!(retention("30m").unwrap_err(), "expected 0 (keep everything) or at least 1h, got \"30m\"");
        assert!(retention("59m").is_err());
        assert!(retention("3599s").is_err());
        assert!(retention("forever").unwrap_err().contains("expected a duration"));
    }
}
