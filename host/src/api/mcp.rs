//! `POST /v1/agents/{agent}/mcp`: an agent's tools as an MCP server over streamable HTTP
//! (protocol 2026-07-28, and 2024-11-05 to 2025-11-25), for any MCP client. Any tenant key
//! works, as on `invoke`.
//!
//! The route authenticates the key and resolves the agent, then hands the request to the
//! official SDK's transport in stateless mode with JSON responses: no session store, so any
//! replica can answer any request, and `GET` (server-initiated streams) is 405.
//!
//! Two kinds of error, by what is wrong:
//! - the HTTP request (credential, agent, `Accept`, `Content-Type`, `Origin`,
//!   `MCP-Protocol-Version`, size): the API's `{"error": {"kind", "message"}}` with its status;
//! - the JSON-RPC message: a JSON-RPC error — a parse error or invalid request (HTTP 400) when
//!   the body is not a JSON-RPC message, a protocol error in an HTTP 200 answering the request
//!   otherwise (invalid params, unknown method, unknown tool).

use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    extract::{State, rejection::BytesRejection},
    http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header},
    response::{IntoResponse, Response},
};
use rmcp::{
    model::{
        CallToolRequestParams, ClientJsonRpcMessage, ErrorData, InitializeRequestParams,
        JsonRpcError, NumberOrString, PaginatedRequestParams,
    },
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
    },
};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    agents::agent,
    error::{ApiError, ErrorBody, ErrorDetail},
    extract::{ApiPath, TenantAuth},
};
use crate::{mcp::AgentServer, state::AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(mcp))
}

/// A JSON-RPC 2.0 message of MCP, as a client sends it (described here; the SDK reads it).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "documents the request body; the MCP SDK parses it"
)]
struct McpMessage {
    /// Always `"2.0"`.
    jsonrpc: String,
    /// The request id (a string or an integer); absent on a notification.
    #[schema(value_type = Option<Object>)]
    id: Option<Value>,
    /// `server/discover`, `initialize`, `tools/list`, `tools/call`, `ping`, or a
    /// notification such as `notifications/initialized`.
    method: String,
    /// The method's parameters, e.g. `{"name": "check_availability_in_area", "arguments": {…}}`.
    #[schema(value_type = Option<Object>)]
    params: Option<Value>,
}

/// The agent's MCP server (streamable HTTP, stateless; protocol 2026-07-28 with
/// `server/discover`, and 2024-11-05 to 2025-11-25 with `initialize`). Send
/// `Accept: application/json, text/event-stream` and `Content-Type: application/json`;
/// answers are JSON. Tool failures are results with `isError: true`. The `Host` must be a name
/// the service is configured to be reached at (`--allowed-host`).
#[utoipa::path(post, path = "/v1/agents/{agent}/mcp", tag = "agents",
    params(("agent" = String, Path, description = "`receptionist` or `assistant`")),
    request_body = McpMessage,
    responses(
        (status = 200, description = "The JSON-RPC response: a result, or a protocol error such as an unknown tool", body = Object),
        (status = 202, description = "A notification, accepted"),
        (status = 400, description = "A JSON-RPC parse error or invalid request; or an unsupported `MCP-Protocol-Version` header (API error shape)"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "A request from a browser (`Origin` header), or a `Host` the service is not reached at"),
        (status = 404, body = ErrorBody, description = "Unknown agent"),
        (status = 406, body = ErrorBody, description = "`Accept` lacks `application/json` or `text/event-stream`"),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "`Content-Type` is not `application/json`")),
    security(("tenant_key" = [])))]
async fn mcp(
    auth: TenantAuth,
    State(state): State<AppState>,
    ApiPath(agent_name): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let agent = agent(&agent_name)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("the request body is over the size limit".into())
        } else {
            ApiError::invalid("body", e.body_text())
        }
    })?;
    if let Err(rejection) = check_message(&body) {
        return Ok(*rejection);
    }

    let server = AgentServer::new(state.clone(), auth.tenant, agent);
    let hosts = state.config.mcp_hosts();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_sse_retry(None)
        .with_max_request_body_bytes(state.config.max_request_bytes)
        // The key is what authenticates; the Host is checked against the names the service
        // is reached at (DNS-rebinding defence, as the transport asks), and so is an Origin:
        // a page from anywhere else is refused.
        .with_allowed_hosts(hosts.clone())
        .with_allowed_origins(origins(&hosts))
        .enforce_origin_validation();
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = Method::POST;
    *request.headers_mut() = headers;
    Ok(in_api_shape(service.handle(request).await.map(Body::new)).await)
}

/// The `Origin`s of the names the service is reached at, over http or https, on the port a
/// name gives or any port. None when any `Host` is allowed: an Origin is then always refused.
fn origins(hosts: &[String]) -> Vec<String> {
    hosts
        .iter()
        .flat_map(|host| {
            let host = host.trim();
            let bare_ipv6 = host.matches(':').count() > 1 && !host.starts_with('[');
            let authority = if bare_ipv6 {
                format!("[{host}]:*")
            } else if host.rsplit_once(':').is_some_and(|(_, port)| {
                !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
            }) {
                host.to_owned()
            } else {
                format!("{host}:*")
            };
            ["http", "https"].map(|scheme| format!("{scheme}://{authority}"))
        })
        .collect()
}

