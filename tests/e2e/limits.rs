//! Per-tenant limits: one tenant's hanging endpoint cannot delay another tenant's calls,
//! bursts are cut at the plan's rate, and tools and components per tenant are capped.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use switchboard::invoke::limits::{InvokeLimits, PlanLimits};

use crate::utils::{Receiver, Reply, TestServer, seed_tool};

fn limits(concurrency: u32, per_minute: u32, burst: u32) -> InvokeLimits {
    let plan = PlanLimits {
        concurrency,
        per_minute,
        burst,
    };
    InvokeLimits {
        plus: plan,
        pro: plan,
    }
}

#[tokio::test]
async fn a_tenant_with_100_hanging_calls_does_not_delay_another_tenant() {
    let server = TestServer::start_with(|c| c.invoke_limits = limits(10, 60_000, 1000)).await;
    let hanging = Receiver::start().await;
    hanging.reply(Reply::json(200, json!({})).delayed(Duration::from_secs(30)));
    let healthy = Receiver::start().await;
    let (_, key_a) = server.tenant("plus").await;
    let (_, key_b) = server.tenant("plus").await;
    let mut slow = seed_tool(&hanging.url);
    slow["response_timeout_secs"] = json!(20);
    server.tool(&key_a, slow).await;
    server.tool(&key_b, seed_tool(&healthy.url)).await;

    let mut calls = Vec::new();
    for _ in 0..100 {
        let (client, url, key) = (server.client.clone(), server.url.clone(), key_a.clone());
        calls.push(tokio::spawn(async move {
            crate::utils::call(
                &client,
                &url,
                "POST",
                "/v1/agents/receptionist/invoke",
                Some(&key),
                Some(json!({"tool": "check_availability_in_area",
                            "arguments": {"zip_code": "94107", "service_type": "leak"}})),
            )
            .await
        }));
    }
    // Wait (bounded) until tenant A's endpoint holds its 10 calls in flight.
    for _ in 0..200 {
        if hanging.requests().len() >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(hanging.requests().len(), 10, "A's concurrency cap");

    let started = Instant::now();
    let result = server.seed_call(&key_b, "94107").await;
    assert_eq!(result["ok"], true, "{result}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "B waited {:?}",
        started.elapsed()
    );

    // A's calls beyond its cap were refused at once with a typed result.
    for _ in 0..100 {
        if calls.iter().filter(|c| c.is_finished()).count() >= 90 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut limited = 0;
    for call in calls.iter_mut() {
        if call.is_finished() {
            let (status, result) = call.await.unwrap();
            assert_eq!(status, StatusCode::OK);
            assert_eq!(result["error"]["kind"], "rate_limited", "{result}");
            assert!(result["speech"].is_string());
            limited += 1;
        }
    }
    assert_eq!(limited, 90, "every call over the cap answered at once");
    for call in calls {
        call.abort();
    }
    assert_eq!(
        hanging.requests().len(),
        10,
        "nothing over the cap was sent"
    );
}

#[tokio::test]
async fn bursts_are_cut_at_the_plans_rate() {
    let server = TestServer::start_with(|c| c.invoke_limits = limits(100, 1, 3)).await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    let mut kinds = Vec::new();
    for _ in 0..8 {
        let result = server.seed_call(&key, "94107").await;
        kinds.push(result["error"]["kind"].as_str().unwrap_or("ok").to_owned());
    }
    assert_eq!(kinds[..3], ["ok", "ok", "ok"], "{kinds:?}");
    assert!(kinds[3..].iter().all(|k| k == "rate_limited"), "{kinds:?}");
    assert_eq!(receiver.requests().len(), 3);
    // Another tenant has its own bucket.
    let (_, other) = server.tenant("plus").await;
    server.tool(&other, seed_tool(&receiver.url)).await;
    assert_eq!(server.seed_call(&other, "94107").await["ok"], true);
}

#[tokio::test]
async fn tools_and_components_per_tenant_are_capped() {
    let server = TestServer::start_with(|c| {
        c.max_tools_per_tenant = 2;
        c.max_components_per_tenant = 1;
    })
    .await;
    let (_, key) = server.tenant("pro").await;
    for name in ["one", "two"] {
        let mut spec = seed_tool("https://example.com");
        spec["name"] = json!(name);
        server.tool(&key, spec).await;
    }
    let mut third = seed_tool("https://example.com");
    third["name"] = json!("three");
    let (status, err) = server
        .call("POST", "/v1/tools", Some(&key), Some(third))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2 tools")
    );

    server
        .upload(&key, "normalize", test_components::NORMALIZE_INPUT)
        .await;
    let (status, _) = server
        .upload_bytes(
            &key,
            "again",
            test_components::bytes(test_components::NORMALIZE_INPUT),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "re-uploading the same bytes is not a new component"
    );
    let (status, err) = server
        .upload_bytes(
            &key,
            "speech",
            test_components::bytes(test_components::PLUMBING_SPEECH),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 components")
    );
}
