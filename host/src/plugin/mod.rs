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
//! A component never shares an instance: no state survives between calls, conversations or
//! tenants. A refusal is the guest's well-formed "no" (data); a trap, a limit or a malformed
//! answer is a failure with a message that says which.

pub mod cache;
pub mod convert;
pub mod engine;
pub mod inspect;
pub mod limits;
pub mod sandbox;
pub mod warm;

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wasmtime::{
    Engine, Store, Trap,
    component::{Component, ComponentExportIndex, HasSelf, InstancePre, Linker},
};

use self::{
    cache::ArtifactCache,
    sandbox::{CallCtx, MemoryLimitExceeded, Transformer},
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
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        Transformer::add_to_linker::<_, HasSelf<CallCtx>>(&mut linker, |ctx| ctx)
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let cache = ArtifactCache::new(cache_dir, &engine)?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                limits,
                cache,
                loaded: RwLock::default(),
                loading: tokio::sync::Mutex::new(()),
                compilations: AtomicU64::new(0),
                cache_loads: AtomicU64::new(0),
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

    /// Checks an upload completely, compiles it, and saves the compiled artifact.
    /// Answers the hooks it implements. Nothing is kept when it is refused.
    pub async fn prepare(&self, bytes: Vec<u8>, sha256: String) -> Result<Vec<Hook>, Refused> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.prepare_blocking(&bytes, &sha256))
            .await
            .map_err(|e| Refused(format!("the component could not be checked: {e}")))?
    }

    fn prepare_blocking(&self, bytes: &[u8], sha256: &str) -> Result<Vec<Hook>, Refused> {
        inspect::check_bytes(bytes)?;
        let component = Component::new(&self.inner.engine, bytes)
            .map_err(|e| Refused(format!("the component could not be compiled: {e:#}")))?;
        self.inner.compilations.fetch_add(1, Ordering::Relaxed);
        let hooks = inspect::check_interface(&self.inner.engine, &component)?;
        let loaded = self.link(component.clone()).map_err(|e| {
            Refused(format!(
                "the component does not fit switchboard:tools@0.1.0: {e}"
            ))
        })?;
        // Instantiate once and type-check each hook's signature against the WIT.
        let mut store = self.store("upload", Arc::default());
        let instance = loaded.pre.instantiate(&mut store).map_err(|e| {
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
        if let Err(e) = self.inner.cache.save(sha256, &component) {
            tracing::warn!(error = %e, "could not save a compiled artifact; it will be recompiled");
        }
        self.inner
            .loaded
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sha256.to_owned(), Arc::new(loaded));
        Ok(hooks)
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
        self.inner
            .loaded
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sha256.to_owned(), loaded.clone());
        Some(loaded)
    }

    /// Forgets a component (after its last reference was deleted).
    pub fn forget(&self, sha256: &str) {
        self.inner
            .loaded
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(sha256);
    }

    fn store(&self, hook: &'static str, config: Arc<BTreeMap<String, String>>) -> Store<CallCtx> {
        let limits = &self.inner.limits;
        let ctx = CallCtx::new(hook, config, limits.memory_bytes, limits.log_bytes);
        let mut store = Store::new(&self.inner.engine, ctx);
        store.limiter(|ctx| ctx);
        // Ticks are milliseconds (engine::EPOCH_TICK); instantiation counts too.
        store.set_epoch_deadline(limits.cpu_ms);
        store.epoch_deadline_trap();
        store
    }

    /// Runs `transform-params` in a fresh instance.
    pub async fn transform_params(
        &self,
        loaded: Arc<Loaded>,
        config: Arc<BTreeMap<String, String>>,
        call: types::Call,
    ) -> HookRun<Vec<types::Argument>> {
        let this = self.clone();
        self.run_blocking(move || this.transform_params_blocking(&loaded, config, call))
            .await
    }

    /// [`Self::transform_params`] on the calling thread: the sandbox's own work for one hook
    /// call, without the hop to the blocking pool (the benchmark measures this).
    pub fn transform_params_blocking(
        &self,
        loaded: &Loaded,
        config: Arc<BTreeMap<String, String>>,
        call: types::Call,
    ) -> HookRun<Vec<types::Argument>> {
        self.run(
            Hook::Params,
            config,
            |store, instance| {
                let index = loaded.params.as_ref().ok_or_else(missing(Hook::Params))?;
                let func = instance.get_typed_func::<ParamsFn, ParamsOut>(&mut *store, index)?;
                let (out,) = func.call(&mut *store, (call,))?;
                Ok(out)
            },
            loaded,
            |args| {
                args.iter()
                    .map(|a| a.key.len() + convert::value_len(&a.value))
                    .sum()
            },
        )
    }

    /// Runs `transform-response` in a fresh instance.
    pub async fn transform_response(
        &self,
        loaded: Arc<Loaded>,
        config: Arc<BTreeMap<String, String>>,
        call: types::Call,
        response: types::Response,
    ) -> HookRun<types::Outcome> {
        let this = self.clone();
        self.run_blocking(move || this.transform_response_blocking(&loaded, config, call, response))
            .await
    }

    /// [`Self::transform_response`] on the calling thread.
    pub fn transform_response_blocking(
        &self,
        loaded: &Loaded,
        config: Arc<BTreeMap<String, String>>,
        call: types::Call,
        response: types::Response,
    ) -> HookRun<types::Outcome> {
        self.run(
            Hook::Response,
            config,
            |store, instance| {
                let index = loaded
                    .response
                    .as_ref()
                    .ok_or_else(missing(Hook::Response))?;
                let func =
                    instance.get_typed_func::<ResponseFn, ResponseOut>(&mut *store, index)?;
                let (out,) = func.call(&mut *store, (call, response))?;
                Ok(out)
            },
            loaded,
            |o| o.result.len() + o.speech.as_ref().map_or(0, String::len),
        )
    }

    /// Instantiates `loaded` in a fresh store and drops it: what every hook call pays before
    /// the call itself (the benchmark measures this).
    pub fn instantiate_blocking(&self, loaded: &Loaded) -> anyhow::Result<()> {
        let mut store = self.store("params", Arc::default());
        loaded
            .pre
            .instantiate(&mut store)
            .map(drop)
            .map_err(|e| anyhow::anyhow!("{e:#}"))
    }

    async fn run_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> HookRun<T> + Send + 'static,
    ) -> HookRun<T> {
        tokio::task::spawn_blocking(f)
            .await
            .unwrap_or_else(|e| HookRun {
                result: Err(HookFailure::Failed(format!(
                    "the sandbox thread failed: {e}"
                ))),
                logs: Vec::new(),
                elapsed_ms: 0.0,
            })
    }

    fn run<T>(
        &self,
        hook: Hook,
        config: Arc<BTreeMap<String, String>>,
        call: impl FnOnce(
            &mut Store<CallCtx>,
            &wasmtime::component::Instance,
        ) -> wasmtime::Result<Result<T, types::Refusal>>,
        loaded: &Loaded,
        size: impl Fn(&T) -> usize,
    ) -> HookRun<T> {
        let started = Instant::now();
        let mut store = self.store(hook.as_str(), config);
        let result = loaded
            .pre
            .instantiate(&mut store)
            .and_then(|instance| call(&mut store, &instance));
        let elapsed_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
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
                say: refusal.say,
                detail: refusal.detail,
            }),
            Err(e) => Err(HookFailure::Failed(format!(
                "the {} transform {}",
                hook.as_str(),
                self.describe(&e)
            ))),
        };
        HookRun {
            result,
            logs: store.into_data().into_lines(),
            elapsed_ms,
        }
    }

    /// What went wrong, in words, without the guest's internals.
    fn describe(&self, e: &wasmtime::Error) -> String {
        let limits = &self.inner.limits;
        if let Some(m) = e.downcast_ref::<MemoryLimitExceeded>() {
            return format!("ran out of memory (limit {} MiB)", m.limit / (1024 * 1024));
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => format!("ran past its {} ms time limit", limits.cpu_ms),
            Some(Trap::StackOverflow) => "overflowed its stack".to_owned(),
            // Rust and C guests keep their own stack in linear memory: running off its end
            // is an out-of-bounds access, not a native stack overflow.
            Some(Trap::MemoryOutOfBounds) => {
                "trapped on an out-of-bounds memory access (usually its stack overflowing, as in unbounded recursion)"
                    .to_owned()
            }
            Some(Trap::UnreachableCodeReached) => "trapped (it panicked or aborted)".to_owned(),
            Some(trap) => format!("trapped: {trap}"),
            None => {
                let text = format!("{e:#}");
                if text.contains("instance count") || text.contains("pooling") {
                    "could not start: the sandbox is at capacity".to_owned()
                } else {
                    format!("failed: {text}")
                }
            }
        }
    }
}

fn missing(hook: Hook) -> impl FnOnce() -> wasmtime::Error {
    move || wasmtime::Error::msg(format!("the component does not export {}", hook.export()))
}
