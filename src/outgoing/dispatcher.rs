//! The delivery worker: claims due deliveries as leases (one short write), sends each outside any
//! transaction with at most `CRM_DELIVERY_CONCURRENCY` in flight, and has every attempt recorded
//! ([`super::record`], in batches) with the delivery's next state — delivered on a 2xx, else the
//! next attempt after the schedule's delay (±20 % jitter, at least a 429/503's `Retry-After`),
//! `dead` after the last. `410 Gone` disables the subscription, and so do five days of failures.
//! It claims for many slots at once: when half of them are free, when none is busy, or at once
//! when a commit queued deliveries. It polls (after finding nothing due, not before the next
//! pending delivery's time, at most 2 s), and is woken early by commits that wrote an event while
//! a subscription may take it ([`super::listeners`]), by changes that release waiting deliveries
//! and by recorded attempts; stopping it waits for the attempts in flight and their records.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::lease::{self, Claimed, Completion};
use super::listeners::Listeners;
use super::metrics::DeliveryMetrics;
use super::record::{self, Recorded};
use super::sender::{Outbound, Outcome, Sender};
use super::settings::DeliveryConfig;
use crate::db::{Db, Engine};
use crate::domain::error::StoreError;
use crate::domain::{time, EntityType};
use crate::logs::store::NewLog;
use crate::tasks::{Shutdown, Tasks};

/// How long the worker sleeps when nothing woke it.
const POLL: Duration = Duration::from_millis(250);
/// After a claim found nothing, the worker sleeps until the next pending delivery's time, at
/// most this long (a lease left by another instance runs out unannounced), unless woken.
const IDLE_MAX: Duration = Duration::from_secs(2);
/// How often the queue depth gauge, and whether any subscription is enabled, are refreshed.
const DEPTH_EVERY: Duration = Duration::from_secs(1);
/// A subscription failing this long is disabled.
const FAILING_LIMIT: chrono::Duration = chrono::Duration::days(5);

/// What the worker and the routes share.
pub struct Shared {
    pub config: DeliveryConfig,
    pub sender: Sender,
    pub metrics: DeliveryMetrics,
    /// Rung by commits that wrote an event while a subscription may take it, and by changes that
    /// release waiting deliveries.
    pub wake: Notify,
    /// Rung when attempts are recorded (the next delivery about a record may be due).
    pub recorded: Notify,
    /// Whether a commit's event can have a delivery (the worker keeps it up to date).
    pub listeners: Listeners,
}

/// Starts the worker as the task `delivery_worker`. On SQLite, where one instance owns the
/// database, leases left by a killed process are taken back first.
pub async fn start(db: Db, shared: Arc<Shared>, tasks: &Tasks) -> anyhow::Result<()> {
    if db.engine() == Engine::Sqlite {
        let released = db.write(|conn| Box::pin(async move { Ok(lease::release_all(conn).await?) })).await;
        match released {
            Ok(0) => {}
            Ok(n) => tracing::info!(deliveries = n, "took back the delivery leases of the previous run"),
            Err(err) => anyhow::bail!("cannot take back delivery leases: {err}"),
        }
    }
    tasks.spawn("delivery_worker", move |shutdown| run(db, shared, shutdown));
    Ok(())
}

