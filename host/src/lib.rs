//! Switchboard: the host for the webhook tools (and, with the components issue, the
//! sandboxed Wasm transforms) an AI phone receptionist calls mid-conversation.
//!
//! # Layout
//!
//! - [`api`]: the HTTP API v1 — routers per area, the error type, extractors, OpenAPI.
//! - [`invoke`]: the invocation path, from checked arguments to a recorded result.
//! - [`calllog`]: the call log's writer (a bounded queue off the hot path) and redaction.
//! - [`mcp`]: an agent's tools as an MCP server (official SDK), over the same invocation path.
//! - [`tool`]: webhook tool definitions, their validation, argument checks, function ids.
//! - [`webhook`]: building and sending the outbound request under the outbound guard.
//! - [`tenant`]: plans, features and key scopes.
//! - [`store`]: the storage boundary and its SQLite backend.
//! - [`state`], [`config`]: what the service holds and how it was configured.
//! - [`ids`], [`clock`]: prefixed ids and secrets; timestamps.
//! - [`nullable`]: `null` in a request means the field is absent.
//! - [`demo`]: `switchboard demo`, a newcomer's first five minutes.
//! - [`cli`]: the command-line client (`switchboard tools apply -f …`, `invoke`, `calls`),
//!   which speaks only the public HTTP API.
//!
//! [`run`] serves [`api::app`] on a listener the caller binds (tests bind `127.0.0.1:0`)
//! until the caller's shutdown future completes.

#![deny(unsafe_code)]

pub mod api;
pub mod calllog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod ids;
pub mod invoke;
pub mod mcp;
pub mod nullable;
pub mod plugin;
pub mod secrets;
pub mod state;
pub mod store;
pub mod tenant;
pub mod tool;
pub mod webhook;

use std::future::Future;

pub use api::app;
pub use config::Config;
/// The allocator the `switchboard` binary installs as its global allocator (and the
/// benchmark too, so the floors it measures share it): under load it spends a fraction of
/// the CPU glibc's malloc does on the many small, short-lived allocations of a call.
pub use mimalloc::MiMalloc as Allocator;
pub use state::AppState;
use tokio::net::TcpListener;

/// Serves the API on `listener` until `shutdown` completes, then finishes in-flight requests
/// and writes the call records still queued, then lets the sandbox go (see
/// [`plugin::PluginRuntime::close`]). Stored components are warmed in the background
/// meanwhile (see [`warm_components`]).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tokio::spawn(warm_components(state.clone()));
    let (calls, plugins) = (state.calls.clone(), state.plugins.clone());
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await;
    calls.close().await;
    plugins.close().await;
    served
}

/// Makes every stored component ready to instantiate (from the compiled-artifact cache) and
/// logs "components ready" with what it took, so the first call to each does not pay for it.
pub async fn warm_components(state: AppState) -> plugin::warm::Warmed {
    let hashes = match state.store.component_hashes().await {
        Ok(hashes) => hashes,
        Err(e) => {
            tracing::error!(error = ?e, "could not list the stored components to warm them");
            return plugin::warm::Warmed::default();
        }
    };
    let total = hashes.len();
    let store = state.store.clone();
    let warmed = state
        .plugins
        .warm(hashes, |sha256| {
            let store = store.clone();
            async move {
                store
                    .component_bytes(&sha256)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .ok_or_else(|| anyhow::anyhow!("the bytes of component {sha256} are missing"))
            }
        })
        .await;
    let (compilations, cache_loads) = state.plugins.stats();
    tracing::info!(
        total,
        ready = warmed.ready,
        failed = warmed.failed,
        compiled = warmed.compiled,
        compilations,
        cache_loads,
        elapsed_ms = warmed.elapsed_ms,
        "components ready"
    );
    warmed
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called,
/// not when the future is first polled: a signal sent the moment the server announces itself
/// (before `axum::serve` polls its shutdown future) must stop it gracefully, not kill it.
/// Call it inside the runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                }
            }
            (int, term) => {
                let e = int.err().or(term.err());
                tracing::error!(error = ?e, "could not listen for SIGINT/SIGTERM");
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
