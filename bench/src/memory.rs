//! Resident memory of the real binary holding many tools across many tenants: every tenant
//! and tool created through the API, then one invocation per tenant (against the stub) so
//! each tenant's key and tools are in the caches, then VmRSS from `/proc`.

use std::{sync::Arc, time::Instant};

use serde_json::json;
use tokio::runtime::Runtime;

use crate::{api, process::Server, servers};

/// What the memory run measured.
#[derive(Clone, Debug)]
pub struct Memory {
    /// Tenants created.
    pub tenants: usize,
    /// Tools created, in all.
    pub tools: usize,
    /// Resident memory of the idle server before anything was created.
    pub idle_rss_bytes: u64,
    /// Resident memory with everything created and the caches warm.
    pub rss_bytes: u64,
    /// How long creating everything took, in seconds.
    pub create_secs: f64,
}

/// Workers creating tenants and tools at once.
const WORKERS: usize = 8;

/// Creates `tenants` tenants with `per_tenant` tools each, warms the caches, reads VmRSS.
pub fn measure(
    bin: &std::path::Path,
    tenants: usize,
    per_tenant: usize,
    client_rt: &Runtime,
) -> anyhow::Result<Memory> {
    let dir = tempfile::tempdir()?;
    let stub = servers::stub()?;
    let server = Server::start(bin, dir.path())?;
    let idle_rss_bytes = server.rss_bytes()?;
    let base = Arc::new(server.url.clone());
    let endpoint = Arc::new(format!("{}/areas/check", stub.url));
    let started = Instant::now();
    let result = client_rt.block_on(async {
        let http = servers::client()?;
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (http, base, endpoint) = (http.clone(), base.clone(), endpoint.clone());
                tokio::spawn(async move {
                    let mut keys = Vec::new();
                    for t in (w..tenants).step_by(WORKERS) {
                        let (_, key) =
                            api::tenant(&http, &base, &format!("Tenant {t}"), "plus").await?;
                        let mut first = None;
                        for k in 0..per_tenant {
                            let spec =
                                api::availability_tool(&format!("Check availability {k}"), &endpoint);
                            let function_id = api::tool(&http, &base, &key, spec).await?;
                            first.get_or_insert(function_id);
                        }
                        keys.push((key, first));
                    }
                    anyhow::Ok(keys)
                })
            })
            .collect();
        let mut keys = Vec::new();
        for w in workers {
            keys.extend(w.await??);
        }
        let create_secs = started.elapsed().as_secs_f64();
        // One invocation per tenant: its key and its tools are now cached.
        for (key, tool) in &keys {
            let Some(tool) = tool else { continue };
            let answer = api::call(
                &http,
                reqwest::Method::POST,
                &format!("{base}/v1/agents/receptionist/invoke"),
                key,
                Some(json!({"tool": tool, "arguments": {"zip_code": "94107", "service_type": "leak"}})),
            )
            .await?;
            anyhow::ensure!(answer["ok"] == true, "invocation failed: {answer}");
        }
        anyhow::Ok(create_secs)
    });
    let create_secs = result?;
    let memory = Memory {
        tenants,
        tools: tenants * per_tenant,
        idle_rss_bytes,
        rss_bytes: server.rss_bytes()?,
        create_secs,
    };
    server.stop()?;
    drop(stub);
    Ok(memory)
}
