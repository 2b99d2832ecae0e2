//! Command line: `serve` (default), `migrate`, `sign`, `backup`. Every setting is a flag with an env twin;
//! a bad one is reported on one line naming it, with exit code 2, before anything is written.
//! Typed settings are parsed by clap with the parsers of `setting.rs`.

use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, LogFormat, Secret, SqliteSynchronous};
use crate::setting::{self, named};

#[derive(Parser, Debug)]
#[command(name = "crm-webhooks", version, about = "Signed JSON webhooks into a CRM")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply migrations and serve the API (the default).
    Serve,
    /// Apply migrations and exit.
    Migrate,
    /// Print the signature headers for a body file, as an integrator would send them.
    Sign(SignArgs),
    /// Copy the SQLite database to a new file while the service keeps running.
    Backup(BackupArgs),
}

#[derive(Args, Debug)]
struct BackupArgs {
    /// The file to write; it must not exist yet.
    path: std::path::PathBuf,
}

#[derive(Args, Debug)]
struct SignArgs {
    /// The request body file ("-" reads standard input). Signed byte for byte.
    file: String,
    /// Secret to sign with; defaults to the first of CRM_WEBHOOK_SECRET.
    #[arg(long, env = "CRM_SIGN_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// `webhook-id` for the Standard Webhooks headers (default: a fresh `msg_…`).
    #[arg(long)]
    id: Option<String>,
    /// `webhook-timestamp` in Unix seconds (default: now).
    #[arg(long)]
    timestamp: Option<i64>,
}

/// Settings as given. Each typed one is parsed by clap through `setting.rs`, whose error names
/// the environment variable; `into_config` checks the database URL and the secrets.
#[derive(Args, Debug)]
struct Settings {
    /// Address to listen on.
    #[arg(long, env = "CRM_BIND", default_value = "127.0.0.1:8000", global = true,
          value_parser = named("CRM_BIND", setting::socket_addr))]
    bind: SocketAddr,
    /// `sqlite://PATH` or `postgres://…`.
    #[arg(long, env = "CRM_DATABASE_URL", default_value = "sqlite://crm.db", global = true)]
    database_url: String,
    /// Webhook signing secret(s), comma-separated for rotation; unset turns verification off.
    #[arg(long, env = "CRM_WEBHOOK_SECRET", hide_env_values = true, global = true)]
    webhook_secret: Option<String>,
    /// Bearer token for /logs and the other admin routes.
    #[arg(long, env = "CRM_ADMIN_TOKEN", hide_env_values = true, global = true)]
    admin_token: Option<String>,
    /// Requests per minute per client IP on the webhook routes (0 turns it off).
    #[arg(long, env = "CRM_RATE_LIMIT_PER_MINUTE", default_value = "100", global = true,
          value_parser = named("CRM_RATE_LIMIT_PER_MINUTE", setting::whole))]
    rate_limit_per_minute: u32,
    /// Failed signatures and admin tokens per minute per client IP before 429 (0 turns it off).
    #[arg(long, env = "CRM_SIGNATURE_FAILURES_PER_MINUTE", default_value = "20", global = true,
          value_parser = named("CRM_SIGNATURE_FAILURES_PER_MINUTE", setting::whole))]
    signature_failures_per_minute: u32,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "CRM_MAX_BODY_BYTES", default_value = "1048576", global = true,
          value_parser = named("CRM_MAX_BODY_BYTES", setting::positive))]
    max_body_bytes: usize,
    /// Take the client IP from X-Forwarded-For (only behind a proxy you run).
    #[arg(long, env = "CRM_TRUST_FORWARDED_FOR", default_value = "false", global = true,
          value_parser = named("CRM_TRUST_FORWARDED_FOR", setting::boolean))]
    trust_forwarded_for: bool,
    /// `text` or `json`.
    #[arg(long, env = "CRM_LOG_FORMAT", default_value = "text", global = true,
          value_parser = named("CRM_LOG_FORMAT", setting::one_of::<LogFormat>))]
    log_format: LogFormat,
    /// Database connections in the pool.
    #[arg(long, env = "CRM_DATABASE_MAX_CONNECTIONS", default_value = "8", global = true,
          value_parser = named("CRM_DATABASE_MAX_CONNECTIONS", setting::positive_u32))]
    database_max_connections: u32,
    /// Open client connections at most; more wait in the listen backlog.
    #[arg(long, env = "CRM_MAX_CONNECTIONS", default_value = "4096", global = true,
          value_parser = named("CRM_MAX_CONNECTIONS", setting::positive))]
    max_connections: usize,
    /// Serve /logs without an admin token on a non-loopback address (not recommended).
    #[arg(long, env = "CRM_INSECURE_OPEN_ADMIN", default_value = "false", global = true,
          value_parser = named("CRM_INSECURE_OPEN_ADMIN", setting::boolean))]
    insecure_open_admin: bool,
    /// SQLite durability: `normal` (survives a killed process) or `full` (survives power loss).
    #[arg(long, env = "CRM_SQLITE_SYNCHRONOUS", default_value = "normal", global = true,
          value_parser = named("CRM_SQLITE_SYNCHRONOUS", setting::one_of::<SqliteSynchronous>))]
    sqlite_synchronous: SqliteSynchronous,
    #[command(flatten)]
    delivery: crate::outgoing::settings::DeliverySettings,
    #[command(flatten)]
    retention: crate::retention::settings::RetentionSettings,
}

