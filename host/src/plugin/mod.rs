//! The plugin runtime: tenant WebAssembly components, checked at upload, compiled once,
//! and run in a fresh sandboxed instance for every hook call.
//!
//! - [`limits`]: the operator's sandbox limits. [`engine`]: the one `Engine` and its epoch ticker.
//! - [`inspect`]: upload checks. [`cache`]: compiled artifacts on disk (the one `unsafe`).
//! - [`sandbox`]: the per-call host state (WASI without ambient authority, `host.log`,
//!   `host.config`, captured output, the memory limiter) and the WIT bindings.
//! - [`convert`]: JSON arguments to and from the WIT types.
//! - [`warm`]: making every stored component ready at start-up, in the background.
//!
//! Hook calls run on the request's own task (wasmtime's async support: the guest runs on a
//! fiber), not on a thread pool: no hand-off per call, and a guest that runs long yields
//! its worker every epoch tick, so it delays nobody else by more than a millisecond.
//!
//! An instance can be made ahead of its call, and a finished one is torn down on a task of
//! its own, so neither the making nor the reset of its slot sits between the caller and its
//! answer: each call of a hook makes the next call's instance in the background
//! ([`PluginRuntime::fresh`]; for the component, hook and configuration called most
//! recently), and the response transform's is made while the webhook is in flight when none
//! is waiting ([`PluginRuntime::fresh_ahead`]). All of these hold one of the pool's spare
//! slots meanwhile (half as many again as `concurrency`); when none is free, the instance is
//! made or torn down in line, so hook calls that start now always have their `concurrency`
//! slots.
//!
//! A component never shares an instance: no state survives between calls, conversations or
//! tenants. A refusal is the guest's well-formed "no" (data); a trap, a limit or a malformed
//! answer is a failure with a message that says which.

pub mod cache;
pub mod compile;
pub mod convert;
pub mod engine;
pub mod inspect;
pub mod limits;
pub mod sandbox;
pub mod share;
pub mod warm;

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{
        Arc, Mutex, RwLock, Weak,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wasmtime::{
    CallHook, Engine, PoolConcurrencyLimitError, Store, Trap, UpdateDeadline,
    component::{Component, ComponentExportIndex, HasSelf, Instance, InstancePre, Linker},
};

use self::{
    cache::ArtifactCache,
    sandbox::{CallCtx, MemoryLimitExceeded, Transformer},
    share::{Shares, Slot, UploadGate, Waiting},
};
pub use self::{
    inspect::Refused,
    limits::SandboxLimits,
    sandbox::{LogLine, types},
};

/// A hook a component can implement.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// `transform-params`: before the webhook call.
    Params,
    /// `transform-response`: after it.
    Response,
}

impl Hook {
    /// The hook's short name (`params`, `response`).
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Params => "params",
            Hook::Response => "response",
        }
    }

    /// The WIT export implementing it.
    pub fn export(self) -> &'static str {
        match self {
            Hook::Params => "transform-params",
            Hook::Response => "transform-response",
        }
    }
}

/// Why a hook call did not produce a value.
#[derive(Debug, Clone)]
pub enum HookFailure {
    /// The component said no, deliberately.
    Refused {
        /// Words for the caller.
        say: Option<String>,
        /// Why, for the call log only.
        detail: String,
    },
    /// It trapped, hit a limit, or answered something unusable.
    Failed(String),
}

/// Who a hook call is for and how long it may take.
#[derive(Clone, Copy, Debug)]
pub struct HookCall<'a> {
    /// The tenant whose share of the sandbox the call uses.
    pub tenant: &'a str,
    /// When the tool's response timeout runs out; the hook's own wall-clock limit
    /// ([`SandboxLimits::wall_ms`]) may end it sooner.
    pub tool_deadline: Instant,
    /// The tool's response timeout, named when it is what ends the hook.
    pub timeout_secs: u32,
}

/// What ended a hook that ran out of time.
#[derive(Clone, Copy, Debug)]
enum Bound {
    /// Its own wall-clock limit, in milliseconds.
    Wall(u64),
    /// What was left of the tool's response timeout, in seconds.
    Tool(u32),
}

/// A hook (or an upload check) stopped at its wall-clock deadline: while `starting`
/// (instantiation, constructors and `start` functions) or in the call.
#[derive(Debug, thiserror::Error)]
#[error("ran out of wall-clock time")]
struct OverDeadline {
    bound: Bound,
    starting: bool,
}

/// The outcome of one hook call with what the guest logged.
#[derive(Debug)]
pub struct HookRun<T> {
    /// The value, or why there is none.
    pub result: Result<T, HookFailure>,
    /// Lines from `host.log`, stdout and stderr (capped).
    pub logs: Vec<LogLine>,
    /// Instantiation plus the call, in milliseconds.
    pub elapsed_ms: f64,
}

