//! The operator's dashboard at `/dashboard`: one HTML page and its scripts, styles and icon,
//! embedded in the binary and served with a strict Content-Security-Policy. It owns no data and
//! no API of its own: the page reads everything through the public admin API with the token the
//! operator signs in with, exactly as any other client would.

pub mod assets;

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::outgoing::types::EVENT_TYPES;
use crate::state::AppState;

pub const PATH: &str = "/dashboard";

/// Scripts, styles, images and API calls from this origin only; no inline script or style, no
/// plugins, no framing, no `<base>` tricks.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Routes that are not API: left out of the OpenAPI document on purpose.
pub const ROUTES: [&str; 3] = ["/", PATH, "/dashboard/assets/{build}/{file}"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to(PATH) }))
        .route(PATH, get(page))
        .route("/dashboard/assets/{build}/{file}", get(asset))
}

fn secured(cache: &'static str, content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    headers
        .insert(HeaderName::from_static("content-security-policy"), HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff"));
    headers.insert(HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer"));
    headers.insert(HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY"));
    headers
}

/// The page names its assets by build id, says whether the API asks for a token (without
/// `CRM_ADMIN_TOKEN` the page opens without sign-in and says so) and lists the outgoing event
/// types a subscription can choose. Never cached without asking.
async fn page(State(state): State<AppState>) -> Response {
    let auth = if state.config.admin_token.is_some() { "token" } else { "open" };
    let html = assets::INDEX_HTML
        .replace("{{BUILD}}", assets::build_id())
        .replace("{{AUTH}}", auth)
        .replace("{{EVENTS}}", &EVENT_TYPES.join(" "));
    (secured("no-cache", "text/html; charset=utf-8"), html).into_response()
}

/// An asset of the current build, cacheable for a year; any other build or name is a 404.
async fn asset(Path((build, file)): Path<(String, String)>) -> Response {
    match assets::find(&file).filter(|_| build == assets::build_id()) {
        Some(asset) => (secured("public, max-age=31536000, immutable", asset.content_type), asset.body).into_response(),
        None => crate::http::not_found().await,
    }
}
