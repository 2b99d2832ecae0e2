//! Database failures seen from the data layer: any [`DbError`] or sqlx error is an internal
//! [`StoreError`], except a unique violation that the query site names as a conflict.

use super::value::DbError;
use crate::domain::StoreError;

impl From<DbError> for StoreError {
    fn from(err: DbError) -> Self {
        StoreError::Internal(err.into())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::Internal(err.into())
    }
}

/// Maps a unique-constraint violation to a conflict with the given sentence, where the query runs.
pub trait ResultExt<T> {
    fn on_unique_violation(self, conflict: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T> ResultExt<T> for Result<T, DbError> {
    fn on_unique_violation(self, conflict: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(
            |err| if err.is_unique_violation() { StoreError::Conflict(conflict()) } else { StoreError::from(err) },
        )
    }
}