/// A component ready to instantiate.
pub struct Loaded {
    pre: InstancePre<CallCtx>,
    params: Option<ComponentExportIndex>,
    response: Option<ComponentExportIndex>,
}

struct Inner {
    engine: Engine,
    linker: Linker<CallCtx>,
    limits: SandboxLimits,
    cache: ArtifactCache,
    loaded: RwLock<HashMap<String, Arc<Loaded>>>,
    /// Held while a component is read from disk or compiled, so the start-up warm-up and a
    /// first call never do the same work twice.
    loading: tokio::sync::Mutex<()>,
    compilations: AtomicU64,
    cache_loads: AtomicU64,
    /// Slots held by instances made ahead and still waiting for their call, or finished and
    /// waiting to be torn down: at most [`SandboxLimits::spare_slots`], the pool's slots
    /// beyond `concurrency` (see [`engine::build`]).
    spare: AtomicU32,
    /// Instances made before their call for the hooks called most recently, oldest first.
    ready: Mutex<Vec<ReadyEntry>>,
    /// Calls that found their instance already made.
    ready_hits: AtomicU64,
    /// Instances being made for the ready list right now.
    making: AtomicU32,
    /// Set by [`PluginRuntime::close`]: nothing more is made ahead.
    closed: AtomicBool,
    /// The service's and each tenant's share of hook calls, and the upload gates.
    shares: Shares,
}

/// One instance made before its call: which component, hook and configuration it is for,
/// and the instance (`None` while it is being made).
struct ReadyEntry {
    loaded: Arc<Loaded>,
    hook: Hook,
    config: Arc<BTreeMap<String, String>>,
    fresh: Option<Fresh>,
}

impl ReadyEntry {
    fn is_for(&self, loaded: &Arc<Loaded>, hook: Hook, config: &BTreeMap<String, String>) -> bool {
        Arc::ptr_eq(&self.loaded, loaded) && self.hook == hook && *self.config == *config
    }
}

/// The shared plugin runtime (cheap to clone).
#[derive(Clone)]
pub struct PluginRuntime {
    inner: Arc<Inner>,
}

type ParamsFn = (types::Call,);
type ParamsOut = (Result<Vec<types::Argument>, types::Refusal>,);
type ResponseFn = (types::Call, types::Response);
type ResponseOut = (Result<types::Outcome, types::Refusal>,);

