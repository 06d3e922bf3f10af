//! Hostile components against time, shared capacity and amplification (not only CPU and
//! memory): guests that sleep on WASI timers in a hook, a constructor or a `start` function;
//! one tenant's flood of sleepers or uploads while another tenant's transformed tool is
//! called; refusals and outputs built to be large; compile bombs and the memory they leave.
//! Everything through the real server, as a pro tenant would upload it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_components as wasm;

use crate::utils::{Process, Receiver, Reply, TestServer, seed_tool};

/// A tool named `name` behind `url` with `component` as its `hook` transform (and `config`).
fn transformed(name: &str, url: &str, hook: &str, component: &str, config: Value) -> Value {
    let mut spec = seed_tool(url);
    spec["name"] = json!(name);
    spec["transforms"] = json!({hook: {"component": component, "config": config}});
    spec
}

fn args() -> Value {
    json!({"zip_code": "94107", "service_type": "leak"})
}

/// Invokes `tool` with [`args`]; answers the raw bytes of the answer, to measure them.
async fn invoke_raw(server: &TestServer, key: &str, tool: &str) -> Vec<u8> {
    let body = json!({"tool": tool, "arguments": args()});
    let resp = server
        .client
        .post(format!("{}/v1/agents/receptionist/invoke", server.url))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.unwrap().to_vec()
}

/// Another tenant's seed tool with normalize-input as its params transform: the bystander
/// whose calls a hostile tenant must not disturb.
async fn bystander_tool(server: &TestServer, key: &str, url: &str) {
    let normalize = server
        .upload(key, "normalize-input", wasm::NORMALIZE_INPUT)
        .await;
    let config = json!({"zip_keys": "zip_code"});
    let spec = transformed(
        "Check availability in area",
        url,
        "params",
        &normalize,
        config,
    );
    server.tool(key, spec).await;
}

/// 25 calls of the bystander's tool, one after another.
async fn bystander_calls(server: &TestServer, key: &str) -> Vec<Value> {
    let mut results = Vec::new();
    for _ in 0..25 {
        results.push(server.seed_call(key, "nine four one oh seven").await);
    }
    results
}

fn message(result: &Value) -> &str {
    result["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_sleeping_hook_ends_at_its_wall_clock_limit_and_says_so() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("pro").await;
    let sleeper = server.upload(&key, "sleeper", wasm::SLEEPER).await;

    // A response hook sleeping 30 s on a tool with a 5 s response timeout: the hook's own
    // 1,000 ms wall-clock limit ends it, and the message says which limit it was.
    let mut spec = transformed(
        "slow speech",
        &receiver.url,
        "response",
        &sleeper,
        json!({}),
    );
    spec["response_timeout_secs"] = json!(5);
    server.tool(&key, spec).await;
    let started = Instant::now();
    let result = server
        .invoke(&key, "receptionist", "slow_speech", args())
        .await;
    let took = started.elapsed();
    assert_eq!(result["error"]["kind"], "transform_failed", "{result}");
    assert_eq!(
        message(&result),
        "the response transform ran past its 1000 ms wall-clock limit"
    );
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_millis(2500),
        "{took:?}"
    );

    // A params hook sleeping 30 s with a 1 s response timeout: the tool's timeout comes
    // first, so that is what ends it, and nothing is sent.
    let server = TestServer::start_with(|c| c.sandbox.wall_ms = 10_000).await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("pro").await;
    let sleeper = server.upload(&key, "sleeper", wasm::SLEEPER).await;
    let mut spec = transformed("slow params", &receiver.url, "params", &sleeper, json!({}));
    spec["response_timeout_secs"] = json!(1);
    server.tool(&key, spec).await;
    let started = Instant::now();
    let result = server
        .invoke(&key, "receptionist", "slow_params", args())
        .await;
    let took = started.elapsed();
    assert_eq!(
        message(&result),
        "the params transform was still running when the tool's 1 s response timeout ran out"
    );
    assert!(took < Duration::from_millis(2000), "{took:?}");
    assert!(receiver.requests().is_empty(), "nothing was sent");

    // Sleeping is not computing: 200 ms asleep passes a 50 ms CPU budget.
    let spec = transformed(
        "short nap",
        &receiver.url,
        "params",
        &sleeper,
        json!({"sleep_ms": "200"}),
    );
    server.tool(&key, spec).await;
    receiver.reply(Reply::json(200, json!({"ok": true})));
    let result = server
        .invoke(&key, "receptionist", "short_nap", args())
        .await;
    assert_eq!(result["ok"], true, "{result}");
}

