//! Switchboard: the host for the webhook tools (and, with the components issue, the
//! sandboxed Wasm transforms) an AI phone receptionist calls mid-conversation.
//!
//! # Layout
//!
//! - [`api`]: the HTTP API v1 — routers per area, the error type, extractors, OpenAPI.
//! - [`invoke`]: the invocation path, from checked arguments to a recorded result.
//! - [`tool`]: webhook tool definitions, their validation, argument checks, function ids.
//! - [`webhook`]: building and sending the outbound request under the outbound guard.
//! - [`tenant`]: plans, features and key scopes.
//! - [`store`]: the storage boundary and its SQLite backend.
//! - [`state`], [`config`]: what the service holds and how it was configured.
//! - [`ids`], [`clock`]: prefixed ids and secrets; timestamps.
//! - [`demo`]: `switchboard demo`, a newcomer's first five minutes.
//!
//! [`run`] serves [`api::app`] on a listener the caller binds (tests bind `127.0.0.1:0`)
//! until the caller's shutdown future completes.

#![deny(unsafe_code)]

pub mod api;
pub mod clock;
pub mod config;
pub mod demo;
pub mod ids;
pub mod invoke;
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
pub use state::AppState;
use tokio::net::TcpListener;

/// Serves the API on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
