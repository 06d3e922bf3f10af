//! Tool definitions through the API: create, list, read, replace, delete, and the 422s.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::utils::{Receiver, TestServer, seed_tool};

#[tokio::test]
async fn the_seed_tool_round_trips() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    let tool = server
        .tool(&key, seed_tool("https://plumbing.example.com"))
        .await;
    let id = tool["id"].as_str().unwrap();
    assert!(id.starts_with("tool_"));
    assert_eq!(tool["function_id"], "check_availability_in_area");
    assert_eq!(tool["method"], "POST");
    assert_eq!(tool["response_timeout_secs"], 20, "default timeout");
    assert_eq!(tool["disable_interruptions"], false);
    assert_eq!(tool["agent_targets"], "both");
    assert_eq!(tool["body_params"][0]["required"], true);

    let (status, got) = server
        .call("GET", &format!("/v1/tools/{id}"), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, tool);

    let mut changed = seed_tool("https://plumbing.example.com");
    changed["name"] = json!("Check service area");
    changed["response_timeout_secs"] = json!(5);
    changed["disable_interruptions"] = json!(true);
    changed["agent_targets"] = json!("receptionist");
    let (status, replaced) = server
        .call("PUT", &format!("/v1/tools/{id}"), Some(&key), Some(changed))
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["id"], tool["id"]);
    assert_eq!(replaced["function_id"], "check_service_area");
    assert_eq!(replaced["created_at"], tool["created_at"]);
    assert_eq!(replaced["disable_interruptions"], true);

    let (_, list) = server.call("GET", "/v1/tools", Some(&key), None).await;
    assert_eq!(list["tools"].as_array().unwrap().len(), 1);
    assert_eq!(list["tools"][0]["function_id"], "check_service_area");

    let (status, _) = server
        .call("DELETE", &format!("/v1/tools/{id}"), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server
        .call("GET", &format!("/v1/tools/{id}"), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server
        .call("DELETE", &format!("/v1/tools/{id}"), Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn refused(server: &TestServer, key: &str, spec: Value) -> Vec<String> {
    let (status, err) = server
        .call("POST", "/v1/tools", Some(key), Some(spec))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["kind"], "invalid_request");
    err["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn invalid_definitions_are_refused_naming_the_field_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    let base = || seed_tool("https://plumbing.example.com");
    let with = |field: &str, value: Value| {
        let mut spec = base();
        spec[field] = value;
        spec
    };

    assert_eq!(
        refused(&server, &key, with("url", json!("ftp://example.com/x"))).await,
        ["url"]
    );
    assert_eq!(
        refused(&server, &key, with("url", json!("not a url"))).await,
        ["url"]
    );
    assert_eq!(
        refused(
            &server,
            &key,
            with("url", json!("http://169.254.169.254/latest"))
        )
        .await,
        ["url"]
    );
    assert_eq!(
        refused(&server, &key, with("method", json!("TRACE"))).await,
        ["method"]
    );
    assert_eq!(
        refused(&server, &key, with("response_timeout_secs", json!(0))).await,
        ["response_timeout_secs"]
    );
    assert_eq!(
        refused(&server, &key, with("response_timeout_secs", json!(121))).await,
        ["response_timeout_secs"]
    );
    assert_eq!(
        refused(&server, &key, with("method", json!("GET"))).await,
        ["body_params"]
    );
    assert_eq!(
        refused(&server, &key, with("method", json!("DELETE"))).await,
        ["body_params"]
    );
    assert_eq!(
        refused(
            &server,
            &key,
            with("url", json!("https://plumbing.example.com/areas/{zip}"))
        )
        .await,
        ["url"]
    );
    assert_eq!(
        refused(
            &server,
            &key,
            with(
                "query_params",
                json!([{"key": "zip_code", "type": "string"}])
            )
        )
        .await,
        ["body_params[0].key"]
    );
    assert_eq!(
        refused(
            &server,
            &key,
            with("query_params", json!([{"key": "x", "type": "date"}]))
        )
        .await,
        ["query_params[0].type"]
    );
    assert_eq!(
        refused(&server, &key, with("colour", json!("red"))).await,
        ["colour"]
    );
    assert_eq!(
        refused(&server, &key, with("agent_targets", json!("everyone"))).await,
        ["agent_targets"]
    );

    let (_, list) = server.call("GET", "/v1/tools", Some(&key), None).await;
    assert_eq!(list["tools"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn a_clashing_function_id_is_refused() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool("https://a.example.com")).await;
    let mut clash = seed_tool("https://b.example.com");
    clash["name"] = json!("check availability -- in AREA!");
    let (status, err) = server
        .call("POST", "/v1/tools", Some(&key), Some(clash))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["fields"][0]["field"], "name");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("check_availability_in_area")
    );

    // Renaming another tool onto the taken id is refused too.
    let mut other = seed_tool("https://b.example.com");
    other["name"] = json!("Something else");
    let other = server.tool(&key, other).await;
    let mut rename = seed_tool("https://b.example.com");
    rename["name"] = json!("Check Availability In Area");
    let (status, _) = server
        .call(
            "PUT",
            &format!("/v1/tools/{}", other["id"].as_str().unwrap()),
            Some(&key),
            Some(rename),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Another tenant may use the same name.
    let (_, key_b) = server.tenant("plus").await;
    server
        .tool(&key_b, seed_tool("https://a.example.com"))
        .await;
}

#[tokio::test]
async fn malformed_bodies_get_the_error_shape() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    for raw in ["{", "", "[1,2]", "{\"name\": }", "null"] {
        let resp = server
            .client
            .post(format!("{}/v1/tools", server.url))
            .bearer_auth(&key)
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{raw:?}");
        let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        crate::responses::check("POST", "/v1/tools", 422, &body);
        assert_eq!(body["error"]["kind"], "invalid_request", "{raw:?}");
    }
    let huge = "x".repeat(2 * 1024 * 1024);
    let resp = server
        .client
        .post(format!("{}/v1/tools", server.url))
        .bearer_auth(&key)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    crate::responses::check("POST", "/v1/tools", 413, &body);
    assert_eq!(body["error"]["kind"], "payload_too_large");
}

#[tokio::test]
async fn secret_headers_are_write_only_and_kept_on_replace() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    let sentinel = "sentinel-secret-7f3a9c";
    let mut spec = seed_tool(&receiver.url);
    spec["headers"] = json!([
        {"name": "Authorization", "value": format!("Bearer {sentinel}"), "secret": true},
        {"name": "X-Source", "value": "switchboard"}
    ]);
    let tool = server.tool(&key, spec.clone()).await;
    let id = tool["id"].as_str().unwrap().to_owned();
    assert!(!tool.to_string().contains(sentinel));
    assert_eq!(tool["headers"][0]["value"], Value::Null);
    assert_eq!(tool["headers"][1]["value"], "switchboard");
    let (_, got) = server
        .call("GET", &format!("/v1/tools/{id}"), Some(&key), None)
        .await;
    assert!(!got.to_string().contains(sentinel));
    let (_, list) = server.call("GET", "/v1/tools", Some(&key), None).await;
    assert!(!list.to_string().contains(sentinel));

    // A GET → PUT round trip (secret value null) keeps the secret.
    let mut round_trip = spec.clone();
    round_trip["headers"][0]["value"] = Value::Null;
    round_trip["response_timeout_secs"] = json!(7);
    let (status, _) = server
        .call(
            "PUT",
            &format!("/v1/tools/{id}"),
            Some(&key),
            Some(round_trip),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true);
    let sent = receiver.only_request();
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {sentinel}").as_str())
    );
    assert_eq!(sent.header("x-source"), Some("switchboard"));

    // A new secret header without a value has nothing to keep: refused.
    let mut missing = spec;
    missing["headers"] = json!([{"name": "X-New-Secret", "secret": true}]);
    let (status, err) = server
        .call("PUT", &format!("/v1/tools/{id}"), Some(&key), Some(missing))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["fields"][0]["field"], "headers[0].value");
}
