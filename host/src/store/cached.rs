//! [`CachedStore`]: the hot-path reads served from memory, every write through it
//! invalidating what it changed.
//!
//! An invocation needs the caller's key (and its tenant), the tool and the attached
//! components. Reading them from the database on every call costs a blocking-pool hop and
//! the connection mutex each — behind whatever write holds it. This decorator keeps:
//!
//! - live keys by hash, each with its tenant (no negative entries: a stream of unknown keys
//!   must not grow the cache);
//! - each tenant's tools, sorted by function id, as one shared list;
//! - each tenant's component records.
//!
//! Every write goes to the inner store first and then drops the entries it touched: a
//! revoked key stops working, a plan change and an edited or deleted tool take effect on the
//! very next request. A read that raced a write is not cached (a generation counter is
//! compared before inserting), so a stale row can never be put back after its invalidation.
//!
//! The cache assumes this process makes every write. A backend shared by several replicas
//! must also drop entries on the other replicas' writes (DESIGN.md: `LISTEN/NOTIFY`).

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use async_trait::async_trait;

use super::{CallFilter, CallRecord, ComponentRecord, NewKey, Retention, Store, StoreResult};
use crate::{
    ids::{ComponentId, KeyId, TenantId, ToolId},
    tenant::{ApiKey, Plan, Tenant},
    tool::Tool,
};

/// Most keys kept in memory; past it an arbitrary entry makes room.
pub const KEY_CAPACITY: usize = 100_000;
/// Most tenants whose tools (and, separately, components) are kept in memory.
pub const TENANT_CAPACITY: usize = 20_000;

/// A map bounded in entries, guarded for many readers.
struct Bounded<K, V> {
    map: RwLock<HashMap<K, V>>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> Bounded<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            map: RwLock::default(),
            capacity,
        }
    }

    /// The map for reading; a panic elsewhere while it was held does not poison the cache.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<K, V>> {
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The map for writing (see [`Self::read`]).
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<K, V>> {
        self.map.write().unwrap_or_else(|p| p.into_inner())
    }

    fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.read().get(key).cloned()
    }

    /// Inserts unless `still_valid` says a write happened since the value was read.
    fn insert_if(&self, key: K, value: V, still_valid: impl FnOnce() -> bool) {
        let mut map = self.write();
        if !still_valid() {
            return;
        }
        if map.len() >= self.capacity
            && !map.contains_key(&key)
            && let Some(victim) = map.keys().next().cloned()
        {
            map.remove(&victim);
        }
        map.insert(key, value);
    }

    fn remove<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.write().remove(key);
    }

    fn retain(&self, keep: impl FnMut(&K, &mut V) -> bool) {
        self.write().retain(keep);
    }

    fn len(&self) -> usize {
        self.read().len()
    }
}

/// A [`Store`] that answers key, tool and component reads from memory.
pub struct CachedStore {
    inner: Arc<dyn Store>,
    /// Bumped after every write, before its entries are dropped.
    generation: AtomicU64,
    keys: Bounded<String, (ApiKey, Tenant)>,
    tools: Bounded<TenantId, Arc<Vec<Arc<Tool>>>>,
    components: Bounded<TenantId, Arc<Vec<ComponentRecord>>>,
}

/// How many entries each cache holds (for tests and the benchmark).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheSizes {
    /// Live keys cached.
    pub keys: usize,
    /// Tenants whose tools are cached.
    pub tool_lists: usize,
    /// Tenants whose components are cached.
    pub component_lists: usize,
}

