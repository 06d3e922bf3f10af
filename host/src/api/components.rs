//! Component routes (`pro` plan): upload a Wasm component's raw bytes, list, read, delete.
//! Every upload is checked completely before anything is stored; the same bytes uploaded
//! twice are one component.

use axum::{
    Json,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiPath, ApiQuery, Manage, RawBody},
};
use crate::{
    clock,
    ids::{self, ComponentId},
    state::AppState,
    store::ComponentRecord,
    tenant::{Feature, Tenant},
    tool::Tool,
};

pub fn router(upload_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_component, list_components))
        .layer(DefaultBodyLimit::max(upload_limit))
        .routes(routes!(get_component, delete_component))
}

/// `POST /v1/components?name=N`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// A name for people: 1 to 64 characters of A-Z, a-z, 0-9, '_', '-' or '.'.
    pub name: Option<String>,
}

/// The tenant's components.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentList {
    /// Oldest first.
    pub components: Vec<ComponentRecord>,
}

fn require_plan(tenant: &Tenant) -> Result<(), ApiError> {
    tenant
        .plan
        .require(Feature::Components)
        .map_err(ApiError::PlanRequired)
}

fn check_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.ok_or_else(|| ApiError::invalid("query.name", "is required"))?;
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ApiError::invalid(
            "query.name",
            "must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '-' or '.'",
        ))
    }
}

/// Upload a component (the raw `.wasm` bytes as the body).
#[utoipa::path(post, path = "/v1/components", tag = "components", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The component's bytes (a `.wasm` file); any Content-Type is accepted, `application/wasm` too"),
    responses(
        (status = 201, body = ComponentRecord, description = "Stored"),
        (status = 200, body = ComponentRecord, description = "This tenant already has these exact bytes"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "Wrong scope, or plan_required"),
        (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Not a component, invalid, or imports/exports what it may not"),
        (status = 429, body = ErrorBody, description = "Another upload of this tenant is being checked (too_many_requests); retry when it is done")),
    security(("tenant_key" = [])))]
async fn upload_component(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    RawBody(bytes): RawBody,
) -> Result<(StatusCode, Json<ComponentRecord>), ApiError> {
    require_plan(&auth.tenant)?;
    let name = check_name(query.name.as_deref())?;
    let sha256 = ids::sha256_hex(&bytes);
    let existing = state.store.components(&auth.tenant.id).await?;
    let max = state.config.max_components_per_tenant;
    if existing.len() >= max && !existing.iter().any(|c| c.sha256 == sha256) {
        return Err(ApiError::Conflict(format!(
            "this tenant already has {max} components, the most allowed; delete one first"
        )));
    }
    // One upload of a tenant is checked at a time: a flood of uploads cannot queue up the
    // service's compiler (which takes turns across tenants) or its sandbox.
    let _gate = state
        .plugins
        .begin_upload(&auth.tenant.id.0)
        .ok_or_else(|| {
            ApiError::TooManyRequests(
                "another component upload of this tenant is being checked; send the next one when \
             it is done"
                    .into(),
            )
        })?;
    let hooks = state
        .plugins
        .prepare(bytes.to_vec(), sha256.clone())
        .await
        .map_err(|refused| ApiError::invalid("body", refused.0))?;
    let record = ComponentRecord {
        id: ComponentId::generate(),
        name,
        sha256,
        size_bytes: bytes.len() as i64,
        hooks,
        created_at: clock::now_rfc3339(),
    };
    let (record, created) = state
        .store
        .create_component(&auth.tenant.id, &record, &bytes)
        .await?;
    let status = if created {
        tracing::info!(tenant = %auth.tenant.id, component = %record.id, sha256 = %record.sha256, "component uploaded");
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(record)))
}

/// List the tenant's components.
#[utoipa::path(get, path = "/v1/components", tag = "components",
    responses((status = 200, body = ComponentList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn list_components(
    Manage(auth): Manage,
    State(state): State<AppState>,
) -> Result<Json<ComponentList>, ApiError> {
    let components = state.store.components(&auth.tenant.id).await?;
    Ok(Json(ComponentList { components }))
}

/// Read a component's record.
#[utoipa::path(get, path = "/v1/components/{id}", tag = "components",
    params(("id" = String, Path, description = "Component id (cmp_…)")),
    responses((status = 200, body = ComponentRecord), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn get_component(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ComponentRecord>, ApiError> {
    state
        .store
        .component(&auth.tenant.id, &ComponentId(id.clone()))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no component '{id}'")))
}

/// The tenant's tools that attach `id`.
pub fn users<'a>(tools: &'a [Tool], id: &str) -> Vec<&'a str> {
    tools
        .iter()
        .filter(|t| {
            [&t.spec.transforms.params, &t.spec.transforms.response]
                .into_iter()
                .flatten()
                .any(|a| a.component == id)
        })
        .map(|t| t.function_id.as_str())
        .collect()
}

/// Delete a component; refused (409) while a tool uses it.
#[utoipa::path(delete, path = "/v1/components/{id}", tag = "components",
    params(("id" = String, Path, description = "Component id (cmp_…)")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A tool still uses it")),
    security(("tenant_key" = [])))]
async fn delete_component(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let tools = state.store.tools(&auth.tenant.id).await?;
    let users = users(&tools, &id);
    if !users.is_empty() {
        // Only answer 409 for the tenant's own component; anything else stays a 404.
        if state
            .store
            .component(&auth.tenant.id, &ComponentId(id.clone()))
            .await?
            .is_some()
        {
            return Err(ApiError::Conflict(format!(
                "component '{id}' is used by {}; detach it first",
                users.join(", ")
            )));
        }
    }
    match state
        .store
        .delete_component(&auth.tenant.id, &ComponentId(id.clone()))
        .await?
    {
        Some((sha256, orphaned)) => {
            if orphaned {
                state.plugins.forget(&sha256);
            }
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::NotFound(format!("no component '{id}'"))),
    }
}
