//! The API's one error type. Every failure answers `{"error": {"kind", "message"}}` with the
//! status named on its variant; internal errors are logged with their context and answered
//! as a bare 500 that leaks nothing.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{store::StoreError, tool::validate::FieldError};

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401 `unauthorized`: no credential, or one that is unknown or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `forbidden`: a valid credential without the needed scope.
    #[error("{0}")]
    Forbidden(String),
    /// 403 `plan_required`: the tenant's plan does not include this; the message names the plan.
    #[error("{0}")]
    PlanRequired(String),
    /// 404 `not_found`: no such route or resource for this caller (another tenant's ids too).
    #[error("{0}")]
    NotFound(String),
    /// 405 `method_not_allowed`.
    #[error("this method is not allowed on this route")]
    MethodNotAllowed,
    /// 409 `conflict`: the request clashes with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 413 `payload_too_large`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429 `too_many_requests`: the tenant already has such a request under way (a component
    /// upload being checked); answered with `Retry-After`.
    #[error("{0}")]
    TooManyRequests(String),
    /// 422 `invalid_request`: the body, query or path is malformed or breaks a rule.
    #[error("{message}")]
    Invalid {
        /// Summary.
        message: String,
        /// Each problem with the field it is about.
        fields: Vec<FieldError>,
    },
    /// 500 `internal`: logged, never explained to the client.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 422 about one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        ApiError::Invalid {
            message: format!("{field}: {message}"),
            fields: vec![FieldError { field, message }],
        }
    }

    /// A 422 listing several field problems.
    pub fn invalid_fields(fields: Vec<FieldError>) -> Self {
        let message = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        ApiError::Invalid { message, fields }
    }

    fn status_and_kind(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::PlanRequired(_) => (StatusCode::FORBIDDEN, "plan_required"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Other(e) => ApiError::Internal(e),
        }
    }
}

/// The error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable kind: `unauthorized`, `forbidden`, `plan_required`, `not_found`,
    /// `method_not_allowed`, `conflict`, `payload_too_large`, `too_many_requests`,
    /// `invalid_request`, `internal`;
    /// on the MCP route also `not_acceptable` and `unsupported_media_type`.
    pub kind: &'static str,
    /// A sentence for a person.
    pub message: String,
    /// For `invalid_request`: each problem with the field it is about.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_kind();
        let message = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "internal error; the operator's logs have the details".to_owned()
            }
            other => other.to_string(),
        };
        let fields = match self {
            ApiError::Invalid { fields, .. } => fields,
            _ => Vec::new(),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    kind,
                    message,
                    fields,
                },
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
