//! Settings of outgoing delivery: the retry schedule, the per-attempt timeout, how many attempts
//! run at once and whether private addresses may be delivered to. Each is a flag with an
//! environment twin (flattened into the CLI), parsed here into [`DeliveryConfig`] with a one-line
//! error naming the setting.

use std::time::Duration;

use clap::Args;

/// Svix's schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after each failure.
pub const DEFAULT_RETRY_SCHEDULE: &str = "0s,5s,5m,30m,2h,5h,10h,10h";

/// Attempts in flight per instance: under saturated ingest the slots, not the receiver, set
/// delivery's pace (`docs/decisions.md`).
pub const DEFAULT_CONCURRENCY: &str = "64";

/// A claim's lease outlives the attempt's timeout by this much.
pub const LEASE_MARGIN: Duration = Duration::from_secs(15);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// The delay before each attempt, the first one included; its length is the attempt count.
    pub retry_schedule: Vec<Duration>,
    /// Per attempt: connecting, sending and reading the answer.
    pub timeout: Duration,
    /// Attempts in flight at most, per instance.
    pub concurrency: usize,
    /// Deliver to loopback and private networks too (local receivers, tests).
    pub allow_private: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            retry_schedule: parse_schedule(DEFAULT_RETRY_SCHEDULE).expect("the default schedule parses"),
            timeout: Duration::from_secs(15),
            concurrency: DEFAULT_CONCURRENCY.parse().expect("the default concurrency parses"),
            allow_private: false,
        }
    }
}

impl DeliveryConfig {
    /// How long a claim holds a delivery: the attempt's timeout plus a margin.
    pub fn lease(&self) -> Duration {
        self.timeout + LEASE_MARGIN
    }
}

/// The raw flags, as given.
#[derive(Args, Debug)]
pub struct DeliverySettings {
    /// Delay before each delivery attempt, first one included (its length is the attempt count).
    #[arg(long, env = "CRM_DELIVERY_RETRY_SCHEDULE", default_value = DEFAULT_RETRY_SCHEDULE, global = true)]
    delivery_retry_schedule: String,
    /// Timeout of one delivery attempt, such as `15s`.
    #[arg(long, env = "CRM_DELIVERY_TIMEOUT", default_value = "15s", global = true)]
    delivery_timeout: String,
    /// Delivery attempts in flight at most.
    #[arg(long, env = "CRM_DELIVERY_CONCURRENCY", default_value = DEFAULT_CONCURRENCY, global = true)]
    delivery_concurrency: String,
    /// Deliver to loopback and private addresses too.
    #[arg(long, env = "CRM_DELIVERY_ALLOW_PRIVATE", default_value = "false", global = true)]
    delivery_allow_private: String,
}

fn error(env: &str, flag: &str, message: impl std::fmt::Display) -> String {
    format!("{env} (--{flag}): {message}")
}

impl DeliverySettings {
    pub fn into_config(self) -> Result<DeliveryConfig, String> {
        let retry_schedule = parse_schedule(&self.delivery_retry_schedule)
            .map_err(|why| error("CRM_DELIVERY_RETRY_SCHEDULE", "delivery-retry-schedule", why))?;
        let timeout = parse_duration(&self.delivery_timeout).filter(|d| !d.is_zero()).ok_or_else(|| {
            error(
                "CRM_DELIVERY_TIMEOUT",
                "delivery-timeout",
                format!("expected a duration above zero such as 15s, got {:?}", self.delivery_timeout),
            )
        })?;
        let concurrency = match self.delivery_concurrency.trim().parse::<usize>() {
            Ok(n) if (1..=1024).contains(&n) => n,
            _ => {
                return Err(error(
                    "CRM_DELIVERY_CONCURRENCY",
                    "delivery-concurrency",
                    format!("expected a whole number from 1 to 1024, got {:?}", self.delivery_concurrency),
                ))
            }
        };
        let allow_private = match self.delivery_allow_private.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" | "" => false,
            _ => {
                return Err(error(
                    "CRM_DELIVERY_ALLOW_PRIVATE",
                    "delivery-allow-private",
                    format!("expected true or false, got {:?}", self.delivery_allow_private),
                ))
            }
        };
        Ok(DeliveryConfig { retry_schedule, timeout, concurrency, allow_private })
    }
}

/// A setting's duration (`15s`, `5m`, `2h`, `30d`, see `crate::setting`), or milliseconds
/// (`250ms`) for short test schedules.
pub fn parse_duration(text: &str) -> Option<Duration> {
    match text.trim().strip_suffix("ms") {
        Some(millis) if !millis.is_empty() && millis.bytes().all(|b| b.is_ascii_digit()) => {
            millis.parse().ok().map(Duration::from_millis)
        }
        Some(_) => None,
        None => crate::setting::duration(text).ok(),
    }
}

/// A comma-separated list of durations, at least one and at most 100.
pub fn parse_schedule(text: &str) -> Result<Vec<Duration>, String> {
    let schedule = text
        .split(',')
        .map(|part| {
            parse_duration(part)
                .ok_or_else(|| format!("expected durations such as 0s,5s,5m separated by commas, got {part:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if schedule.len() > 100 {
        return Err("at most 100 attempts".into());
    }
    Ok(schedule)
}

/// `15 s`, `0.5 s`: how error sentences name a duration.
pub fn describe(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_documented_units() {
        assert_eq!(parse_duration("15s"), Some(Duration::from_secs(15)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("30d"), Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        for bad in ["", "s", "ms", "5x", "-1s", "1.5s", "99999999999999999999d", "7"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_default_schedule_has_eight_attempts() {
        let config = DeliveryConfig::default();
        assert_eq!(config.retry_schedule.len(), 8);
        assert_eq!(config.retry_schedule[0], Duration::ZERO);
        assert_eq!(config.retry_schedule[7], Duration::from_secs(36_000));
        assert_eq!(config.lease(), Duration::from_secs(30));
    }

    #[test]
    fn bad_settings_name_their_variable() {
        let settings = |schedule: &str, timeout: &str, concurrency: &str, private: &str| DeliverySettings {
            delivery_retry_schedule: schedule.into(),
            delivery_timeout: timeout.into(),
            delivery_concurrency: concurrency.into(),
            delivery_allow_private: private.into(),
        };
        let cases = [
            (settings("0s,,5s", "15s", "16", "false"), "CRM_DELIVERY_RETRY_SCHEDULE"),
            (settings("0s", "0s", "16", "false"), "CRM_DELIVERY_TIMEOUT"),
            (settings("0s", "soon", "16", "false"), "CRM_DELIVERY_TIMEOUT"),
            (settings("0s", "15s", "0", "false"), "CRM_DELIVERY_CONCURRENCY"),
            (settings("0s", "15s", "16", "maybe"), "CRM_DELIVERY_ALLOW_PRIVATE"),
        ];
        for (settings, env) in cases {
            let err = settings.into_config().unwrap_err();
            assert!(err.starts_with(env), "{err}");
        }
        let ok = settings("0s,1s", "2s", "4", "true").into_config().unwrap();
        assert_eq!(ok.retry_schedule, vec![Duration::ZERO, Duration::from_secs(1)]);
        assert!(ok.allow_private);
    }

    #[test]
    fn durations_read_as_seconds_in_sentences() {
        assert_eq!(describe(Duration::from_secs(15)), "15 s");
        assert_eq!(describe(Duration::from_millis(500)), "0.5 s");
    }
}
