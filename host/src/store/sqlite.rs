//! The embedded SQLite backend: one file in the data dir, WAL journal with
//! `synchronous = FULL` so an acknowledged write survives a crash or power loss.
//!
//! One connection behind a mutex, used from Tokio's blocking pool: SQLite serialises writers
//! anyway. The call-log writer has a second connection of its own, so a slow log write (a
//! big batch, a busy disk) never holds the lock the invocation path reads through. With two
//! writers, every write transaction starts `IMMEDIATE`: it waits for the write lock (busy
//! timeout) up front instead of failing when a read snapshot goes stale under it.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex},
};

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{
    CallFilter, CallRecord, ComponentRecord, NewKey, Retention, Store, StoreError, StoreResult,
};
use crate::{
    ids::{ComponentId, KeyId, TenantId, ToolId},
    tenant::{ApiKey, Plan, Scope, Tenant},
    tool::{Tool, ToolSpec, model::Agent},
};

/// Schema migrations, applied in order; `PRAGMA user_version` counts how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_components.sql"),
    include_str!("migrations/0003_call_log.sql"),
    include_str!("migrations/0004_call_log_indexes.sql"),
];

/// The SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    log: Arc<Mutex<LogConn>>,
}

/// The call-log writer's connection, and how many calls each tenant it has seen has logged.
/// The writer is the only one that inserts or deletes calls, so once counted (one
/// `COUNT(*)` per tenant per process) a tenant's count stays exact, and trimming the log to
/// `max_per_tenant` costs the rows it deletes instead of a walk over the rows it keeps.
struct LogConn {
    conn: Connection,
    counts: HashMap<String, u64>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut conn = connect(path)?;
        migrate(&mut conn)?;
        let log_conn = connect(path)?;
        // The call log is written in batches behind the request (calllog): an fsync per
        // batch is wasted there. In WAL mode NORMAL still never corrupts the database; a
        // power cut may lose the last batches, as it would lose the writer's queue anyway.
        log_conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            log: Arc::new(Mutex::new(LogConn {
                conn: log_conn,
                counts: HashMap::new(),
            })),
        })
    }

    /// Runs `f` with the main connection on the blocking pool.
    async fn with<T, F>(&self, what: &'static str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        on_blocking_pool(self.conn.clone(), what, f).await
    }
}

/// Runs `f` with `conn` on Tokio's blocking pool, adding `what` to any error.
async fn on_blocking_pool<C, T, F>(conn: Arc<Mutex<C>>, what: &'static str, f: F) -> StoreResult<T>
where
    C: Send + 'static,
    T: Send + 'static,
    F: FnOnce(&mut C) -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut guard = conn
            .lock()
            .map_err(|_| anyhow!("the database connection mutex was poisoned"))?;
        f(&mut guard)
    })
    .await
    .map_err(|e| StoreError::Other(anyhow!(e).context(what)))?
    .map_err(|e| match e {
        StoreError::Other(e) => StoreError::Other(e.context(what)),
        conflict => conflict,
    })
}

