//! SQLite alone doing what the writer thread does for each `create_lead`, with no HTTP, no
//! parsing and no crm-webhooks code in between: in batches of BATCH jobs (one transaction each),
//! every job a savepoint with the lead, its first status-history row and the webhook log row,
//! with the values a signed new_lead from bench/run.sh produces. It gives the floor of the
//! writer's time per request on this machine, the SQLite counterpart of `pg_alone_create`.
//!
//!   cargo run --release --example sqlite_alone [JOBS] [BATCH]     (defaults 200000 and 16)
//!
//! Same schema and pragmas as the service; checkpoints are taken between measured stretches
//! (the service runs them on a thread of their own) and are not counted.

use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

const SCHEMA: &str = include_str!("../migrations/sqlite/0001_core.sql");
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
     PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0;";
const NOW: &str = "2026-11-28T13:00:00.000000Z";
const RAW: &str = r#"{"first_name":"Bench1","last_name":"Lead","email":"bench.lead1@example.com","phone":"+1 555 1","company_name":"Bench Co 1","designation":"Buyer","source":"website","priority":"medium","product_interest":"CRM seats","requirements":"Load test lead number 1","expected_value":1500.50,"city":"Springfield","country":"US","notes":"created by bench/run.sh"}"#;
const HEADERS: &str = r#"{"content-type":"application/json","content-length":"520","user-agent":"wrk","x-webhook-signature":"[redacted]"}"#;

fn job(conn: &Connection, n: u64) -> rusqlite::Result<()> {
    conn.prepare_cached("savepoint sp1")?.execute([])?;
    let lead_id: i64 = conn
        .prepare_cached(
            "insert into leads (first_name, last_name, email, phone, company_name, designation, source, \
             source_details, priority, product_interest, requirements, expected_value_cents, city, country, notes, \
             lead_status, received_from, raw_payload, created_at, updated_at) \
             values ($1, 'Lead', $2, '+1 555 1', 'Bench Co 1', 'Buyer', 'website', null, 'medium', 'CRM seats', \
             'Load test lead number 1', 150050, 'Springfield', 'US', 'created by bench/run.sh', 'new', 'bench', $3, \
             $4, $4) returning id",
        )?
        .query_row(params![format!("Bench{n}"), format!("bench.lead{n}@example.com"), RAW, NOW], |row| row.get(0))?;
    conn.prepare_cached(
        "insert into status_history (entity_type, entity_id, old_status, new_status, remarks, status_date, event, \
         created_at) values ('lead', $1, null, 'new', 'Created', $2, 'new_lead', $2)",
    )?
    .execute(params![lead_id, NOW])?;
    let body = format!(r#"{{"event":"new_lead","source":"bench","timestamp":"2026-01-01T00:00:00Z","data":{RAW}}}"#);
    let answer = format!(
        r#"{{"status":"success","message":"Lead created successfully","data":{{"lead_id":{lead_id},"lead_status":"new"}}}}"#
    );
    conn.prepare_cached(
        "insert into webhook_logs (direction, event, source, method, path, remote_addr, request_headers, \
         request_body, response_status, response_body, is_successful, error_message, entity_type, entity_id, \
         idempotency_key, request_id, duration_ms, created_at, processed_at) \
         values ('incoming', 'new_lead', 'bench', 'POST', '/api/v1/webhooks/incoming/lead/create', '127.0.0.1', \
         $1, $2, 200, $3, 1, null, 'lead', $4, null, $5, 0.5, $6, $6) returning id",
    )?
    .query_row(params![HEADERS, body, answer, lead_id, format!("req-{n}"), NOW], |row| row.get::<_, i64>(0))?;
    conn.prepare_cached("release savepoint sp1")?.execute([])?;
    Ok(())
}

fn main() -> rusqlite::Result<()> {
    let mut args = std::env::args().skip(1);
    let jobs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let batch: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(16).max(1);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let conn = Connection::open(dir.path().join("alone.db"))?;
    conn.execute_batch(PRAGMAS)?;
    conn.execute_batch(SCHEMA)?;
    let mut measured = Duration::ZERO;
    let mut done = 0;
    while done < jobs {
        let started = Instant::now();
        conn.prepare_cached("begin immediate")?.execute([])?;
        for _ in 0..batch.min(jobs - done) {
            done += 1;
            job(&conn, done)?;
        }
        conn.prepare_cached("commit")?.execute([])?;
        measured += started.elapsed();
        if done % 8192 < batch {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
    }
    let per_job = measured.as_secs_f64() / jobs as f64;
    println!(
        "sqlite_alone: {jobs} jobs in batches of {batch}: {:.0} jobs/s, {:.1} us per job (checkpoints not counted)",
        1.0 / per_job,
        per_job * 1e6
    );
    Ok(())
}
