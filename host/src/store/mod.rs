//! Storage: the one boundary between the service and its database.
//!
//! Handlers and the invocation path talk to `dyn Store`; [`sqlite::SqliteStore`] is the
//! embedded backend (WAL, `synchronous = FULL`, migrations compiled in). A PostgreSQL backend
//! implements the same trait without touching any handler. [`cached::CachedStore`] wraps
//! the backend so the invocation path reads keys, tools and components from memory.
//!
//! Every query about a tenant's data takes the tenant id: a row of another tenant is simply
//! not found. This module never decides policy (plans, scopes); it stores and fetches.

pub mod cached;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    ids::{ComponentId, KeyId, TenantId, ToolId},
    plugin::Hook,
    tenant::{ApiKey, Plan, Tenant},
    tool::{Tool, model::Agent},
};

/// A failure the caller may want to tell apart from "the database broke".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the text names what clashed.
    #[error("{0}")]
    Conflict(String),
    /// Anything else: I/O, corruption, a bug. Logged and answered as a bare 500.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// A key's stored form: its public record plus the SHA-256 of the secret.
#[derive(Clone, Debug)]
pub struct NewKey {
    /// The public record.
    pub key: ApiKey,
    /// Lowercase hex SHA-256 of the full key.
    pub hash: String,
}

/// One recorded invocation, as `GET /v1/calls` returns it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CallRecord {
    /// The call id sent to the endpoint as `Switchboard-Call-Id`.
    pub call_id: String,
    /// RFC 3339 time the call started.
    pub created_at: String,
    /// The calling agent.
    pub agent: Agent,
    /// The tool's id.
    pub tool_id: ToolId,
    /// The tool's function id at the time of the call.
    pub tool: String,
    /// The conversation the call belongs to, when the runtime said.
    pub conversation_id: Option<String>,
    /// True for "try it" calls made with `POST /v1/tools/{id}/test`.
    pub test: bool,
    /// Whether the tool succeeded.
    pub ok: bool,
    /// The endpoint's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The error kind when `ok` is false.
    pub error_kind: Option<String>,
    /// Everything else: arguments, method and URL, timings, a response excerpt.
    #[schema(value_type = Object)]
    pub detail: Box<serde_json::value::RawValue>,
    /// The tenant (not serialised: the caller already knows it).
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// Start time in Unix milliseconds, for retention by age (not serialised).
    #[serde(skip)]
    pub created_ms: i64,
    /// Position in the log, assigned when stored; the cursor is made of it (not serialised).
    #[serde(skip)]
    pub seq: i64,
}

/// Which calls `GET /v1/calls` lists.
#[derive(Clone, Debug, Default)]
pub struct CallFilter {
    /// Only calls of this tool (tool id or function id).
    pub tool: Option<String>,
    /// Only calls of this conversation.
    pub conversation: Option<String>,
    /// Only successful (`true`) or failed (`false`) calls.
    pub ok: Option<bool>,
    /// Only calls older than this log position (the cursor).
    pub before_seq: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// How much of the call log to keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// The newest this many calls per tenant; `None` keeps any number.
    pub max_per_tenant: Option<u32>,
    /// Calls younger than this many milliseconds; `None` keeps any age.
    pub max_age_ms: Option<i64>,
}

/// An uploaded Wasm component, as `GET /v1/components` returns it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ComponentRecord {
    /// Stable id (`cmp_…`).
    pub id: ComponentId,
    /// The name given at upload.
    pub name: String,
    /// Lowercase hex SHA-256 of the bytes: the same bytes are one component.
    pub sha256: String,
    /// Size of the upload.
    pub size_bytes: i64,
    /// The hooks it exports.
    pub hooks: Vec<Hook>,
    /// RFC 3339 upload time.
    pub created_at: String,
}

/// Everything Switchboard keeps.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a tenant together with its first key, atomically.
    async fn create_tenant(&self, tenant: &Tenant, first_key: &NewKey) -> StoreResult<()>;
    /// A tenant by id.
    async fn tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>>;
    /// Updates name and/or plan; `None` when no such tenant.
    async fn update_tenant(
        &self,
        id: &TenantId,
        name: Option<&str>,
        plan: Option<Plan>,
    ) -> StoreResult<Option<Tenant>>;

    /// Stores a new key.
    async fn create_key(&self, key: &NewKey) -> StoreResult<()>;
    /// The live (unrevoked) key with this hash, and its tenant.
    async fn key_by_hash(&self, hash: &str) -> StoreResult<Option<(ApiKey, Tenant)>>;
    /// A tenant's live keys, oldest first.
    async fn keys(&self, tenant: &TenantId) -> StoreResult<Vec<ApiKey>>;
    /// Revokes a key; false when the tenant has no such live key.
    async fn revoke_key(&self, tenant: &TenantId, id: &KeyId) -> StoreResult<bool>;

    /// Stores a new tool; `Conflict` when the function id is taken.
    async fn create_tool(&self, tenant: &TenantId, tool: &Tool) -> StoreResult<()>;
    /// Replaces a tool; `Ok(false)` when absent, `Conflict` when the new function id is taken.
    async fn replace_tool(&self, tenant: &TenantId, tool: &Tool) -> StoreResult<bool>;
    /// A tool by id.
    async fn tool(&self, tenant: &TenantId, id: &ToolId) -> StoreResult<Option<Tool>>;
    /// A tool by function id (shared: the invocation path reads it, never changes it).
    async fn tool_by_function(
        &self,
        tenant: &TenantId,
        function_id: &str,
    ) -> StoreResult<Option<Arc<Tool>>>;
    /// All of a tenant's tools, by function id.
    async fn tools(&self, tenant: &TenantId) -> StoreResult<Vec<Tool>>;
    /// Deletes a tool; false when absent.
    async fn delete_tool(&self, tenant: &TenantId, id: &ToolId) -> StoreResult<bool>;

    /// Stores a component (bytes once per hash). When the tenant already has these bytes,
    /// answers the existing record and `false`.
    async fn create_component(
        &self,
        tenant: &TenantId,
        record: &ComponentRecord,
        bytes: &[u8],
    ) -> StoreResult<(ComponentRecord, bool)>;
    /// A component by id.
    async fn component(
        &self,
        tenant: &TenantId,
        id: &ComponentId,
    ) -> StoreResult<Option<ComponentRecord>>;
    /// All of a tenant's components, oldest first.
    async fn components(&self, tenant: &TenantId) -> StoreResult<Vec<ComponentRecord>>;
    /// Deletes a component; answers its hash and whether no component uses the bytes any more.
    async fn delete_component(
        &self,
        tenant: &TenantId,
        id: &ComponentId,
    ) -> StoreResult<Option<(String, bool)>>;
    /// The content hash of every stored component, each once (for warming the runtime).
    async fn component_hashes(&self) -> StoreResult<Vec<String>>;
    /// The bytes with this content hash.
    async fn component_bytes(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>>;

    /// Appends call records in one transaction, then trims the log of the tenants involved
    /// (and, by age, of everyone) to `retention`. Only the call-log writer calls this; the
    /// backend should not make the invocation path wait while it runs.
    async fn record_calls(
        &self,
        records: Vec<CallRecord>,
        retention: Retention,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Calls matching `filter`, newest first.
    async fn calls(&self, tenant: &TenantId, filter: &CallFilter) -> StoreResult<Vec<CallRecord>>;
}
