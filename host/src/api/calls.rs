//! The call log: recent invocations of the tenant's tools, newest first, a page at a time.
//!
//! The cursor is opaque to clients; it is the log position of the last record of a page.

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiQuery, Manage},
};
use crate::{
    state::AppState,
    store::{CallFilter, CallRecord},
};

/// Most records one page returns.
pub(super) const MAX_LIMIT: u32 = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_calls))
}

/// Filters for `GET /v1/calls`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CallQuery {
    /// Only calls of this tool (tool id or function id).
    pub tool: Option<String>,
    /// Only calls of this conversation.
    pub conversation_id: Option<String>,
    /// Only successful (`true`) or failed (`false`) calls.
    pub ok: Option<bool>,
    /// Where to continue: `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// How many records (1–500, default 50).
    pub limit: Option<u32>,
}

/// A page of calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallList {
    /// Newest first.
    pub calls: Vec<CallRecord>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

const CURSOR_PREFIX: &str = "cur_";

fn cursor(seq: i64) -> String {
    format!("{CURSOR_PREFIX}{seq}")
}

fn parse_cursor(text: &str) -> Result<i64, ApiError> {
    text.strip_prefix(CURSOR_PREFIX)
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            ApiError::invalid(
                "query.cursor",
                "is not a cursor this API handed out (use next_cursor of a previous page)",
            )
        })
}

/// Recent invocations, newest first. Arguments of `sensitive` parameters and the values of
/// secret headers never appear; the log keeps a bounded number of calls per tenant and age.
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
    let filter = CallFilter {
        tool: query.tool,
        conversation: query.conversation_id,
        ok: query.ok,
        before_seq: query.cursor.as_deref().map(parse_cursor).transpose()?,
        // One more than asked, to know whether another page follows.
        limit: limit + 1,
    };
    // Calls that have returned are listed: write what is queued first.
    state.calls.flush().await;
    let mut calls = state.store.calls(&auth.tenant.id, &filter).await?;
    let next_cursor = if calls.len() > limit as usize {
        calls.truncate(limit as usize);
        calls.last().map(|c| cursor(c.seq))
    } else {
        None
    };
    Ok(Json(CallList { calls, next_cursor }))
}
