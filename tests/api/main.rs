//! Integration tests: the real server on port 0, on SQLite and (when CRM_TEST_POSTGRES_URL is
//! set) on PostgreSQL. Each test gets a fresh database.

mod helpers;

mod browser;
mod concurrency;
mod created_far_back;
mod dashboard;
mod errors;
mod examples_file;
mod forgiving_input;
mod group_commit;
mod hostile;
mod idempotency;
mod input_refusals;
mod list_paths;
mod logs;
mod ops;
mod outgoing;
mod outgoing_backlog;
mod outgoing_events;
mod outgoing_input;
mod outgoing_listeners;
mod outgoing_queue;
mod outgoing_record;
mod pipeline_rules;
mod reading;
mod receiver;
mod records;
mod replay;
mod retention;
mod retention_batches;
mod retention_shutdown;
mod search_keys;
mod spec_examples;
mod stats_pipeline;
mod stats_traffic;
mod stored_fields;
mod timeline;
mod unauthenticated;
mod write_conn;
