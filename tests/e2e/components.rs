//! Wasm components through the real server: uploads (and every hostile upload refused),
//! attaching transforms, the plumbing flow end to end, hostile guests contained, fail-open,
//! refusals, isolation between tenants, and no recompilation after a restart.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_components as wasm;

use crate::utils::{Receiver, Reply, TestServer, seed_tool};

async fn pro() -> (TestServer, Receiver, String) {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("pro").await;
    (server, receiver, key)
}

fn with_transforms(base: &str, transforms: Value) -> Value {
    let mut spec = seed_tool(base);
    spec["transforms"] = transforms;
    spec
}

/// The seed tool behind `url`, with normalize-input (`component`) as its params transform.
async fn normalizing_tool(server: &TestServer, key: &str, url: &str, component: &str) {
    let params = json!({"component": component, "config": {"zip_keys": "zip_code"}});
    server
        .tool(key, with_transforms(url, json!({"params": params})))
        .await;
}

/// The check-area answer plumbing-speech turns into a sentence.
fn area_answer() -> Reply {
    Reply::json(
        200,
        json!({"zip_code": "94107", "serviced": true, "next_slot": "Tuesday 9am"}),
    )
}

async fn calls(server: &TestServer, key: &str) -> Value {
    let (_, calls) = server
        .call("GET", "/v1/calls?limit=1", Some(key), None)
        .await;
    calls["calls"][0].clone()
}

#[tokio::test]
async fn uploads_are_content_addressed_listed_and_deletable() {
    let (server, _receiver, key) = pro().await;
    let (status, first) = server
        .upload_bytes(
            &key,
            "normalize",
            test_components::bytes(wasm::NORMALIZE_INPUT),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let id = first["id"].as_str().unwrap();
    assert!(id.starts_with("cmp_"));
    assert_eq!(first["hooks"], json!(["params"]));
    assert_eq!(first["sha256"].as_str().unwrap().len(), 64);
    assert!(first["size_bytes"].as_i64().unwrap() > 1000);

    let (status, again) = server
        .upload_bytes(
            &key,
            "normalize-again",
            test_components::bytes(wasm::NORMALIZE_INPUT),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same bytes are the same component"
    );
    assert_eq!(again["id"], first["id"]);

    let speech = server.upload(&key, "speech", wasm::PLUMBING_SPEECH).await;
    let (_, got) = server
        .call("GET", &format!("/v1/components/{speech}"), Some(&key), None)
        .await;
    assert_eq!(got["hooks"], json!(["response"]));
    let (status, both) = server
        .upload_bytes(&key, "both", test_components::bytes(wasm::BOTH_HOOKS))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(both["hooks"], json!(["params", "response"]));
    let (_, list) = server.call("GET", "/v1/components", Some(&key), None).await;
    assert_eq!(list["components"].as_array().unwrap().len(), 3);

    let (status, _) = server
        .call("DELETE", &format!("/v1/components/{id}"), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .call("GET", &format!("/v1/components/{id}"), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .call("DELETE", &format!("/v1/components/{id}"), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn components_need_the_pro_plan() {
    let server = TestServer::start().await;
    let (_, plus) = server.tenant("plus").await;
    let (status, err) = server
        .upload_bytes(&plus, "n", test_components::bytes(wasm::NORMALIZE_INPUT))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["kind"], "plan_required");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Pro plan"),
        "{err}"
    );
    let spec = with_transforms(
        "https://example.com",
        json!({"params": {"component": "cmp_anything"}}),
    );
    let (status, err) = server
        .call("POST", "/v1/tools", Some(&plus), Some(spec))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["kind"], "plan_required");
}

#[tokio::test]
async fn hostile_uploads_are_refused_and_nothing_is_stored() {
    let (server, _receiver, key) = pro().await;
    let component = test_components::bytes(wasm::NORMALIZE_INPUT);
    let mut random = vec![0u8; 4096];
    let mut x: u32 = 0x9e37_79b9;
    for b in random.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "core-module",
            b"\0asm\x01\0\0\0".to_vec(),
            "core WebAssembly module",
        ),
        ("random", random, "not a WebAssembly component"),
        ("empty", Vec::new(), "empty"),
        (
            "truncated",
            component[..component.len() / 2].to_vec(),
            "not valid",
        ),
        (
            "filesystem",
            test_components::bytes(wasm::USES_FILESYSTEM),
            "wasi:filesystem",
        ),
        (
            "sockets",
            test_components::bytes(wasm::USES_SOCKETS),
            "wasi:sockets",
        ),
    ];
    for (name, bytes, expected) in cases {
        let (status, err) = server.upload_bytes(&key, name, bytes).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {err}");
        assert_eq!(err["error"]["kind"], "invalid_request");
        let message = err["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{name}: {message}");
    }
    let (status, _) = server.upload_bytes(&key, "bad name!", component).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = server.call("GET", "/v1/components", Some(&key), None).await;
    assert_eq!(list["components"], json!([]), "nothing was stored");
}

