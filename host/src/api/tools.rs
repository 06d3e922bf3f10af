//! Tool routes: create, list, read, replace, delete webhook tools, and "try it".
//!
//! Defining a tool needs a plan with webhook tools; reading and deleting do not, so a
//! downgraded tenant keeps (and can clean up) its data. Secret header values never leave.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, Manage},
};
use crate::{
    clock,
    ids::{ComponentId, ToolId},
    invoke::{self, InvocationResult, InvokeRequest, Mode},
    plugin::Hook,
    secrets::Binding,
    state::AppState,
    store::StoreError,
    tenant::{Feature, Tenant},
    tool::{
        Tool, ToolSpec,
        model::{Agent, AgentTargets},
        validate,
    },
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tool, list_tools))
        .routes(routes!(get_tool, replace_tool, delete_tool))
        .routes(routes!(test_tool))
}

/// The tenant's tools.
#[derive(Debug, Serialize, ToSchema)]
pub struct ToolList {
    /// By function id.
    pub tools: Vec<Tool>,
}

/// `POST /v1/tools/{id}/test`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// Sample arguments, as the model would send them: a JSON object (anything else is
    /// answered with an `invalid_arguments` result).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub arguments: Value,
}

fn require_plan(tenant: &Tenant) -> Result<(), ApiError> {
    tenant
        .plan
        .require(Feature::WebhookTools)
        .map_err(ApiError::PlanRequired)
}

/// Validates a definition and its attachments; answers the function id.
async fn check(spec: &mut ToolSpec, state: &AppState, tenant: &Tenant) -> Result<String, ApiError> {
    let function_id =
        validate::validate(spec, state.webhooks.policy()).map_err(ApiError::invalid_fields)?;
    tenant
        .plan
        .require(spec.feature())
        .map_err(ApiError::PlanRequired)?;
    for (hook, attachment) in [
        (Hook::Params, &spec.transforms.params),
        (Hook::Response, &spec.transforms.response),
    ] {
        let Some(attachment) = attachment else {
            continue;
        };
        let field = format!("transforms.{}.component", hook.as_str());
        let component = state
            .store
            .component(&tenant.id, &ComponentId(attachment.component.clone()))
            .await?
            .ok_or_else(|| {
                ApiError::invalid(&field, format!("no component '{}'", attachment.component))
            })?;
        if !component.hooks.contains(&hook) {
            return Err(ApiError::invalid(
                field,
                format!(
                    "component '{}' ({}) does not export {}",
                    component.id,
                    component.name,
                    hook.export()
                ),
            ));
        }
    }
    Ok(function_id)
}

/// The binding name of a tool's signing secret.
pub const SIGNING_SECRET: &str = "signing-secret";

/// The binding name of a secret header.
pub fn header_secret(name: &str) -> String {
    format!("header:{}", name.to_ascii_lowercase())
}

/// Seals every secret of `spec` except those in `kept` (binding names of values carried
/// over, already sealed, from the stored definition).
fn seal(state: &AppState, tenant: &Tenant, tool: &ToolId, spec: &mut ToolSpec, kept: &[String]) {
    for header in spec.headers.iter_mut().filter(|h| h.secret) {
        let name = header_secret(&header.name);
        if kept.contains(&name) {
            continue;
        }
        if let Some(value) = &header.value {
            let binding = Binding {
                tenant: &tenant.id,
                tool,
                name: &name,
            };
            header.value = Some(state.secrets.seal(binding, value));
        }
    }
    if !kept.iter().any(|k| k == SIGNING_SECRET)
        && let Some(secret) = &spec.signing_secret
    {
        let binding = Binding {
            tenant: &tenant.id,
            tool,
            name: SIGNING_SECRET,
        };
        spec.signing_secret = Some(state.secrets.seal(binding, secret));
    }
}

/// A function-id clash is a problem with the definition's name, so it answers 422.
fn name_clash(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(message) => ApiError::invalid("name", message),
        other => other.into(),
    }
}

async fn find(state: &AppState, tenant: &Tenant, id: &str) -> Result<Tool, ApiError> {
    state
        .store
        .tool(&tenant.id, &ToolId(id.to_owned()))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no tool '{id}'")))
}

/// Define a tool.
#[utoipa::path(post, path = "/v1/tools", tag = "tools", request_body = ToolSpec,
    responses((status = 201, body = Tool), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Wrong scope, or plan_required"),
        (status = 422, body = ErrorBody, description = "The definition is invalid; `fields` names each problem")),
    security(("tenant_key" = [])))]
