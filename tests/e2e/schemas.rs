//! Tool schemas for the models: each rendering is valid JSON Schema, carries descriptions,
//! required keys and enums, lists only what the agent and plan allow, and — for a set of
//! sample arguments — accepts and refuses exactly what the host's own validator does.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::utils::{ADMIN, Receiver, TestServer, seed_tool};

fn book_visit(base: &str) -> Value {
    json!({
        "name": "Book visit",
        "description": "Books a plumber's visit for a known customer.",
        "url": format!("{base}/customers/{{customer_id}}/visits"),
        "method": "POST",
        "path_params": [{"key": "customer_id", "type": "string", "description": "CRM id"}],
        "query_params": [{"key": "urgent", "type": "boolean", "description": "Same-day"}],
        "body_params": [
            {"key": "hours", "type": "number", "required": true, "description": "Estimated hours"},
            {"key": "service", "type": "string", "enum": ["leak", "drain"], "description": "Kind of job"}
        ],
        "agent_targets": "receptionist"
    })
}

async fn tools(server: &TestServer, key: &str, agent: &str, format: &str) -> Vec<Value> {
    let (status, body) = server
        .call(
            "GET",
            &format!("/v1/agents/{agent}/tools?format={format}"),
            Some(key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["format"], format);
    body["tools"].as_array().unwrap().clone()
}

fn named<'a>(tools: &'a [Value], format: &str, name: &str) -> &'a Value {
    tools
        .iter()
        .find(|t| match format {
            "openai" => t["function"]["name"] == name,
            _ => t["name"] == name,
        })
        .unwrap_or_else(|| panic!("{name} in {tools:?}"))
}

fn schema_of<'a>(tool: &'a Value, format: &str) -> &'a Value {
    match format {
        "openai" => &tool["function"]["parameters"],
        "anthropic" => &tool["input_schema"],
        _ => &tool["inputSchema"],
    }
}

