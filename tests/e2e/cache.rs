//! The in-memory caches of the hot path (keys, tools, components) never serve a stale
//! answer after a write through the API: each test first makes a request that fills the
//! cache, then writes, then checks the very next request sees the write. Also: stored
//! components are warmed at start-up from the artifact cache.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use test_components as wasm;

use crate::utils::{ADMIN, Process, Receiver, TestServer, seed_tool};

fn args() -> serde_json::Value {
    json!({"zip_code": "94107", "service_type": "leak"})
}

async fn invoke_status(
    server: &TestServer,
    key: &str,
    tool: &str,
) -> (StatusCode, serde_json::Value) {
    server
        .call(
            "POST",
            "/v1/agents/receptionist/invoke",
            Some(key),
            Some(json!({"tool": tool, "arguments": args()})),
        )
        .await
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, manage) = server.tenant("plus").await;
    server.tool(&manage, seed_tool(&receiver.url)).await;
    let (key_id, invoke) = server.key(&manage, "invoke").await;
    for _ in 0..3 {
        let result = server.seed_call(&invoke, "94107").await;
        assert_eq!(result["ok"], true, "{result}");
    }
    let (status, _) = server
        .call("DELETE", &format!("/v1/keys/{key_id}"), Some(&manage), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = invoke_status(&server, &invoke, "check_availability_in_area").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    // The other key of the tenant is untouched.
    assert_eq!(server.seed_call(&manage, "94107").await["ok"], true);
}

#[tokio::test]
async fn a_plan_change_takes_effect_at_once_both_ways() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (id, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    assert_eq!(server.seed_call(&key, "94107").await["ok"], true);
    let (status, _) = server
        .upload_bytes(
            &key,
            "speech",
            test_components::bytes(wasm::PLUMBING_SPEECH),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "components need pro");

    let patch = |plan: &'static str| {
        let server = &server;
        let id = id.clone();
        async move {
            let (status, body) = server
                .call(
                    "PATCH",
                    &format!("/v1/tenants/{id}"),
                    Some(ADMIN),
                    Some(json!({"plan": plan})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    };
    patch("free").await;
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["error"]["kind"], "plan_required", "{result}");

    patch("pro").await;
    assert_eq!(server.seed_call(&key, "94107").await["ok"], true);
    server.upload(&key, "speech", wasm::PLUMBING_SPEECH).await;
}

#[tokio::test]
async fn an_edited_tool_is_used_at_once() {
    let server = TestServer::start().await;
    let (first, second) = (Receiver::start().await, Receiver::start().await);
    let (_, key) = server.tenant("plus").await;
    let tool = server.tool(&key, seed_tool(&first.url)).await;
    let id = tool["id"].as_str().unwrap();
    assert_eq!(server.seed_call(&key, "94107").await["ok"], true);
    assert_eq!(first.requests().len(), 1);

    // Same function id, new endpoint: the next call goes to the new one.
    let (status, body) = server
        .call(
            "PUT",
            &format!("/v1/tools/{id}"),
            Some(&key),
            Some(seed_tool(&second.url)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(server.seed_call(&key, "94107").await["ok"], true);
    assert_eq!(
        first.requests().len(),
        1,
        "the old endpoint is not called again"
    );
    assert_eq!(second.requests().len(), 1);

    // Renamed: the old function id is gone, the new one answers.
    let mut renamed = seed_tool(&second.url);
    renamed["name"] = json!("Check service area");
    let (status, _) = server
        .call("PUT", &format!("/v1/tools/{id}"), Some(&key), Some(renamed))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = invoke_status(&server, &key, "check_availability_in_area").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, result) = invoke_status(&server, &key, "check_service_area").await;
    assert_eq!(
        (status, &result["ok"]),
        (StatusCode::OK, &json!(true)),
        "{result}"
    );
}

#[tokio::test]
async fn created_and_deleted_tools_are_seen_at_once() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    // An empty list is cached too, and a creation must replace it.
    let (status, list) = server.call("GET", "/v1/tools", Some(&key), None).await;
    assert_eq!(
        (status, list["tools"].as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    let (status, _) = invoke_status(&server, &key, "check_availability_in_area").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let tool = server.tool(&key, seed_tool(&receiver.url)).await;
    assert_eq!(server.seed_call(&key, "94107").await["ok"], true);

    let (status, _) = server
        .call(
            "DELETE",
            &format!("/v1/tools/{}", tool["id"].as_str().unwrap()),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = invoke_status(&server, &key, "check_availability_in_area").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    let (_, list) = server.call("GET", "/v1/tools", Some(&key), None).await;
    assert_eq!(list["tools"].as_array().unwrap().len(), 0);
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn uploaded_and_deleted_components_are_seen_at_once() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("pro").await;
    let (_, list) = server.call("GET", "/v1/components", Some(&key), None).await;
    assert_eq!(list["components"].as_array().unwrap().len(), 0);

    let id = server.upload(&key, "speech", wasm::PLUMBING_SPEECH).await;
    let (_, list) = server.call("GET", "/v1/components", Some(&key), None).await;
    assert_eq!(list["components"][0]["id"], id.as_str());
    let path = format!("/v1/components/{id}");
    assert_eq!(
        server.call("GET", &path, Some(&key), None).await.0,
        StatusCode::OK
    );

    assert_eq!(
        server.call("DELETE", &path, Some(&key), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        server.call("GET", &path, Some(&key), None).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = server.call("GET", "/v1/components", Some(&key), None).await;
    assert_eq!(list["components"].as_array().unwrap().len(), 0);

    // A tool naming the deleted component is refused as for any unknown component.
    let mut spec = seed_tool("https://plumbing.example.com");
    spec["transforms"] = json!({"response": {"component": id}});
    let (status, err) = server
        .call("POST", "/v1/tools", Some(&key), Some(spec))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
}

#[tokio::test]
async fn a_restart_warms_every_component_from_the_artifact_cache() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("pro").await;
    server.upload(&key, "speech", wasm::PLUMBING_SPEECH).await;
    server
        .upload(&key, "normalize", wasm::NORMALIZE_INPUT)
        .await;
    let dir = server.stop().await;

    // The real binary says when every component is ready, and that none was recompiled.
    let mut process = Process::serve(dir.path(), &["--admin-token", ADMIN]);
    let line = process.wait_for_log("components ready", Duration::from_secs(60));
    for field in [
        "total=2",
        "ready=2",
        "failed=0",
        "compilations=0",
        "cache_loads=2",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
    process.terminate();

    // Without a single call, the library's runtime has both in memory, from the cache.
    let server = TestServer::start_in(dir, |_| {}).await;
    let warmed = switchboard::warm_components(server.state.clone()).await;
    assert_eq!((warmed.ready, warmed.failed, warmed.compiled), (2, 0, 0));
    assert_eq!(
        server.state.plugins.stats(),
        (0, 2),
        "loaded once each, never compiled"
    );
}
