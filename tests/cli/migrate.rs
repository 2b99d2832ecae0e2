//! `migrate` creates the schema.

use crate::{crm, entries, run, sqlite_count, sqlite_url};

// ---------------------------------------------------------------------------------------------
// migrate

const TABLES: &str = "select count(*) from sqlite_master where type = 'table' and name in \
     ('pre_leads', 'leads', 'contacts', 'memos', 'status_history', 'activities', 'customers', 'orders', \
     'payments', 'webhook_logs')";

#[tokio::test]
async fn migrate_creates_the_database_with_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    for round in 0..2 {
        let ran = run(crm(dir.path()).arg("migrate").env("CRM_DATABASE_URL", sqlite_url(&db)), None);
        assert_eq!(ran.code, Some(0), "round {round}: stdout: {} stderr: {}", ran.stdout, ran.stderr);
        assert!(db.is_file(), "round {round}: {} created", db.display());
    }
    assert_eq!(sqlite_count(&db, TABLES).await, 10);
    assert_eq!(sqlite_count(&db, "select count(*) from customers").await, 0);
    assert!(sqlite_count(&db, "select count(*) from _sqlx_migrations where success").await >= 1);
}

#[tokio::test]
async fn migrate_defaults_to_crm_db_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let ran = run(crm(dir.path()).arg("migrate"), None);
    assert_eq!(ran.code, Some(0), "stdout: {} stderr: {}", ran.stdout, ran.stderr);
    let db = dir.path().join("crm.db");
    assert!(db.is_file(), "crm.db created in the working directory: {:?}", entries(dir.path()));
    assert_eq!(sqlite_count(&db, TABLES).await, 10);
}