/// A connection with the durability settings every connection here uses.
fn connect(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("opening SQLite database {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let applied: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if applied > MIGRATIONS.len() {
        anyhow::bail!(
            "the database schema (version {applied}) is newer than this binary ({}); upgrade switchboard",
            MIGRATIONS.len()
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .with_context(|| format!("applying migration {}", i + 1))?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Other(e.into())
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(err, _)
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

fn tenant_from_row(row: &Row<'_>) -> rusqlite::Result<Tenant> {
    let plan: String = row.get("plan")?;
    Ok(Tenant {
        id: TenantId(row.get("id")?),
        name: row.get("name")?,
        plan: Plan::parse(&plan).unwrap_or(Plan::Free),
        created_at: row.get("created_at")?,
    })
}

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let scope: String = row.get("scope")?;
    Ok(ApiKey {
        id: KeyId(row.get("id")?),
        tenant_id: TenantId(row.get("tenant_id")?),
        scope: Scope::parse(&scope).unwrap_or(Scope::Invoke),
        hint: row.get("hint")?,
        created_at: row.get("created_at")?,
    })
}

fn tool_from_row(row: &Row<'_>) -> rusqlite::Result<Tool> {
    let spec: String = row.get("spec")?;
    let spec: ToolSpec = serde_json::from_str(&spec).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Tool {
        id: ToolId(row.get("id")?),
        function_id: row.get("function_id")?,
        spec,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        signed: false,
    })
}

fn component_from_row(row: &Row<'_>) -> rusqlite::Result<ComponentRecord> {
    let hooks: String = row.get("hooks")?;
    Ok(ComponentRecord {
        id: ComponentId(row.get("id")?),
        name: row.get("name")?,
        sha256: row.get("sha256")?,
        size_bytes: row.get("size_bytes")?,
        hooks: serde_json::from_str(&hooks).unwrap_or_default(),
        created_at: row.get("created_at")?,
    })
}

fn call_from_row(row: &Row<'_>) -> rusqlite::Result<CallRecord> {
    let agent: String = row.get("agent")?;
    let detail: String = row.get("detail")?;
    Ok(CallRecord {
        call_id: row.get("call_id")?,
        created_at: row.get("created_at")?,
        agent: Agent::parse(&agent).unwrap_or(Agent::Receptionist),
        tool_id: ToolId(row.get("tool_id")?),
        tool: row.get("function_id")?,
        conversation_id: row.get("conversation_id")?,
        test: row.get("test")?,
        ok: row.get("ok")?,
        status: row.get("status")?,
        error_kind: row.get("error_kind")?,
        detail: serde_json::value::RawValue::from_string(detail)
            .unwrap_or_else(|_| serde_json::value::to_raw_value(&()).expect("null serialises")),
        tenant_id: TenantId(row.get("tenant_id")?),
        created_ms: row.get("created_ms")?,
        seq: row.get("seq")?,
    })
}

fn insert_key(conn: &Connection, key: &NewKey) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO api_keys (id, tenant_id, scope, hash, hint, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            key.key.id.as_str(),
            key.key.tenant_id.as_str(),
            key.key.scope.as_str(),
            key.hash,
            key.key.hint,
            key.key.created_at
        ],
    )
}

fn spec_json(tool: &Tool) -> StoreResult<String> {
    serde_json::to_string(&tool.spec).map_err(|e| StoreError::Other(e.into()))
}