/// The response transform's instance is made while the webhook is in flight; the time it
/// then waits for the endpoint is not the guest's, so a slow endpoint cannot push it past
/// its CPU budget (here 25 ms against an endpoint taking 300 ms).
#[tokio::test]
async fn a_slow_endpoint_does_not_use_up_the_response_transforms_time() {
    let server = TestServer::start_with(|c| c.sandbox.cpu_ms = 25).await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("pro").await;
    let speech = server
        .upload(&key, "plumbing-speech", wasm::PLUMBING_SPEECH)
        .await;
    server
        .tool(
            &key,
            with_transforms(&receiver.url, json!({"response": {"component": speech}})),
        )
        .await;
    receiver.reply(area_answer().delayed(Duration::from_millis(300)));
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(
        result["speech"],
        "Yes, we cover 94107 — the next opening is Tuesday at 9am."
    );
    let webhook = result["timings_ms"]["webhook"].as_f64().unwrap();
    let transform = result["timings_ms"]["transform_response"].as_f64().unwrap();
    assert!(webhook >= 300.0, "{result}");
    // The transform's own time (instantiation plus the call) excludes the wait.
    assert!(transform < 300.0, "{result}");
}

/// Instances made ahead hold only the sandbox's spare slots: with `concurrency` 4 (6 slots,
/// 2 spare) and six calls waiting on a slow endpoint, a call that needs a slot now still
/// gets one (six instances made ahead would have filled the pool).
#[tokio::test]
async fn calls_waiting_on_slow_endpoints_leave_the_sandbox_room() {
    let server = TestServer::start_with(|c| c.sandbox.concurrency = 4).await;
    let slow_endpoint = Receiver::start().await;
    let quick_endpoint = Receiver::start().await;
    let (_, key) = server.tenant("pro").await;
    let speech = server
        .upload(&key, "plumbing-speech", wasm::PLUMBING_SPEECH)
        .await;
    let normalize = server
        .upload(&key, "normalize-input", wasm::NORMALIZE_INPUT)
        .await;
    let mut slow = with_transforms(
        &slow_endpoint.url,
        json!({"response": {"component": speech}}),
    );
    slow["name"] = json!("Check availability slowly");
    server.tool(&key, slow).await;
    normalizing_tool(&server, &key, &quick_endpoint.url, &normalize).await;
    slow_endpoint.reply(area_answer().delayed(Duration::from_millis(600)));

    let slow_call = || {
        server.invoke(
            &key,
            "receptionist",
            "check_availability_slowly",
            json!({"zip_code": "94107", "service_type": "leak"}),
        )
    };
    let quick_call = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        server.seed_call(&key, "nine four one oh seven").await
    };
    let (a, b, c, d, e, f, quick) = tokio::join!(
        slow_call(),
        slow_call(),
        slow_call(),
        slow_call(),
        slow_call(),
        slow_call(),
        quick_call
    );
    assert_eq!(quick["ok"], true, "{quick}");
    assert_eq!(quick_endpoint.only_request().json()["zip_code"], "94107");
    for slow in [a, b, c, d, e, f] {
        assert_eq!(slow["ok"], true, "{slow}");
        assert!(slow["speech"].as_str().unwrap().contains("94107"), "{slow}");
    }
}

