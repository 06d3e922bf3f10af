//! The per-call host state a component runs against: WASI with no filesystem, sockets, env
//! or args; `host.log` and `host.config`; stdout/stderr captured into a capped buffer; and a
//! resource limiter capping memory across the whole store.
//!
//! What the guest sees (its log lines, its config) is data; what traps is an error. Nothing
//! here outlives one hook call.

use std::{
    collections::BTreeMap,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;
use wasmtime::{ResourceLimiter, component::ResourceTable};
use wasmtime_wasi::{
    WasiCtx, WasiCtxView, WasiView,
    cli::{IsTerminal, StdoutStream},
    p2::{OutputStream, Pollable, StreamError},
};

wasmtime::component::bindgen!({
    path: "../wit/0.1.0",
    world: "transformer",
});

pub use self::switchboard::tools::{host::Level, types};

/// One line a component wrote: through `host.log`, or to stdout/stderr.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LogLine {
    /// `params` or `response`.
    pub hook: &'static str,
    /// `debug`, `info`, `warn`, `error`, `stdout` or `stderr`.
    pub level: &'static str,
    /// The text (lossy UTF-8).
    pub message: String,
}

/// Raised by the limiter when the store would pass its memory cap.
#[derive(Debug, thiserror::Error)]
#[error("the component needed more than {limit} bytes of memory")]
pub struct MemoryLimitExceeded {
    /// The cap, in bytes.
    pub limit: usize,
}

/// A byte buffer that keeps the first `cap` bytes written and silently drops the rest, so a
/// chatty guest is truncated, never trapped.
#[derive(Clone, Debug)]
pub struct CappedBuffer {
    data: Arc<Mutex<Vec<u8>>>,
    cap: usize,
}

impl CappedBuffer {
    /// A buffer keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            data: Arc::default(),
            cap,
        }
    }

    fn push(&self, bytes: &[u8]) {
        let mut data = self.data.lock().unwrap_or_else(|p| p.into_inner());
        let room = self.cap.saturating_sub(data.len());
        data.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Everything kept so far, leaving the buffer empty.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.data.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl IsTerminal for CappedBuffer {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedBuffer {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl OutputStream for CappedBuffer {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for CappedBuffer {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CappedBuffer {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The state of one store: one hook call.
pub struct CallCtx {
    /// Built the first time the guest calls a WASI function: a guest that never does (one
    /// that neither prints nor reads the clock or randomness) does not pay for it.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    /// The attachment's configuration, read by `host.config`.
    config: Arc<BTreeMap<String, String>>,
    /// Lines logged through `host.log`, capped by `log_room`.
    pub logs: Vec<LogLine>,
    log_room: usize,
    hook: &'static str,
    /// Captured stdout and stderr.
    pub stdout: CappedBuffer,
    /// Captured stderr.
    pub stderr: CappedBuffer,
    memory_used: usize,
    memory_cap: usize,
}

impl CallCtx {
    /// A fresh context for one call of `hook`.
    pub fn new(
        hook: &'static str,
        config: Arc<BTreeMap<String, String>>,
        memory_cap: usize,
        log_bytes: usize,
    ) -> Self {
        Self {
            wasi: None,
            table: ResourceTable::new(),
            config,
            logs: Vec::new(),
            log_room: log_bytes,
            hook,
            stdout: CappedBuffer::new(log_bytes),
            stderr: CappedBuffer::new(log_bytes),
            memory_used: 0,
            memory_cap,
        }
    }

    /// Every line the call produced: `host.log` lines, then stdout, then stderr. Taken, so
    /// the store can be torn down later without them.
    pub fn take_lines(&mut self) -> Vec<LogLine> {
        let hook = self.hook;
        let mut lines = std::mem::take(&mut self.logs);
        for (level, buffer) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let text = String::from_utf8_lossy(&buffer.take()).into_owned();
            lines.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| LogLine {
                        hook,
                        level,
                        message: l.to_owned(),
                    }),
            );
        }
        lines
    }
}

impl WasiView for CallCtx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let (stdout, stderr) = (&self.stdout, &self.stderr);
        let ctx = self.wasi.get_or_insert_with(|| {
            // No preopened directories, no environment, no arguments, no network.
            WasiCtx::builder()
                .stdout(stdout.clone())
                .stderr(stderr.clone())
                .allow_tcp(false)
                .allow_udp(false)
                .allow_ip_name_lookup(false)
                .build()
        });
        WasiCtxView {
            ctx,
            table: &mut self.table,
        }
    }
}

impl switchboard::tools::host::Host for CallCtx {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        if message.len() <= self.log_room {
            self.log_room -= message.len();
            self.logs.push(LogLine {
                hook: self.hook,
                level,
                message,
            });
        } else {
            self.log_room = 0;
        }
    }

    fn config(&mut self, key: String) -> Option<String> {
        self.config.get(&key).cloned()
    }
}

impl switchboard::tools::types::Host for CallCtx {}

impl ResourceLimiter for CallCtx {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.memory_used + (desired - current);
        if total > self.memory_cap {
            return Err(MemoryLimitExceeded {
                limit: self.memory_cap,
            }
            .into());
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 20_000)
    }
}