fn function_conflict(tool: &Tool) -> StoreError {
    StoreError::Conflict(format!(
        "another tool already has the function id '{}'",
        tool.function_id
    ))
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_tenant(&self, tenant: &Tenant, first_key: &NewKey) -> StoreResult<()> {
        let (tenant, key) = (tenant.clone(), first_key.clone());
        self.with("creating a tenant", move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            tx.execute(
                "INSERT INTO tenants (id, name, plan, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    tenant.id.as_str(),
                    tenant.name,
                    tenant.plan.as_str(),
                    tenant.created_at
                ],
            )
            .map_err(db)?;
            insert_key(&tx, &key).map_err(db)?;
            tx.commit().map_err(db)
        })
        .await
    }

    async fn tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        let id = id.clone();
        self.with("reading a tenant", move |conn| {
            conn.query_row(
                "SELECT * FROM tenants WHERE id = ?1",
                [id.as_str()],
                tenant_from_row,
            )
            .optional()
            .map_err(db)
        })
        .await
    }

    async fn update_tenant(
        &self,
        id: &TenantId,
        name: Option<&str>,
        plan: Option<Plan>,
    ) -> StoreResult<Option<Tenant>> {
        let (id, name) = (id.clone(), name.map(str::to_owned));
        self.with("updating a tenant", move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            if let Some(name) = name {
                tx.execute(
                    "UPDATE tenants SET name = ?2 WHERE id = ?1",
                    params![id.as_str(), name],
                )
                .map_err(db)?;
            }
            if let Some(plan) = plan {
                tx.execute(
                    "UPDATE tenants SET plan = ?2 WHERE id = ?1",
                    params![id.as_str(), plan.as_str()],
                )
                .map_err(db)?;
            }
            let tenant = tx
                .query_row(
                    "SELECT * FROM tenants WHERE id = ?1",
                    [id.as_str()],
                    tenant_from_row,
                )
                .optional()
                .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(tenant)
        })
        .await
    }

    async fn create_key(&self, key: &NewKey) -> StoreResult<()> {
        let key = key.clone();
        self.with("creating a key", move |conn| {
            insert_key(conn, &key).map(|_| ()).map_err(db)
        })
        .await
    }

    async fn key_by_hash(&self, hash: &str) -> StoreResult<Option<(ApiKey, Tenant)>> {
        let hash = hash.to_owned();
        self.with("looking up a key", move |conn| {
            conn.query_row(
                "SELECT k.id, k.tenant_id, k.scope, k.hint, k.created_at,
                        t.name, t.plan, t.created_at AS tenant_created_at
                 FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
                 WHERE k.hash = ?1 AND k.revoked_at IS NULL",
                [hash],
                |row| {
                    let key = key_from_row(row)?;
                    let plan: String = row.get("plan")?;
                    let tenant = Tenant {
                        id: key.tenant_id.clone(),
                        name: row.get("name")?,
                        plan: Plan::parse(&plan).unwrap_or(Plan::Free),
                        created_at: row.get("tenant_created_at")?,
                    };
                    Ok((key, tenant))
                },
            )
            .optional()
            .map_err(db)
        })
        .await
    }

    async fn keys(&self, tenant: &TenantId) -> StoreResult<Vec<ApiKey>> {
        let tenant = tenant.clone();
        self.with("listing keys", move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT * FROM api_keys WHERE tenant_id = ?1 AND revoked_at IS NULL ORDER BY rowid",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map([tenant.as_str()], key_from_row)
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn revoke_key(&self, tenant: &TenantId, id: &KeyId) -> StoreResult<bool> {
        let (tenant, id) = (tenant.clone(), id.clone());
        let now = crate::clock::now_rfc3339();
        self.with("revoking a key", move |conn| {
            let n = conn
                .execute(
                    "UPDATE api_keys SET revoked_at = ?3
                     WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL",
                    params![tenant.as_str(), id.as_str(), now],
                )
                .map_err(db)?;
            Ok(n == 1)
        })
        .await
    }

    async fn create_tool(&self, tenant: &TenantId, tool: &Tool) -> StoreResult<()> {
        let (tenant, tool) = (tenant.clone(), tool.clone());
        let spec = spec_json(&tool)?;
        self.with("creating a tool", move |conn| {
            match conn.execute(
                "INSERT INTO tools (id, tenant_id, function_id, spec, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    tool.id.as_str(),
                    tenant.as_str(),
                    tool.function_id,
                    spec,
                    tool.created_at,
                    tool.updated_at
                ],
            ) {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(function_conflict(&tool)),
                Err(e) => Err(db(e)),
            }
        })
        .await
    }

    async fn replace_tool(&self, tenant: &TenantId, tool: &Tool) -> StoreResult<bool> {
        let (tenant, tool) = (tenant.clone(), tool.clone());
        let spec = spec_json(&tool)?;
        self.with("replacing a tool", move |conn| {
            match conn.execute(
                "UPDATE tools SET function_id = ?3, spec = ?4, updated_at = ?5
                 WHERE tenant_id = ?1 AND id = ?2",
                params![
                    tenant.as_str(),
                    tool.id.as_str(),
                    tool.function_id,
                    spec,
                    tool.updated_at
                ],
            ) {
                Ok(n) => Ok(n == 1),
                Err(e) if is_unique_violation(&e) => Err(function_conflict(&tool)),
                Err(e) => Err(db(e)),
            }
        })
        .await
    }

    async fn tool(&self, tenant: &TenantId, id: &ToolId) -> StoreResult<Option<Tool>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.with("reading a tool", move |conn| {
            conn.query_row(
                "SELECT * FROM tools WHERE tenant_id = ?1 AND id = ?2",
                [tenant.as_str(), id.as_str()],
                tool_from_row,
            )
            .optional()
            .map_err(db)
        })
        .await
    }

    async fn tool_by_function(
        &self,
        tenant: &TenantId,
        function_id: &str,
    ) -> StoreResult<Option<Arc<Tool>>> {
        let (tenant, function_id) = (tenant.clone(), function_id.to_owned());
        self.with("reading a tool", move |conn| {
            conn.query_row(
                "SELECT * FROM tools WHERE tenant_id = ?1 AND function_id = ?2",
                [tenant.as_str(), function_id.as_str()],
                tool_from_row,
            )
            .optional()
            .map(|tool| tool.map(Arc::new))
            .map_err(db)
        })
        .await
    }

    async fn tools(&self, tenant: &TenantId) -> StoreResult<Vec<Tool>> {
        let tenant = tenant.clone();
        self.with("listing tools", move |conn| {
            let mut stmt = conn
                .prepare("SELECT * FROM tools WHERE tenant_id = ?1 ORDER BY function_id")
                .map_err(db)?;
            let rows = stmt
                .query_map([tenant.as_str()], tool_from_row)
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn delete_tool(&self, tenant: &TenantId, id: &ToolId) -> StoreResult<bool> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.with("deleting a tool", move |conn| {
            let n = conn
                .execute(
                    "DELETE FROM tools WHERE tenant_id = ?1 AND id = ?2",
                    [tenant.as_str(), id.as_str()],
                )
                .map_err(db)?;
            Ok(n == 1)
        })
        .await
    }

    async fn create_component(
        &self,
        tenant: &TenantId,
        record: &ComponentRecord,
        bytes: &[u8],
    ) -> StoreResult<(ComponentRecord, bool)> {
        let (tenant, record, bytes) = (tenant.clone(), record.clone(), bytes.to_vec());
        let hooks =
            serde_json::to_string(&record.hooks).map_err(|e| StoreError::Other(e.into()))?;
        self.with("storing a component", move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            if let Some(existing) = tx
                .query_row(
                    "SELECT * FROM components WHERE tenant_id = ?1 AND sha256 = ?2",
                    [tenant.as_str(), record.sha256.as_str()],
                    component_from_row,
                )
                .optional()
                .map_err(db)?
            {
                return Ok((existing, false));
            }
            tx.execute(
                "INSERT OR IGNORE INTO component_blobs (sha256, bytes, created_at) VALUES (?1, ?2, ?3)",
                params![record.sha256, bytes, record.created_at],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO components (id, tenant_id, name, sha256, size_bytes, hooks, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    record.id.as_str(),
                    tenant.as_str(),
                    record.name,
                    record.sha256,
                    record.size_bytes,
                    hooks,
                    record.created_at
                ],
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok((record, true))
        })
        .await
    }

    async fn component(
        &self,
        tenant: &TenantId,
        id: &ComponentId,
    ) -> StoreResult<Option<ComponentRecord>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.with("reading a component", move |conn| {
            conn.query_row(
                "SELECT * FROM components WHERE tenant_id = ?1 AND id = ?2",
                [tenant.as_str(), id.as_str()],
                component_from_row,
            )
            .optional()
            .map_err(db)
        })
        .await
    }

    async fn components(&self, tenant: &TenantId) -> StoreResult<Vec<ComponentRecord>> {
        let tenant = tenant.clone();
        self.with("listing components", move |conn| {
            let mut stmt = conn
                .prepare("SELECT * FROM components WHERE tenant_id = ?1 ORDER BY created_at, id")
                .map_err(db)?;
            let rows = stmt
                .query_map([tenant.as_str()], component_from_row)
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn delete_component(
        &self,
        tenant: &TenantId,
        id: &ComponentId,
    ) -> StoreResult<Option<(String, bool)>> {
        let (tenant, id) = (tenant.clone(), id.clone());
        self.with("deleting a component", move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let Some(sha256) = tx
                .query_row(
                    "SELECT sha256 FROM components WHERE tenant_id = ?1 AND id = ?2",
                    [tenant.as_str(), id.as_str()],
                    |r| r.get::<_, String>(0),
                )
                .optional()
                .map_err(db)?
            else {
                return Ok(None);
            };
            tx.execute(
                "DELETE FROM components WHERE tenant_id = ?1 AND id = ?2",
                [tenant.as_str(), id.as_str()],
            )
            .map_err(db)?;
            let orphaned = tx
                .execute(
                    "DELETE FROM component_blobs WHERE sha256 = ?1
                       AND NOT EXISTS (SELECT 1 FROM components WHERE sha256 = ?1)",
                    [sha256.as_str()],
                )
                .map_err(db)?
                == 1;
            tx.commit().map_err(db)?;
            Ok(Some((sha256, orphaned)))
        })
        .await
    }

    async fn component_hashes(&self) -> StoreResult<Vec<String>> {
        self.with("listing component hashes", |conn| {
            let mut stmt = conn
                .prepare("SELECT sha256 FROM component_blobs ORDER BY created_at, sha256")
                .map_err(db)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn component_bytes(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        let sha256 = sha256.to_owned();
        self.with("reading component bytes", move |conn| {
            conn.query_row(
                "SELECT bytes FROM component_blobs WHERE sha256 = ?1",
                [sha256],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)
        })
        .await
    }

    async fn record_calls(
        &self,
        records: Vec<CallRecord>,
        retention: Retention,
        now_ms: i64,
    ) -> StoreResult<()> {
        on_blocking_pool(self.log.clone(), "recording calls", move |log| {
            let LogConn { conn, counts } = log;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            // The counts this batch leaves, applied only once it has committed.
            let mut changed: HashMap<String, u64> = HashMap::new();
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO calls (tenant_id, call_id, created_at, created_ms, agent,
                                            tool_id, function_id, conversation_id, test, ok,
                                            status, error_kind, detail)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                    )
                    .map_err(db)?;
                for record in &records {
                    insert
                        .execute(params![
                            record.tenant_id.as_str(),
                            record.call_id,
                            record.created_at,
                            record.created_ms,
                            record.agent.as_str(),
                            record.tool_id.as_str(),
                            record.tool,
                            record.conversation_id,
                            record.test,
                            record.ok,
                            record.status,
                            record.error_kind,
                            record.detail.get()
                        ])
                        .map_err(db)?;
                }
            }
            if let Some(max_age) = retention.max_age_ms {
                let mut expire = tx
                    .prepare_cached("DELETE FROM calls WHERE created_ms < ?1 RETURNING tenant_id")
                    .map_err(db)?;
                let expired = expire
                    .query_map([now_ms.saturating_sub(max_age)], |row| {
                        row.get::<_, String>(0)
                    })
                    .map_err(db)?;
                for tenant in expired {
                    let tenant = tenant.map_err(db)?;
                    if let Some(&count) = counts.get(&tenant) {
                        let left = changed.entry(tenant).or_insert(count);
                        *left = left.saturating_sub(1);
                    }
                }
            }
            if let Some(keep) = retention.max_per_tenant {
                let mut added: HashMap<&str, u64> = HashMap::new();
                for record in &records {
                    *added.entry(record.tenant_id.as_str()).or_default() += 1;
                }
                let mut count_all = tx
                    .prepare_cached("SELECT COUNT(*) FROM calls WHERE tenant_id = ?1")
                    .map_err(db)?;
                let mut trim = tx
                    .prepare_cached(
                        "DELETE FROM calls WHERE seq IN (
                             SELECT seq FROM calls WHERE tenant_id = ?1 ORDER BY seq LIMIT ?2)",
                    )
                    .map_err(db)?;
                for (tenant, added) in added {
                    let known = changed
                        .get(tenant)
                        .or_else(|| counts.get(tenant))
                        .map(|count| count + added);
                    let count = match known {
                        Some(count) => count,
                        None => count_all
                            .query_row([tenant], |row| row.get::<_, u64>(0))
                            .map_err(db)?,
                    };
                    let excess = count.saturating_sub(u64::from(keep));
                    if excess > 0 {
                        trim.execute(params![tenant, excess]).map_err(db)?;
                    }
                    changed.insert(tenant.to_owned(), count - excess);
                }
            }
            tx.commit().map_err(db)?;
            if retention.max_per_tenant.is_some() {
                counts.extend(changed);
            } else {
                // Nothing kept them up to date in this batch.
                counts.clear();
            }
            Ok(())
        })
        .await
    }

    async fn calls(&self, tenant: &TenantId, filter: &CallFilter) -> StoreResult<Vec<CallRecord>> {
        let (tenant, filter) = (tenant.clone(), filter.clone());
        self.with("listing calls", move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT * FROM calls WHERE tenant_id = ?1
                       AND (?2 IS NULL OR tool_id = ?2 OR function_id = ?2)
                       AND (?3 IS NULL OR conversation_id = ?3)
                       AND (?4 IS NULL OR ok = ?4)
                       AND (?5 IS NULL OR seq < ?5)
                     ORDER BY seq DESC LIMIT ?6",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map(
                    params![
                        tenant.as_str(),
                        filter.tool,
                        filter.conversation,
                        filter.ok,
                        filter.before_seq,
                        filter.limit
                    ],
                    call_from_row,
                )
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }
}