/// A hook call that finds every slot of the sandbox in use waits for one, but only until its
/// deadline, and then says so: with one slot held by another tenant's looping guest, a call
/// with a 1 s response timeout fails after that second, naming the full sandbox, and nothing
/// is sent.
#[tokio::test]
async fn a_full_sandbox_makes_a_call_wait_until_its_deadline_and_says_so() {
    let server = TestServer::start_with(|c| {
        c.sandbox.concurrency = 1;
        c.sandbox.cpu_ms = 5_000;
        c.sandbox.wall_ms = 3_000;
    })
    .await;
    let receiver = Receiver::start().await;
    let (_, looper) = server.tenant("pro").await;
    let (_, key) = server.tenant("pro").await;
    let looping = server
        .upload(&looper, "infinite-loop", wasm::INFINITE_LOOP)
        .await;
    let normalize = server
        .upload(&key, "normalize-input", wasm::NORMALIZE_INPUT)
        .await;
    let mut spec = with_transforms(&receiver.url, json!({"params": {"component": looping}}));
    spec["name"] = json!("looping");
    server.tool(&looper, spec).await;
    let params = json!({"component": normalize, "config": {"zip_keys": "zip_code"}});
    let mut spec = with_transforms(&receiver.url, json!({"params": params}));
    spec["response_timeout_secs"] = json!(1);
    server.tool(&key, spec).await;

    let args = json!({"zip_code": "94107", "service_type": "x"});
    let stuck = server.invoke(&looper, "receptionist", "looping", args);
    let refused = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = std::time::Instant::now();
        (server.seed_call(&key, "94107").await, started.elapsed())
    };
    let (stuck, (refused, waited)) = tokio::join!(stuck, refused);
    assert_eq!(refused["error"]["kind"], "transform_failed", "{refused}");
    assert_eq!(
        refused["error"]["message"],
        "the params transform could not start before the tool's 1 s response timeout ran out: \
         all 1 of the sandbox's slots were busy"
    );
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(2500),
        "{waited:?}"
    );
    assert!(receiver.requests().is_empty(), "no webhook call was made");
    let message = stuck["error"]["message"].as_str().unwrap();
    assert_eq!(
        message,
        "the params transform ran past its 3000 ms wall-clock limit"
    );
}

#[tokio::test]
async fn an_oversized_upload_is_413() {
    let server = TestServer::start_with(|c| c.sandbox.upload_bytes = 1024).await;
    let (_, key) = server.tenant("pro").await;
    let (status, err) = server
        .upload_bytes(&key, "big", test_components::bytes(wasm::NORMALIZE_INPUT))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert_eq!(err["error"]["kind"], "payload_too_large");
}

#[tokio::test]
async fn the_plumbing_flow_normalise_webhook_speech() {
    let (server, receiver, key) = pro().await;
    let normalize = server
        .upload(&key, "normalize-input", wasm::NORMALIZE_INPUT)
        .await;
    let speech = server
        .upload(&key, "plumbing-speech", wasm::PLUMBING_SPEECH)
        .await;
    server
        .tool(
            &key,
            with_transforms(
                &receiver.url,
                json!({
                    "params": {"component": normalize, "config": {"zip_keys": "zip_code"}},
                    "response": {"component": speech}
                }),
            ),
        )
        .await;
    receiver.reply(area_answer());

    let result = server.seed_call(&key, "nine four one oh seven").await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(
        result["speech"],
        "Yes, we cover 94107 — the next opening is Tuesday at 9am."
    );
    assert_eq!(result["result"]["next_slot"], "Tuesday 9am");
    assert!(result["timings_ms"]["transform_params"].as_f64().unwrap() > 0.0);
    assert!(result["timings_ms"]["transform_response"].as_f64().unwrap() > 0.0);
    // The endpoint received the normalised zip code.
    assert_eq!(receiver.only_request().json()["zip_code"], "94107");
}

