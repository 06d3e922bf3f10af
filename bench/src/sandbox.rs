//! Row 5, in-process: the plugin runtime with the service's default sandbox limits, a fresh
//! instance plus one hook call of each example plugin, and instantiation alone.
//!
//! Both are driven exactly as the invocation path calls the runtime: on the task, the guest
//! on a fiber. Latency times one call at a time; throughput keeps `concurrency` in flight.

use std::{collections::BTreeMap, sync::Arc};

use switchboard::plugin::{Hook, HookCall, Loaded, PluginRuntime, SandboxLimits, types};
use tokio::runtime::Runtime;

use crate::{Options, Row, load};

fn call() -> types::Call {
    types::Call {
        id: "call_bench".into(),
        tool: "check_availability_in_area".into(),
        agent: types::Agent::Receptionist,
        conversation: None,
        arguments: vec![
            types::Argument {
                key: "zip_code".into(),
                value: types::Value::Text("nine four one oh seven".into()),
            },
            types::Argument {
                key: "service_type".into(),
                value: types::Value::Text("leak".into()),
            },
        ],
    }
}

fn response() -> types::Response {
    types::Response {
        status: 200,
        headers: vec![types::Header {
            name: "content-type".into(),
            value: "application/json".into(),
        }],
        body: crate::servers::STUB_BODY.as_bytes().to_vec(),
    }
}

/// The benchmark's one tenant, with a tool whose response timeout is far away.
fn who() -> HookCall<'static> {
    HookCall {
        tenant: "ten_bench",
        tool_deadline: std::time::Instant::now() + std::time::Duration::from_secs(20),
        timeout_secs: 20,
    }
}

async fn ready(runtime: &PluginRuntime, path: &str) -> anyhow::Result<Arc<Loaded>> {
    let bytes = test_components::bytes(path);
    let sha256 = switchboard::ids::sha256_hex(&bytes);
    runtime
        .prepare(bytes, sha256.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    runtime
        .load(&sha256, async {
            anyhow::Result::<Vec<u8>>::Err(anyhow::anyhow!("prepared just above"))
        })
        .await
}

/// Runs the in-process rows.
pub fn rows(opts: &Options, client_rt: &Runtime) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    client_rt.block_on(async {
        let runtime = PluginRuntime::new(SandboxLimits::default(), dir.path().join("compiled"))?;
        let normalize = ready(&runtime, test_components::NORMALIZE_INPUT).await?;
        let speech = ready(&runtime, test_components::PLUMBING_SPEECH).await?;
        let config: Arc<BTreeMap<String, String>> =
            Arc::new([("zip_keys".to_owned(), "zip_code".to_owned())].into());
        let no_config: Arc<BTreeMap<String, String>> = Arc::default();

        // Fresh instance + transform-params (normalize-input).
        let (rt, n, c) = (runtime.clone(), normalize.clone(), config.clone());
        let params = move || {
            let (rt, n, c) = (rt.clone(), n.clone(), c.clone());
            async move {
                // Made here, not taken ready: the row times instantiation and call together.
                let fresh = rt.make_now(Hook::Params, c.clone(), &n).await;
                let args = rt
                    .transform_params(who(), Some(fresh), &n, c, call())
                    .await
                    .result
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                anyhow::ensure!(
                    args.iter()
                        .any(|a| matches!(&a.value, types::Value::Text(t) if t == "94107")),
                    "normalize-input did not normalise: {args:?}"
                );
                Ok(())
            }
        };
        // Fresh instance + transform-response (plumbing-speech).
        let (rt, s) = (runtime.clone(), speech.clone());
        let speak = move || {
            let (rt, s, c) = (rt.clone(), s.clone(), no_config.clone());
            async move {
                let fresh = rt.make_now(Hook::Response, c.clone(), &s).await;
                let outcome = rt
                    .transform_response(who(), Some(fresh), &s, c, call(), response())
                    .await
                    .result
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                anyhow::ensure!(outcome.speech.is_some(), "plumbing-speech said nothing");
                Ok(())
            }
        };
        // Instantiation alone.
        let (rt, n) = (runtime.clone(), normalize.clone());
        let instantiate = move || {
            let (rt, n) = (rt.clone(), n.clone());
            async move { rt.instantiate(&n).await }
        };
        Ok(vec![
            row(
                opts,
                "5a. fresh instance + transform-params (normalize-input)",
                params,
            )
            .await?,
            row(
                opts,
                "5b. fresh instance + transform-response (plumbing-speech)",
                speak,
            )
            .await?,
            row(
                opts,
                "5c. instantiation alone (normalize-input)",
                instantiate,
            )
            .await?,
        ])
    })
}

/// Latency one call at a time, then throughput with `opts.concurrency` in flight, of `op`.
async fn row<F, Fut>(opts: &Options, name: &str, op: F) -> anyhow::Result<Row>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let latency = load::latency(opts.warmup, opts.sandbox_calls, op.clone()).await?;
    let throughput = load::throughput(opts.concurrency, opts.throughput_time, op).await?;
    Ok(Row {
        name: name.to_owned(),
        latency,
        throughput,
        server_cpu: None,
        others_cpu: None,
    })
}
