//! The benchmark harness (BENCHMARKS.md): in one run on one machine, against one loopback
//! webhook stub answering fixed JSON, it measures
//!
//! 1. the floor, a direct call to the stub;
//! 2. the floor of the design, a bare axum-in/reqwest-out proxy;
//! 3. an invocation through Switchboard, no transforms;
//! 4. an invocation with a params and a response transform (the example plugins);
//! 5. in-process, a fresh instance plus one hook call, and instantiation alone;
//!
//! each at concurrency 1 (p50/p99) and 32 (throughput), then restart time with many
//! components registered and resident memory with many tools, and checks the targets.
//!
//! - [`load`]: the latency and throughput drivers. [`servers`]: the stub and the proxy.
//! - [`http`]: rows 1–4. [`sandbox`]: row 5. [`api`]: set-up calls to Switchboard's API.
//! - [`process`]: the real binary as a child. [`startup`], [`memory`]: its two runs.
//! - [`report`]: the table, the ratios and the targets.

#![forbid(unsafe_code)]

pub mod api;
pub mod http;
pub mod load;
pub mod memory;
pub mod process;
pub mod report;
pub mod sandbox;
pub mod servers;
pub mod startup;

use std::{path::PathBuf, time::Duration};

pub use report::Report;

/// One measured row.
#[derive(Clone, Debug)]
pub struct Row {
    /// What was measured.
    pub name: String,
    /// At concurrency 1.
    pub latency: load::Latency,
    /// Completions per second at the configured concurrency.
    pub throughput: f64,
    /// CPU time the server under test spent per request during the throughput run (rows
    /// 1–4: the stub, the proxy, Switchboard), where the platform reports it.
    pub server_cpu: Option<std::time::Duration>,
    /// CPU time per request of the load generator plus the stub (rows 2–4; row 1: the load
    /// generator alone), which do the same work per request in every row: what they cost
    /// beyond the floor's figure is the machine's, not the server's, slowdown.
    pub others_cpu: Option<std::time::Duration>,
}

/// Which parts to run.
#[derive(Clone, Copy, Debug)]
pub struct Parts {
    /// Rows 1–4.
    pub http: bool,
    /// Row 5.
    pub sandbox: bool,
    /// The restart with many components.
    pub startup: bool,
    /// Resident memory with many tools.
    pub memory: bool,
}

impl Parts {
    /// Everything.
    pub const ALL: Parts = Parts {
        http: true,
        sandbox: true,
        startup: true,
        memory: true,
    };
    /// Nothing; `--only` and the tests switch parts on from here.
    pub const NONE: Parts = Parts {
        http: false,
        sandbox: false,
        startup: false,
        memory: false,
    };
}

/// How much of everything.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `switchboard` binary for the restart and memory runs.
    pub switchboard: PathBuf,
    /// Parts to run.
    pub parts: Parts,
    /// Which of rows 1–4 the `http` part runs (all when empty): profiling one row beside
    /// its floor takes less time and keeps the others' samples out of the profile.
    pub rows: Vec<u8>,
    /// Untimed requests before each latency run.
    pub warmup: usize,
    /// Timed requests at concurrency 1 (rows 1–4).
    pub latency_requests: usize,
    /// Timed hook calls at concurrency 1 (row 5).
    pub sandbox_calls: usize,
    /// Requests in flight for the throughput runs.
    pub concurrency: usize,
    /// Length of each throughput run.
    pub throughput_time: Duration,
    /// Components registered for the restart.
    pub components: usize,
    /// Of them, uploaded (compiled) through the API.
    pub uploaded_components: usize,
    /// Tenants for the memory run.
    pub tenants: usize,
    /// Tools per tenant for the memory run.
    pub tools_per_tenant: usize,
}

impl Options {
    /// The full run whose figures BENCHMARKS.md reports.
    pub fn full(switchboard: PathBuf) -> Self {
        Self {
            switchboard,
            parts: Parts::ALL,
            rows: Vec::new(),
            warmup: 500,
            latency_requests: 5_000,
            sandbox_calls: 5_000,
            concurrency: 32,
            throughput_time: Duration::from_secs(5),
            components: 1_000,
            uploaded_components: 5,
            tenants: 1_000,
            tools_per_tenant: 10,
        }
    }

    /// Tiny counts: every row is produced, no figure means anything (the test suite's smoke run).
    pub fn quick(switchboard: PathBuf) -> Self {
        Self {
            warmup: 2,
            latency_requests: 10,
            sandbox_calls: 10,
            concurrency: 4,
            throughput_time: Duration::from_millis(100),
            components: 3,
            uploaded_components: 1,
            tenants: 3,
            tools_per_tenant: 2,
            ..Self::full(switchboard)
        }
    }
}

/// Runs the parts `opts` asks for; `progress` hears what is starting.
pub fn run(opts: &Options, mut progress: impl FnMut(&str)) -> anyhow::Result<Report> {
    let client = servers::runtime("load")?;
    let mut report = Report {
        concurrency: opts.concurrency,
        ..Report::default()
    };
    if opts.parts.http {
        progress("rows 1-4: direct, bare proxy, Switchboard, Switchboard with transforms");
        report.rows.extend(http::rows(opts, &client)?);
    }
    if opts.parts.sandbox {
        progress("row 5: the sandbox in-process");
        report.rows.extend(sandbox::rows(opts, &client)?);
    }
    if opts.parts.startup {
        progress(&format!(
            "restart with {} components registered",
            opts.components
        ));
        report.startup = Some(startup::measure(
            &opts.switchboard,
            opts.components,
            opts.uploaded_components,
            &client,
        )?);
    }
    if opts.parts.memory {
        progress(&format!(
            "memory with {} tools across {} tenants",
            opts.tenants * opts.tools_per_tenant,
            opts.tenants
        ));
        report.memory = Some(memory::measure(
            &opts.switchboard,
            opts.tenants,
            opts.tools_per_tenant,
            &client,
        )?);
    }
    Ok(report)
}
