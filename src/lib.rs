//! crm-webhooks: signed JSON webhooks into a CRM. See README.md for the tour.

pub mod backup;
pub mod changes;
pub mod cli;
pub mod config;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod domain;
pub mod duplicates;
pub mod events;
pub mod health;
pub mod http;
pub mod leads;
pub mod logs;
pub mod memory;
pub mod metrics;
pub mod openapi;
pub mod outgoing;
pub mod pre_leads;
pub mod records;
pub mod related;
pub mod retention;
pub mod server;
pub mod setting;
pub mod startup;
pub mod state;
pub mod stats;
pub mod tasks;
pub mod timeline;
pub mod webhook;

pub use config::Config;
pub use startup::{build, Application};
