//! The invocation path against real receivers: placement of arguments, every method, the
//! deadline, the body cap, redirects, non-2xx, non-JSON, argument validation, agent targets.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::utils::{Receiver, Reply, TestServer, loopback_hostname, seed_tool};

async fn setup() -> (TestServer, Receiver, String) {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    (server, receiver, key)
}

#[tokio::test]
async fn the_seed_example_end_to_end() {
    let (server, receiver, manage) = setup().await;
    let (_, invoke_key) = server.key(&manage, "invoke").await;
    server.tool(&manage, seed_tool(&receiver.url)).await;
    receiver.reply(Reply::json(
        200,
        json!({"serviced": true, "next_slot": "Tuesday 9am"}),
    ));

    let (status, result) = server
        .call(
            "POST",
            "/v1/agents/receptionist/invoke",
            Some(&invoke_key),
            Some(json!({
                "tool": "check_availability_in_area",
                "arguments": {"zip_code": "94107", "service_type": "leak repair"},
                "call_id": "call-abc-123",
                "conversation_id": "conv-9"
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["call_id"], "call-abc-123");
    assert_eq!(result["tool"], "check_availability_in_area");
    assert_eq!(result["status"], 200);
    assert_eq!(
        result["result"],
        json!({"serviced": true, "next_slot": "Tuesday 9am"})
    );
    assert_eq!(result["error"], Value::Null);
    assert_eq!(result["disable_interruptions"], false);
    assert!(result["timings_ms"]["total"].as_f64().unwrap() > 0.0);
    assert!(result["timings_ms"]["webhook"].as_f64().unwrap() > 0.0);

    let sent = receiver.only_request();
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/areas/check");
    assert_eq!(
        sent.json(),
        json!({"zip_code": "94107", "service_type": "leak repair"})
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("switchboard-call-id"), Some("call-abc-123"));

    // The call is in the log, newest first.
    let (status, calls) = server
        .call("GET", "/v1/calls?limit=5", Some(&manage), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let record = &calls["calls"][0];
    assert_eq!(record["call_id"], "call-abc-123");
    assert_eq!(record["conversation_id"], "conv-9");
    assert_eq!(record["agent"], "receptionist");
    assert_eq!(record["ok"], true);
    assert_eq!(record["status"], 200);
    assert_eq!(record["test"], false);
    assert_eq!(record["detail"]["request"]["method"], "POST");
}

#[tokio::test]
async fn every_method_places_path_query_and_body_arguments() {
    let (server, receiver, key) = setup().await;
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        let has_body = matches!(method, "POST" | "PUT" | "PATCH");
        let mut spec = json!({
            "name": format!("{method} customer"),
            "description": "Acts on a customer record.",
            "url": format!("{}/customers/{{customer_id}}/notes?source=ai", receiver.url),
            "method": method,
            "path_params": [{"key": "customer_id", "type": "string", "description": "CRM id"}],
            "query_params": [
                {"key": "limit", "type": "number"},
                {"key": "verbose", "type": "boolean"}
            ]
        });
        if has_body {
            spec["body_params"] = json!([
                {"key": "note", "type": "string", "required": true},
                {"key": "priority", "type": "number"}
            ]);
        }
        let tool = server.tool(&key, spec).await;
        let mut args = json!({"customer_id": "C 42/7", "limit": 3, "verbose": true});
        if has_body {
            args["note"] = json!("called about a leak");
            args["priority"] = json!(2.5);
        }
        let result = server
            .invoke(
                &key,
                "assistant",
                tool["function_id"].as_str().unwrap(),
                args,
            )
            .await;
        assert_eq!(result["ok"], true, "{method}: {result}");

        let sent = receiver.requests().pop().unwrap();
        assert_eq!(sent.method.as_str(), method);
        assert_eq!(sent.path, "/customers/C%2042%2F7/notes", "{method}");
        assert_eq!(
            sent.query.as_deref(),
            Some("source=ai&limit=3&verbose=true"),
            "{method}"
        );
        if has_body {
            assert_eq!(
                sent.json(),
                json!({"note": "called about a leak", "priority": 2.5})
            );
        } else {
            assert!(sent.body.is_empty(), "{method} sends no body");
        }
    }
    assert_eq!(receiver.requests().len(), 5);
}

#[tokio::test]
async fn optional_arguments_left_out_are_not_sent() {
    let (server, receiver, key) = setup().await;
    server
        .tool(
            &key,
            json!({
                "name": "Search", "description": "Searches.", "method": "POST",
                "url": format!("{}/search", receiver.url),
                "query_params": [{"key": "page", "type": "number"}],
                "body_params": [{"key": "q", "type": "string", "required": true},
                                {"key": "lang", "type": "string"}]
            }),
        )
        .await;
    let result = server
        .invoke(
            &key,
            "receptionist",
            "search",
            json!({"q": "pipes", "lang": null}),
        )
        .await;
    assert_eq!(result["ok"], true);
    let sent = receiver.only_request();
    assert_eq!(sent.query, None);
    assert_eq!(sent.json(), json!({"q": "pipes"}));
}

#[tokio::test]
async fn invalid_arguments_are_a_result_listing_every_problem_and_nothing_is_sent() {
    let (server, receiver, key) = setup().await;
    let mut spec = seed_tool(&receiver.url);
    spec["body_params"][1]["enum"] = json!(["leak repair", "drain cleaning"]);
    spec["body_params"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "urgent", "type": "boolean"}));
    server.tool(&key, spec).await;
    let result = server
        .invoke(
            &key,
            "receptionist",
            "check_availability_in_area",
            json!({"service_type": "roofing", "urgent": "yes", "pets": 2}),
        )
        .await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["status"], Value::Null);
    assert_eq!(result["error"]["kind"], "invalid_arguments");
    let problems: Vec<(String, String)> = result["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["key"].as_str().unwrap().into(),
                d["problem"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            ("zip_code".into(), "missing".into()),
            ("service_type".into(), "not_allowed".into()),
            ("urgent".into(), "wrong_type".into()),
            ("pets".into(), "unknown".into())
        ]
    );
    let message = result["error"]["message"].as_str().unwrap();
    assert!(message.contains("'zip_code' is required"), "{message}");
    assert!(result["speech"].as_str().unwrap().len() > 10);
    assert!(receiver.requests().is_empty(), "nothing is sent");

    let result = server
        .invoke(
            &key,
            "receptionist",
            "check_availability_in_area",
            json!("94107"),
        )
        .await;
    assert_eq!(result["error"]["kind"], "invalid_arguments");
}

