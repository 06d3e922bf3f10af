//! Row 5, in-process: the plugin runtime with the service's default sandbox limits, a fresh
//! instance plus one hook call of each example plugin, and instantiation alone.
//!
//! Both are driven exactly as the invocation path calls the runtime: on the task, the guest
//! on a fiber. Latency times one call at a time; throughput keeps `concurrency` in flight.

use std::{collections::BTreeMap, sync::Arc};

use switchboard::plugin::{Loaded, PluginRuntime, SandboxLimits, types};
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

        let mut rows = Vec::new();

        // Fresh instance + transform-params (normalize-input).
        let params = |rt: PluginRuntime, n: Arc<Loaded>, c: Arc<BTreeMap<String, String>>| async move {
            let args = rt
                .transform_params(n, c, call())
                .await
                .result
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            anyhow::ensure!(
                args.iter()
                    .any(|a| matches!(&a.value, types::Value::Text(t) if t == "94107")),
                "normalize-input did not normalise: {args:?}"
            );
            Ok(())
        };
        let latency = load::latency(opts.warmup, opts.sandbox_calls, || {
            params(runtime.clone(), normalize.clone(), config.clone())
        })
        .await?;
        let (rt, n, c) = (runtime.clone(), normalize.clone(), config.clone());
        let throughput = load::throughput(opts.concurrency, opts.throughput_time, move || {
            params(rt.clone(), n.clone(), c.clone())
        })
        .await?;
        rows.push(Row {
            name: "5a. fresh instance + transform-params (normalize-input)".into(),
            latency,
            throughput,
            server_cpu: None,
        });

        // Fresh instance + transform-response (plumbing-speech).
        let speak = |rt: PluginRuntime, s: Arc<Loaded>, c: Arc<BTreeMap<String, String>>| async move {
            let outcome = rt
                .transform_response(s, c, call(), response())
                .await
                .result
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            anyhow::ensure!(outcome.speech.is_some(), "plumbing-speech said nothing");
            Ok(())
        };
        let latency = load::latency(opts.warmup, opts.sandbox_calls, || {
            speak(runtime.clone(), speech.clone(), no_config.clone())
        })
        .await?;
        let (rt, s, c) = (runtime.clone(), speech.clone(), no_config.clone());
        let throughput = load::throughput(opts.concurrency, opts.throughput_time, move || {
            speak(rt.clone(), s.clone(), c.clone())
        })
        .await?;
        rows.push(Row {
            name: "5b. fresh instance + transform-response (plumbing-speech)".into(),
            latency,
            throughput,
            server_cpu: None,
        });

        // Instantiation alone.
        let latency = load::latency(opts.warmup, opts.sandbox_calls, || {
            let (rt, n) = (runtime.clone(), normalize.clone());
            async move { rt.instantiate(&n).await }
        })
        .await?;
        let (rt, n) = (runtime.clone(), normalize.clone());
        let throughput = load::throughput(opts.concurrency, opts.throughput_time, move || {
            let (rt, n) = (rt.clone(), n.clone());
            async move { rt.instantiate(&n).await }
        })
        .await?;
        rows.push(Row {
            name: "5c. instantiation alone (normalize-input)".into(),
            latency,
            throughput,
            server_cpu: None,
        });
        Ok(rows)
    })
}
