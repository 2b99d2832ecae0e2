//! Typed parsers of settings, for clap's `value_parser`: each turns the text of one setting into
//! its value, or into a one-line reason. [`named`] puts the environment variable in front of
//! the reason, so that clap's one-line error names it whether the value came from the flag or
//! from the environment:
//!
//! ```
//! use crm_webhooks::setting::{duration, named};
//! let parse = named("CRM_DELIVERY_TIMEOUT", duration);
//! assert_eq!(parse("15s"), Ok(std::time::Duration::from_secs(15)));
//! assert!(parse("soon").unwrap_err().starts_with("CRM_DELIVERY_TIMEOUT: "));
//! ```
//!
//! In a settings struct: `#[arg(long, env = "CRM_X", default_value = "5m",
//! value_parser = named("CRM_X", duration))] x: Duration`.

use std::net::SocketAddr;
use std::time::Duration;

/// Wraps `parse` so that its error names `env`.
pub fn named<T: 'static>(
    env: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |text: &str| parse(text).map_err(|reason| format!("{env}: {reason}"))
}

/// A duration written as a whole number and a unit: `15s`, `5m`, `2h`, `30d`. `0` alone (no
/// unit) is zero, for settings where zero turns something off.
pub fn duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let expected = || format!("expected a duration such as 15s, 5m, 2h or 30d, got {text:?}");
    if trimmed == "0" {
        return Ok(Duration::ZERO);
    }
    let unit_at = trimmed.find(|c: char| !c.is_ascii_digit()).ok_or_else(expected)?;
    let (number, unit) = trimmed.split_at(unit_at);
    let seconds_per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(expected()),
    };
    let number: u64 = number.parse().map_err(|_| expected())?;
    number.checked_mul(seconds_per_unit).map(Duration::from_secs).ok_or_else(|| format!("{text:?} is too long"))
}

/// A whole number, 0 included (for limits where 0 turns them off).
pub fn whole(text: &str) -> Result<u32, String> {
    text.trim().parse().map_err(|_| format!("expected a whole number (0 turns it off), got {text:?}"))
}

/// A whole number above zero.
pub fn positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive whole number, got {text:?}")),
    }
}

/// A whole number above zero that fits a `u32` (pool sizes).
pub fn positive_u32(text: &str) -> Result<u32, String> {
    positive(text)?.try_into().map_err(|_| format!("{text:?} is too large"))
}

/// `true`/`false`, also `1`/`0`, `yes`/`no`, `on`/`off`; empty is false.
pub fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("expected true or false, got {text:?}")),
    }
}

/// `HOST:PORT`.
pub fn socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| format!("expected HOST:PORT such as 127.0.0.1:8000, got {text:?}"))
}

/// One of the names of a `clap::ValueEnum`, in any case.
pub fn one_of<T: clap::ValueEnum>(text: &str) -> Result<T, String> {
    T::from_str(text.trim(), true).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        format!("expected {}, got {text:?}", names.join(" or "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogFormat;

    #[test]
    fn durations_take_a_number_and_a_unit() {
        assert_eq!(duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(duration(" 30d "), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(duration("0s"), Ok(Duration::ZERO));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations_are_refused_with_the_text_given() {
        for bad in ["", "15", "s", "15 s", "1.5h", "-5m", "5M", "2w", "10ms", "5m30s", "abc"] {
            let err = duration(bad).unwrap_err();
            assert!(err.contains("expected a duration such as 15s, 5m, 2h or 30d"), "{bad:?}: {err}");
        }
        assert!(duration("99999999999999999999d").is_err());
        assert!(duration("999999999999999999d").unwrap_err().contains("too long"));
    }

    #[test]
    fn named_puts_the_environment_variable_first() {
        let parse = named("CRM_LOG_RETENTION", duration);
        assert_eq!(parse("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(
            parse("x").unwrap_err(),
            "CRM_LOG_RETENTION: expected a duration such as 15s, 5m, 2h or 30d, got \"x\""
        );
    }

    #[test]
    fn numbers_flags_addresses_and_names() {
        assert_eq!(whole("0"), Ok(0));
        assert!(whole("-1").is_err());
        assert_eq!(positive("8"), Ok(8));
        assert!(positive("0").is_err());
        assert!(positive_u32("99999999999").unwrap_err().contains("too large"));
        assert_eq!(boolean("Yes"), Ok(true));
        assert_eq!(boolean(""), Ok(false));
        assert!(boolean("maybe").is_err());
        assert!(socket_addr("127.0.0.1:8000").is_ok());
        assert!(socket_addr("nonsense").is_err());
        assert_eq!(one_of::<LogFormat>("JSON"), Ok(LogFormat::Json));
        assert_eq!(one_of::<LogFormat>("xml").unwrap_err(), "expected text or json, got \"xml\"");
    }
}