fn setting_error(env: &str, flag: &str, message: impl std::fmt::Display) -> String {
    format!("{env} (--{flag}): {message}")
}

impl Settings {
    fn into_config(self) -> Result<Config, String> {
        let database_url = self.database_url.trim().to_string();
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(setting_error(
                "CRM_DATABASE_URL",
                "database-url",
                "expected sqlite://PATH or postgres://USER@HOST/DB",
            ));
        }
        if database_url.starts_with("sqlite:")
            && (database_url.contains(":memory:") || database_url.contains("mode=memory"))
        {
            return Err(setting_error(
                "CRM_DATABASE_URL",
                "database-url",
                "an in-memory SQLite database is not supported; name a file such as sqlite://crm.db",
            ));
        }
        let webhook_secrets = match self.webhook_secret {
            None => Vec::new(),
            Some(list) => {
                let secrets: Vec<Secret> =
                    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(Secret::new).collect();
                if secrets.is_empty() {
                    return Err(setting_error("CRM_WEBHOOK_SECRET", "webhook-secret", "is set but holds no secret"));
                }
                secrets
            }
        };
        let admin_token = match self.admin_token {
            Some(token) if token.trim().is_empty() => {
                return Err(setting_error("CRM_ADMIN_TOKEN", "admin-token", "is set but empty"))
            }
            other => other.map(|t| Secret::new(t.trim())),
        };
        for secret in &webhook_secrets {
            if crate::webhook::signature::standard_key(secret.expose()).is_none() {
                return Err(setting_error(
                    "CRM_WEBHOOK_SECRET",
                    "webhook-secret",
                    "a whsec_ secret must be followed by base64",
                ));
            }
        }
        Ok(Config {
            bind: self.bind,
            database_url,
            webhook_secrets,
            admin_token,
            rate_limit_per_minute: self.rate_limit_per_minute,
            signature_failures_per_minute: self.signature_failures_per_minute,
            max_body_bytes: self.max_body_bytes,
            trust_forwarded_for: self.trust_forwarded_for,
            log_format: self.log_format,
            body_timeout: crate::config::BODY_TIMEOUT,
            db_max_connections: self.database_max_connections,
            sqlite_synchronous: self.sqlite_synchronous,
            insecure_open_admin: self.insecure_open_admin,
            max_connections: self.max_connections,
            settle_window: crate::config::SETTLE_WINDOW,
            delivery: self.delivery.into_config()?,
            retention: self.retention.into_config(),
        })
    }
}

/// The logs hold every payload: they are not served to the network without a token unless the
/// operator says so in as many words.
fn check_serve(config: &Config) -> Result<(), String> {
    if config.admin_token.is_none() && !config.bind.ip().is_loopback() && !config.insecure_open_admin {
        return Err(setting_error(
            "CRM_ADMIN_TOKEN",
            "admin-token",
            format!(
                "is required to listen on the non-loopback address {}; set it, or pass --insecure-open-admin",
                config.bind
            ),
        ));
    }
    Ok(())
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = err.print();
                return ExitCode::SUCCESS;
            }
            // clap's own message spans several lines; the first one names the problem.
            let text = err.render().to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: invalid arguments"));
            return ExitCode::from(2);
        }
    };
    let config = match cli.settings.into_config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if matches!(command, Command::Serve) {
        if let Err(message) = check_serve(&config) {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    }
    match command {
        Command::Sign(args) => sign(args, &config),
        Command::Serve => run_async(crate::startup::serve(config)),
        Command::Migrate => run_async(crate::startup::migrate_only(config)),
        Command::Backup(args) => backup(&args, &config),
    }
}

fn backup(args: &BackupArgs, config: &Config) -> ExitCode {
    use crate::backup::BackupError;
    match crate::backup::backup(&config.database_url, &args.path) {
        Ok(copied) => {
            println!("backed up {} to {} ({} bytes)", copied.source.display(), copied.target.display(), copied.bytes);
            ExitCode::SUCCESS
        }
        Err(BackupError::Refused(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(BackupError::Failed(err)) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_async(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn sign(args: SignArgs, config: &Config) -> ExitCode {
    let secret = match args.secret.or_else(|| config.webhook_secrets.first().map(|s| s.expose().to_string())) {
        Some(secret) if !secret.is_empty() => secret,
        _ => {
            eprintln!("error: CRM_WEBHOOK_SECRET (--secret): no secret to sign with");
            return ExitCode::from(2);
        }
    };
    if crate::webhook::signature::standard_key(&secret).is_none() {
        eprintln!("error: CRM_WEBHOOK_SECRET (--secret): a whsec_ secret must be followed by base64");
        return ExitCode::from(2);
    }
    let mut body = Vec::new();
    let read = if args.file == "-" {
        std::io::stdin().read_to_end(&mut body).map(|_| ())
    } else {
        std::fs::read(&args.file).map(|bytes| body = bytes)
    };
    if let Err(err) = read {
        eprintln!("error: cannot read {}: {err}", args.file);
        return ExitCode::from(2);
    }
    let id = args.id.unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
    let timestamp = args.timestamp.unwrap_or_else(|| chrono::Utc::now().timestamp());
    for (name, value) in crate::webhook::signature::sign_headers(&secret, &id, timestamp, &body) {
        println!("{name}: {value}");
    }
    ExitCode::SUCCESS
}