#[tokio::test]
async fn the_response_timeout_is_one_deadline_and_is_honoured() {
    let (server, receiver, key) = setup().await;
    let mut spec = seed_tool(&receiver.url);
    spec["response_timeout_secs"] = json!(1);
    server.tool(&key, spec).await;
    receiver.reply(Reply::json(200, json!({"late": true})).delayed(Duration::from_secs(30)));
    let started = Instant::now();
    let result = server.seed_call(&key, "94107").await;
    let elapsed = started.elapsed();
    assert_eq!(result["ok"], false);
    assert_eq!(result["error"]["kind"], "timeout");
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 second")
    );
    assert!(elapsed >= Duration::from_millis(950), "{elapsed:?}");
    // Far before the receiver would have answered (30 s); generous margin for a busy machine.
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn non_2xx_is_a_webhook_status_result_with_the_body() {
    let (server, receiver, key) = setup().await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    receiver.reply(Reply::json(503, json!({"message": "calendar offline"})));
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["status"], 503);
    assert_eq!(result["error"]["kind"], "webhook_status");
    assert!(result["error"]["message"].as_str().unwrap().contains("503"));
    assert_eq!(result["result"], json!({"message": "calendar offline"}));
    let speech = result["speech"].as_str().unwrap();
    assert!(
        !speech.contains("503") && !speech.contains("calendar"),
        "speech leaks nothing: {speech}"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (server, receiver, key) = setup().await;
    let elsewhere = Receiver::start().await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    receiver
        .reply(Reply::text(302, "moved").header("location", &format!("{}/stolen", elsewhere.url)));
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["status"], 302);
    assert_eq!(result["error"]["kind"], "webhook_status");
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("redirect")
    );
    assert_eq!(receiver.requests().len(), 1);
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect target was never contacted"
    );
}

