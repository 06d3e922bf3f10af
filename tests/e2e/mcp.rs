//! The MCP server at `POST /v1/agents/{agent}/mcp`, driven by the official SDK's client
//! (rmcp) through whole sessions against the real server and real loopback endpoints, and by
//! raw HTTP for the edges a well-behaved client never shows (credentials, malformed JSON-RPC,
//! headers, other tenants).

use std::time::Duration;

use reqwest::{StatusCode, header};
use rmcp::{
    ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceExt,
    model::{
        CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ErrorCode,
        Implementation, JsonObject, ProtocolVersion,
    },
    service::{RunningService, ServiceError},
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::{Value, json};

use crate::utils::{Receiver, Reply, TestServer, seed_tool, status_and_json};

const SEED: &str = "check_availability_in_area";

/// The SDK's client, connected to `agent`'s MCP endpoint with `key` (initialize is done).
async fn connect(
    server: &TestServer,
    key: &str,
    agent: &str,
) -> RunningService<RoleClient, ClientConfig> {
    let http = reqwest_mcp::Client::builder().no_proxy().build().unwrap();
    let config = StreamableHttpClientTransportConfig::with_uri(format!(
        "{}/v1/agents/{agent}/mcp",
        server.url
    ))
    .auth_header(key);
    let transport = StreamableHttpClientTransport::with_client(http, config);
    let mut info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("switchboard-e2e", "0.0.0"),
    );
    info.protocol_version = ProtocolVersion::V_2025_11_25;
    info.serve(transport).await.expect("the MCP session starts")
}

fn arguments(value: Value) -> JsonObject {
    value.as_object().expect("an object").clone()
}

/// The text of a result's only content block.
fn text(result: &CallToolResult) -> &str {
    assert_eq!(result.content.len(), 1, "{result:?}");
    &result.content[0].as_text().expect("text content").text
}

/// A `_meta` value of a result.
fn meta<'a>(result: &'a CallToolResult, key: &str) -> &'a Value {
    result
        .meta
        .as_ref()
        .and_then(|m| m.get(key))
        .unwrap_or(&Value::Null)
}

/// POSTs `body` to the MCP endpoint as a conforming client would, with `extra` headers added
/// or replacing those.
async fn post(
    server: &TestServer,
    key: Option<&str>,
    agent: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut headers = header::HeaderMap::new();
    headers.insert(
        header::ACCEPT,
        "application/json, text/event-stream".parse().unwrap(),
    );
    headers.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    if let Some(key) = key {
        headers.insert(
            header::AUTHORIZATION,
            format!("Bearer {key}").parse().unwrap(),
        );
    }
    for (name, value) in extra {
        let name = header::HeaderName::from_bytes(name.as_bytes()).unwrap();
        headers.insert(name, value.parse().unwrap());
    }
    let resp = server
        .client
        .post(format!("{}/v1/agents/{agent}/mcp", server.url))
        .headers(headers)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let (status, value) = status_and_json(resp).await;
    crate::responses::check(
        "POST",
        &format!("/v1/agents/{agent}/mcp"),
        status.as_u16(),
        &value,
    );
    (status, value)
}

fn request(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string()
}