impl PluginRuntime {
    /// Builds the engine and linker; compiled artifacts are kept in `cache_dir`.
    pub fn new(limits: SandboxLimits, cache_dir: PathBuf) -> anyhow::Result<Self> {
        let engine = engine::build(&limits)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        Transformer::add_to_linker::<_, HasSelf<CallCtx>>(&mut linker, |ctx| ctx)
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let cache = ArtifactCache::new(cache_dir, &engine)?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                loaded: RwLock::default(),
                loading: tokio::sync::Mutex::new(()),
                compilations: AtomicU64::new(0),
                cache_loads: AtomicU64::new(0),
                spare: AtomicU32::new(0),
                ready: Mutex::default(),
                ready_hits: AtomicU64::new(0),
                making: AtomicU32::new(0),
                closed: AtomicBool::new(false),
                shares: Shares::new(&limits),
                limits,
            }),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &SandboxLimits {
        &self.inner.limits
    }

    /// How many components this process compiled, and how many it loaded from the cache.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.inner.compilations.load(Ordering::Relaxed),
            self.inner.cache_loads.load(Ordering::Relaxed),
        )
    }

    /// Starts an upload of `tenant`: `None` while another upload of the same tenant is being
    /// checked (one at a time each, so no tenant can queue up the service's compiler).
    pub fn begin_upload(&self, tenant: &str) -> Option<UploadGate> {
        self.inner.shares.begin_upload(tenant)
    }

    /// Checks an upload completely, compiles it, and saves the compiled artifact.
    /// Answers the hooks it implements. Nothing is kept when it is refused. Compilations
    /// take turns, one at a time for the whole service, so they use one core at most and
    /// never crowd out hook calls.
    pub async fn prepare(&self, bytes: Vec<u8>, sha256: String) -> Result<Vec<Hook>, Refused> {
        let _turn = self.inner.shares.compile_turn().await;
        let this = self.clone();
        let key = sha256.clone();
        let checked = async {
            let (component, hooks, loaded) =
                tokio::task::spawn_blocking(move || this.compile(&bytes, &key))
                    .await
                    .map_err(|e| Refused(format!("the component could not be checked: {e}")))??;
            self.check_signatures(&loaded).await?;
            Ok::<_, Refused>((component, hooks, loaded))
        };
        let (component, hooks, loaded) = match checked.await {
            Ok(checked) => checked,
            Err(refused) => {
                // The compiler child saved its artifact before the checks: a refused upload
                // leaves nothing behind, on disk either.
                self.inner.cache.remove(&sha256);
                return Err(refused);
            }
        };
        if self.inner.limits.compiler.is_none() {
            let this = self.clone();
            let key = sha256.clone();
            let saved =
                tokio::task::spawn_blocking(move || this.inner.cache.save(&key, &component))
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r);
            if let Err(e) = saved {
                tracing::warn!(error = %e, "could not save a compiled artifact; it will be recompiled");
            }
        }
        self.loaded_mut().insert(sha256, Arc::new(loaded));
        Ok(hooks)
    }

    /// The CPU-heavy part of [`Self::prepare`]: the byte-level checks, compilation (in the
    /// compiler child process when there is one, which also saves the artifact), the
    /// interface check and linking.
    fn compile(
        &self,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<(Component, Vec<Hook>, Loaded), Refused> {
        inspect::check_bytes(bytes)?;
        let inner = &self.inner;
        let component = match &inner.limits.compiler {
            Some(exe) => {
                let artifact = compile::in_child(exe, &inner.limits, bytes)?;
                let lost = |e: String| {
                    tracing::error!(error = %e, "keeping a compiled artifact");
                    Refused("the component could not be compiled: its artifact was lost".into())
                };
                inner
                    .cache
                    .save_artifact(sha256, &artifact)
                    .map_err(|e| lost(format!("{e:#}")))?;
                drop(artifact);
                inner
                    .cache
                    .load(&inner.engine, sha256)
                    .ok_or_else(|| lost("the saved artifact did not load".into()))?
            }
            None => Component::new(&inner.engine, bytes)
                .map_err(|e| Refused(format!("the component could not be compiled: {e:#}")))?,
        };
        self.inner.compilations.fetch_add(1, Ordering::Relaxed);
        let hooks = inspect::check_interface(&self.inner.engine, &component)?;
        let loaded = self.link(component.clone()).map_err(|e| {
            Refused(format!(
                "the component does not fit switchboard:tools@0.1.0: {e}"
            ))
        })?;
        Ok((component, hooks, loaded))
    }

    /// Instantiates once and type-checks each hook's signature against the WIT. The
    /// instantiation runs the component's constructors and `start` functions, so it holds a
    /// slot of the service's share and is bounded by the CPU and wall-clock limits of a call.
    async fn check_signatures(&self, loaded: &Loaded) -> Result<(), Refused> {
        let wall = self.inner.limits.wall_ms;
        let deadline = Instant::now() + Duration::from_millis(wall);
        let _slot = tokio::time::timeout_at(deadline.into(), self.inner.shares.slot(None))
            .await
            .map_err(|_| {
                Refused(format!(
                    "the sandbox stayed busy for {wall} ms, so the component could not be \
                     checked; try again"
                ))
            })?;
        let (mut store, _) = self.store("upload", Arc::default());
        let instance = instantiate_by(&mut store, loaded, deadline, Bound::Wall(wall))
            .await
            .map_err(|e| {
                Refused(format!(
                    "the component failed to start: {}",
                    self.describe(&e)
                ))
            })?;
        if let Some(index) = &loaded.params {
            instance
                .get_typed_func::<ParamsFn, ParamsOut>(&mut store, index)
                .map_err(|e| Refused(format!("transform-params has the wrong signature: {e:#}")))?;
        }
        if let Some(index) = &loaded.response {
            instance
                .get_typed_func::<ResponseFn, ResponseOut>(&mut store, index)
                .map_err(|e| {
                    Refused(format!("transform-response has the wrong signature: {e:#}"))
                })?;
        }
        Ok(())
    }

    fn link(&self, component: Component) -> Result<Loaded, String> {
        let params = component.get_export_index(None, Hook::Params.export());
        let response = component.get_export_index(None, Hook::Response.export());
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| format!("{e:#}"))?;
        Ok(Loaded {
            pre,
            params,
            response,
        })
    }

    /// The component with content hash `sha256`, ready to run: from memory, else from the
    /// compiled-artifact cache, else compiled from the bytes `fetch` returns.
    pub async fn load<F>(&self, sha256: &str, fetch: F) -> anyhow::Result<Arc<Loaded>>
    where
        F: std::future::Future<Output = anyhow::Result<Vec<u8>>>,
    {
        if let Some(loaded) = self.cached(sha256) {
            return Ok(loaded);
        }
        let _loading = self.inner.loading.lock().await;
        if let Some(loaded) = self.cached(sha256) {
            return Ok(loaded);
        }
        let this = self.clone();
        let key = sha256.to_owned();
        let from_disk = tokio::task::spawn_blocking(move || this.load_artifact(&key)).await?;
        if let Some(loaded) = from_disk {
            return Ok(loaded);
        }
        let bytes = fetch.await?;
        let hooks = self
            .prepare(bytes, sha256.to_owned())
            .await
            .map_err(|e| anyhow::anyhow!("a stored component no longer loads: {e}"))?;
        tracing::info!(sha256, ?hooks, "compiled a stored component");
        self.cached(sha256)
            .ok_or_else(|| anyhow::anyhow!("component {sha256} vanished after compiling"))
    }

    fn cached(&self, sha256: &str) -> Option<Arc<Loaded>> {
        self.inner
            .loaded
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(sha256)
            .cloned()
    }

    fn load_artifact(&self, sha256: &str) -> Option<Arc<Loaded>> {
        let component = self.inner.cache.load(&self.inner.engine, sha256)?;
        let loaded = Arc::new(self.link(component).ok()?);
        self.inner.cache_loads.fetch_add(1, Ordering::Relaxed);
        self.loaded_mut().insert(sha256.to_owned(), loaded.clone());
        Some(loaded)
    }

    /// Forgets a component (after its last reference was deleted).
    pub fn forget(&self, sha256: &str) {
        let Some(loaded) = self.loaded_mut().remove(sha256) else {
            return;
        };
        // Its instances made ahead go too, and give their slots back.
        let dropped: Vec<ReadyEntry> = {
            let mut ready = self.ready();
            let (gone, kept) = std::mem::take(&mut *ready)
                .into_iter()
                .partition(|e| Arc::ptr_eq(&e.loaded, &loaded));
            *ready = kept;
            gone
        };
        drop(dropped);
    }

    /// At shutdown, once no call is running: stops making instances ahead, waits (at most
    /// a few seconds) for those being made, and drops every one waiting, so nothing of the
    /// runtime outlives the server.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        for _ in 0..5_000 {
            if self.inner.making.load(Ordering::Acquire) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let waiting = std::mem::take(&mut *self.ready());
        drop(waiting);
    }

    /// Instances made before their call, waiting: how many, and how many calls found theirs
    /// already made since start-up.
    pub fn ready_stats(&self) -> (usize, u64) {
        let waiting = self.ready().iter().filter(|e| e.fresh.is_some()).count();
        (waiting, self.inner.ready_hits.load(Ordering::Relaxed))
    }

    fn ready(&self) -> std::sync::MutexGuard<'_, Vec<ReadyEntry>> {
        self.inner.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The ready components for writing; a panic elsewhere while it was held does not
    /// poison the map.
    fn loaded_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Loaded>>> {
        self.inner.loaded.write().unwrap_or_else(|p| p.into_inner())
    }

    fn store(
        &self,
        hook: &'static str,
        config: Arc<BTreeMap<String, String>>,
    ) -> (Store<CallCtx>, RunClock) {
        let limits = &self.inner.limits;
        let ctx = CallCtx::new(hook, config, limits.memory_bytes, limits.log_bytes);
        let mut store = Store::new(&self.inner.engine, ctx);
        store.limiter(|ctx| ctx);
        // Every epoch tick (engine::EPOCH_TICK) the guest yields its worker; the time it
        // spent running since it last resumed counts against its budget, the time it spent
        // waiting for a worker, or in a host call (a WASI sleep or `poll`: the wall-clock
        // deadline's business), does not. Instantiation counts too.
        let budget = Duration::from_millis(limits.cpu_ms);
        // The caller keeps a handle too: an instance made ahead resumes it at its call.
        let clock = RunClock::default();
        let ticks = clock.clone();
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if ticks.charge() > budget {
                return Ok(UpdateDeadline::Interrupt);
            }
            let clock = ticks.clone();
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(async move {
                    tokio::task::yield_now().await;
                    clock.resume();
                }),
            ))
        });
        let host_calls = clock.clone();
        store.call_hook(move |_, hook| {
            match hook {
                CallHook::CallingHost => {
                    host_calls.charge();
                }
                CallHook::ReturningFromHost => host_calls.resume(),
                CallHook::CallingWasm | CallHook::ReturningFromWasm => {}
            }
            Ok(())
        });
        (store, clock)
    }

    /// Runs `transform-params` for `who`, in `fresh` (an instance made ahead of the call by
    /// the caller, as the benchmark does) or in a fresh instance made now.
    pub async fn transform_params(
        &self,
        who: HookCall<'_>,
        fresh: Option<Fresh>,
        loaded: &Arc<Loaded>,
        config: Arc<BTreeMap<String, String>>,
        call: types::Call,
    ) -> HookRun<Vec<types::Argument>> {
        let index = loaded.params;
        self.run(
            who,
            Hook::Params,
            fresh,
            loaded,
            config,
            async move |store: &mut Store<CallCtx>, instance: Instance| {
                let index = index.as_ref().ok_or_else(missing(Hook::Params))?;
                let func = instance.get_typed_func::<ParamsFn, ParamsOut>(&mut *store, index)?;
                let (out,) = func.call_async(&mut *store, (call,)).await?;
                Ok(out)
            },
            |args| {
                args.iter()
                    .map(|a| a.key.len() + convert::value_len(&a.value))
                    .sum()
            },
        )
        .await
    }

    /// Runs `transform-response` for `who`, in `fresh` (the invocation path makes it while
    /// the webhook is in flight, see [`Self::fresh_ahead`]) or in a fresh instance made now.
    #[allow(clippy::too_many_arguments)]
    pub async fn transform_response(
        &self,
        who: HookCall<'_>,
        fresh: Option<Fresh>,
        loaded: &Arc<Loaded>,
        config: Arc<BTreeMap<String, String>>,
        call: types::Call,
        response: types::Response,
    ) -> HookRun<types::Outcome> {
        let index = loaded.response;
        self.run(
            who,
            Hook::Response,
            fresh,
            loaded,
            config,
            async move |store: &mut Store<CallCtx>, instance: Instance| {
                let index = index.as_ref().ok_or_else(missing(Hook::Response))?;
                let func =
                    instance.get_typed_func::<ResponseFn, ResponseOut>(&mut *store, index)?;
                let (out,) = func.call_async(&mut *store, (call, response)).await?;
                Ok(out)
            },
            |o| o.result.len() + o.speech.as_ref().map_or(0, String::len),
        )
        .await
    }

    /// Instantiates `loaded` in a fresh store and drops it: what every hook call pays before
    /// the call itself (the benchmark measures this).
    pub async fn instantiate(&self, loaded: &Loaded) -> anyhow::Result<()> {
        let (mut store, _) = self.store("params", Arc::default());
        loaded
            .pre
            .instantiate_async(&mut store)
            .await
            .map(drop)
            .map_err(|e| anyhow::anyhow!("{e:#}"))
    }

    /// When a hook call starting at `started` for `who` must be over, and what sets it.
    fn deadline(&self, who: &HookCall<'_>, started: Instant) -> (Instant, Bound) {
        let wall_ms = self.inner.limits.wall_ms;
        let wall = started + Duration::from_millis(wall_ms);
        if who.tool_deadline < wall {
            (who.tool_deadline, Bound::Tool(who.timeout_secs))
        } else {
            (wall, Bound::Wall(wall_ms))
        }
    }

    /// A fresh instance of `loaded` for one call of `hook` with `config`: the one made for
    /// it before the call when one is waiting, else made now (by `deadline`). Either way the
    /// next call's is then made in the background (see [`Self::replenish`]).
    async fn fresh(
        &self,
        hook: Hook,
        config: Arc<BTreeMap<String, String>>,
        loaded: &Arc<Loaded>,
        deadline: (Instant, Bound),
    ) -> Fresh {
        let fresh = match self.take_ready(hook, &config, loaded) {
            Some(fresh) => fresh,
            None => self.make(hook, config.clone(), loaded, deadline).await,
        };
        self.replenish(hook, &config, loaded);
        fresh
    }

    /// A fresh instance made ahead of its call (the response transform's, while the webhook
    /// is in flight): the one already made when one is waiting, else made now if one of the
    /// sandbox's spare slots is free (the slots beyond `concurrency`), so callers waiting on
    /// slow endpoints never take the slots calls running now need. `None` when there is
    /// none; the call makes its instance itself. Making it ends at the hook's deadline for
    /// `who`, as if the call had started now.
    pub async fn fresh_ahead(
        &self,
        who: HookCall<'_>,
        hook: Hook,
        config: Arc<BTreeMap<String, String>>,
        loaded: &Arc<Loaded>,
    ) -> Option<Fresh> {
        let fresh = match self.take_ready(hook, &config, loaded) {
            Some(fresh) => fresh,
            None => {
                let spare = self.spare_slot()?;
                let deadline = self.deadline(&who, Instant::now());
                let mut fresh = self.make(hook, config.clone(), loaded, deadline).await;
                fresh.spare = Some(spare);
                fresh
            }
        };
        self.replenish(hook, &config, loaded);
        Some(fresh)
    }

    /// Instantiates `loaded` now, in a store of its own, for one call of `hook`; the
    /// component's constructors and `start` functions run here, and are stopped at the
    /// `deadline` (an instance that did not start says so when its call is made).
    async fn make(
        &self,
        hook: Hook,
        config: Arc<BTreeMap<String, String>>,
        loaded: &Loaded,
        (deadline, bound): (Instant, Bound),
    ) -> Fresh {
        let started = Instant::now();
        let (mut store, clock) = self.store(hook.as_str(), config);
        let instance = instantiate_by(&mut store, loaded, deadline, bound).await;
        Fresh {
            store,
            instance,
            clock,
            took: started.elapsed(),
            spare: None,
        }
    }

    /// Instantiates `loaded` now for one call of `hook` within the hook's own wall-clock
    /// limit (the benchmark makes its instances with this, to time instantiation and call
    /// together).
    pub async fn make_now(
        &self,
        hook: Hook,
        config: Arc<BTreeMap<String, String>>,
        loaded: &Loaded,
    ) -> Fresh {
        let wall_ms = self.inner.limits.wall_ms;
        let deadline = Instant::now() + Duration::from_millis(wall_ms);
        self.make(hook, config, loaded, (deadline, Bound::Wall(wall_ms)))
            .await
    }

    /// The instance made for this call before it came, if one is waiting. It has never run
    /// a call; its CPU deadline is re-armed from now.
    fn take_ready(
        &self,
        hook: Hook,
        config: &BTreeMap<String, String>,
        loaded: &Arc<Loaded>,
    ) -> Option<Fresh> {
        let mut fresh = {
            let mut ready = self.ready();
            let at = ready
                .iter()
                .position(|e| e.fresh.is_some() && e.is_for(loaded, hook, config))?;
            ready.remove(at).fresh?
        };
        fresh.store.set_epoch_deadline(1);
        self.inner.ready_hits.fetch_add(1, Ordering::Relaxed);
        Some(fresh)
    }

    /// Makes the next call's instance of `loaded` for `hook` and `config` on a task of its
    /// own, unless one is waiting or being made. It holds a spare slot (none free: nothing
    /// is made) and at most half of the pool's spare slots wait like this, so instances
    /// made ahead of the response transform and finished ones being torn down keep room;
    /// when that many wait, the one waiting longest makes way. Every instance still serves
    /// exactly one call: this moves instantiation off the call's path, never shares it.
    fn replenish(&self, hook: Hook, config: &Arc<BTreeMap<String, String>>, loaded: &Arc<Loaded>) {
        let room = (self.inner.limits.spare_slots() / 2) as usize;
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if room == 0 || self.inner.closed.load(Ordering::Acquire) {
            return;
        }
        let (spare, evicted) = {
            let mut ready = self.ready();
            if ready.iter().any(|e| e.is_for(loaded, hook, config)) {
                return;
            }
            // When full, the one waiting longest makes way; full of ones being made: no room.
            let oldest =
                (ready.len() >= room).then(|| ready.iter().position(|e| e.fresh.is_some()));
            if oldest == Some(None) {
                return;
            }
            let Some(spare) = self.spare_slot() else {
                return;
            };
            let evicted = oldest.flatten().map(|at| ready.remove(at));
            ready.push(ReadyEntry {
                loaded: loaded.clone(),
                hook,
                config: config.clone(),
                fresh: None,
            });
            (spare, evicted)
        };
        let (this, loaded, config) = (self.clone(), loaded.clone(), config.clone());
        let making = Making::start(&self.inner);
        drop(runtime.spawn(async move {
            let _making = making;
            drop(evicted);
            // Bounded like a call's: a constructor that never ends cannot park the slot.
            let mut fresh = this.make_now(hook, config.clone(), &loaded).await;
            fresh.spare = Some(spare);
            let unwanted = {
                let mut ready = this.ready();
                let pending = ready
                    .iter()
                    .position(|e| e.fresh.is_none() && e.is_for(&loaded, hook, &config));
                match pending {
                    Some(at) if fresh.instance.is_ok() => {
                        ready[at].fresh = Some(fresh);
                        None
                    }
                    // Forgotten meanwhile, or it failed to start (the call will say why).
                    Some(at) => {
                        ready.remove(at);
                        Some(fresh)
                    }
                    None => Some(fresh),
                }
            };
            drop(unwanted);
        }));
    }

    /// One of the spare slots, if any is free.
    fn spare_slot(&self) -> Option<Spare> {
        let room = self.inner.limits.spare_slots();
        self.inner
            .spare
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < room).then_some(n + 1)
            })
            .ok()?;
        Some(Spare(Arc::downgrade(&self.inner)))
    }

    /// Drops a finished store on a task of its own, so the reset of its sandbox slot (the
    /// dirty pages copied back, the page-table scan) runs after the caller has its answer
    /// rather than before — if a spare slot is free to hold it meanwhile; otherwise (or
    /// outside a Tokio runtime) here and now.
    fn tear_down(&self, store: Store<CallCtx>) {
        match (tokio::runtime::Handle::try_current(), self.spare_slot()) {
            (Ok(runtime), Some(spare)) => drop(runtime.spawn(async move {
                drop(store);
                drop(spare);
            })),
            _ => drop(store),
        }
    }

    /// One hook call for `who`: a slot of its tenant's and the service's share, its fresh
    /// instance, the call, all by the hook's deadline; then the answer checked against the
    /// output limit, a refusal's words capped, the guest's lines collected and the instance
    /// torn down.
    #[allow(clippy::too_many_arguments)]
    async fn run<T>(
        &self,
        who: HookCall<'_>,
        hook: Hook,
        fresh: Option<Fresh>,
        loaded: &Arc<Loaded>,
        config: Arc<BTreeMap<String, String>>,
        call: impl AsyncFnOnce(
            &mut Store<CallCtx>,
            Instance,
        ) -> wasmtime::Result<Result<T, types::Refusal>>,
        size: impl Fn(&T) -> usize,
    ) -> HookRun<T> {
        let started = Instant::now();
        let (deadline, bound) = self.deadline(&who, started);
        let shares = &self.inner.shares;
        let slot: Slot =
            match tokio::time::timeout_at(deadline.into(), shares.slot(Some(who.tenant))).await {
                Ok(slot) => slot,
                Err(_) => {
                    let waiting = shares.waiting_for(Some(who.tenant));
                    return HookRun::failed(busy(hook, waiting, bound), ms(started.elapsed()));
                }
            };
        let fresh = match fresh {
            Some(fresh) => fresh,
            None => self.fresh(hook, config, loaded, (deadline, bound)).await,
        };
        let Fresh {
            mut store,
            instance,
            clock,
            took,
            spare,
        } = fresh;
        // From here it is a running call like any other.
        drop(spare);
        // Time spent waiting between instantiation and the call is not the guest's.
        clock.resume();
        let called = Instant::now();
        let result = match instance {
            Ok(instance) => {
                match tokio::time::timeout_at(deadline.into(), call(&mut store, instance)).await {
                    Ok(result) => result,
                    Err(_) => Err(wasmtime::Error::new(OverDeadline {
                        bound,
                        starting: false,
                    })),
                }
            }
            Err(e) => Err(e),
        };
        // Made ahead: its instantiation is part of the call's cost, though not of its wait.
        let made_ahead = if called.duration_since(started) < took {
            took
        } else {
            Duration::ZERO
        };
        let elapsed_ms = ms(started.elapsed() + made_ahead);
        let result = match result {
            Ok(Ok(value)) => {
                let bytes = size(&value);
                if bytes > self.inner.limits.output_bytes {
                    Err(HookFailure::Failed(format!(
                        "the {} transform returned {bytes} bytes, over the {}-byte output limit",
                        hook.as_str(),
                        self.inner.limits.output_bytes
                    )))
                } else {
                    Ok(value)
                }
            }
            Ok(Err(refusal)) => Err(HookFailure::Refused {
                say: refusal
                    .say
                    .map(|say| limits::cap_text(say, limits::REFUSAL_SAY_BYTES)),
                detail: limits::cap_text(refusal.detail, limits::REFUSAL_DETAIL_BYTES),
            }),
            Err(e) => Err(HookFailure::Failed(format!(
                "the {} transform {}",
                hook.as_str(),
                self.describe(&e)
            ))),
        };
        let logs = store.data_mut().take_lines();
        self.tear_down(store);
        drop(slot);
        HookRun {
            result,
            logs,
            elapsed_ms,
        }
    }

    /// What went wrong, in words, without the guest's internals.
    fn describe(&self, e: &wasmtime::Error) -> String {
        let limits = &self.inner.limits;
        if let Some(over) = e.downcast_ref::<OverDeadline>() {
            let when = if over.starting { " while starting" } else { "" };
            return match over.bound {
                Bound::Wall(ms) => format!("ran past its {ms} ms wall-clock limit{when}"),
                Bound::Tool(secs) => format!(
                    "was still running{when} when the tool's {secs} s response timeout ran out"
                ),
            };
        }
        if let Some(m) = e.downcast_ref::<MemoryLimitExceeded>() {
            return format!("ran out of memory (limit {} MiB)", m.limit / (1024 * 1024));
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => format!("ran past its {} ms CPU time limit", limits.cpu_ms),
            Some(Trap::StackOverflow) => "overflowed its stack".to_owned(),
            // Rust and C guests keep their own stack in linear memory: running off its end
            // is an out-of-bounds access, not a native stack overflow.
            Some(Trap::MemoryOutOfBounds) => {
                "trapped on an out-of-bounds memory access (usually its stack overflowing, as in unbounded recursion)"
                    .to_owned()
            }
            Some(Trap::UnreachableCodeReached) => "trapped (it panicked or aborted)".to_owned(),
            Some(trap) => format!("trapped: {trap}"),
            None if e.downcast_ref::<PoolConcurrencyLimitError>().is_some() => {
                "could not start: the sandbox is at capacity".to_owned()
            }
            None => format!("failed: {e:#}"),
        }
    }
}

