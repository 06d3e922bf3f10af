//! Tenant key routes: issue `manage` and `invoke` keys (shown once), list them, revoke them.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error::{ApiError, ErrorBody},
    extract::{ApiJson, ApiPath, Manage},
};
use crate::{
    clock,
    ids::{self, KeyId, TenantId},
    state::AppState,
    store::NewKey,
    tenant::{ApiKey, Scope},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
}

/// A fresh key for `tenant`: the secret (to show once) and what is stored.
pub fn mint_key(tenant: &TenantId, scope: Scope) -> (String, NewKey) {
    let secret = ids::new_api_key();
    let key = NewKey {
        key: ApiKey {
            id: KeyId::generate(),
            tenant_id: tenant.clone(),
            scope,
            hint: format!("{}…", &secret[..ids::KEY_PREFIX.len() + 6]),
            created_at: clock::now_rfc3339(),
        },
        hash: ids::sha256_hex(secret.as_bytes()),
    };
    (secret, key)
}

/// `POST /v1/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// `manage` for the tenant's console and CI, `invoke` for the agent runtime.
    pub scope: Scope,
}

/// A new key; `key` is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    /// The key's public record.
    #[serde(flatten)]
    pub record: ApiKey,
    /// The secret. Store it now: it is never shown again.
    pub key: String,
}

/// The tenant's live keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    /// Oldest first.
    pub keys: Vec<ApiKey>,
}

/// Issue a key.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = CreateKey,
    responses((status = 201, body = CreatedKey), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn create_key(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let (secret, key) = mint_key(&auth.tenant.id, body.scope);
    state.store.create_key(&key).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            record: key.key,
            key: secret,
        }),
    ))
}

/// List the tenant's live keys (never their secrets).
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, body = KeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn list_keys(
    Manage(auth): Manage,
    State(state): State<AppState>,
) -> Result<Json<KeyList>, ApiError> {
    let keys = state.store.keys(&auth.tenant.id).await?;
    Ok(Json(KeyList { keys }))
}

/// Revoke a key. It stops working at once.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "Key id (key_…)")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("tenant_key" = [])))]
async fn revoke_key(
    Manage(auth): Manage,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .store
        .revoke_key(&auth.tenant.id, &KeyId(id.clone()))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no key '{id}'")))
    }
}