/// `Err` with the JSON-RPC error to answer when `body` is not one MCP message we can serve:
/// a parse error when it is not JSON and an invalid request when it is not a JSON-RPC 2.0
/// message (HTTP 400, no id to answer to); invalid params, with the request's id, when the
/// parameters of a method we serve do not fit it. (The SDK would take such a request for an
/// unknown custom method and answer "method not found".)
fn check_message(body: &[u8]) -> Result<(), Box<Response>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        rejection(
            StatusCode::BAD_REQUEST,
            None,
            ErrorData::parse_error(format!("Parse error: {e}"), None),
        )
    })?;
    let id = value
        .get("id")
        .and_then(|id| serde_json::from_value::<NumberOrString>(id.clone()).ok());
    if let Some(problem) = envelope_problem(&value) {
        let error = ErrorData::invalid_request(format!("Invalid Request: {problem}"), None);
        return Err(rejection(StatusCode::BAD_REQUEST, id, error));
    }
    if let (Some(id), Some(method)) = (&id, value.get("method").and_then(Value::as_str))
        && let Some(problem) = params_problem(method, value.get("params"))
    {
        let error =
            ErrorData::invalid_params(format!("Invalid params for '{method}': {problem}"), None);
        return Err(rejection(StatusCode::OK, Some(id.clone()), error));
    }
    serde_json::from_value::<ClientJsonRpcMessage>(value)
        .map(drop)
        .map_err(|e| {
            let error = ErrorData::invalid_request(
                format!("Invalid Request: expected one JSON-RPC 2.0 request or notification ({e})"),
                None,
            );
            rejection(StatusCode::BAD_REQUEST, id, error)
        })
}

/// What makes `message` something other than a JSON-RPC 2.0 request, notification or response
/// as MCP sends them (the published schema of the route says the same): `jsonrpc` is `"2.0"`,
/// an `id` is a string or an integer, `method` a string, `params` an object. The SDK would
/// take some of these (a `null` params, a fractional id) for an unknown method instead.
fn envelope_problem(message: &Value) -> Option<&'static str> {
    let Some(message) = message.as_object() else {
        return Some("expected one JSON-RPC 2.0 message, a JSON object");
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some("jsonrpc must be \"2.0\"");
    }
    if let Some(id) = message.get("id")
        && !(id.is_string() || id.is_i64())
    {
        return Some("id must be a string or a 64-bit integer");
    }
    match message.get("method") {
        Some(method) if !method.is_string() => return Some("method must be a string"),
        None if !message.contains_key("result") && !message.contains_key("error") => {
            return Some("method is required");
        }
        _ => {}
    }
    if message.get("params").is_some_and(|p| !p.is_object()) {
        return Some("params must be an object");
    }
    None
}

/// Why `params` do not fit `method`, for the methods this server serves.
fn params_problem(method: &str, params: Option<&Value>) -> Option<String> {
    let params = params.cloned().unwrap_or(Value::Null);
    let problem = match method {
        "initialize" => serde_json::from_value::<InitializeRequestParams>(params).err(),
        "tools/list" => serde_json::from_value::<Option<PaginatedRequestParams>>(params).err(),
        "tools/call" => serde_json::from_value::<CallToolRequestParams>(params).err(),
        _ => None,
    };
    problem.map(|e| e.to_string())
}

/// A JSON-RPC error with `status`.
fn rejection(status: StatusCode, id: Option<NumberOrString>, error: ErrorData) -> Box<Response> {
    let body =
        serde_json::to_vec(&JsonRpcError::new(id, error)).expect("a JSON-RPC error serialises");
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
        .into()
}

/// The SDK answers rejections of the HTTP request (`Accept`, `Content-Type`, `Origin`,
/// protocol header) in plain text; those get the API's error shape, keeping their status.
/// JSON answers (JSON-RPC messages) pass through unchanged.
async fn in_api_shape(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if status.is_success() || is_json {
        return response;
    }
    let text = match axum::body::to_bytes(response.into_body(), 64 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    if status.is_server_error() {
        return ApiError::Internal(anyhow::anyhow!("MCP transport: {status} {text}"))
            .into_response();
    }
    let kind = match status {
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ => "invalid_request",
    };
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("rejected").to_owned()
    } else {
        text.trim().to_owned()
    };
    // The client's mistake (a bad Host, Origin, Accept…), answered to it: kept for whoever
    // debugs a client, below what an operator watches.
    tracing::debug!(status = status.as_u16(), %message, "MCP request refused");
    let body = ErrorBody {
        error: ErrorDetail {
            kind,
            message,
            fields: Vec::new(),
        },
    };
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_are_the_allowed_hosts_over_http_and_https() {
        let hosts = ["localhost", "::1", "tools.example.com:8443"].map(String::from);
        assert_eq!(
            super::origins(&hosts),
            [
                "http://localhost:*",
                "https://localhost:*",
                "http://[::1]:*",
                "https://[::1]:*",
                "http://tools.example.com:8443",
                "https://tools.example.com:8443",
            ]
        );
    }
}
