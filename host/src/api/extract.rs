//! Extractors whose rejections speak the API's error shape: JSON bodies, query strings and
//! path parameters with the name of the offending field, and the three credentials (operator
//! token, `manage` key, any tenant key). The tenant always comes from the key.

use axum::{
    body::Bytes,
    extract::{
        FromRequest, FromRequestParts, Path, Request, path::ErrorKind, rejection::PathRejection,
    },
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::{
    ids::{self, KeyId},
    nullable::Object,
    state::AppState,
    tenant::{Scope, Tenant},
};

/// A JSON body, parsed with the path of any bad field in the error. The `Content-Type` is
/// not required: `curl -d` works as is.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("the request body is over the size limit".into())
            } else {
                ApiError::invalid("body", e.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON object, naming the field at fault. A body that parses takes the plain (fast)
/// path; only a failure is parsed again, tracking the path, to say where. Every request body
/// is an object: an array is refused even where serde would read a struct's fields from it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Ok(Object(value)) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "body",
            "the request body is empty; expected a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let Object(value) = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ApiError::invalid("body", format!("malformed JSON: {inner}"))
            }
            _ => {
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::invalid(field, strip_position(&inner.to_string()))
            }
        }
    })?;
    de.end()
        .map_err(|e| ApiError::invalid("body", format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// serde_json appends " at line L column C" to data errors; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A query string, parsed with the name of any bad parameter in the error.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                ApiError::invalid(format!("query.{path}"), e.into_inner().to_string())
            })
    }
}

/// Path parameters. One that is not UTF-8 once percent-decoded (`/v1/tools/%FF`) is a 422
/// naming it, in the API's error shape, instead of axum's plain-text 400.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(match e.kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => {
                    ApiError::invalid(format!("path.{key}"), "is not valid UTF-8")
                }
                ErrorKind::ParseErrorAtKey { key, .. }
                | ErrorKind::DeserializeError { key, .. } => {
                    ApiError::invalid(format!("path.{key}"), e.body_text())
                }
                _ => ApiError::invalid("path", e.body_text()),
            }),
            // Missing parameters are a routing mistake of ours, not the caller's.
            Err(other) => Err(ApiError::Internal(anyhow::anyhow!(
                "path parameters: {}",
                other.body_text()
            ))),
        }
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("missing 'Authorization: Bearer <key>' header".into())
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not valid text".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be 'Bearer <key>'".into())
        })?;
    Ok(token.trim())
}

/// The platform operator (holder of the operator token).
#[derive(Debug)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        let hash = ids::sha256_hex(token.as_bytes());
        if ids::constant_time_eq(hash.as_bytes(), state.admin_token_hash.as_bytes()) {
            Ok(Operator)
        } else {
            Err(ApiError::Unauthorized(
                "this route needs the operator token".into(),
            ))
        }
    }
}

/// A caller authenticated by a tenant key, of either scope.
#[derive(Debug, Clone)]
pub struct TenantAuth {
    /// The key's tenant — the only source of the tenant for a request.
    pub tenant: Tenant,
    /// The key's id.
    pub key_id: KeyId,
    /// The key's scope.
    pub scope: Scope,
}

impl FromRequestParts<AppState> for TenantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        if !token.starts_with(ids::KEY_PREFIX) {
            return Err(ApiError::Unauthorized(format!(
                "this route needs a tenant API key ({}…)",
                ids::KEY_PREFIX
            )));
        }
        let hash = ids::sha256_hex(token.as_bytes());
        match state.store.key_by_hash(&hash).await? {
            Some((key, tenant)) => Ok(TenantAuth {
                tenant,
                key_id: key.id,
                scope: key.scope,
            }),
            None => Err(ApiError::Unauthorized(
                "the API key is unknown or has been revoked".into(),
            )),
        }
    }
}

/// A caller with a `manage` key.
#[derive(Debug, Clone)]
pub struct Manage(pub TenantAuth);

impl FromRequestParts<AppState> for Manage {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = TenantAuth::from_request_parts(parts, state).await?;
        if auth.scope == Scope::Manage {
            Ok(Manage(auth))
        } else {
            Err(ApiError::Forbidden(
                "this key has scope 'invoke'; this route needs a 'manage' key".into(),
            ))
        }
    }
}

/// A raw request body (a component upload), with the API's 413 on overflow.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge("the upload is over the size limit".into())
                } else {
                    ApiError::invalid("body", e.body_text())
                }
            })
    }
}
