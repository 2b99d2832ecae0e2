//! `crm-webhooks backup PATH`: a consistent copy of a SQLite database, taken while the service
//! keeps running. `VACUUM INTO` on a connection of its own reads one snapshot of the database (a
//! WAL read transaction: the writer goes on committing beside it) and writes it out compacted,
//! free pages left behind. The copy is written under a temporary name beside `PATH`, synced to
//! disk, then linked to `PATH` (which must not exist), so `PATH` never names half a copy.
//! PostgreSQL has `pg_dump` for this; the command refuses a PostgreSQL URL and says so.

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The request itself cannot be done (exit code 2): the message says what to change.
    #[error("{0}")]
    Refused(String),
    /// The copy failed on the way (exit code 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// What was written.
#[derive(Debug)]
pub struct Copied {
    pub source: PathBuf,
    pub target: PathBuf,
    pub bytes: u64,
}

/// Copies the SQLite database of `database_url` to `target`, a file that must not exist yet.
pub fn backup(database_url: &str, target: &Path) -> Result<Copied, BackupError> {
    let refused = |message: String| Err(BackupError::Refused(message));
    if !database_url.starts_with("sqlite:") {
        return refused(
            "backup copies a SQLite database; back up PostgreSQL with pg_dump (README: Backup and restore)".into(),
        );
    }
    let source = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
        .map_err(|err| BackupError::Refused(format!("CRM_DATABASE_URL: {err}")))?
        .get_filename()
        .to_path_buf();
    if !source.is_file() {
        return refused(format!("CRM_DATABASE_URL: no SQLite database at {}", source.display()));
    }
    if fs::symlink_metadata(target).is_ok() {
        return refused(format!("{} already exists; name a new file", target.display()));
    }
    let directory = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !directory.is_dir() {
        return refused(format!("cannot write {}: no directory {}", target.display(), directory.display()));
    }
    let file_name =
        target.file_name().ok_or_else(|| BackupError::Refused(format!("{} is not a file name", target.display())))?;
    let partial = directory.join(format!(".{}.partial-{}", file_name.to_string_lossy(), std::process::id()));
    let written = copy(&source, &partial).and_then(|()| publish(&partial, target, &directory));
    if written.is_err() {
        let _ = fs::remove_file(&partial);
    }
    written?;
    let bytes = fs::metadata(target).map_err(anyhow::Error::from)?.len();
    Ok(Copied { source, target: target.to_path_buf(), bytes })
}

/// `VACUUM INTO` from a connection of its own, then an fsync of the copy (SQLite does not sync
/// the file it writes).
fn copy(source: &Path, partial: &Path) -> Result<(), BackupError> {
    let into =
        partial.to_str().ok_or_else(|| BackupError::Refused(format!("{} is not a UTF-8 path", partial.display())))?;
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(source, flags)
        .map_err(|err| anyhow::anyhow!("cannot open {}: {err}", source.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(anyhow::Error::from)?;
    conn.execute("VACUUM INTO ?1", [into]).map_err(|err| anyhow::anyhow!("cannot copy the database: {err}"))?;
    drop(conn);
    fs::File::open(partial)
        .and_then(|file| file.sync_all())
        .map_err(|err| anyhow::anyhow!("cannot sync {}: {err}", partial.display()))?;
    Ok(())
}

/// Gives the finished copy its name without ever replacing a file that appeared meanwhile.
fn publish(partial: &Path, target: &Path, directory: &Path) -> Result<(), BackupError> {
    fs::hard_link(partial, target).map_err(|err| match err.kind() {
        std::io::ErrorKind::AlreadyExists => {
            BackupError::Refused(format!("{} already exists; name a new file", target.display()))
        }
        _ => BackupError::Failed(anyhow::anyhow!("cannot write {}: {err}", target.display())),
    })?;
    fs::remove_file(partial).map_err(anyhow::Error::from)?;
    // The new directory entry is durable once the directory is synced too.
    if let Ok(dir) = fs::File::open(directory) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path) -> String {
        let path = dir.join("crm.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; create table t (x text); insert into t values ('kept');")
            .unwrap();
        format!("sqlite://{}", path.display())
    }

    #[test]
    fn the_copy_holds_the_rows_and_no_partial_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let url = database(dir.path());
        let target = dir.path().join("copy.db");
        let copied = backup(&url, &target).unwrap();
        assert!(copied.bytes > 0);
        let conn = rusqlite::Connection::open(&target).unwrap();
        let kept: String = conn.query_row("select x from t", [], |row| row.get(0)).unwrap();
        assert_eq!(kept, "kept");
        let names: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|name| !name.contains("partial")), "{names:?}");
    }

    #[test]
    fn refusals_name_what_to_change() {
        let dir = tempfile::tempdir().unwrap();
        let url = database(dir.path());
        let exists = dir.path().join("exists.db");
        fs::write(&exists, b"mine").unwrap();
        let refusals = [
            (backup("postgres://u@h/db", &dir.path().join("a.db")), "pg_dump"),
            (backup(&url, &exists), "already exists"),
            (
                backup(&format!("sqlite://{}/none.db", dir.path().display()), &dir.path().join("b.db")),
                "no SQLite database",
            ),
            (backup(&url, &dir.path().join("missing/c.db")), "no directory"),
        ];
        for (result, words) in refusals {
            match result {
                Err(BackupError::Refused(message)) => assert!(message.contains(words), "{message}"),
                other => panic!("expected a refusal naming {words:?}, got {other:?}"),
            }
        }
        assert_eq!(fs::read(&exists).unwrap(), b"mine", "an existing file is left alone");
    }
}