/// Claims and sends until shutdown, then waits for the attempts in flight and their records.
async fn run(db: Db, shared: Arc<Shared>, mut shutdown: Shutdown) -> anyhow::Result<()> {
    let (recorder, recording) = record::start(db.clone(), shared.clone());
    let mut in_flight: JoinSet<()> = JoinSet::new();
    // Refreshed on the first turn, then every DEPTH_EVERY.
    let mut depth_at: Option<tokio::time::Instant> = None;
    let slots = shared.config.concurrency;
    // Claim whatever is free on the first turn, after a commit's wake and after a pause.
    let mut claim_now = true;
    loop {
        while in_flight.try_join_next().is_some() {}
        if depth_at.is_none_or(|at| at.elapsed() >= DEPTH_EVERY) {
            depth_at = Some(tokio::time::Instant::now());
            if let Ok(depth) = lease::queue_depth(db.pool()).await {
                shared.metrics.set_queue_depth(depth);
            }
            shared.listeners.look(db.pool()).await;
        }
        let free = slots.saturating_sub(in_flight.len());
        let mut pause = POLL;
        if free > 0 && (claim_now || in_flight.is_empty() || free * 2 >= slots) {
            match claim(&db, &shared, free, None).await {
                Ok(batch) => {
                    if batch.is_empty() {
                        pause = idle_pause(&db).await;
                    }
                    for claimed in batch {
                        let (shared, recorder) = (shared.clone(), recorder.clone());
                        in_flight.spawn(async move {
                            let done = attempt(&shared, claimed).await;
                            // Fails only once the recorder is gone, after shutdown.
                            let _ = recorder.send(done).await;
                        });
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot claim deliveries"),
            }
        }
        claim_now = false;
        tokio::select! {
            biased;
            () = shutdown.requested() => break,
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = shared.wake.notified() => claim_now = true,
            _ = shared.recorded.notified() => {}
            _ = tokio::time::sleep(pause) => claim_now = true,
        }
    }
    while in_flight.join_next().await.is_some() {}
    drop(recorder);
    let _ = recording.await;
    Ok(())
}

/// How long to sleep when nothing is due: until the next pending delivery's time, between
/// [`POLL`] and [`IDLE_MAX`]. Deliveries that wait for a disabled subscription or an earlier
/// delivery become due by a change that wakes the worker, so they are not walked again meanwhile.
async fn idle_pause(db: &Db) -> Duration {
    let now = chrono::Utc::now();
    match lease::next_time(db.pool(), &time::format(now)).await {
        Ok(Some(next)) => chrono::DateTime::parse_from_rfc3339(&next)
            .ok()
            .and_then(|at| (at.with_timezone(&chrono::Utc) - now).to_std().ok())
            .map_or(POLL, |wait| wait.clamp(POLL, IDLE_MAX)),
        Ok(None) => IDLE_MAX,
        Err(_) => POLL,
    }
}

/// Claims up to `limit` due deliveries (or the one `only`).
pub async fn claim(db: &Db, shared: &Shared, limit: usize, only: Option<i64>) -> Result<Vec<Claimed>, StoreError> {
    let now = chrono::Utc::now();
    let now_text = time::format(now);
    // On SQLite the claim takes the one writer: a read on another connection tells first whether
    // there is anything to claim.
    if only.is_none() && db.engine() == Engine::Sqlite && !lease::any_due(db.pool(), &now_text).await? {
        return Ok(Vec::new());
    }
    let until = time::format(now + chrono::Duration::from_std(shared.config.lease()).unwrap_or_default());
    let engine = db.engine();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    db.write(move |conn| Box::pin(async move { Ok(lease::claim(conn, engine, &now_text, &until, limit, only).await?) }))
        .await
}

/// The URL as logged: without user info.
fn loggable(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => url.to_string(),
    }
}

fn entity(name: Option<&str>) -> Option<&'static str> {
    [EntityType::PreLead, EntityType::Lead, EntityType::Customer]
        .into_iter()
        .map(EntityType::as_str)
        .find(|known| Some(*known) == name)
}

/// `delay` ±20 %.
fn jittered(delay: Duration) -> Duration {
    delay.mul_f64(rand::rng().random_range(0.8..=1.2))
}

/// Sends one claimed delivery; the result is what [`record`] writes.
pub async fn attempt(shared: &Shared, claimed: Claimed) -> Recorded {
    let started_at = time::now();
    let mut secrets = vec![claimed.secret.as_str()];
    secrets.extend(claimed.previous_secret.as_deref());
    let out = Outbound { url: &claimed.url, webhook_id: &claimed.webhook_id, body: &claimed.payload, secrets };
    let sent = shared.sender.send(&out).await;
    let now = chrono::Utc::now();
    let number = claimed.attempts + 1;
    let schedule = &shared.config.retry_schedule;
    let gone = sent.status == Some(410);
    let (status, next) = if sent.outcome == Outcome::Delivered {
        ("delivered", now)
    } else if gone || number >= schedule.len() as i64 {
        ("dead", now)
    } else {
        let delay = jittered(schedule[number as usize]).max(sent.retry_after.unwrap_or_default());
        ("pending", now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1)))
    };
    let log = NewLog {
        direction: "outgoing",
        event: Some(claimed.event_type.clone()),
        method: "POST".into(),
        path: loggable(&claimed.url),
        request_headers: sent.logged_headers.clone(),
        request_body: Some(claimed.payload.clone()),
        response_status: sent.status.unwrap_or(0),
        response_body: sent.response_body.clone(),
        error_message: sent.error.clone(),
        entity_type: entity(claimed.entity_type.as_deref()),
        entity_id: claimed.entity_id,
        idempotency_key: Some(claimed.webhook_id.clone()),
        duration_ms: sent.duration.as_secs_f64() * 1000.0,
        created_at: started_at.clone(),
        processed_at: time::format(now),
        ..NewLog::default()
    };
    let done = Completion {
        delivery_id: claimed.id,
        subscription_id: claimed.subscription_id,
        token: claimed.token.clone(),
        attempt: number,
        started_at,
        duration_ms: log.duration_ms,
        status_code: sent.status.map(i64::from),
        error: sent.error.clone(),
        status,
        next_attempt_at: time::format(next),
        now: time::format(now),
        disable: gone.then(|| "the receiver answered 410 Gone".to_string()),
        failing_limit: time::format(now - FAILING_LIMIT),
        log,
    };
    shared.metrics.attempt(sent.outcome);
    Recorded { done, event_created_at: claimed.event_created_at }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(100)).as_secs_f64();
            assert!((80.0..=120.0).contains(&d), "{d}");
        }
    }

    #[test]
    fn logged_urls_lose_their_user_info() {
        assert_eq!(loggable("https://user:pw@example.com/hook?x=1"), "https://example.com/hook?x=1");
    }
}