#[tokio::test]
async fn a_sleeping_constructor_is_stopped_at_the_deadline() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("pro").await;
    let started = Instant::now();
    let (status, body) = server
        .upload_bytes(
            &key,
            "sleepy-constructor",
            test_components::bytes(wasm::SLEEPY_CONSTRUCTOR),
        )
        .await;
    assert!(started.elapsed() < Duration::from_millis(2500));
    // The constructor runs before the first export: at the upload's check when the
    // toolchain runs it at instantiation, else at the first call. Either way it is cut off.
    if status == StatusCode::UNPROCESSABLE_ENTITY {
        let refused = body["error"]["message"].as_str().unwrap();
        assert!(refused.contains("1000 ms wall-clock limit"), "{refused}");
        return;
    }
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap();
    let spec = transformed("constructed", &receiver.url, "params", id, json!({}));
    server.tool(&key, spec).await;
    let started = Instant::now();
    let result = server
        .invoke(&key, "receptionist", "constructed", args())
        .await;
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(result["error"]["kind"], "transform_failed", "{result}");
    assert!(
        message(&result).contains("1000 ms wall-clock limit"),
        "{result}"
    );
}

#[tokio::test]
async fn a_blocking_start_function_is_refused_at_upload_within_the_limit() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("pro").await;
    let started = Instant::now();
    let (status, body) = server
        .upload_bytes(
            &key,
            "blocking-start",
            test_components::hostile::blocking_start(),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["error"]["message"],
        "body: the component failed to start: ran past its 1000 ms wall-clock limit while starting"
    );
    assert!(took < Duration::from_millis(2500), "{took:?}");
    let (_, list) = server.call("GET", "/v1/components", Some(&key), None).await;
    assert_eq!(list["components"], json!([]), "nothing is stored");
}

/// One tenant's 100 concurrent calls of a sleeping params hook (its plan allows 100 in
/// flight) take only its own share of the sandbox: another tenant's transformed tool,
/// called 25 times meanwhile, succeeds every time; the sleepers fail, typed, on their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_sleepers_leave_other_tenants_their_slots() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    receiver.reply(Reply::json(200, json!({"serviced": true})));
    let (_, attacker) = server.tenant("pro").await;
    let (_, victim) = server.tenant("pro").await;
    let sleeper = server.upload(&attacker, "sleeper", wasm::SLEEPER).await;
    let spec = transformed("sleepy", &receiver.url, "params", &sleeper, json!({}));
    server.tool(&attacker, spec).await;
    bystander_tool(&server, &victim, &receiver.url).await;

    let flood = futures_join_all((0..100).map(|_| {
        let (server, attacker) = (&server, &attacker);
        async move {
            server
                .invoke(attacker, "receptionist", "sleepy", args())
                .await
        }
    }));
    let victims = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        bystander_calls(&server, &victim).await
    };
    let (flooded, victims) = tokio::join!(flood, victims);
    assert!(victims.iter().all(|r| r["ok"] == true), "{victims:?}");
    for result in &flooded {
        assert_eq!(result["error"]["kind"], "transform_failed", "{result}");
        let message = message(result);
        assert!(
            message.contains("wall-clock limit") || message.contains("this tenant's sandbox slots"),
            "{message}"
        );
    }
}