#[tokio::test]
async fn a_non_json_body_comes_back_as_text() {
    let (server, receiver, key) = setup().await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    receiver.reply(Reply::text(200, "Yes, we cover that area."));
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true);
    assert_eq!(result["result"], "Yes, we cover that area.");

    // Text that merely looks like JSON stays text when the endpoint says it is text.
    receiver.reply(Reply::text(200, "{\"a\": 1}"));
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["result"], "{\"a\": 1}");

    // An empty body is null.
    receiver.reply(Reply::text(204, ""));
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true);
    assert_eq!(result["result"], Value::Null);
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let server = TestServer::start_with(|c| c.max_response_bytes = 64 * 1024).await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    receiver.reply(Reply::text(200, &"x".repeat(64 * 1024 + 1)));
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["error"]["kind"], "response_too_large");
    assert_eq!(result["result"], Value::Null);

    // Exactly at the cap is fine.
    receiver.reply(Reply::text(200, &"x".repeat(64 * 1024)));
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_result() {
    let (server, _receiver, key) = setup().await;
    // Bind then drop a listener so the port is (almost certainly) closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    server
        .tool(&key, seed_tool(&format!("http://127.0.0.1:{port}")))
        .await;
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["error"]["kind"], "unreachable");
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{result}"
    );
}

#[tokio::test]
async fn blocked_destinations_are_refused_by_default() {
    // The default policy: nothing on loopback or private ranges may be reached.
    let server = TestServer::start_with(|c| c.allow_net.clear()).await;
    let receiver = Receiver::start().await;
    let port = receiver.addr.port();
    let (_, key) = server.tenant("plus").await;

    // IP literals and obviously-local names are refused when the tool is defined...
    for url in [
        receiver.url.clone(),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
        format!("http://2130706433:{port}"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
    ] {
        let (status, err) = server
            .call("POST", "/v1/tools", Some(&key), Some(seed_tool(&url)))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("blocked"),
            "{url}: {err}"
        );
    }

    // ...and a name that resolves to loopback is refused when it is called.
    let host = loopback_hostname().await;
    server
        .tool(&key, seed_tool(&format!("http://{host}:{port}")))
        .await;
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["error"]["kind"], "blocked_destination", "{result}");
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--allow-net")
    );
    assert!(
        receiver.requests().is_empty(),
        "no request reached the receiver"
    );
}

#[tokio::test]
async fn agent_targets_decide_who_may_call() {
    let (server, receiver, key) = setup().await;
    let mut spec = seed_tool(&receiver.url);
    spec["agent_targets"] = json!("assistant");
    spec["disable_interruptions"] = json!(true);
    server.tool(&key, spec).await;
    let args = json!({"zip_code": "94107", "service_type": "leak"});
    let (status, err) = server
        .call(
            "POST",
            "/v1/agents/receptionist/invoke",
            Some(&key),
            Some(json!({"tool": "check_availability_in_area", "arguments": args})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["error"]["kind"], "not_found");
    let result = server
        .invoke(
            &key,
            "assistant",
            "check_availability_in_area",
            args.clone(),
        )
        .await;
    assert_eq!(result["ok"], true);
    assert_eq!(result["disable_interruptions"], true);

    for (path, body) in [
        (
            "/v1/agents/janitor/invoke",
            json!({"tool": "check_availability_in_area"}),
        ),
        (
            "/v1/agents/assistant/invoke",
            json!({"tool": "no_such_tool"}),
        ),
    ] {
        let (status, err) = server.call("POST", path, Some(&key), Some(body)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(err["error"]["kind"], "not_found");
    }
    let (status, err) = server
        .call(
            "POST",
            "/v1/agents/assistant/invoke",
            Some(&key),
            Some(json!({"tool": "check_availability_in_area", "call_id": "bad id\n"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["fields"][0]["field"], "call_id");
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn try_it_runs_the_tool_and_is_logged_as_a_test() {
    let (server, receiver, key) = setup().await;
    let tool = server.tool(&key, seed_tool(&receiver.url)).await;
    let id = tool["id"].as_str().unwrap();
    let (status, result) = server
        .call(
            "POST",
            &format!("/v1/tools/{id}/test"),
            Some(&key),
            Some(json!({"arguments": {"zip_code": "94107", "service_type": "leak"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["ok"], true);
    assert_eq!(receiver.requests().len(), 1);
    let (_, calls) = server
        .call("GET", &format!("/v1/calls?tool={id}"), Some(&key), None)
        .await;
    assert_eq!(calls["calls"][0]["test"], true);
    let (status, _) = server
        .call("GET", "/v1/calls?limit=0", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = server
        .call("GET", "/v1/calls?limit=abc", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