async fn calls(server: &TestServer, key: &str) -> Vec<Value> {
    // The log is written off the request path.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (status, body) = server
        .call("GET", "/v1/calls?limit=20", Some(key), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["calls"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_mcp_client_and_a_plain_http_runtime_list_and_call_the_seed_tool() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, manage) = server.tenant("plus").await;
    let (_, invoke_key) = server.key(&manage, "invoke").await;
    server.tool(&manage, seed_tool(&receiver.url)).await;
    let answer = json!({"serviced": true, "next_slot": "Tuesday 9am"});
    receiver.reply(Reply::json(200, answer.clone()));

    let client = connect(&server, &invoke_key, "receptionist").await;

    // initialize: the negotiated revision, who the server is, what it offers.
    let info = client.peer_info().expect("initialized");
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
    let implementation = info.server_info.as_ref().expect("server info");
    assert_eq!(implementation.name, "switchboard");
    assert!(info.capabilities.tools.is_some(), "{info:?}");
    assert!(info.capabilities.resources.is_none() && info.capabilities.prompts.is_none());

    // tools/list: the seed tool, exactly as GET …/tools?format=mcp renders it.
    let tools = client.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 1, "{tools:?}");
    let tool = &tools[0];
    assert_eq!(tool.name, SEED);
    assert_eq!(tool.title.as_deref(), Some("Check availability in area"));
    assert_eq!(
        tool.input_schema["required"],
        json!(["zip_code", "service_type"])
    );
    assert_eq!(tool.input_schema["additionalProperties"], false);
    let annotations = tool.annotations.as_ref().expect("annotations");
    assert_eq!(
        annotations.read_only_hint,
        Some(false),
        "a POST tool writes"
    );
    assert_eq!(annotations.destructive_hint, Some(false));
    assert_eq!(annotations.idempotent_hint, Some(false));
    assert_eq!(annotations.open_world_hint, Some(true));
    let (status, rest) = server
        .call(
            "GET",
            "/v1/agents/receptionist/tools?format=mcp",
            Some(&invoke_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::to_value(&tools).unwrap(),
        rest["tools"],
        "tools/list and the REST MCP rendering agree"
    );

    // tools/call, success: the endpoint's JSON as structuredContent and as text.
    let ok = client
        .call_tool(CallToolRequestParams::new(SEED).with_arguments(arguments(
            json!({"zip_code": "94107", "service_type": "leak"}),
        )))
        .await
        .expect("tools/call");
    assert_eq!(ok.is_error, Some(false), "{ok:?}");
    assert_eq!(ok.structured_content, Some(answer.clone()));
    assert_eq!(serde_json::from_str::<Value>(text(&ok)).unwrap(), answer);
    assert_eq!(meta(&ok, "switchboard/disable_interruptions"), false);
    assert_eq!(meta(&ok, "switchboard/status"), 200);
    let call_id = meta(&ok, "switchboard/call_id")
        .as_str()
        .unwrap()
        .to_owned();
    let sent = receiver.only_request();
    assert_eq!(
        sent.json(),
        json!({"zip_code": "94107", "service_type": "leak"})
    );
    assert_eq!(sent.header("switchboard-call-id"), Some(call_id.as_str()));

    // A failing endpoint: a result with isError and words for the model and the caller.
    receiver.reply(Reply::json(500, json!({"detail": "calendar down"})));
    let failed = client
        .call_tool(CallToolRequestParams::new(SEED).with_arguments(arguments(
            json!({"zip_code": "94107", "service_type": "leak"}),
        )))
        .await
        .expect("a tool failure is a result, not a protocol error");
    assert_eq!(failed.is_error, Some(true));
    assert_eq!(failed.structured_content, None);
    let said = text(&failed);
    assert!(
        said.starts_with("The tool failed (webhook_status): the endpoint answered HTTP 500"),
        "{said}"
    );
    assert!(said.contains("calendar down"), "{said}");
    assert!(
        said.contains("Let me take a note"),
        "the polite speech: {said}"
    );
    assert_eq!(meta(&failed, "switchboard/error")["kind"], "webhook_status");
    assert!(
        meta(&failed, "switchboard/speech")
            .as_str()
            .unwrap()
            .starts_with("Sorry")
    );

    // Invalid arguments: a result naming each problem; nothing is sent.
    let before = receiver.requests().len();
    let invalid = client
        .call_tool(
            CallToolRequestParams::new(SEED).with_arguments(arguments(json!({"zip_code": 94107}))),
        )
        .await
        .expect("invalid arguments are a result");
    assert_eq!(invalid.is_error, Some(true));
    let said = text(&invalid);
    assert!(
        said.starts_with("The tool failed (invalid_arguments): "),
        "{said}"
    );
    assert!(
        said.contains("zip_code") && said.contains("service_type"),
        "{said}"
    );
    let details = &meta(&invalid, "switchboard/error")["details"];
    assert_eq!(details.as_array().unwrap().len(), 2, "{details}");
    assert_eq!(receiver.requests().len(), before);

    // An unknown tool is the protocol error the spec prescribes (-32602).
    let unknown = client
        .call_tool(CallToolRequestParams::new("book_a_table"))
        .await
        .expect_err("an unknown tool is a protocol error");
    match unknown {
        ServiceError::McpError(e) => {
            assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
            assert!(e.message.contains("Unknown tool: book_a_table"), "{e:?}");
        }
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
    client.cancel().await.unwrap();

    // The plain HTTP runtime: the same tool, the same answer.
    receiver.reply(Reply::json(200, answer.clone()));
    let rest_result = server.seed_call(&invoke_key, "94107").await;
    assert_eq!(rest_result["ok"], true);
    assert_eq!(rest_result["result"], answer);

    // Every MCP call is in the call log, as a live call of the receptionist.
    let logged = calls(&server, &manage).await;
    assert_eq!(
        logged.len(),
        4,
        "three MCP calls and one REST call: {logged:?}"
    );
    let mcp_first = logged
        .iter()
        .find(|c| c["call_id"] == call_id.as_str())
        .expect("the MCP call is logged");
    assert_eq!(mcp_first["agent"], "receptionist");
    assert_eq!(mcp_first["tool"], SEED);
    assert_eq!(mcp_first["ok"], true);
    assert_eq!(mcp_first["test"], false);
    let kinds: Vec<&Value> = logged.iter().map(|c| &c["error_kind"]).collect();
    assert!(kinds.contains(&&json!("webhook_status")), "{kinds:?}");
    assert!(kinds.contains(&&json!("invalid_arguments")), "{kinds:?}");
}

#[tokio::test]
async fn a_response_transforms_speech_comes_through_meta() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("pro").await;
    let speech = server
        .upload(&key, "plumbing-speech", test_components::PLUMBING_SPEECH)
        .await;
    let mut spec = seed_tool(&receiver.url);
    spec["transforms"] = json!({"response": {"component": speech}});
    spec["disable_interruptions"] = json!(true);
    server.tool(&key, spec).await;
    receiver.reply(Reply::json(
        200,
        json!({"zip_code": "94107", "serviced": true, "next_slot": "Tuesday 9am"}),
    ));

    let client = connect(&server, &key, "receptionist").await;
    let result = client
        .call_tool(CallToolRequestParams::new(SEED).with_arguments(arguments(
            json!({"zip_code": "94107", "service_type": "leak"}),
        )))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert_eq!(
        meta(&result, "switchboard/speech"),
        "Yes, we cover 94107 — the next opening is Tuesday at 9am."
    );
    assert_eq!(meta(&result, "switchboard/disable_interruptions"), true);
    let structured = result.structured_content.as_ref().expect("JSON result");
    assert_eq!(structured["next_slot"], "Tuesday 9am");
    client.cancel().await.unwrap();

    let logged = calls(&server, &key).await;
    assert!(
        logged[0]["detail"]["timings_ms"]["transform_response"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{}",
        logged[0]
    );
}

#[tokio::test]
async fn ids_from_meta_reach_the_endpoint_and_the_log() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    // No initialize first: the server is stateless, any request stands alone.
    let params = json!({
        "name": SEED,
        "arguments": {"zip_code": "94107", "service_type": "leak"},
        "_meta": {"switchboard/call_id": "call-mcp-1", "switchboard/conversation_id": "conv-7"}
    });
    let (status, body) = post(
        &server,
        Some(&key),
        "receptionist",
        &request("tools/call", params),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], 7);
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert_eq!(body["result"]["_meta"]["switchboard/call_id"], "call-mcp-1");
    assert_eq!(
        receiver.only_request().header("switchboard-call-id"),
        Some("call-mcp-1")
    );
    let logged = calls(&server, &key).await;
    assert_eq!(logged[0]["call_id"], "call-mcp-1");
    assert_eq!(logged[0]["conversation_id"], "conv-7");

    // A bad id is refused before anything is sent.
    let params = json!({
        "name": SEED,
        "arguments": {"zip_code": "94107", "service_type": "leak"},
        "_meta": {"switchboard/call_id": "has spaces"}
    });
    let (status, body) = post(
        &server,
        Some(&key),
        "receptionist",
        &request("tools/call", params),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["error"]["code"], -32602, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("call_id"),
        "{body}"
    );
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn http_edges_answer_clear_errors() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, manage) = server.tenant("plus").await;
    let (_, invoke_key) = server.key(&manage, "invoke").await;
    let (revoked_id, revoked) = server.key(&manage, "invoke").await;
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/v1/keys/{revoked_id}"),
            Some(&manage),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    server.tool(&manage, seed_tool(&receiver.url)).await;
    let list = request("tools/list", json!({}));

    // Credentials: checked before anything else, in the API's error shape.
    for key in [
        None,
        Some("sbk_not-a-real-key"),
        Some("garbage"),
        Some(revoked.as_str()),
    ] {
        let (status, body) = post(&server, key, "receptionist", &list, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}: {body}");
        assert_eq!(body["error"]["kind"], "unauthorized");
    }
    // Any tenant key works, as on invoke.
    for key in [&invoke_key, &manage] {
        let (status, body) = post(&server, Some(key), "receptionist", &list, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"]["tools"][0]["name"], SEED);
    }

    // Unknown agent.
    let (status, body) = post(&server, Some(&invoke_key), "concierge", &list, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["kind"], "not_found");

    // Not JSON, or not a JSON-RPC message: JSON-RPC errors with HTTP 400, never a 5xx.
    for (bad, code) in [
        ("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ", -32700),
        ("", -32700),
        ("{}", -32600),
        ("[]", -32600),
        (
            "{\"jsonrpc\": \"1.0\", \"id\": 1, \"method\": \"tools/list\"}",
            -32600,
        ),
    ] {
        let (status, body) = post(&server, Some(&invoke_key), "receptionist", bad, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["jsonrpc"], "2.0", "{bad}: {body}");
        assert_eq!(body["error"]["code"], code, "{bad}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    // A request whose parameters do not fit its method: invalid params, answering its id.
    let (status, body) = post(
        &server,
        Some(&invoke_key),
        "receptionist",
        &request("tools/call", json!({"arguments": {}})),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], 7, "{body}");
    assert_eq!(body["error"]["code"], -32602, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing field `name`"),
        "{body}"
    );

    // A method this server does not offer.
    let (status, body) = post(
        &server,
        Some(&invoke_key),
        "receptionist",
        &request("resources/list", json!({})),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["error"]["code"], -32601, "{body}");

    // A notification is accepted with nothing to say.
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let (status, body) = post(
        &server,
        Some(&invoke_key),
        "receptionist",
        &initialized,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    // Headers the transport requires, answered in the API's error shape.
    let no_accept = server
        .client
        .post(format!("{}/v1/agents/receptionist/mcp", server.url))
        .bearer_auth(&invoke_key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(list.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(no_accept.status(), StatusCode::NOT_ACCEPTABLE);
    let body: Value = serde_json::from_slice(&no_accept.bytes().await.unwrap()).unwrap();
    crate::responses::check("POST", "/v1/agents/receptionist/mcp", 406, &body);
    assert_eq!(body["error"]["kind"], "not_acceptable", "{body}");
    // Each refusal in the API's error shape, naming what was wrong.
    for (header, status, kind) in [
        (
            ("content-type", "text/plain"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            ("origin", "https://evil.example"),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            ("mcp-protocol-version", "1999-01-01"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ] {
        let (got, body) = post(&server, Some(&invoke_key), "receptionist", &list, &[header]).await;
        assert_eq!(got, status, "{header:?}: {body}");
        assert_eq!(body["error"]["kind"], kind, "{header:?}: {body}");
    }
    let (_, body) = post(
        &server,
        Some(&invoke_key),
        "receptionist",
        &list,
        &[("mcp-protocol-version", "1999-01-01")],
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1999-01-01")
    );

    // No server-initiated stream: GET is 405, in the error shape.
    let get = server
        .client
        .get(format!("{}/v1/agents/receptionist/mcp", server.url))
        .bearer_auth(&invoke_key)
        .header(header::ACCEPT, "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = serde_json::from_slice(&get.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"]["kind"], "method_not_allowed");

    // An older client is answered in its own revision; a newer one in ours.
    for (asked, answered) in [("2025-06-18", "2025-06-18"), ("2099-01-01", "2025-11-25")] {
        let init = request(
            "initialize",
            json!({
                "protocolVersion": asked,
                "capabilities": {},
                "clientInfo": {"name": "curl", "version": "8"}
            }),
        );
        let (status, body) = post(&server, Some(&invoke_key), "receptionist", &init, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"]["protocolVersion"], answered, "{body}");
    }
    // Nothing here reached the endpoint.
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_tenant_sees_and_calls_only_its_own_tools_for_that_agent_and_plan() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (tenant_a, key_a) = server.tenant("plus").await;
    let (_, key_b) = server.tenant("plus").await;
    server.tool(&key_a, seed_tool(&receiver.url)).await;
    let mut b_tool = seed_tool(&receiver.url);
    b_tool["name"] = json!("Cancel visit");
    server.tool(&key_b, b_tool).await;
    let mut assistant_only = seed_tool(&receiver.url);
    assistant_only["name"] = json!("Weekly report");
    assistant_only["agent_targets"] = json!("assistant");
    server.tool(&key_a, assistant_only).await;

    let names = |tools: &[rmcp::model::Tool]| -> Vec<String> {
        tools.iter().map(|t| t.name.to_string()).collect()
    };
    let a = connect(&server, &key_a, "receptionist").await;
    assert_eq!(names(&a.list_all_tools().await.unwrap()), [SEED]);
    let b = connect(&server, &key_b, "receptionist").await;
    assert_eq!(names(&b.list_all_tools().await.unwrap()), ["cancel_visit"]);
    let assistant = connect(&server, &key_a, "assistant").await;
    let mut offered = names(&assistant.list_all_tools().await.unwrap());
    offered.sort();
    assert_eq!(offered, [SEED, "weekly_report"]);

    // Another tenant's tool, or one not targeted at this agent, is unknown.
    for (client, tool) in [(&a, "cancel_visit"), (&a, "weekly_report"), (&b, SEED)] {
        let err = client
            .call_tool(CallToolRequestParams::new(tool))
            .await
            .expect_err("not this caller's tool");
        assert!(
            matches!(&err, ServiceError::McpError(e) if e.code == ErrorCode::INVALID_PARAMS),
            "{tool}: {err:?}"
        );
    }
    assert!(receiver.requests().is_empty());
    b.cancel().await.unwrap();
    assistant.cancel().await.unwrap();

    // A plan that no longer covers webhook tools: none listed, and a call says why.
    let (status, _) = server
        .call(
            "PATCH",
            &format!("/v1/tenants/{tenant_a}"),
            Some(crate::utils::ADMIN),
            Some(json!({"plan": "free"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(
        &server,
        Some(&key_a),
        "receptionist",
        &request("tools/list", json!({})),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"]["tools"], json!([]), "{body}");
    let result = a
        .call_tool(CallToolRequestParams::new(SEED).with_arguments(arguments(
            json!({"zip_code": "94107", "service_type": "leak"}),
        )))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(
        text(&result).starts_with("The tool failed (plan_required): "),
        "{}",
        text(&result)
    );
    assert!(receiver.requests().is_empty());
    a.cancel().await.unwrap();
}

/// The current revision (2026-07-28): no `initialize`, `server/discover` says what is served,
/// and every request stands alone.
#[tokio::test]
async fn the_current_revision_is_served_without_initialize() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, manage) = server.tenant("plus").await;
    let (_, key) = server.key(&manage, "invoke").await;
    server.tool(&manage, seed_tool(&receiver.url)).await;

    let (status, body) = post(
        &server,
        Some(&key),
        "receptionist",
        &request(
            "server/discover",
            json!({"_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}
            }}),
        ),
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "server/discover"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let versions = body["result"]["supportedVersions"].as_array().unwrap();
    for version in [
        "2026-07-28",
        "2025-11-25",
        "2025-06-18",
        "2025-03-26",
        "2024-11-05",
    ] {
        assert!(versions.contains(&json!(version)), "{version} in {body}");
    }
    assert!(
        body["result"]["capabilities"]["tools"].is_object(),
        "{body}"
    );

    // The SDK's own client, in the revision's lifecycle: discover, then plain requests.
    let http = reqwest_mcp::Client::builder().no_proxy().build().unwrap();
    let config = StreamableHttpClientTransportConfig::with_uri(format!(
        "{}/v1/agents/receptionist/mcp",
        server.url
    ))
    .auth_header(&key);
    let transport = StreamableHttpClientTransport::with_client(http, config);
    let info = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("switchboard-e2e", "0.0.0"),
    );
    let client = info
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("discovery succeeds");
    let peer = client.peer_info().expect("discovered");
    assert_eq!(peer.protocol_version, ProtocolVersion::V_2026_07_28);
    let tools = client.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].name, SEED);
    let result = client
        .call_tool(CallToolRequestParams::new(SEED).with_arguments(arguments(
            json!({"zip_code": "94107", "service_type": "leak"}),
        )))
        .await
        .expect("tools/call");
    assert_eq!(result.is_error, Some(false), "{result:?}");
    assert_eq!(receiver.requests().len(), 1);
}

/// The DNS-rebinding defence: a `Host` (or `Origin`) that is not a name the service is
/// reached at is refused; the configured names and the localhost forms are served.
#[tokio::test]
async fn the_host_must_be_a_name_the_service_is_reached_at() {
    let server = TestServer::start_with(|config| {
        config.allowed_hosts = vec!["127.0.0.1".into(), "tools.example.com".into()];
    })
    .await;
    let (_, manage) = server.tenant("plus").await;
    let ping = request("ping", json!({}));
    for (host, origin, status) in [
        ("evil.example.com", None, StatusCode::FORBIDDEN),
        (
            "evil.example.com:80",
            Some("http://evil.example.com"),
            StatusCode::FORBIDDEN,
        ),
        ("tools.example.com", None, StatusCode::OK),
        (
            "tools.example.com:8443",
            Some("https://tools.example.com"),
            StatusCode::OK,
        ),
        (
            "127.0.0.1",
            Some("http://evil.example.com"),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let mut headers = vec![("host", host)];
        if let Some(origin) = origin {
            headers.push(("origin", origin));
        }
        let (got, body) = post(&server, Some(&manage), "receptionist", &ping, &headers).await;
        assert_eq!(got, status, "Host {host}, Origin {origin:?}: {body}");
        if status == StatusCode::FORBIDDEN {
            assert_eq!(body["error"]["kind"], "forbidden", "{body}");
        } else {
            assert_eq!(body["result"], json!({}), "{body}");
        }
    }
}

/// Clients' JSON-RPC mistakes are answered to them, not logged as warnings for the operator.
#[tokio::test]
async fn client_mistakes_are_not_logged_as_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let process = crate::utils::Process::serve(dir.path(), &["--admin-token", crate::utils::ADMIN]);
    let http = crate::utils::client();
    let (_, key) = process.tenant(&http, "plus").await;
    let url = format!("{}/v1/agents/receptionist/mcp", process.url);
    for (body, host) in [
        (request("tools/call", json!({"name": "no_such_tool"})), None),
        (request("no/such/method", json!({})), None),
        (request("ping", json!({})), Some("evil.example.com")),
    ] {
        let mut req = http
            .post(&url)
            .bearer_auth(&key)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream")
            .body(body);
        if let Some(host) = host {
            req = req.header(header::HOST, host);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let answer: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert!(
            answer.get("error").is_some(),
            "a mistake is answered as one: {status} {answer}"
        );
    }
    let log = process.terminate();
    assert!(
        !log.lines()
            .any(|l| l.contains("WARN") || l.contains("ERROR")),
        "client mistakes logged as warnings:\n{log}"
    );
}
