//! Rows 1–4, one stub behind all of them: the direct call (the floor), the bare proxy (the
//! floor of the design), and an invocation through Switchboard without and with both
//! transforms (the example plugins normalize-input and plumbing-speech).
//!
//! Switchboard runs here in-process — the library's `switchboard::run` on an `AppState`
//! over a temp data dir, on a runtime of its own — exactly as the proxy does, so the two
//! are compared under identical conditions. (The binary only adds flag parsing and a log
//! subscriber; its start-up and memory are measured in `startup` and `memory`.)

use std::{sync::Arc, time::Duration};

use serde_json::json;
use switchboard::{
    AppState, Config,
    invoke::limits::{InvokeLimits, PlanLimits},
};
use tokio::{net::TcpListener, runtime::Runtime};

use crate::{
    Options, Row,
    api::{self, ADMIN},
    load,
    servers::{self, Served, Target},
};

/// Switchboard on its own runtime.
struct Switchboard {
    url: String,
    runtime: Runtime,
    _dir: tempfile::TempDir,
}

/// Per-tenant limits lifted: a load test measures the path, not the admission gate (which
/// still runs on every call).
fn unlimited() -> InvokeLimits {
    let open = PlanLimits {
        concurrency: 1_000_000,
        per_minute: u32::MAX / 2,
        burst: u32::MAX / 2,
    };
    InvokeLimits {
        plus: open,
        pro: open,
    }
}

fn start_switchboard() -> anyhow::Result<Switchboard> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::new(dir.path().to_path_buf());
    config.admin_token = Some(ADMIN.to_owned());
    config.allow_net = vec!["127.0.0.0/8".parse()?];
    config.invoke_limits = unlimited();
    let runtime = servers::runtime("switchboard")?;
    let (listener, state) = runtime.block_on(async {
        anyhow::Ok((
            TcpListener::bind("127.0.0.1:0").await?,
            AppState::open(config).await?,
        ))
    })?;
    let url = format!("http://{}", listener.local_addr()?);
    runtime.spawn(switchboard::run(listener, state, std::future::pending()));
    Ok(Switchboard {
        url,
        runtime,
        _dir: dir,
    })
}

/// The request bodies: the endpoint sees the arguments; Switchboard gets them in an invocation.
fn arguments(zip: &str) -> serde_json::Value {
    json!({"zip_code": zip, "service_type": "leak"})
}

/// Runs rows 1–4 and answers them in order.
pub fn rows(opts: &Options, client_rt: &Runtime) -> anyhow::Result<Vec<Row>> {
    let stub = servers::stub()?;
    let proxy = servers::proxy(&stub.url)?;
    let switchboard = start_switchboard()?;
    let result = client_rt.block_on(measure(opts, &stub, &proxy, &switchboard.url));
    // Runtimes are dropped here, outside any runtime.
    drop((stub, proxy, switchboard.runtime));
    result
}

async fn measure(
    opts: &Options,
    stub: &Served,
    proxy: &Served,
    switchboard: &str,
) -> anyhow::Result<Vec<Row>> {
    let http = servers::client()?;
    let (_, manage) = api::tenant(&http, switchboard, "Bench Plumbing", "pro").await?;
    let invoke_key = api::invoke_key(&http, switchboard, &manage).await?;
    let normalize = api::upload(
        &http,
        switchboard,
        &manage,
        "normalize-input",
        test_components::bytes(test_components::NORMALIZE_INPUT),
    )
    .await?;
    let speech = api::upload(
        &http,
        switchboard,
        &manage,
        "plumbing-speech",
        test_components::bytes(test_components::PLUMBING_SPEECH),
    )
    .await?;
    let endpoint = format!("{}/areas/check", stub.url);
    let plain = api::tool(
        &http,
        switchboard,
        &manage,
        api::availability_tool("Check availability in area", &endpoint),
    )
    .await?;
    let mut spec = api::availability_tool("Check availability spoken", &endpoint);
    spec["transforms"] = json!({
        "params": {"component": normalize, "config": {"zip_keys": "zip_code"}},
        "response": {"component": speech}
    });
    let transformed = api::tool(&http, switchboard, &manage, spec).await?;

    let invoke_url = format!("{switchboard}/v1/agents/receptionist/invoke");
    let targets = [
        (
            "1. direct call to the stub (floor)",
            "stub",
            Target::new(
                &http,
                endpoint.clone(),
                None,
                arguments("94107"),
                "\"serviced\":true",
            )?,
        ),
        (
            "2. bare proxy, axum in + reqwest out (floor of the design)",
            "proxy",
            Target::new(
                &http,
                format!("{}/areas/check", proxy.url),
                None,
                arguments("94107"),
                "\"serviced\":true",
            )?,
        ),
        (
            "3. invoke through Switchboard, no transforms",
            "switchboard",
            Target::new(
                &http,
                invoke_url.clone(),
                Some(&invoke_key),
                json!({"tool": plain, "arguments": arguments("94107")}),
                "\"ok\":true",
            )?,
        ),
        (
            "4. invoke with params + response transforms",
            "switchboard",
            Target::new(
                &http,
                invoke_url,
                Some(&invoke_key),
                json!({"tool": transformed, "arguments": arguments("nine four one oh seven")}),
                "we cover 94107",
            )?,
        ),
    ];
    // The rows take turns, ROUNDS times, each with its share of the requests and the time:
    // a slow spell on a shared host then lands on every row alike instead of on whichever
    // row it happened to coincide with, and the ratios compare like with like.
    let wanted = |name: &str| {
        opts.rows.is_empty() || opts.rows.iter().any(|r| name.starts_with(&format!("{r}.")))
    };
    let mut tallies: Vec<Tally> = targets
        .into_iter()
        .filter(|(name, _, _)| wanted(name))
        .map(|(name, server, target)| Tally::new(name, server, target))
        .collect();
    let rounds = ROUNDS.min(opts.latency_requests).max(1);
    for round in 0..rounds {
        for tally in &mut tallies {
            tally.round(opts, round, rounds).await?;
        }
    }
    Ok(tallies.into_iter().map(Tally::row).collect())
}