/// Uploads are checked one at a time per tenant: of ten uploads of a component whose
/// `start` blocks, sent at once, one is checked (and refused at its wall-clock limit) and the
/// rest are answered 429 straight away; another tenant's calls are unaffected meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_flood_of_uploads_is_one_at_a_time_and_starves_nobody() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    receiver.reply(Reply::json(200, json!({"serviced": true})));
    let (_, attacker) = server.tenant("pro").await;
    let (_, victim) = server.tenant("pro").await;
    bystander_tool(&server, &victim, &receiver.url).await;

    let bytes = test_components::hostile::blocking_start();
    let started = Instant::now();
    let uploads = futures_join_all((0..10).map(|i| {
        let (server, attacker, bytes) = (&server, &attacker, bytes.clone());
        async move {
            server
                .upload_bytes(attacker, &format!("blocker-{i}"), bytes)
                .await
        }
    }));
    let victims = bystander_calls(&server, &victim);
    let (uploads, victims) = tokio::join!(uploads, victims);
    assert!(started.elapsed() < Duration::from_secs(5));
    let statuses: Vec<u16> = uploads.iter().map(|(s, _)| s.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        9,
        "{statuses:?}"
    );
    let limited = uploads.iter().find(|(s, _)| s.as_u16() == 429).unwrap();
    assert_eq!(
        limited.1["error"]["kind"], "too_many_requests",
        "{}",
        limited.1
    );
    assert!(victims.iter().all(|r| r["ok"] == true), "{victims:?}");
}

/// Calls a tool whose params transform is the fixture at `path` and measures what came of
/// it: the answer and the call-log record, each with its size in bytes.
async fn answer_and_record(
    server: &TestServer,
    key: &str,
    path: &str,
) -> (Value, usize, Value, usize) {
    let receiver = Receiver::start().await;
    let id = server.upload(key, "hostile", path).await;
    let spec = transformed("hostile", &receiver.url, "params", &id, json!({}));
    server.tool(key, spec).await;
    let answer = invoke_raw(server, key, "hostile").await;
    let (_, calls) = server
        .call("GET", "/v1/calls?limit=1", Some(key), None)
        .await;
    let record = calls["calls"][0].clone();
    let record_len = serde_json::to_vec(&record).unwrap().len();
    assert!(receiver.requests().is_empty(), "nothing was sent");
    let result = serde_json::from_slice(&answer).unwrap();
    (result, answer.len(), record, record_len)
}

#[tokio::test]
async fn a_refusal_of_megabytes_is_capped_in_the_answer_and_the_log() {
    // Time enough to build 25 MiB of words on a busy machine: their size is the point.
    let server = TestServer::start_with(|c| c.sandbox.cpu_ms = 2_000).await;
    let (_, key) = server.tenant("pro").await;
    let (result, answer_len, record, record_len) =
        answer_and_record(&server, &key, wasm::HUGE_REFUSAL).await;
    // 5 MiB of `say` and 20 MiB of `detail` made a 5.2 MB answer and a 21 MB record before.
    assert!(answer_len < 4096, "the answer is {answer_len} bytes");
    assert!(
        record_len < 8192,
        "the call log record is {record_len} bytes"
    );
    assert_eq!(result["error"]["kind"], "transform_refused", "{result}");
    let speech = result["speech"].as_str().unwrap();
    assert!(
        speech.starts_with("sss") && speech.ends_with("more bytes cut]"),
        "{speech}"
    );
    let detail = record["detail"]["refusal"].as_str().unwrap();
    assert!(
        detail.starts_with("ddd") && detail.len() < 4200,
        "{}",
        detail.len()
    );
}