#[tokio::test]
async fn a_refusal_is_a_result_with_the_components_words() {
    let (server, receiver, key) = pro().await;
    let normalize = server
        .upload(&key, "normalize-input", wasm::NORMALIZE_INPUT)
        .await;
    server
        .tool(
            &key,
            with_transforms(&receiver.url, json!({"params": {"component": normalize}})),
        )
        .await;
    let result = server.seed_call(&key, "banana").await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["error"]["kind"], "transform_refused");
    assert_eq!(
        result["speech"],
        "Sorry, I didn't catch that zip code — could you repeat it?"
    );
    assert!(
        !result.to_string().contains("banana"),
        "the detail stays in the log: {result}"
    );
    assert!(receiver.requests().is_empty(), "nothing was sent");
    let record = calls(&server, &key).await;
    assert!(
        record["detail"]["refusal"]
            .as_str()
            .unwrap()
            .contains("zip_code"),
        "{record}"
    );
}

#[tokio::test]
async fn redact_pii_removes_configured_fields_before_the_model_sees_them() {
    let (server, receiver, key) = pro().await;
    let redact = server.upload(&key, "redact-pii", wasm::REDACT_PII).await;
    server
        .tool(&key, json!({
            "name": "Look up customer",
            "description": "Finds the caller in the CRM.",
            "url": format!("{}/customers/{{phone}}", receiver.url),
            "method": "GET",
            "path_params": [{"key": "phone", "type": "string"}],
            "transforms": {"response": {"component": redact, "config": {"fields": "email,ssn,phone"}}}
        }))
        .await;
    receiver.reply(Reply::json(
        200,
        json!({
            "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+14155550100",
            "history": [{"note": "leak", "ssn": "123-45-6789"}]
        }),
    ));
    let result = server
        .invoke(
            &key,
            "assistant",
            "look_up_customer",
            json!({"phone": "+14155550100"}),
        )
        .await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["result"]["name"], "Ada Lovelace");
    assert_eq!(result["result"]["email"], "[redacted]");
    assert_eq!(result["result"]["phone"], "[redacted]");
    assert_eq!(result["result"]["history"][0]["ssn"], "[redacted]");
    assert!(!result.to_string().contains("ada@example.com"));
    let record = calls(&server, &key).await;
    let logs = record["detail"]["plugin_logs"].as_array().unwrap();
    assert!(
        logs.iter()
            .any(|l| l["hook"] == "response" && l["level"] == "info"),
        "{logs:?}"
    );
}

#[tokio::test]
async fn config_and_every_kind_of_guest_output_reach_the_call_log() {
    let (server, receiver, key) = pro().await;
    let echo = server.upload(&key, "echo-config", wasm::ECHO_CONFIG).await;
    server
        .tool(
            &key,
            with_transforms(
                &receiver.url,
                json!({
                    "response": {"component": echo, "config": {"a": "one", "b": "two"}}
                }),
            ),
        )
        .await;
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["result"], json!({"a": "one", "b": "two"}));
    let record = calls(&server, &key).await;
    let levels: Vec<&str> = record["detail"]["plugin_logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["level"].as_str().unwrap())
        .collect();
    for level in ["debug", "info", "warn", "error", "stdout", "stderr"] {
        assert!(levels.contains(&level), "{level} in {levels:?}");
    }
}

