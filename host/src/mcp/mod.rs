//! The MCP server of one tenant's agent, on the official SDK (`rmcp`): `initialize` or
//! `server/discover`, `ping`, `tools/list` and `tools/call`, answered from the same tool store, schema rendering and
//! invocation path as the REST agent routes — so an MCP client and a plain HTTP runtime see
//! the same tools and get the same calls (limits, transforms, signing, call log).
//!
//! A value of [`AgentServer`] is built per HTTP request for a caller the route has already
//! authenticated; this module never reads credentials and never speaks HTTP (see
//! `api::mcp`). Tool failures are results with `isError: true`
//! ([`result::call_result`]); only an unknown tool or malformed parameters are protocol
//! errors.

pub mod result;

use std::borrow::Cow;

use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
        PaginatedRequestParams, ProtocolVersion, RequestMetaObject, ServerCapabilities,
        ServerConfig, Tool as McpTool,
    },
    service::RequestContext,
};
use serde_json::{Value, json};

use crate::{
    api::agents::{agent_tool, check_ids, offered_tools},
    invoke::{self, InvokeRequest, Mode},
    state::AppState,
    store::StoreError,
    tenant::Tenant,
    tool::{
        model::Agent,
        schema::{self, Format},
    },
};

/// The newest protocol revision served: 2026-07-28, the stateless one (no `initialize`;
/// `server/discover` and per-request `_meta`, which the SDK's transport handles). Every older
/// revision still in use (2024-11-05 to 2025-11-25) is served too.
pub const PROTOCOL_VERSION: ProtocolVersion = ProtocolVersion::V_2026_07_28;

/// The newest revision with an `initialize` handshake: what `initialize` answers a client
/// asking for a revision it cannot serve over the handshake (a newer one, or an unknown one).
pub const HANDSHAKE_VERSION: ProtocolVersion = ProtocolVersion::LATEST_WITH_INITIALIZE;

/// `_meta` keys this server reads on `tools/call` and writes on its results.
pub mod meta {
    /// In: your idempotency key for the call (sent to the endpoint as `Switchboard-Call-Id`).
    /// Out: the call id used, as in the call log.
    pub const CALL_ID: &str = "switchboard/call_id";
    /// In: the conversation the call belongs to, for the call log.
    pub const CONVERSATION_ID: &str = "switchboard/conversation_id";
    /// Out: what the receptionist should say, when there is something to say.
    pub const SPEECH: &str = "switchboard/speech";
    /// Out: when true the caller must not be able to interrupt while the tool runs.
    pub const DISABLE_INTERRUPTIONS: &str = "switchboard/disable_interruptions";
    /// Out, on failure: `{kind, message, details?}` as in the REST invocation result.
    pub const ERROR: &str = "switchboard/error";
    /// Out: the endpoint's HTTP status, when it answered.
    pub const STATUS: &str = "switchboard/status";
}

/// One tenant's agent, as an MCP server.
#[derive(Clone)]
pub struct AgentServer {
    state: AppState,
    tenant: Tenant,
    agent: Agent,
}

impl AgentServer {
    /// The MCP server of `tenant`'s `agent` (the caller is already authenticated).
    pub fn new(state: AppState, tenant: Tenant, agent: Agent) -> Self {
        Self {
            state,
            tenant,
            agent,
        }
    }
}

impl ServerHandler for AgentServer {
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        config.protocol_version = HANDSHAKE_VERSION;
        let mut implementation = Implementation::new("switchboard", env!("CARGO_PKG_VERSION"));
        implementation.title = Some(format!("Switchboard tools for the {}", self.agent.as_str()));
        config.server_info = implementation;
        config.instructions = Some(format!(
            "The webhook tools this business offers its {}. A failed call is a result with \
             isError: true; its text says what went wrong and what to tell the caller.",
            self.agent.as_str()
        ));
        config
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&PROTOCOL_VERSION))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = offered_tools(&self.state, &self.tenant, self.agent)
            .await
            .map_err(internal)?;
        let tools = tools
            .iter()
            .map(|tool| {
                serde_json::from_value::<McpTool>(schema::render(tool, Format::Mcp)).map_err(|e| {
                    tracing::error!(error = %e, tool = %tool.id, "rendering a tool for MCP");
                    ErrorData::internal_error("a tool could not be described", None)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.into_owned();
        let call_id = meta_string(&context.meta, request.meta.as_ref(), meta::CALL_ID)?;
        let conversation_id =
            meta_string(&context.meta, request.meta.as_ref(), meta::CONVERSATION_ID)?;
        check_ids(call_id.as_deref(), conversation_id.as_deref()).map_err(|(field, message)| {
            ErrorData::invalid_params(
                format!("_meta.switchboard/{field} {message}"),
                Some(json!({"field": format!("switchboard/{field}")})),
            )
        })?;
        let tool = agent_tool(&self.state, &self.tenant, self.agent, &name)
            .await
            .map_err(internal)?
            .ok_or_else(|| {
                ErrorData::invalid_params(
                    format!("Unknown tool: {name}"),
                    Some(json!({"tool": name})),
                )
            })?;
        let invocation = InvokeRequest {
            tool: name,
            arguments: request.arguments.map_or(Value::Null, Value::Object),
            call_id,
            conversation_id,
        };
        let outcome = invoke::invoke(
            &self.state,
            &self.tenant,
            self.agent,
            &tool,
            invocation,
            Mode::Live,
        )
        .await;
        Ok(result::call_result(outcome).into())
    }
}

/// A string from the request's `_meta` (the SDK keeps it on the context; older paths leave it
/// on the parameters). Anything but a string is invalid params.
fn meta_string(
    context: &RequestMetaObject,
    params: Option<&RequestMetaObject>,
    key: &str,
) -> Result<Option<String>, ErrorData> {
    let value = context.get(key).or_else(|| params.and_then(|m| m.get(key)));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ErrorData::invalid_params(
            format!("_meta.{key} must be a string"),
            Some(json!({"field": key})),
        )),
    }
}

/// A storage failure: logged with its context, answered without it.
fn internal(e: StoreError) -> ErrorData {
    tracing::error!(error = ?e, "MCP request: storage");
    ErrorData::internal_error("internal error; the operator's logs have the details", None)
}