impl CachedStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            generation: AtomicU64::new(0),
            keys: Bounded::new(KEY_CAPACITY),
            tools: Bounded::new(TENANT_CAPACITY),
            components: Bounded::new(TENANT_CAPACITY),
        }
    }

    /// How many entries each cache holds now.
    pub fn sizes(&self) -> CacheSizes {
        CacheSizes {
            keys: self.keys.len(),
            tool_lists: self.tools.len(),
            component_lists: self.components.len(),
        }
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Marks that a write completed: reads begun before it will not be cached.
    fn wrote(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn unchanged_since(&self, generation: u64) -> impl FnOnce() -> bool + '_ {
        move || self.generation() == generation
    }

    /// The tenant's tools, sorted by function id, from memory when cached.
    async fn tool_list(&self, tenant: &TenantId) -> StoreResult<Arc<Vec<Arc<Tool>>>> {
        if let Some(list) = self.tools.get(tenant) {
            return Ok(list);
        }
        let generation = self.generation();
        let mut list = self.inner.tools(tenant).await?;
        // The backend orders them too; sorting here makes the binary search below safe
        // whatever its collation.
        list.sort_by(|a, b| a.function_id.cmp(&b.function_id));
        let list = Arc::new(list.into_iter().map(Arc::new).collect::<Vec<_>>());
        self.tools.insert_if(
            tenant.clone(),
            list.clone(),
            self.unchanged_since(generation),
        );
        Ok(list)
    }

    async fn component_list(&self, tenant: &TenantId) -> StoreResult<Arc<Vec<ComponentRecord>>> {
        if let Some(list) = self.components.get(tenant) {
            return Ok(list);
        }
        let generation = self.generation();
        let list = Arc::new(self.inner.components(tenant).await?);
        self.components.insert_if(
            tenant.clone(),
            list.clone(),
            self.unchanged_since(generation),
        );
        Ok(list)
    }

    fn forget_tools(&self, tenant: &TenantId) {
        self.wrote();
        self.tools.remove(tenant);
    }

    fn forget_components(&self, tenant: &TenantId) {
        self.wrote();
        self.components.remove(tenant);
    }
}

#[async_trait]
impl Store for CachedStore {
    async fn create_tenant(&self, tenant: &Tenant, first_key: &NewKey) -> StoreResult<()> {
        self.inner.create_tenant(tenant, first_key).await
    }