#[tokio::test]
async fn no_state_survives_between_calls() {
    let (server, receiver, key) = pro().await;
    let counter = server
        .upload(&key, "static-counter", wasm::STATIC_COUNTER)
        .await;
    let mut spec = with_transforms(&receiver.url, json!({"params": {"component": counter}}));
    spec["body_params"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "count", "type": "number"}));
    server.tool(&key, spec).await;
    for _ in 0..3 {
        let result = server.seed_call(&key, "94107").await;
        assert_eq!(result["ok"], true, "{result}");
    }
    let counts: Vec<Value> = receiver
        .requests()
        .iter()
        .map(|r| r.json()["count"].clone())
        .collect();
    assert_eq!(
        counts,
        [json!(0), json!(0), json!(0)],
        "a fresh instance every call"
    );
}

/// Each hostile guest fails its call with a message naming what it did, and the very next
/// call to a healthy tool works.
#[tokio::test]
async fn hostile_guests_are_contained() {
    let (server, receiver, key) = pro().await;
    let healthy = Receiver::start().await;
    let mut spec = seed_tool(&healthy.url);
    spec["name"] = json!("healthy");
    server.tool(&key, spec).await;

    let cases = [
        ("infinite-loop", wasm::INFINITE_LOOP, "params", "time limit"),
        ("deep-recursion", wasm::DEEP_RECURSION, "params", "stack"),
        ("panics", wasm::PANICS, "response", "panicked"),
        ("huge-output", wasm::HUGE_OUTPUT, "response", "output limit"),
    ];
    for (name, path, hook, expected) in cases {
        let id = server.upload(&key, name, path).await;
        let mut spec = with_transforms(&receiver.url, json!({hook: {"component": id}}));
        spec["name"] = json!(name);
        server.tool(&key, spec).await;
        let fid = name.replace('-', "_");
        let result = server
            .invoke(
                &key,
                "receptionist",
                &fid,
                json!({"zip_code": "94107", "service_type": "x"}),
            )
            .await;
        assert_eq!(result["ok"], false, "{name}: {result}");
        assert_eq!(
            result["error"]["kind"], "transform_failed",
            "{name}: {result}"
        );
        let message = result["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{name}: {message}");
        assert!(result["speech"].is_string());

        let ok = server
            .invoke(
                &key,
                "receptionist",
                "healthy",
                json!({"zip_code": "94107", "service_type": "x"}),
            )
            .await;
        assert_eq!(ok["ok"], true, "after {name}: {ok}");
    }
    let (status, _) = server.call("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

/// Hooks run on the request's own task and a guest yields its worker every epoch tick: on
/// a one-thread runtime (this test's), calls to a healthy tool finish while a looping guest
/// is still using its budget, and the budget counts only the time the guest ran.
#[tokio::test]
async fn a_looping_guest_does_not_hold_up_other_calls() {
    let server = TestServer::start_with(|c| {
        c.sandbox.cpu_ms = 3_000;
        c.sandbox.wall_ms = 20_000;
    })
    .await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("pro").await;
    let looping = server
        .upload(&key, "infinite-loop", wasm::INFINITE_LOOP)
        .await;
    let mut spec = with_transforms(&receiver.url, json!({"params": {"component": looping}}));
    spec["name"] = json!("looping");
    server.tool(&key, spec).await;
    let mut healthy = seed_tool(&receiver.url);
    healthy["name"] = json!("healthy");
    server.tool(&key, healthy).await;

    let args = json!({"zip_code": "94107", "service_type": "x"});
    let stuck = server.invoke(&key, "receptionist", "looping", args.clone());
    tokio::pin!(stuck);
    let others = async {
        for _ in 0..5 {
            let ok = server
                .invoke(&key, "receptionist", "healthy", args.clone())
                .await;
            assert_eq!(ok["ok"], true, "{ok}");
        }
    };
    tokio::select! {
        result = &mut stuck => panic!("the looping call ended before the others: {result}"),
        () = others => {}
    }
    let result = stuck.await;
    assert_eq!(result["error"]["kind"], "transform_failed", "{result}");
    let message = result["error"]["message"].as_str().unwrap();
    assert!(message.contains("3000 ms CPU time limit"), "{message}");
}

/// With time to spare, the memory cap is what stops a guest that allocates without end
/// (with the default 50 ms budget either limit may trip first on a busy machine).
#[tokio::test]
async fn a_memory_bomb_hits_the_memory_cap() {
    let server = TestServer::start_with(|c| {
        c.sandbox.cpu_ms = 20_000;
        c.sandbox.memory_bytes = 16 * 1024 * 1024;
    })
    .await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("pro").await;
    let bomb = server.upload(&key, "memory-bomb", wasm::MEMORY_BOMB).await;
    server
        .tool(
            &key,
            with_transforms(&receiver.url, json!({"response": {"component": bomb}})),
        )
        .await;
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["error"]["kind"], "transform_failed", "{result}");
    assert_eq!(
        result["error"]["message"],
        "the response transform ran out of memory (limit 16 MiB)"
    );
    let again = server.seed_call(&key, "94107").await;
    assert_eq!(
        again["error"]["kind"], "transform_failed",
        "a fresh instance, the same cap"
    );
}

#[tokio::test]
async fn fail_open_uses_the_untransformed_value() {
    let (server, receiver, key) = pro().await;
    let looping = server
        .upload(&key, "infinite-loop", wasm::INFINITE_LOOP)
        .await;
    let panics = server.upload(&key, "panics", wasm::PANICS).await;
    server
        .tool(
            &key,
            with_transforms(
                &receiver.url,
                json!({
                    "params": {"component": looping, "on_failure": "fail_open"},
                    "response": {"component": panics, "on_failure": "fail_open"}
                }),
            ),
        )
        .await;
    receiver.reply(Reply::json(200, json!({"serviced": true})));
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(
        result["result"],
        json!({"serviced": true}),
        "the untransformed answer"
    );
    assert_eq!(
        receiver.only_request().json()["zip_code"],
        "94107",
        "the untransformed arguments"
    );
    let record = calls(&server, &key).await;
    let logs = record["detail"]["plugin_logs"].to_string();
    assert!(logs.contains("fail_open"), "{logs}");
}

#[tokio::test]
async fn tenants_cannot_see_or_attach_each_others_components() {
    let (server, receiver, key_a) = pro().await;
    let (_, key_b) = server.tenant("pro").await;
    let id = server
        .upload(&key_a, "normalize", wasm::NORMALIZE_INPUT)
        .await;
    for (method, path) in [
        ("GET", format!("/v1/components/{id}")),
        ("DELETE", format!("/v1/components/{id}")),
    ] {
        let (status, _) = server.call(method, &path, Some(&key_b), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let (_, list) = server
        .call("GET", "/v1/components", Some(&key_b), None)
        .await;
    assert_eq!(list["components"], json!([]));
    let spec = with_transforms(&receiver.url, json!({"params": {"component": id}}));
    let (status, err) = server
        .call("POST", "/v1/tools", Some(&key_b), Some(spec))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        err["error"]["fields"][0]["field"],
        "transforms.params.component"
    );

    // The same bytes uploaded by B are B's own component.
    let own = server
        .upload(&key_b, "normalize", wasm::NORMALIZE_INPUT)
        .await;
    assert_ne!(own, id);
}

#[tokio::test]
async fn attaching_checks_the_hook_and_deleting_a_component_in_use_is_refused() {
    let (server, receiver, key) = pro().await;
    let speech = server
        .upload(&key, "plumbing-speech", wasm::PLUMBING_SPEECH)
        .await;
    let spec = with_transforms(&receiver.url, json!({"params": {"component": speech}}));
    let (status, err) = server
        .call("POST", "/v1/tools", Some(&key), Some(spec))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not export transform-params")
    );

    let tool = server
        .tool(
            &key,
            with_transforms(&receiver.url, json!({"response": {"component": speech}})),
        )
        .await;
    let (status, err) = server
        .call(
            "DELETE",
            &format!("/v1/components/{speech}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("check_availability_in_area")
    );
    server
        .call(
            "DELETE",
            &format!("/v1/tools/{}", tool["id"].as_str().unwrap()),
            Some(&key),
            None,
        )
        .await;
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/v1/components/{speech}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_restart_loads_compiled_artifacts_without_recompiling() {
    let (server, receiver, key) = pro().await;
    let speech = server
        .upload(&key, "plumbing-speech", wasm::PLUMBING_SPEECH)
        .await;
    server
        .tool(
            &key,
            with_transforms(&receiver.url, json!({"response": {"component": speech}})),
        )
        .await;
    receiver.reply(Reply::json(
        200,
        json!({"zip_code": "94107", "serviced": false}),
    ));
    assert_eq!(
        server.state.plugins.stats(),
        (1, 0),
        "compiled once at upload"
    );
    let dir = server.stop().await;

    let server = TestServer::start_in(dir, |_| {}).await;
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["speech"], "Sorry, we don't cover 94107 yet.");
    assert_eq!(
        server.state.plugins.stats(),
        (0, 1),
        "loaded from the artifact cache, not recompiled"
    );

    // An artifact that is not the host's own is discarded and recompiled from the stored bytes.
    let compiled = server.dir.path().join("compiled");
    let dir = server.stop().await;
    for entry in std::fs::read_dir(&compiled).unwrap() {
        std::fs::write(entry.unwrap().path(), b"not an artifact").unwrap();
    }
    let server = TestServer::start_in(dir, |_| {}).await;
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(server.state.plugins.stats(), (1, 0));
}

/// A sandbox kept full by back-to-back hook calls never refuses one: finished instances
/// are torn down on a task of their own only while a spare slot holds them, so instances
/// waiting for their tear-down cannot take the slots of calls starting now. (The plugin
/// runtime in-process, as the invocation path drives it: 8 calls in flight in an 8-slot
/// sandbox, 400 calls in all.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_hook_calls_in_a_full_sandbox_all_start() {
    use std::{collections::BTreeMap, sync::Arc};

    use switchboard::plugin::types;

    let (runtime, loaded, _, _dir) = in_process(8, wasm::NORMALIZE_INPUT).await;
    let config: Arc<BTreeMap<String, String>> = Arc::default();
    let call = || types::Call {
        id: "call_full".into(),
        tool: "check".into(),
        agent: types::Agent::Receptionist,
        conversation: None,
        arguments: vec![types::Argument {
            key: "zip_code".into(),
            value: types::Value::Text("nine four one oh seven".into()),
        }],
    };
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (runtime, loaded, config) = (runtime.clone(), loaded.clone(), config.clone());
            tokio::spawn(async move {
                for _ in 0..50 {
                    let run = runtime
                        .transform_params(who(), None, &loaded, config.clone(), call())
                        .await;
                    if let Err(failure) = run.result {
                        return Err(format!("{failure:?}"));
                    }
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap().unwrap();
    }
}

/// Each call of a hook makes the next call's instance in the background: the next call
/// finds it made, yet every instance still serves exactly one call (a static counter in
/// the guest reads 0 every time), a different configuration never gets an instance made
/// for another, the one waiting longest makes way when the room is full, and forgetting the
/// component drops what was waiting for it. With no spare slots nothing is made ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_made_ahead_serve_one_call_each_and_go_with_their_component() {
    use std::{collections::BTreeMap, sync::Arc};

    use switchboard::plugin::{PluginRuntime, types};

    let call = || types::Call {
        id: "call_ready".into(),
        tool: "check".into(),
        agent: types::Agent::Receptionist,
        conversation: None,
        arguments: vec![],
    };
    let count = |args: &[types::Argument]| {
        args.iter()
            .find(|a| a.key == "count")
            .and_then(|a| match a.value {
                types::Value::Number(n) => Some(n),
                _ => None,
            })
    };
    // Waits (boundedly) until `n` instances are waiting.
    async fn until_waiting(runtime: &PluginRuntime, n: usize) {
        for _ in 0..200 {
            if runtime.ready_stats().0 == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "{n} instances never came to be waiting: {:?}",
            runtime.ready_stats()
        );
    }

    let (runtime, loaded, sha256, _dir) = in_process(8, wasm::STATIC_COUNTER).await;
    let plain: Arc<BTreeMap<String, String>> = Arc::default();
    assert_eq!(runtime.ready_stats(), (0, 0));

    for calls in 1..=3u64 {
        let run = runtime
            .transform_params(who(), None, &loaded, plain.clone(), call())
            .await;
        assert_eq!(
            count(&run.result.unwrap()),
            Some(0.0),
            "call {calls}: a fresh instance"
        );
        until_waiting(&runtime, 1).await;
        assert_eq!(
            runtime.ready_stats().1,
            calls - 1,
            "every call after the first found one"
        );
    }

    // Another configuration is another attachment: it does not take the waiting instance.
    let other: Arc<BTreeMap<String, String>> = Arc::new([("k".into(), "v".into())].into());
    let run = runtime
        .transform_params(who(), None, &loaded, other, call())
        .await;
    assert_eq!(count(&run.result.unwrap()), Some(0.0));
    assert_eq!(
        runtime.ready_stats().1,
        2,
        "no hit for a different configuration"
    );
    until_waiting(&runtime, 2).await;

    // Full (8 slots: 4 spare, half of them for instances waiting like this): a third
    // configuration makes the one waiting longest, the plain one, make way.
    let third: Arc<BTreeMap<String, String>> = Arc::new([("k".into(), "w".into())].into());
    let run = runtime
        .transform_params(who(), None, &loaded, third, call())
        .await;
    assert_eq!(count(&run.result.unwrap()), Some(0.0));
    until_waiting(&runtime, 2).await;
    let run = runtime
        .transform_params(who(), None, &loaded, plain.clone(), call())
        .await;
    assert_eq!(count(&run.result.unwrap()), Some(0.0));
    assert_eq!(
        runtime.ready_stats().1,
        2,
        "the plain instance had made way"
    );

    runtime.forget(&sha256);
    assert_eq!(runtime.ready_stats().0, 0, "forgotten with its component");

    // One slot and no spare ones: nothing is made ahead.
    let (runtime, loaded, _, _dir) = in_process(1, wasm::STATIC_COUNTER).await;
    for _ in 0..2 {
        let run = runtime
            .transform_params(who(), None, &loaded, plain.clone(), call())
            .await;
        assert_eq!(count(&run.result.unwrap()), Some(0.0));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(runtime.ready_stats(), (0, 0));
}

/// A hook call of one tenant with a far-away tool deadline.
fn who() -> switchboard::plugin::HookCall<'static> {
    switchboard::plugin::HookCall {
        tenant: "ten_in_process",
        tool_deadline: std::time::Instant::now() + Duration::from_secs(20),
        timeout_secs: 20,
    }
}

/// The plugin runtime in-process with `concurrency` hook calls at once, and the component at
/// `path` prepared and loaded in it: answers the runtime, the component, its hash and the
/// data dir (kept alive by the caller).
async fn in_process(
    concurrency: u32,
    path: &str,
) -> (
    switchboard::plugin::PluginRuntime,
    std::sync::Arc<switchboard::plugin::Loaded>,
    String,
    tempfile::TempDir,
) {
    use switchboard::plugin::{PluginRuntime, SandboxLimits};

    let dir = tempfile::tempdir().unwrap();
    let limits = SandboxLimits {
        concurrency,
        tenant_concurrency: concurrency,
        ..SandboxLimits::default()
    };
    let runtime = PluginRuntime::new(limits, dir.path().join("compiled")).unwrap();
    let bytes = test_components::bytes(path);
    let sha256 = switchboard::ids::sha256_hex(&bytes);
    runtime.prepare(bytes, sha256.clone()).await.unwrap();
    let loaded = runtime
        .load(&sha256, async { anyhow::bail!("prepared above") })
        .await
        .unwrap();
    (runtime, loaded, sha256, dir)
}
