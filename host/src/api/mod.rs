//! The HTTP API (v1): one router per area, merged here, with the OpenAPI document generated
//! from the same handler annotations that register the routes, so it cannot drift.
//!
//! - [`tenants`]: operator routes. - [`keys`], [`tools`], [`calls`]: tenant (`manage`) routes.
//! - [`agents`]: the agent runtime's routes (any tenant key); [`mcp`]: the same tools as an
//!   MCP server.
//! - [`error`]: the one error type; [`extract`]: JSON/query/credential extractors.
//! - [`contract`]: what the annotations cannot say (limits, `null`), written into the document.

pub mod agents;
pub mod calls;
pub mod components;
pub mod contract;
pub mod error;
pub mod extract;
pub mod keys;
pub mod mcp;
pub mod tenants;
pub mod tools;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    http::{Uri, header},
    routing::get,
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;

use self::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard",
        description = "Hosts the webhook tools and sandboxed Wasm transforms an AI phone receptionist calls mid-conversation. \
            Errors answer `{\"error\": {\"kind\", \"message\"}}`; tool failures are results with `ok: false`."
    ),
    modifiers(&Security),
    tags(
        (name = "operator", description = "The platform operator (operator token)"),
        (name = "keys", description = "Tenant API keys (manage scope)"),
        (name = "tools", description = "Webhook tools (manage scope)"),
        (name = "agents", description = "The agent runtime (invoke or manage scope)"),
        (name = "calls", description = "The call log (manage scope)"),
        (name = "components", description = "Wasm components (manage scope, pro plan)"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, what) in [
            ("operator", "The operator token (SWITCHBOARD_ADMIN_TOKEN)"),
            ("tenant_key", "A tenant API key (sbk_…)"),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(what))
                        .build(),
                ),
            );
        }
    }
}

/// All versioned routes with their OpenAPI description.
fn routes(upload_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(tenants::router())
        .merge(keys::router())
        .merge(tools::router())
        .merge(agents::router())
        .merge(mcp::router())
        .merge(calls::router())
        .merge(components::router(upload_limit))
}

/// The OpenAPI document of the whole API, as `GET /openapi.json` serves it.
pub fn openapi() -> serde_json::Value {
    contract::finish(routes(crate::plugin::SandboxLimits::default().upload_bytes).into_openapi())
}

/// The whole service as a `Router`, ready to serve (tests drive it with `oneshot` too).
pub fn app(state: AppState) -> Router {
    let (router, doc) = routes(state.plugins.limits().upload_bytes).split_for_parts();
    let doc: Arc<str> = contract::finish(doc).to_string().into();
    let body_limit = state.config.max_request_bytes;
    router
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        doc.to_string(),
                    )
                }
            }),
        )
        .fallback(|uri: Uri| async move { ApiError::NotFound(format!("no route {}", uri.path())) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
