//! `backup PATH`: a copy of the running SQLite database that holds every webhook acknowledged
//! before it started; an existing PATH, a PostgreSQL URL or a missing database is refused on one
//! line with exit code 2.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crm_webhooks::webhook::signature::sign_headers;

use crate::serve::{example, Server, LEAD_CREATE};
use crate::{assert_refused, client, crm, entries, run, sqlite_count, sqlite_url};

fn backup(dir: &Path, db: &Path, target: &str) -> crate::Ran {
    run(crm(dir).args(["backup", target]).env("CRM_DATABASE_URL", sqlite_url(db)), None)
}

/// Signed `new_lead`s from 4 clients until `stop`; every lead id acknowledged is pushed to `acked`
/// as soon as its answer arrives. Any answer but 200 fails the test.
fn stream(url: String, acked: Arc<Mutex<Vec<i64>>>, stop: Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..4)
        .map(|_| {
            let (url, acked, stop) = (url.clone(), acked.clone(), stop.clone());
            tokio::spawn(async move {
                let (client, body) = (client(), example("new_lead"));
                while !stop.load(Ordering::SeqCst) {
                    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
                    let mut request = client.post(&url).header("content-type", "application/json");
                    for (name, value) in sign_headers("s3cret", &id, chrono::Utc::now().timestamp(), &body) {
                        request = request.header(name, value);
                    }
                    let reply = request.body(body.clone()).send().await.expect("request");
                    let status = reply.status().as_u16();
                    let answer: serde_json::Value = reply.json().await.expect("JSON answer");
                    assert_eq!(status, 200, "{answer}");
                    acked.lock().unwrap().push(answer["data"]["lead_id"].as_i64().expect("lead_id"));
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_holds_every_webhook_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    let server = Server::start(dir.path(), &db, &[("CRM_RATE_LIMIT_PER_MINUTE", "0")]).await;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders = stream(server.url(LEAD_CREATE), acked.clone(), stop.clone());
    while acked.lock().unwrap().len() < 100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let before: Vec<i64> = acked.lock().unwrap().clone();
    let (dir_path, db_path) = (dir.path().to_path_buf(), db.clone());
    let ran = tokio::task::spawn_blocking(move || backup(&dir_path, &db_path, "backup.db")).await.unwrap();
    let during = acked.lock().unwrap().len() - before.len();
    // Ingest goes on after the copy as before it.
    while acked.lock().unwrap().len() < before.len() + during + 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for sender in senders {
        sender.await.unwrap();
    }
    assert_eq!(ran.code, Some(0), "stdout: {} stderr: {}", ran.stdout, ran.stderr);
    assert!(ran.stdout.starts_with("backed up "), "{}", ran.stdout);
    let stopped = server.terminate().await;
    assert_eq!(stopped.code, Some(0), "stderr: {}", stopped.stderr);

    // Restore: the copy becomes the database of a new service.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = restored_dir.path().join("crm.db");
    std::fs::copy(dir.path().join("backup.db"), &restored).unwrap();
    let integrity = "select count(*) from pragma_integrity_check() where integrity_check = 'ok'";
    assert_eq!(sqlite_count(&restored, integrity).await, 1);
    let server = Server::start(restored_dir.path(), &restored, &[]).await;
    let reader = client();
    for id in &before {
        let reply = reader.get(server.url(&format!("/api/v1/leads/{id}"))).send().await.unwrap();
        assert_eq!(reply.status(), 200, "lead {id} acknowledged before the backup");
    }
    let ids = before.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let logged = format!("select count(*) from webhook_logs where entity_id in ({ids}) and response_status = 200");
    assert_eq!(sqlite_count(&restored, &logged).await, before.len() as i64, "each with its log row");
    let events =
        format!("select count(*) from outbox_events where entity_id in ({ids}) and event_type = 'lead.created'");
    assert_eq!(sqlite_count(&restored, &events).await, before.len() as i64, "and its outbox event");
    let stopped = server.terminate().await;
    assert_eq!(stopped.code, Some(0), "stderr: {}", stopped.stderr);
}

#[tokio::test]
async fn an_existing_path_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.db");
    assert_eq!(run(crm(dir.path()).arg("migrate").env("CRM_DATABASE_URL", sqlite_url(&db)), None).code, Some(0));
    std::fs::write(dir.path().join("taken.db"), b"someone else's file").unwrap();
    let before = entries(dir.path());
    let ran = backup(dir.path(), &db, "taken.db");
    assert_eq!((ran.code, ran.stdout.as_str()), (Some(2), ""), "stderr: {}", ran.stderr);
    assert_eq!(ran.stderr_lines(), vec![format!("error: taken.db already exists; name a new file")]);
    assert_eq!(std::fs::read(dir.path().join("taken.db")).unwrap(), b"someone else's file");
    assert_eq!(entries(dir.path()).len(), before.len(), "nothing else written");
}

#[test]
fn a_postgresql_url_is_refused_pointing_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(
        crm(dir.path()).args(["backup", "copy.db"]).env("CRM_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm"),
        None,
    );
    assert_refused("a PostgreSQL URL", &ran, dir.path(), "pg_dump");
}

#[test]
fn a_missing_database_is_refused_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let ran = backup(dir.path(), &dir.path().join("none.db"), "copy.db");
    assert_refused("no database", &ran, dir.path(), "no SQLite database at");
}
