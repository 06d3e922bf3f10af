//! Cross-tenant isolation: tenant B's key sees none of tenant A's ids, on every route.

use reqwest::StatusCode;
use serde_json::json;

use crate::utils::{Receiver, TestServer, seed_tool};

#[tokio::test]
async fn another_tenants_ids_answer_404_everywhere() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key_a) = server.tenant("plus").await;
    let (_, key_b) = server.tenant("plus").await;
    let tool_a = server.tool(&key_a, seed_tool(&receiver.url)).await;
    let tool_a = tool_a["id"].as_str().unwrap();
    let (key_a_id, _) = server.key(&key_a, "invoke").await;
    let spec = seed_tool(&receiver.url);

    for (method, path, body) in [
        ("GET", format!("/v1/tools/{tool_a}"), None),
        ("PUT", format!("/v1/tools/{tool_a}"), Some(spec.clone())),
        ("DELETE", format!("/v1/tools/{tool_a}"), None),
        (
            "POST",
            format!("/v1/tools/{tool_a}/test"),
            Some(json!({"arguments": {}})),
        ),
        ("DELETE", format!("/v1/keys/{key_a_id}"), None),
        (
            "POST",
            "/v1/agents/receptionist/invoke".to_owned(),
            Some(json!({"tool": "check_availability_in_area",
                        "arguments": {"zip_code": "1", "service_type": "x"}})),
        ),
    ] {
        let (status, err) = server.call(method, &path, Some(&key_b), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {err}");
        assert_eq!(err["error"]["kind"], "not_found");
    }

    // Lists show only the caller's own things.
    let (_, tools) = server.call("GET", "/v1/tools", Some(&key_b), None).await;
    assert_eq!(tools["tools"], json!([]));
    let (_, keys) = server.call("GET", "/v1/keys", Some(&key_b), None).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    let (_, calls) = server.call("GET", "/v1/calls", Some(&key_b), None).await;
    assert_eq!(calls["calls"], json!([]));
    let (_, calls) = server
        .call(
            "GET",
            &format!("/v1/calls?tool={tool_a}"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(calls["calls"], json!([]));

    // Tenant A's things are untouched and nothing was sent on B's behalf.
    let (status, _) = server
        .call("GET", &format!("/v1/tools/{tool_a}"), Some(&key_a), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, keys) = server.call("GET", "/v1/keys", Some(&key_a), None).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert!(receiver.requests().is_empty());

    // A tool of the same name in B is B's own; invoking it never touches A's.
    let other = Receiver::start().await;
    server.tool(&key_b, seed_tool(&other.url)).await;
    let result = server.seed_call(&key_b, "94107").await;
    assert_eq!(result["ok"], true);
    assert_eq!(other.requests().len(), 1);
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn the_body_cannot_choose_the_tenant() {
    let server = TestServer::start().await;
    let (tenant_a, _) = server.tenant("plus").await;
    let (_, key_b) = server.tenant("plus").await;
    let mut spec = seed_tool("https://example.com");
    spec["tenant_id"] = json!(tenant_a);
    let (status, err) = server
        .call("POST", "/v1/tools", Some(&key_b), Some(spec))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused: {err}"
    );
}