/// How many turns each row takes.
const ROUNDS: usize = 5;

/// One row's measurements so far. `server` names the threads of the server under test (its
/// runtime's name), whose CPU time per completed request the row reports.
struct Tally {
    name: &'static str,
    server: &'static str,
    target: Arc<Target>,
    samples: Vec<Duration>,
    completions: u64,
    elapsed: Duration,
    server_cpu: Option<Duration>,
    others_cpu: Option<Duration>,
}

impl Tally {
    fn new(name: &'static str, server: &'static str, target: Target) -> Self {
        Self {
            name,
            server,
            target: Arc::new(target),
            samples: Vec::new(),
            completions: 0,
            elapsed: Duration::ZERO,
            server_cpu: Some(Duration::ZERO),
            others_cpu: Some(Duration::ZERO),
        }
    }

    /// Turn `round` of `rounds`: a share of the latency requests (the warm-up on the first
    /// turn), then a share of the throughput time.
    async fn round(&mut self, opts: &Options, round: usize, rounds: usize) -> anyhow::Result<()> {
        let warmup = if round == 0 { opts.warmup } else { 0 };
        let n = share(opts.latency_requests, round, rounds);
        let target = self.target.clone();
        let samples = load::latency_samples(warmup, n, || target.send()).await?;
        self.samples.extend(samples);
        // A pause between phases lets the previous phase's background work (the call log)
        // drain.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = load::thread_cpu(self.server);
        let others_before = others_cpu(self.server);
        let target = self.target.clone();
        let time = opts.throughput_time.div_f64(rounds as f64);
        let (done, elapsed) = load::completions(opts.concurrency, time, move || {
            let t = target.clone();
            async move { t.send().await }
        })
        .await?;
        self.completions += done;
        self.elapsed += elapsed;
        let spent = |before: Option<Duration>, after: Option<Duration>| {
            before.zip(after).map(|(b, a)| a.saturating_sub(b))
        };
        let add = |sum: Option<Duration>, more: Option<Duration>| sum.zip(more).map(|(s, m)| s + m);
        self.server_cpu = add(
            self.server_cpu,
            spent(before, load::thread_cpu(self.server)),
        );
        self.others_cpu = add(
            self.others_cpu,
            spent(others_before, others_cpu(self.server)),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(())
    }

    fn row(self) -> Row {
        let per_request = |cpu: Duration| cpu.div_f64((self.completions as f64).max(1.0));
        Row {
            name: self.name.to_owned(),
            latency: load::Latency::of(self.samples),
            throughput: self.completions as f64 / self.elapsed.as_secs_f64().max(1e-9),
            server_cpu: self.server_cpu.map(per_request),
            others_cpu: self.others_cpu.map(per_request),
        }
    }
}

/// Round `round`'s part of `total`, the remainder going to the first rounds.
fn share(total: usize, round: usize, rounds: usize) -> usize {
    total / rounds + usize::from(round < total % rounds)
}

/// CPU time so far of the threads that do the same work in every row — the load generator's
/// and, unless it is the server under test, the stub's.
fn others_cpu(server: &str) -> Option<Duration> {
    let stub = if server == "stub" {
        Duration::ZERO
    } else {
        load::thread_cpu("stub")?
    };
    Some(load::thread_cpu("load")? + stub)
}