#[tokio::test]
async fn three_renderings_carry_the_definition() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool("https://example.com")).await;
    server.tool(&key, book_visit("https://example.com")).await;
    let mut assistant_only = seed_tool("https://example.com");
    assistant_only["name"] = json!("Weekly report");
    assistant_only["agent_targets"] = json!("assistant");
    server.tool(&key, assistant_only).await;
    let mut delete = json!({"name": "Cancel visit", "description": "Cancels a visit.",
        "url": "https://example.com/visits/{id}", "method": "DELETE",
        "path_params": [{"key": "id", "type": "string"}]});
    server.tool(&key, delete.take()).await;

    let openai = tools(&server, &key, "receptionist", "openai").await;
    assert_eq!(
        openai.len(),
        3,
        "the assistant-only tool is not offered to the receptionist"
    );
    let book = named(&openai, "openai", "book_visit");
    assert_eq!(book["type"], "function");
    assert_eq!(book["function"]["strict"], true);
    assert_eq!(
        book["function"]["description"],
        "Books a plumber's visit for a known customer."
    );
    let params = &book["function"]["parameters"];
    assert_eq!(params["additionalProperties"], false);
    assert_eq!(
        params["required"],
        json!(["customer_id", "urgent", "hours", "service"]),
        "strict: all listed"
    );
    assert_eq!(
        params["properties"]["urgent"]["type"],
        json!(["boolean", "null"])
    );
    assert_eq!(
        params["properties"]["service"]["enum"],
        json!(["leak", "drain", null])
    );
    assert_eq!(
        params["properties"]["hours"]["description"],
        "Estimated hours"
    );

    let anthropic = tools(&server, &key, "receptionist", "anthropic").await;
    let book = named(&anthropic, "anthropic", "book_visit");
    assert_eq!(
        book["input_schema"]["required"],
        json!(["customer_id", "hours"])
    );
    assert_eq!(
        book["input_schema"]["properties"]["service"]["enum"],
        json!(["leak", "drain"])
    );

    let mcp = tools(&server, &key, "receptionist", "mcp").await;
    let cancel = named(&mcp, "mcp", "cancel_visit");
    assert_eq!(cancel["annotations"]["destructiveHint"], true);
    assert_eq!(cancel["annotations"]["idempotentHint"], true);
    assert_eq!(cancel["annotations"]["readOnlyHint"], false);
    let book = named(&mcp, "mcp", "book_visit");
    assert_eq!(book["title"], "Book visit");
    assert_eq!(book["annotations"]["idempotentHint"], false);

    let assistant = tools(&server, &key, "assistant", "mcp").await;
    let names: Vec<&str> = assistant
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "cancel_visit",
            "check_availability_in_area",
            "weekly_report"
        ]
    );

    for format in ["openai", "anthropic", "mcp"] {
        for tool in tools(&server, &key, "receptionist", format).await {
            let schema = schema_of(&tool, format);
            assert!(
                jsonschema::meta::is_valid(schema),
                "{format}: not valid JSON Schema: {schema}"
            );
        }
    }
    let (status, err) = server
        .call(
            "GET",
            "/v1/agents/receptionist/tools?format=gemini",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, _) = server
        .call("GET", "/v1/agents/janitor/tools", Some(&key), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The schema the model sees and the host's validator agree on every sample.
#[tokio::test]
async fn schemas_and_the_hosts_validator_agree() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, book_visit(&receiver.url)).await;
    let samples = [
        json!({"customer_id": "c1", "hours": 2}),
        json!({"customer_id": "c1", "hours": 2.5, "urgent": true, "service": "leak"}),
        json!({"customer_id": "c1"}),
        json!({"customer_id": "c1", "hours": "2"}),
        json!({"customer_id": "c1", "hours": 2, "service": "roof"}),
        json!({"customer_id": "c1", "hours": 2, "colour": "red"}),
        json!({"customer_id": 5, "hours": 2}),
        json!({"customer_id": "", "hours": 2}),
        json!({"hours": 2}),
        json!({"customer_id": "c1", "hours": 2, "urgent": "yes"}),
        json!({}),
    ];
    let mut host_accepts = Vec::new();
    for args in &samples {
        let result = server
            .invoke(&key, "receptionist", "book_visit", args.clone())
            .await;
        let accepted = result["error"]["kind"] != "invalid_arguments";
        host_accepts.push(accepted);
    }
    assert_eq!(
        host_accepts.iter().filter(|a| **a).count(),
        2,
        "{host_accepts:?}"
    );

    for format in ["anthropic", "mcp", "openai"] {
        let listed = tools(&server, &key, "receptionist", format).await;
        let schema = schema_of(named(&listed, format, "book_visit"), format).clone();
        let validator = jsonschema::validator_for(&schema).unwrap();
        for (args, host) in samples.iter().zip(&host_accepts) {
            let mut args = args.clone();
            if format == "openai" {
                if args["customer_id"] == "" {
                    continue; // strict mode cannot say minLength; the host refuses it
                }
                // Strict-mode models send every key, null for the ones they leave out.
                for key in ["customer_id", "urgent", "hours", "service"] {
                    if args.get(key).is_none() && !matches!(key, "customer_id" | "hours") {
                        args[key] = Value::Null;
                    }
                }
            }
            assert_eq!(validator.is_valid(&args), *host, "{format}: {args}");
        }
    }
}

#[tokio::test]
async fn only_tools_the_plan_covers_are_listed() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (tenant, key) = server.tenant("pro").await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    let speech = server
        .upload(&key, "speech", test_components::PLUMBING_SPEECH)
        .await;
    let mut with_component = seed_tool(&receiver.url);
    with_component["name"] = json!("Spoken availability");
    with_component["transforms"] = json!({"response": {"component": speech}});
    server.tool(&key, with_component).await;
    assert_eq!(tools(&server, &key, "receptionist", "mcp").await.len(), 2);

    let patch = |plan: &str| json!({"plan": plan});
    server
        .call(
            "PATCH",
            &format!("/v1/tenants/{tenant}"),
            Some(ADMIN),
            Some(patch("plus")),
        )
        .await;
    let names: Vec<Value> = tools(&server, &key, "receptionist", "mcp")
        .await
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("check_availability_in_area")],
        "the component tool needs pro"
    );
    server
        .call(
            "PATCH",
            &format!("/v1/tenants/{tenant}"),
            Some(ADMIN),
            Some(patch("free")),
        )
        .await;
    assert!(tools(&server, &key, "receptionist", "mcp").await.is_empty());
    // An invoke key may list too.
    let (_, invoke) = server.key(&key, "invoke").await;
    assert!(
        tools(&server, &invoke, "assistant", "openai")
            .await
            .is_empty()
    );
}