/// A fresh instance, made ahead of its call: its store, the instance (or why instantiation
/// failed, reported when the call is made), and how long instantiating took.
pub struct Fresh {
    store: Store<CallCtx>,
    instance: wasmtime::Result<Instance>,
    clock: RunClock,
    took: Duration,
    /// The spare slot an instance made ahead holds while it waits for its call.
    spare: Option<Spare>,
}

/// One of the sandbox's spare slots, given back when dropped.
/// Weak: an instance waiting in the runtime's own ready list holds one, and must not keep
/// the runtime alive.
struct Spare(Weak<Inner>);

impl Drop for Spare {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.spare.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Counts an instance being made for the ready list while it lives.
struct Making(Arc<Inner>);

impl Making {
    fn start(inner: &Arc<Inner>) -> Self {
        inner.making.fetch_add(1, Ordering::AcqRel);
        Self(inner.clone())
    }
}

impl Drop for Making {
    fn drop(&mut self) {
        self.0.making.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How long a guest has run: the time between each resumption and the next epoch tick or
/// call into the host. Lock-free: it is touched at every host call of every guest.
#[derive(Clone, Default)]
struct RunClock(Arc<RunTime>);

struct RunTime {
    /// What the two counters below count from.
    base: Instant,
    /// Nanoseconds run so far.
    ran: AtomicU64,
    /// When the guest last resumed, in nanoseconds since `base`.
    since: AtomicU64,
}

impl Default for RunTime {
    fn default() -> Self {
        Self {
            base: Instant::now(),
            ran: AtomicU64::new(0),
            since: AtomicU64::new(0),
        }
    }
}

impl RunTime {
    fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }
}

impl RunClock {
    /// At an epoch tick or a call into the host: adds the time run since the last
    /// resumption; answers the total.
    fn charge(&self) -> Duration {
        let t = &*self.0;
        let now = t.now();
        let since = t.since.swap(now, Ordering::Relaxed);
        let ran = t
            .ran
            .fetch_add(now.saturating_sub(since), Ordering::Relaxed)
            + now.saturating_sub(since);
        Duration::from_nanos(ran)
    }

