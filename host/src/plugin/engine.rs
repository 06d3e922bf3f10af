//! The one wasmtime `Engine`: component model, pooling allocator with copy-on-write memory
//! images (a freed slot is reset in place, dirty pages only), and epoch interruption ticked
//! every millisecond by a dedicated thread that holds only a weak handle (it exits when the
//! engine is dropped).

use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::limits::SandboxLimits;

/// How often the epoch advances: the deadline's resolution.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Most of a freed linear memory kept resident: only pages a call dirtied count, so this
/// bounds the memory a slot holds between calls, not what a call may use.
const MEMORY_KEEP_RESIDENT: usize = 1024 * 1024;
/// The same for tables (20,000 elements of 8 bytes fit).
const TABLE_KEEP_RESIDENT: usize = 256 * 1024;

/// Builds the engine and starts its epoch ticker.
pub fn build(limits: &SandboxLimits) -> anyhow::Result<Engine> {
    // Hook calls running at once, plus the spare slots that hold instances made ahead of
    // their call or waiting to be torn down.
    let slots = limits.concurrency.max(1) + limits.spare_slots();
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        // A Rust guest is one core module plus wit-component's small shim/fixup modules.
        .max_core_instances_per_component(16)
        .total_core_instances(slots * 16)
        .max_memories_per_component(4)
        .total_memories(slots * 2)
        .max_tables_per_component(8)
        .total_tables(slots * 8)
        .table_elements(20_000)
        .total_stacks(slots)
        .max_memory_size(limits.memory_bytes)
        // Reset a freed slot in place rather than handing its pages back to the kernel:
        // `PAGEMAP_SCAN` (Linux 6.7+; skipped where missing) finds the pages the last call
        // dirtied and only those are restored, so the next instance neither faults them in
        // again nor pays for the TLB shoot-down an `madvise` costs in a threaded process.
        // Without the scan, keeping memory resident means a `memset` of the whole amount.
        // Measured: fresh instance + hook call 49 µs -> 12-19 µs p50 (BENCHMARKS.md).
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT);

    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .memory_init_cow(true)
        // Reserve only what the cap allows, so the pool's address space stays modest.
        .memory_reservation(limits.memory_bytes as u64)
        .memory_reservation_for_growth(0)
        // Compiled on one thread (wasmtime is built without `parallel-compilation`, and
        // uploads take turns, see `share`), so a compile bomb keeps one core at most.
        .max_wasm_stack(1024 * 1024);
    let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e:#}"))?;

    let weak = engine.weak();
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
    Ok(engine)
}
