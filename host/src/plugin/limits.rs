//! The sandbox's limits, set by the operator (`switchboard serve --plugin-*` flags), and the
//! fixed caps on what a guest's words may cost once they leave the sandbox.

/// Most of a refusal's `say` kept (bytes of UTF-8): a sentence for the caller.
pub const REFUSAL_SAY_BYTES: usize = 500;
/// Most of a refusal's `detail` kept (bytes of UTF-8), for the call log.
pub const REFUSAL_DETAIL_BYTES: usize = 4096;

/// `text` cut to at most `max` bytes on a character boundary, saying how much was cut.
pub fn cap_text(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let total = text.len();
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!("… [{} more bytes cut]", total - end));
    text
}

/// Limits applied to every hook call and upload.
#[derive(Clone, Debug)]
pub struct SandboxLimits {
    /// Time one hook call may spend running, in milliseconds: measured between epoch ticks
    /// while the guest runs; time spent yielded (waiting for a worker) or in a host call
    /// (a WASI sleep, `poll`) does not count.
    pub cpu_ms: u64,
    /// Wall-clock time one hook call may take from start to answer, in milliseconds: waiting
    /// for its sandbox slot, instantiation (constructors and `start` functions included) and
    /// the call. A blocking WASI call ends there too. The tool's response timeout may end it
    /// sooner. Also bounds the instantiation an upload is checked with.
    pub wall_ms: u64,
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
    /// Hook calls one tenant may run at once, out of `concurrency`: a tenant whose
    /// components are slow or busy waits for its own share and never takes another's.
    pub tenant_concurrency: u32,
    /// The binary that compiles uploads in a child process (`switchboard compile-component`),
    /// so a compile's memory goes back to the system when it ends; `None` compiles in this
    /// process (tests and the benchmark driving the library in-process).
    pub compiler: Option<std::path::PathBuf>,
    /// Wall-clock time one upload's compilation may take in the compiler child process, in
    /// milliseconds (uploads take turns, so this bounds every other tenant's wait too).
    pub compile_ms: u64,
}

impl SandboxLimits {
    /// Pool slots beyond `concurrency`, for instances made ahead of their call or waiting
    /// to be torn down (half as many again).
    pub fn spare_slots(&self) -> u32 {
        self.concurrency / 2
    }

    /// The default share of one tenant: the cores this process may use (at least 2), so one
    /// tenant's CPU-bound hooks keep at most that many workers busy and another tenant's
    /// call waits behind a bounded number of them. Measured on 2 cores beside 40 spinning
    /// hooks of another tenant, a plain call's p50: 0.7 ms idle, 2.2 ms with a share of 2,
    /// 4.3 ms with 4, 29 ms with none (`hostile.rs`).
    pub fn default_tenant_concurrency() -> u32 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        cores.max(2)
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
            wall_ms: 1000,
            tenant_concurrency: Self::default_tenant_concurrency(),
            compiler: None,
            compile_ms: 30_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_text_cuts_on_a_character_boundary_and_says_so() {
        assert_eq!(cap_text("short".into(), 10), "short");
        let cut = cap_text("ééééé".into(), 3);
        assert_eq!(cut, "é… [8 more bytes cut]");
    }
}
