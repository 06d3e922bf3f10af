//! Operator routes: create tenants (with their first `manage` key), read them, change their
//! plan. A downgrade keeps the tenant's data; the plan is checked when it is used.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, Operator},
    keys::mint_key,
};
use crate::{
    clock,
    ids::TenantId,
    state::AppState,
    tenant::{Plan, Scope, Tenant},
};

/// Longest tenant name accepted.
pub(super) const MAX_NAME: usize = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant))
        .routes(routes!(get_tenant, update_tenant))
}

/// `POST /v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// The business's name.
    pub name: String,
    /// Its plan.
    pub plan: Plan,
}

/// A new tenant and its first key, which is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTenant {
    /// The tenant.
    #[serde(flatten)]
    pub tenant: Tenant,
    /// The first `manage` key. Store it now: it is never shown again.
    pub api_key: String,
    /// The key's id, to revoke it later.
    pub api_key_id: String,
}

/// `PATCH /v1/tenants/{id}`: only the fields given change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new plan. A downgrade keeps all data.
    #[serde(default)]
    pub plan: Option<Plan>,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid("name", "must not be empty"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(ApiError::invalid(
            "name",
            format!("must be at most {MAX_NAME} characters"),
        ));
    }
    Ok(())
}

/// Create a tenant.
#[utoipa::path(post, path = "/v1/tenants", tag = "operator",
    request_body = CreateTenant,
    responses(
        (status = 201, body = CreatedTenant, description = "The tenant and its first manage key"),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)
    ),
    security(("operator" = [])))]
async fn create_tenant(
    _: Operator,
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(body): ApiJson<CreateTenant>,
) -> Result<(StatusCode, axum::Json<CreatedTenant>), ApiError> {
    check_name(&body.name)?;
    let tenant = Tenant {
        id: TenantId::generate(),
        name: body.name.trim().to_owned(),
        plan: body.plan,
        created_at: clock::now_rfc3339(),
    };
    let (secret, key) = mint_key(&tenant.id, Scope::Manage);
    state.store.create_tenant(&tenant, &key).await?;
    tracing::info!(tenant = %tenant.id, plan = tenant.plan.as_str(), "tenant created");
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedTenant {
            tenant,
            api_key: secret,
            api_key_id: key.key.id.0,
        }),
    ))
}

/// Read a tenant.
#[utoipa::path(get, path = "/v1/tenants/{id}", tag = "operator",
    params(("id" = String, Path, description = "Tenant id (ten_…)")),
    responses((status = 200, body = Tenant), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("operator" = [])))]
async fn get_tenant(
    _: Operator,
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<Tenant>, ApiError> {
    state
        .store
        .tenant(&TenantId(id.clone()))
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("no tenant '{id}'")))
}

/// Change a tenant's name or plan.
#[utoipa::path(patch, path = "/v1/tenants/{id}", tag = "operator",
    params(("id" = String, Path, description = "Tenant id (ten_…)")),
    request_body = UpdateTenant,
    responses((status = 200, body = Tenant), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("operator" = [])))]
async fn update_tenant(
    _: Operator,
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateTenant>,
) -> Result<axum::Json<Tenant>, ApiError> {
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    let name = body.name.as_deref().map(str::trim);
    state
        .store
        .update_tenant(&TenantId(id.clone()), name, body.plan)
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::NotFound(format!("no tenant '{id}'")))
}