#[tokio::test]
async fn an_output_that_amplifies_into_an_error_is_capped() {
    // Time enough to build 240,000 arguments on a busy machine: the amplification is the point.
    let server = TestServer::start_with(|c| c.sandbox.cpu_ms = 2_000).await;
    let (_, key) = server.tenant("pro").await;
    let (result, answer_len, _, record_len) =
        answer_and_record(&server, &key, wasm::KEY_FLOOD).await;
    // 960 KB of keys made a 9.3 MB answer and record before; now a few hundred bytes.
    assert!(answer_len < 4096, "the answer is {answer_len} bytes");
    assert!(
        record_len < 8192,
        "the call log record is {record_len} bytes"
    );
    assert_eq!(result["error"]["kind"], "transform_failed", "{result}");
    assert!(message(&result).ends_with("; and 239997 more"), "{result}");
}

/// The runtime's own arguments cannot make a record grow past the call log's cap either:
/// 200 KB of arguments are left out of the record, which says how large they were.
#[tokio::test]
async fn a_call_log_record_is_capped_as_a_whole() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    receiver.reply(Reply::json(200, json!({"ok": true})));
    let big = "x".repeat(200_000);
    let result = server
        .invoke(
            &key,
            "receptionist",
            "check_availability_in_area",
            json!({"zip_code": "94107", "service_type": big}),
        )
        .await;
    assert_eq!(result["ok"], true, "{result}");
    let (_, calls) = server
        .call("GET", "/v1/calls?limit=1", Some(&key), None)
        .await;
    let record = serde_json::to_vec(&calls["calls"][0]).unwrap();
    assert!(
        record.len() < 70_000,
        "the record is {} bytes",
        record.len()
    );
    let arguments = calls["calls"][0]["detail"]["arguments"].as_str().unwrap();
    assert!(arguments.contains("bytes left out"), "{arguments}");
}

/// Compiling happens in a bounded way (one at a time, one thread, in a child process): after
/// three compile bombs the service's resident memory comes back near where it was, and the
/// refused bombs leave no compiled artifact on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_bombs_leave_no_lasting_memory() {
    let (dir, process, http, key) = binary_with_a_pro_tenant(&[]).await;
    let pid = process.pid();
    let rss = || rss_kib(pid);
    let resting = rss();
    for salt in 0..3 {
        let bomb = test_components::hostile::compile_bomb(400, 400, salt);
        let started = Instant::now();
        let resp = http
            .post(format!("{}/v1/components?name=bomb", process.url))
            .bearer_auth(&key)
            .body(bomb)
            .send()
            .await
            .unwrap();
        let (status, body) = crate::utils::status_and_json(resp).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        eprintln!(
            "bomb {salt}: {:?}, RSS {} MiB",
            started.elapsed(),
            rss() / 1024
        );
    }
    let artifacts = std::fs::read_dir(dir.path().join("compiled"))
        .unwrap()
        .count();
    assert_eq!(
        artifacts, 0,
        "a refused upload leaves no compiled artifact behind"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss();
    eprintln!("resting {} MiB, after {} MiB", resting / 1024, after / 1024);
    assert!(
        after < resting + 24 * 1024,
        "RSS {} MiB after the bombs, {} MiB before",
        after / 1024,
        resting / 1024
    );
    process.terminate();
}

