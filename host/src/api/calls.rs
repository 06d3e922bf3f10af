//! The call log: recent invocations of the tenant's tools, newest first.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiQuery, Manage},
};
use crate::{state::AppState, store::CallRecord};

/// Most records one page returns.
const MAX_LIMIT: u32 = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_calls))
}

/// Filters for `GET /v1/calls`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CallQuery {
    /// Only calls of this tool (tool id or function id).
    pub tool: Option<String>,
    /// How many records (1–500, default 50).
    pub limit: Option<u32>,
}

/// Recent calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallList {
    /// Newest first.
    pub calls: Vec<CallRecord>,
}

/// Recent invocations, newest first.
#[utoipa::path(get, path = "/v1/calls", tag = "calls", params(CallQuery),
    responses((status = 200, body = CallList), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn list_calls(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<CallQuery>,
) -> Result<Json<CallList>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "query.limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let calls = state
        .store
        .calls(&auth.tenant.id, query.tool.as_deref(), limit)
        .await?;
    Ok(Json(CallList { calls }))
}