async fn create_tool(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiJson(mut spec): ApiJson<ToolSpec>,
) -> Result<(StatusCode, Json<Tool>), ApiError> {
    require_plan(&auth.tenant)?;
    // `""` means no secret, as it does on replace (where it removes the stored one).
    if spec.signing_secret.as_deref() == Some("") {
        spec.signing_secret = None;
    }
    let function_id = check(&mut spec, &state, &auth.tenant).await?;
    let max = state.config.max_tools_per_tenant;
    if state.store.tools(&auth.tenant.id).await?.len() >= max {
        return Err(ApiError::Conflict(format!(
            "this tenant already has {max} tools, the most allowed; delete one first"
        )));
    }
    let now = clock::now_rfc3339();
    let id = ToolId::generate();
    seal(&state, &auth.tenant, &id, &mut spec, &[]);
    let tool = Tool {
        id,
        function_id,
        spec,
        created_at: now.clone(),
        updated_at: now,
        signed: false,
    };
    state
        .store
        .create_tool(&auth.tenant.id, &tool)
        .await
        .map_err(name_clash)?;
    Ok((StatusCode::CREATED, Json(tool.redacted())))
}

/// List the tenant's tools.
#[utoipa::path(get, path = "/v1/tools", tag = "tools",
    responses((status = 200, body = ToolList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn list_tools(
    Manage(auth): Manage,
    State(state): State<AppState>,
) -> Result<Json<ToolList>, ApiError> {
    let tools = state.store.tools(&auth.tenant.id).await?;
    Ok(Json(ToolList {
        tools: tools.iter().map(Tool::redacted).collect(),
    }))
}

/// Read a tool.
#[utoipa::path(get, path = "/v1/tools/{id}", tag = "tools",
    params(("id" = String, Path, description = "Tool id (tool_…)")),
    responses((status = 200, body = Tool), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn get_tool(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Tool>, ApiError> {
    Ok(Json(find(&state, &auth.tenant, &id).await?.redacted()))
}

/// Replace a tool's definition. A secret header sent without a value keeps its stored value.
#[utoipa::path(put, path = "/v1/tools/{id}", tag = "tools", request_body = ToolSpec,
    params(("id" = String, Path, description = "Tool id (tool_…)")),
    responses((status = 200, body = Tool), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn replace_tool(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(mut spec): ApiJson<ToolSpec>,
) -> Result<Json<Tool>, ApiError> {
    require_plan(&auth.tenant)?;
    let existing = find(&state, &auth.tenant, &id).await?;
    // Secrets sent without a value keep the stored (already sealed) one.
    let mut kept = Vec::new();
    for header in spec
        .headers
        .iter_mut()
        .filter(|h| h.secret && h.value.is_none())
    {
        header.value = existing
            .spec
            .headers
            .iter()
            .find(|old| old.secret && old.name.eq_ignore_ascii_case(&header.name))
            .and_then(|old| old.value.clone());
        if header.value.is_some() {
            kept.push(header_secret(&header.name));
        }
    }
    match spec.signing_secret.as_deref() {
        None => {
            spec.signing_secret = existing.spec.signing_secret.clone();
            kept.push(SIGNING_SECRET.to_owned());
        }
        Some("") => spec.signing_secret = None,
        Some(_) => {}
    }
    let function_id = check(&mut spec, &state, &auth.tenant).await?;
    seal(&state, &auth.tenant, &existing.id, &mut spec, &kept);
    let tool = Tool {
        function_id,
        spec,
        updated_at: clock::now_rfc3339(),
        ..existing
    };
    if !state
        .store
        .replace_tool(&auth.tenant.id, &tool)
        .await
        .map_err(name_clash)?
    {
        return Err(ApiError::NotFound(format!("no tool '{id}'")));
    }
    Ok(Json(tool.redacted()))
}

/// Delete a tool.
#[utoipa::path(delete, path = "/v1/tools/{id}", tag = "tools",
    params(("id" = String, Path, description = "Tool id (tool_…)")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn delete_tool(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .store
        .delete_tool(&auth.tenant.id, &ToolId(id.clone()))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no tool '{id}'")))
    }
}

/// Try a tool: runs it exactly as the agent runtime would, logged as a test.
#[utoipa::path(post, path = "/v1/tools/{id}/test", tag = "tools", request_body = TestRequest,
    params(("id" = String, Path, description = "Tool id (tool_…)")),
    responses((status = 200, body = InvocationResult), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn test_tool(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TestRequest>,
) -> Result<Json<InvocationResult>, ApiError> {
    let tool = find(&state, &auth.tenant, &id).await?;
    let agent = match tool.spec.agent_targets {
        AgentTargets::Assistant => Agent::Assistant,
        AgentTargets::Receptionist | AgentTargets::Both => Agent::Receptionist,
    };
    let request = InvokeRequest {
        tool: tool.function_id.clone(),
        arguments: body.arguments,
        call_id: None,
        conversation_id: None,
    };
    Ok(Json(
        invoke::invoke(&state, &auth.tenant, agent, &tool, request, Mode::Test).await,
    ))
}
