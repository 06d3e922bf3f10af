//! The sandbox's limits, set by the operator (`switchboard serve --plugin-*` flags).

/// Limits applied to every hook call and upload.
#[derive(Clone, Debug)]
pub struct SandboxLimits {
    /// Time one hook call may spend running, in milliseconds: measured between epoch ticks
    /// while the guest runs; time spent yielded, waiting for a worker, does not count.
    pub cpu_ms: u64,
    /// Linear memory across all of one instance's memories, in bytes.
    pub memory_bytes: usize,
    /// Largest output a hook may return (arguments or outcome), in bytes.
    pub output_bytes: usize,
    /// Guest log lines plus stdout/stderr kept per hook call, in bytes.
    pub log_bytes: usize,
    /// Largest component upload accepted, in bytes.
    pub upload_bytes: usize,
    /// Hook calls that may run at once: the pooling allocator's slots, plus
    /// [`Self::spare_slots`] more for instances made ahead or waiting to be torn down.
    pub concurrency: u32,
}

impl SandboxLimits {
    /// Pool slots beyond `concurrency`, for instances made ahead of their call or waiting
    /// to be torn down (half as many again).
    pub fn spare_slots(&self) -> u32 {
        self.concurrency / 2
    }
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            cpu_ms: 50,
            memory_bytes: 64 * 1024 * 1024,
            output_bytes: 1024 * 1024,
            log_bytes: 16 * 1024,
            upload_bytes: 16 * 1024 * 1024,
            concurrency: 64,
        }
    }
}
