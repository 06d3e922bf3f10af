//! Agent-runtime routes: invoke a tool by function id on behalf of an agent. Any tenant key
//! works (`invoke` or `manage`); the tenant comes from the key.

use axum::{Json, extract::State};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, TenantAuth},
};
use crate::{
    invoke::{self, InvocationResult, InvokeRequest, Mode},
    state::AppState,
    tool::model::Agent,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(invoke_tool))
}

/// The agent named in the path, or 404.
pub fn agent(name: &str) -> Result<Agent, ApiError> {
    Agent::parse(name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no agent '{name}'; the agents are 'receptionist' and 'assistant'"
        ))
    })
}

/// Invoke a tool. Tool failures are results with `ok: false` (HTTP 200); HTTP errors mean
/// the request itself was wrong (credentials, unknown tool, malformed body).
#[utoipa::path(post, path = "/v1/agents/{agent}/invoke", tag = "agents",
    params(("agent" = String, Path, description = "`receptionist` or `assistant`")),
    request_body = InvokeRequest,
    responses((status = 200, body = InvocationResult), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Unknown agent, or no such tool for this agent"),
        (status = 422, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn invoke_tool(
    auth: TenantAuth,
    State(state): State<AppState>,
    ApiPath(agent_name): ApiPath<String>,
    ApiJson(body): ApiJson<InvokeRequest>,
) -> Result<Json<InvocationResult>, ApiError> {
    let agent = agent(&agent_name)?;
    for (field, value) in [
        ("call_id", &body.call_id),
        ("conversation_id", &body.conversation_id),
    ] {
        if let Some(v) = value
            && !invoke::is_valid_call_id(v)
        {
            return Err(ApiError::invalid(
                field,
                format!(
                    "must be 1 to {} characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'",
                    invoke::MAX_CALL_ID
                ),
            ));
        }
    }
    let not_found = || {
        ApiError::NotFound(format!(
            "no tool '{}' for the {}",
            body.tool,
            agent.as_str()
        ))
    };
    let tool = state
        .store
        .tool_by_function(&auth.tenant.id, &body.tool)
        .await?
        .ok_or_else(not_found)?;
    if !tool.spec.agent_targets.includes(agent) {
        return Err(not_found());
    }
    Ok(Json(
        invoke::invoke(&state, &auth.tenant, agent, &tool, body, Mode::Live).await,
    ))
}