    /// The guest is about to run again after yielding or a host call.
    fn resume(&self) {
        self.0.since.store(self.0.now(), Ordering::Relaxed);
    }
}

/// Instantiates `loaded` in `store` (constructors and `start` functions run here), stopped
/// at `deadline`.
async fn instantiate_by(
    store: &mut Store<CallCtx>,
    loaded: &Loaded,
    deadline: Instant,
    bound: Bound,
) -> wasmtime::Result<Instance> {
    let instantiated = loaded.pre.instantiate_async(store);
    match tokio::time::timeout_at(deadline.into(), instantiated).await {
        Ok(instance) => instance,
        Err(_) => Err(wasmtime::Error::new(OverDeadline {
            bound,
            starting: true,
        })),
    }
}

fn missing(hook: Hook) -> impl FnOnce() -> wasmtime::Error {
    move || wasmtime::Error::msg(format!("the component does not export {}", hook.export()))
}

impl<T> HookRun<T> {
    /// A hook call that failed before its guest ran, after `elapsed_ms`.
    pub fn failed(message: String, elapsed_ms: f64) -> Self {
        Self {
            result: Err(HookFailure::Failed(message)),
            logs: Vec::new(),
            elapsed_ms,
        }
    }
}

/// Why a hook call found no slot before its deadline.
fn busy(hook: Hook, waiting: Waiting, bound: Bound) -> String {
    let within = match bound {
        Bound::Wall(ms) => format!("within its {ms} ms wall-clock limit"),
        Bound::Tool(secs) => format!("before the tool's {secs} s response timeout ran out"),
    };
    match waiting {
        Waiting::Tenant(n) => format!(
            "the {} transform could not start {within}: all {n} of this tenant's sandbox slots \
             were busy with its other hook calls",
            hook.as_str()
        ),
        Waiting::Service(n) => format!(
            "the {} transform could not start {within}: all {n} of the sandbox's slots were busy",
            hook.as_str()
        ),
    }
}

/// Milliseconds with two decimals.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}
