//! Whether any subscription can be listening, as this instance last saw it. A commit that wrote
//! an outgoing event wakes the delivery worker only when one can: with no enabled subscription
//! the event has no delivery, and the worker's claim (a write transaction on PostgreSQL, a read
//! on SQLite) would find nothing. The worker looks again at least every second it runs
//! ([`Listeners::look`]), so a subscription made or enabled by another instance is seen within
//! that time (its first deliveries go out at the worker's next poll meanwhile, never lost); one
//! changed through this instance counts at once ([`Listeners::changed`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// Every enabled subscription (an index of `disabled` is not worth its writes: the table is small).
const ANY_ENABLED: &str = "select id from webhook_subscriptions where disabled = $1 limit 1";

/// No "none seen" yet: someone may be listening.
const UNKNOWN: u64 = u64::MAX;

/// The instance's view: the count of subscription changes made through it, and the count at which
/// the worker last found no enabled subscription (or [`UNKNOWN`]). A change made after the worker
/// looked moves the first count, so a look that raced with it cannot hide it.
pub struct Listeners {
    changes: AtomicU64,
    none_at: AtomicU64,
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners { changes: AtomicU64::new(0), none_at: AtomicU64::new(UNKNOWN) }
    }
}

impl Listeners {
    /// Whether a commit's event may have deliveries to wake the worker for.
    pub fn may_listen(&self) -> bool {
        self.none_at.load(Ordering::Acquire) != self.changes.load(Ordering::Acquire)
    }

    /// A subscription was created, changed or deleted through this instance.
    pub fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Asks the database whether any subscription is enabled, and keeps the answer. On an error
    /// the worker keeps being woken.
    pub async fn look(&self, pool: &sqlx::AnyPool) {
        let before = self.changes.load(Ordering::Acquire);
        let found = sqlx::query(ANY_ENABLED).bind(false).fetch_optional(pool).await;
        self.seen(before, matches!(found, Ok(None)));
    }

    /// Keeps what a look that started at `changes` = `before` found.
    fn seen(&self, before: u64, none: bool) {
        self.none_at.store(if none { before } else { UNKNOWN }, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn someone_may_listen_until_a_look_finds_no_one() {
        let listeners = Listeners::default();
        assert!(listeners.may_listen());
        listeners.seen(0, true);
        assert!(!listeners.may_listen());
        listeners.seen(0, false);
        assert!(listeners.may_listen());
    }

    #[test]
    fn a_change_through_this_instance_counts_at_once() {
        let listeners = Listeners::default();
        listeners.seen(0, true);
        listeners.changed();
        assert!(listeners.may_listen());
        listeners.seen(1, true);
        assert!(!listeners.may_listen());
    }

    #[test]
    fn a_look_that_raced_with_a_change_does_not_hide_it() {
        let listeners = Listeners::default();
        // The worker reads the count (0), then a subscription is created, then the worker's
        // query (which started before the create committed) comes back empty.
        let before = listeners.changes.load(Ordering::Acquire);
        listeners.changed();
        listeners.seen(before, true);
        assert!(listeners.may_listen());
    }
}
