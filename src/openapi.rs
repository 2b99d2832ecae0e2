//! The OpenAPI 3.1 document served at `/openapi.json` (and Swagger UI at `/docs`), assembled from
//! the parts that the modules with routes build beside their `router()`.
//!
//! # Adding a part
//! A module with routes exposes `pub fn openapi() -> utoipa::openapi::OpenApi` holding its paths
//! (relative to where its router is mounted, as the router declares them), the schemas they refer
//! to (through [`crate::http::openapi::register`]) and its tag. Shared answers (errors, 401 of the
//! admin routes, 429, 500), headers and parameters are in `http/openapi.rs`. Then add one line
//! to [`document`]: `.nest(API_BASE, module::openapi())` for a router nested under
//! `/api/v1/webhooks` in `startup.rs`, `.merge_from(module::openapi())` for one at the root. The
//! test `it_has_exactly_the_served_paths` lists the served paths: add the new ones there.

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};
use utoipa::PartialSchema;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::{DEFAULT_MAX_BODY_BYTES, DEFAULT_RATE_LIMIT_PER_MINUTE};
use crate::http::error::ErrorBody;
use crate::http::openapi::{ADMIN_TOKEN, ERROR_SCHEMA};
use crate::startup::API_BASE;
use crate::state::AppState;
use crate::webhook::idempotency::{MAX_KEY_LEN, RETENTION_HOURS};
use crate::webhook::signature::TOLERANCE_SECONDS;
use crate::{health, logs, outgoing, records, stats, timeline, webhook};

/// The document's introduction. Its limits are the constants the server enforces.
fn description() -> String {
    let tolerance_minutes = TOLERANCE_SECONDS / 60;
    let body_mib = DEFAULT_MAX_BODY_BYTES / (1024 * 1024);
    format!(
        "\
Signed JSON webhooks into a CRM: pre-leads, leads, customers, orders and payments.

**Envelope.** Every webhook is a `POST` of one JSON object `{{event, source, data, timestamp, signature}}` \
with `Content-Type: application/json` (`application/*+json` is accepted too; anything else is a 415). \
On a typed route only `data` is required: the route fixes the event, and `event`, when sent, must name it. \
The generic route `POST {API_BASE}/incoming` takes every event, chosen by `event`, and reads the id \
of the pre-lead or lead from `data.pre_lead_id` / `data.lead_id`. `timestamp` and `signature` are kept \
in the log only. A success answers `200 {{\"status\": \"success\", \"message\": \"…\", \"data\": {{…}}}}`; \
every error answers `{{\"detail\": \"…\"}}`, plus `field` (the offending field) and `allowed` (the accepted \
values) where they help.

**Signatures.** When `CRM_WEBHOOK_SECRET` is set, every webhook must be signed over the exact raw request \
body, in either of two forms: `X-Webhook-Signature: <hex HMAC-SHA256 of the body>` keyed with the secret \
(a `sha256=` prefix and upper-case hex are accepted), or the Standard Webhooks headers `webhook-id`, \
`webhook-timestamp` (Unix seconds, within {tolerance_minutes} minutes of the server's clock) and \
`webhook-signature: v1,<base64 HMAC-SHA256 of \"{{webhook-id}}.{{webhook-timestamp}}.{{body}}\">` (a `whsec_` \
secret is base64-decoded first). The Standard Webhooks headers win when both are sent. A missing or wrong \
signature is a 401. Several secrets may be configured (rotation); any of them verifies.

**Idempotency.** Send `Idempotency-Key` (or `X-Webhook-Id`, or `webhook-id`: the first present is used), \
1 to {MAX_KEY_LEN} visible ASCII characters. A repeat of the same request (same path, byte-identical body) \
within {RETENTION_HOURS} hours is not applied again: the stored answer is replayed with the header \
`Idempotent-Replayed: true`. The same key with a different request is a 409. Failed requests are not \
remembered, so they may be retried with the same key.

**Limits.** {DEFAULT_RATE_LIMIT_PER_MINUTE} requests per minute per client IP on `{API_BASE}/*` (429 with \
`Retry-After`; `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` on every answer) and a \
{body_mib} MiB request body (413). Both are the defaults of `CRM_RATE_LIMIT_PER_MINUTE` and \
`CRM_MAX_BODY_BYTES`.

**Logs.** Every webhook call, a failed one too, is logged. `GET {API_BASE}/logs` reads the log; it \
needs `Authorization: Bearer <token>` when `CRM_ADMIN_TOKEN` is set."
    )
}

/// What every part relies on: the introduction, the error schema and the admin token scheme.
fn base() -> OpenApi {
    let components = ComponentsBuilder::new()
        .schema(ERROR_SCHEMA, ErrorBody::schema())
        .security_scheme(
            ADMIN_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <CRM_ADMIN_TOKEN>` on the log routes; applies only when \
                         CRM_ADMIN_TOKEN is set (otherwise they are open).",
                    ))
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("crm-webhooks")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(description()))
                .build(),
        )
        .components(Some(components))
        .build()
}

/// The document served at `/openapi.json`: the base, then each module's part, mounted where its
/// router is (see the module docs).
pub fn document() -> OpenApi {
    let mut document = base()
        .nest(API_BASE, webhook::openapi())
        .nest(API_BASE, logs::openapi())
        .nest(API_BASE, webhook::replay::openapi())
        .nest(API_BASE, outgoing::openapi())
        .merge_from(records::api::openapi())
        .merge_from(timeline::openapi())
        .merge_from(stats::openapi())
        .merge_from(health::openapi());
    outgoing::openapi::add_webhooks(&mut document);
    document
}

/// `/openapi.json` and Swagger UI at `/docs`, both served from the binary.
pub fn router() -> Router<AppState> {
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", document()))
}

#[cfg(test)]
mod tests;