    async fn tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        self.inner.tenant(id).await
    }

    async fn update_tenant(
        &self,
        id: &TenantId,
        name: Option<&str>,
        plan: Option<Plan>,
    ) -> StoreResult<Option<Tenant>> {
        let result = self.inner.update_tenant(id, name, plan).await;
        // Keys carry their tenant (plan included): drop every key of this tenant.
        self.wrote();
        self.keys.retain(|_, (_, tenant)| &tenant.id != id);
        result
    }

    async fn create_key(&self, key: &NewKey) -> StoreResult<()> {
        // Nothing to drop: unknown keys are never cached.
        self.inner.create_key(key).await
    }

    async fn key_by_hash(&self, hash: &str) -> StoreResult<Option<(ApiKey, Tenant)>> {
        if let Some(found) = self.keys.get(hash) {
            return Ok(Some(found));
        }
        let generation = self.generation();
        let found = self.inner.key_by_hash(hash).await?;
        if let Some(found) = &found {
            self.keys.insert_if(
                hash.to_owned(),
                found.clone(),
                self.unchanged_since(generation),
            );
        }
        Ok(found)
    }

    async fn keys(&self, tenant: &TenantId) -> StoreResult<Vec<ApiKey>> {
        self.inner.keys(tenant).await
    }

    async fn revoke_key(&self, tenant: &TenantId, id: &KeyId) -> StoreResult<bool> {
        let result = self.inner.revoke_key(tenant, id).await;
        self.wrote();
        self.keys.retain(|_, (key, _)| &key.id != id);
        result
    }

    async fn create_tool(&self, tenant: &TenantId, tool: &Tool) -> StoreResult<()> {
        let result = self.inner.create_tool(tenant, tool).await;
        self.forget_tools(tenant);
        result
    }

    async fn replace_tool(&self, tenant: &TenantId, tool: &Tool) -> StoreResult<bool> {
        let result = self.inner.replace_tool(tenant, tool).await;
        self.forget_tools(tenant);
        result
    }

    async fn tool(&self, tenant: &TenantId, id: &ToolId) -> StoreResult<Option<Tool>> {
        let list = self.tool_list(tenant).await?;
        Ok(list.iter().find(|t| &t.id == id).map(|t| Tool::clone(t)))
    }

    async fn tool_by_function(
        &self,
        tenant: &TenantId,
        function_id: &str,
    ) -> StoreResult<Option<Arc<Tool>>> {
        let list = self.tool_list(tenant).await?;
        Ok(list
            .binary_search_by(|t| t.function_id.as_str().cmp(function_id))
            .ok()
            .map(|i| list[i].clone()))
    }

    async fn tools(&self, tenant: &TenantId) -> StoreResult<Vec<Tool>> {
        let list = self.tool_list(tenant).await?;
        Ok(list.iter().map(|t| Tool::clone(t)).collect())
    }

    async fn delete_tool(&self, tenant: &TenantId, id: &ToolId) -> StoreResult<bool> {
        let result = self.inner.delete_tool(tenant, id).await;
        self.forget_tools(tenant);
        result
    }

    async fn create_component(
        &self,
        tenant: &TenantId,
        record: &ComponentRecord,
        bytes: &[u8],
    ) -> StoreResult<(ComponentRecord, bool)> {
        let result = self.inner.create_component(tenant, record, bytes).await;
        self.forget_components(tenant);
        result
    }

    async fn component(
        &self,
        tenant: &TenantId,
        id: &ComponentId,
    ) -> StoreResult<Option<ComponentRecord>> {
        let list = self.component_list(tenant).await?;
        Ok(list.iter().find(|c| &c.id == id).cloned())
    }

    async fn components(&self, tenant: &TenantId) -> StoreResult<Vec<ComponentRecord>> {
        Ok(self.component_list(tenant).await?.as_ref().clone())
    }

    async fn delete_component(
        &self,
        tenant: &TenantId,
        id: &ComponentId,
    ) -> StoreResult<Option<(String, bool)>> {
        let result = self.inner.delete_component(tenant, id).await;
        self.forget_components(tenant);
        result
    }

    async fn component_hashes(&self) -> StoreResult<Vec<String>> {
        self.inner.component_hashes().await
    }

    async fn component_bytes(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        self.inner.component_bytes(sha256).await
    }

    async fn record_calls(
        &self,
        records: Vec<CallRecord>,
        retention: Retention,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.inner.record_calls(records, retention, now_ms).await
    }

    async fn calls(&self, tenant: &TenantId, filter: &CallFilter) -> StoreResult<Vec<CallRecord>> {
        self.inner.calls(tenant, filter).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{store::sqlite::SqliteStore, tenant::Scope};

    struct Fixture {
        _dir: tempfile::TempDir,
        db: std::path::PathBuf,
        cached: CachedStore,
        tenant: Tenant,
        tool: Tool,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("test.db");
        let inner = SqliteStore::open(&db).unwrap();
        let cached = CachedStore::new(Arc::new(inner));
        let tenant = Tenant {
            id: TenantId::generate(),
            name: "Plumbing".into(),
            plan: Plan::Plus,
            created_at: "2025-01-01T00:00:00Z".into(),
        };
        let key = NewKey {
            key: ApiKey {
                id: KeyId::generate(),
                scope: Scope::Invoke,
                hint: "sbk_abc".into(),
                created_at: tenant.created_at.clone(),
                tenant_id: tenant.id.clone(),
            },
            hash: "hash-of-the-key".into(),
        };
        cached.create_tenant(&tenant, &key).await.unwrap();
        let spec = serde_json::from_value(json!({
            "name": "Check availability in area",
            "description": "Checks the area.",
            "url": "https://plumbing.example.com/areas/check",
            "method": "POST"
        }))
        .unwrap();
        let tool = Tool {
            id: ToolId::generate(),
            function_id: "check_availability_in_area".into(),
            spec,
            created_at: tenant.created_at.clone(),
            updated_at: tenant.created_at.clone(),
            signed: false,
        };
        cached.create_tool(&tenant.id, &tool).await.unwrap();
        Fixture {
            _dir: dir,
            db,
            cached,
            tenant,
            tool,
        }
    }

    /// Changes the database behind the cache's back, as nothing in the service ever does.
    fn edit_behind(db: &std::path::Path, sql: &str) {
        let conn = rusqlite::Connection::open(db).unwrap();
        assert_eq!(conn.execute(sql, []).unwrap(), 1, "{sql}");
    }

    #[tokio::test]
    async fn reads_come_from_memory_until_a_write_through_the_cache() {
        let f = fixture().await;
        let (tenant, fid) = (&f.tenant.id, "check_availability_in_area");
        assert!(
            f.cached
                .key_by_hash("hash-of-the-key")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            f.cached
                .tool_by_function(tenant, fid)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            f.cached.sizes(),
            CacheSizes {
                keys: 1,
                tool_lists: 1,
                component_lists: 0
            }
        );

        // Served from memory: a change the cache was not told about is not seen...
        edit_behind(&f.db, "UPDATE tools SET function_id = 'renamed'");
        edit_behind(&f.db, "UPDATE api_keys SET revoked_at = 'now'");
        assert!(
            f.cached
                .tool_by_function(tenant, fid)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            f.cached
                .key_by_hash("hash-of-the-key")
                .await
                .unwrap()
                .is_some()
        );

        // ...and a write through it drops exactly what it touched.
        f.cached
            .delete_tool(tenant, &ToolId::generate())
            .await
            .unwrap();
        assert!(
            f.cached
                .tool_by_function(tenant, fid)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            f.cached
                .tool_by_function(tenant, "renamed")
                .await
                .unwrap()
                .is_some()
        );
        f.cached
            .update_tenant(tenant, None, Some(Plan::Pro))
            .await
            .unwrap();
        assert!(
            f.cached
                .key_by_hash("hash-of-the-key")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn each_write_takes_effect_on_the_next_read() {
        let f = fixture().await;
        let tenant = &f.tenant.id;
        let (key, _) = f
            .cached
            .key_by_hash("hash-of-the-key")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(f.cached.tools(tenant).await.unwrap().len(), 1);

        let (_, seen) = f
            .cached
            .key_by_hash("hash-of-the-key")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.plan, Plan::Plus);
        f.cached
            .update_tenant(tenant, None, Some(Plan::Pro))
            .await
            .unwrap();
        let (_, seen) = f
            .cached
            .key_by_hash("hash-of-the-key")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(seen.plan, Plan::Pro, "plan change seen at once");

        let mut edited = f.tool.clone();
        edited.function_id = "check_service_area".into();
        assert!(f.cached.replace_tool(tenant, &edited).await.unwrap());
        let got = f.cached.tool(tenant, &f.tool.id).await.unwrap().unwrap();
        assert_eq!(got.function_id, "check_service_area", "edit seen at once");

        assert!(f.cached.delete_tool(tenant, &f.tool.id).await.unwrap());
        assert!(f.cached.tool(tenant, &f.tool.id).await.unwrap().is_none());
        assert!(f.cached.tools(tenant).await.unwrap().is_empty());

        assert!(f.cached.revoke_key(tenant, &key.id).await.unwrap());
        assert!(
            f.cached
                .key_by_hash("hash-of-the-key")
                .await
                .unwrap()
                .is_none(),
            "revoked at once"
        );
    }

    #[tokio::test]
    async fn a_read_that_raced_a_write_is_not_cached() {
        let f = fixture().await;
        let tenant = &f.tenant.id;
        // A read begins and fetches the list...
        let generation = f.cached.generation();
        let stale = f.cached.inner.tools(tenant).await.unwrap();
        // ...a write completes meanwhile...
        assert!(f.cached.delete_tool(tenant, &f.tool.id).await.unwrap());
        // ...and the read's result must not be put back.
        f.cached.tools.insert_if(
            tenant.clone(),
            Arc::new(stale.into_iter().map(Arc::new).collect()),
            f.cached.unchanged_since(generation),
        );
        assert!(f.cached.tools(tenant).await.unwrap().is_empty());
    }

    #[test]
    fn the_caches_are_bounded() {
        let bounded = Bounded::new(2);
        for i in 0..5 {
            bounded.insert_if(i, i, || true);
        }
        assert_eq!(bounded.len(), 2);
        assert_eq!(bounded.get(&4), Some(4), "the newest entry is kept");
    }
}
