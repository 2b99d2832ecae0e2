//! Integration tests: the real server on port 0, on SQLite and (when CRM_TEST_POSTGRES_URL is
//! set) on PostgreSQL. Each test gets a fresh database.

mod helpers;

mod spec_examples;
mod stored_fields;
mod pipeline_rules;
mod errors;
mod logs;
mod concurrency;
mod idempotency;
mod ops;
mod examples_file;
mod hostile;