/// One tenant's CPU-bound hooks (40 at once, each spinning to its 50 ms CPU limit) keep at
/// most its share of workers busy: another tenant's plain invocations, on the real binary,
/// stay within a small factor of their latency on an idle host (on 2 cores: 0.7 ms idle,
/// 2.2 ms beside them; 29 ms without the shares). The bound asserted is loose — a shared CI
/// machine is noisy — and the measured figures are printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_spinning_hooks_barely_slow_another_tenants_calls() {
    let (_dir, process, http, attacker) =
        binary_with_a_pro_tenant(&["--pro-concurrency", "200"]).await;
    let receiver = Receiver::start().await;
    receiver.reply(Reply::json(200, json!({"serviced": true})));
    let (_, victim) = process.tenant(&http, "pro").await;
    let post = |key: &str, path: &'static str, body: Value| {
        let (http, url, key) = (http.clone(), process.url.clone(), key.to_owned());
        async move { crate::utils::call(&http, &url, "POST", path, Some(&key), Some(body)).await }
    };
    let looping = http
        .post(format!("{}/v1/components?name=loop", process.url))
        .bearer_auth(&attacker)
        .body(test_components::bytes(wasm::INFINITE_LOOP))
        .send()
        .await
        .unwrap();
    let (_, looping) = crate::utils::status_and_json(looping).await;
    let spec = transformed(
        "spin",
        &receiver.url,
        "params",
        looping["id"].as_str().unwrap(),
        json!({}),
    );
    assert_eq!(
        post(&attacker, "/v1/tools", spec).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        post(&victim, "/v1/tools", seed_tool(&receiver.url)).await.0,
        StatusCode::CREATED
    );

    let victim_p50 = |n: usize| {
        let post = &post;
        let victim = victim.clone();
        async move {
            let mut times = Vec::new();
            for _ in 0..n {
                let started = Instant::now();
                let body = json!({"tool": "check_availability_in_area", "arguments": args()});
                let (_, result) = post(&victim, "/v1/agents/receptionist/invoke", body).await;
                assert_eq!(result["ok"], true, "{result}");
                times.push(started.elapsed());
            }
            times.sort();
            times[times.len() / 2]
        }
    };
    victim_p50(20).await;
    let idle = victim_p50(100).await;
    let spinning = async {
        for _ in 0..3 {
            let spins: Vec<_> = (0..40)
                .map(|_| {
                    post(
                        &attacker,
                        "/v1/agents/receptionist/invoke",
                        json!({"tool": "spin", "arguments": args()}),
                    )
                })
                .collect();
            for (_, result) in futures_join_all(spins.into_iter()).await {
                assert_eq!(result["ok"], false, "{result}");
            }
        }
    };
    let (_, loaded) = tokio::join!(spinning, async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        victim_p50(100).await
    });
    eprintln!("another tenant's p50: idle {idle:?}, beside 40 spinning hooks {loaded:?}");
    assert!(
        loaded < Duration::from_millis(15).max(idle * 10),
        "idle {idle:?}, beside the spinning hooks {loaded:?}"
    );
    process.terminate();
}

/// A compile that takes too long is stopped and refused (uploads take turns, so one that
/// compiled for ever would hold up every tenant's): with a 1 s limit, a bomb that takes ~2 s
/// to compile is refused at the limit, and a small component (~0.3 s) still goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compile_past_its_time_limit_is_stopped_and_refused() {
    let (_dir, process, http, key) =
        binary_with_a_pro_tenant(&["--plugin-compile-ms", "1000"]).await;
    let upload = |bytes: Vec<u8>| {
        http.post(format!("{}/v1/components?name=c", process.url))
            .bearer_auth(&key)
            .body(bytes)
            .send()
    };
    let bomb = test_components::hostile::compile_bomb(700, 700, 7);
    let started = Instant::now();
    let resp = upload(bomb).await.unwrap();
    let (status, body) = crate::utils::status_and_json(resp).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["error"]["message"],
        "body: the component could not be compiled within 1000 ms; make it smaller"
    );
    // The limit, the parse before it and the child's start-up; not the whole compile.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let resp = upload(test_components::bytes(wasm::ECHO_CONFIG))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    process.terminate();
}

/// The real binary with `extra` flags on a fresh data dir (kept alive with it), a client,
/// and a pro tenant's manage key.
async fn binary_with_a_pro_tenant(
    extra: &[&str],
) -> (tempfile::TempDir, Process, reqwest::Client, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = vec!["--admin-token", crate::utils::ADMIN];
    flags.extend_from_slice(extra);
    let process = Process::serve(dir.path(), &flags);
    let http = crate::utils::client();
    let (_, key) = process.tenant(&http, "pro").await;
    (dir, process, http, key)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Runs futures concurrently on this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, future) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}
