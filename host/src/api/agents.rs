//! Agent-runtime routes: list the tools an agent may call, in the model's own schema format,
//! and invoke one by function id. Any tenant key works (`invoke` or `manage`); the tenant
//! comes from the key.

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, ApiQuery, TenantAuth},
};
use crate::{
    invoke::{self, InvocationResult, InvokeRequest, Mode},
    state::AppState,
    store::StoreResult,
    tenant::Tenant,
    tool::{
        Tool,
        model::Agent,
        schema::{self, Format},
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invoke_tool))
        .routes(routes!(list_agent_tools))
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
    check_ids(body.call_id.as_deref(), body.conversation_id.as_deref())
        .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let tool = agent_tool(&state, &auth.tenant, agent, &body.tool)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no tool '{}' for the {}",
                body.tool,
                agent.as_str()
            ))
        })?;
    Ok(Json(
        invoke::invoke(&state, &auth.tenant, agent, &tool, body, Mode::Live).await,
    ))
}

/// Checks the ids a caller may choose for an invocation; `Err((field, message))` names the
/// first bad one.
pub fn check_ids(
    call_id: Option<&str>,
    conversation_id: Option<&str>,
) -> Result<(), (&'static str, String)> {
    for (field, value) in [("call_id", call_id), ("conversation_id", conversation_id)] {
        if let Some(v) = value
            && !invoke::is_valid_call_id(v)
        {
            return Err((
                field,
                format!(
                    "must be 1 to {} characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'",
                    invoke::MAX_CALL_ID
                ),
            ));
        }
    }
    Ok(())
}

/// The tenant's tool `function_id` when `agent` may call it (it targets that agent); the
/// plan is checked by the invocation itself, which answers `plan_required`.
pub async fn agent_tool(
    state: &AppState,
    tenant: &Tenant,
    agent: Agent,
    function_id: &str,
) -> StoreResult<Option<Arc<Tool>>> {
    Ok(state
        .store
        .tool_by_function(&tenant.id, function_id)
        .await?
        .filter(|tool| tool.spec.agent_targets.includes(agent)))
}

/// The tools `agent` is offered: those targeted at it and covered by the tenant's plan.
pub async fn offered_tools(
    state: &AppState,
    tenant: &Tenant,
    agent: Agent,
) -> StoreResult<Vec<Tool>> {
    let mut tools = state.store.tools(&tenant.id).await?;
    tools
        .retain(|t| t.spec.agent_targets.includes(agent) && tenant.plan.includes(t.spec.feature()));
    Ok(tools)
}

/// `GET /v1/agents/{agent}/tools`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ToolsQuery {
    /// `openai` (default), `anthropic` or `mcp`.
    #[param(inline)]
    pub format: Option<Format>,
}

/// The tools an agent may call, rendered for one model API.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentTools {
    /// The agent.
    pub agent: Agent,
    /// The format of `tools`.
    #[schema(value_type = Format)]
    pub format: &'static str,
    /// One entry per tool, in that format's tool schema.
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<Value>,
}

/// The tools this agent may call, as the model's tool schema: only tools targeted at the
/// agent and covered by the tenant's plan.
#[utoipa::path(get, path = "/v1/agents/{agent}/tools", tag = "agents",
    params(("agent" = String, Path, description = "`receptionist` or `assistant`"), ToolsQuery),
    responses((status = 200, body = AgentTools), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Unknown agent"), (status = 422, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn list_agent_tools(
    auth: TenantAuth,
    State(state): State<AppState>,
    ApiPath(agent_name): ApiPath<String>,
    ApiQuery(query): ApiQuery<ToolsQuery>,
) -> Result<Json<AgentTools>, ApiError> {
    let agent = agent(&agent_name)?;
    let format = query.format.unwrap_or_default();
    let tools = offered_tools(&state, &auth.tenant, agent)
        .await?
        .iter()
        .map(|t| schema::render(t, format))
        .collect();
    Ok(Json(AgentTools {
        agent,
        format: match format {
            Format::Openai => "openai",
            Format::Anthropic => "anthropic",
            Format::Mcp => "mcp",
        },
        tools,
    }))
}
