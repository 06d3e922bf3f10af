//! The OpenAPI document and the service's edges (health, unknown routes and methods).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::utils::TestServer;

#[tokio::test]
async fn openapi_describes_every_route() {
    let server = TestServer::start().await;
    let (status, doc) = server.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/healthz", &["get"][..]),
        ("/openapi.json", &["get"]),
        ("/v1/tenants", &["post"]),
        ("/v1/tenants/{id}", &["get", "patch"]),
        ("/v1/keys", &["get", "post"]),
        ("/v1/keys/{id}", &["delete"]),
        ("/v1/tools", &["get", "post"]),
        ("/v1/tools/{id}", &["get", "put", "delete"]),
        ("/v1/tools/{id}/test", &["post"]),
        ("/v1/agents/{agent}/invoke", &["post"]),
        ("/v1/agents/{agent}/mcp", &["post"]),
        ("/v1/calls", &["get"]),
    ] {
        for method in methods {
            assert!(
                paths[path].get(*method).is_some(),
                "{method} {path} is documented"
            );
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in ["ToolSpec", "Tool", "InvocationResult", "ErrorBody", "Param"] {
        assert!(schemas.contains_key(name), "schema {name}");
    }
}

#[tokio::test]
async fn edges_answer_in_the_error_shape() {
    let server = TestServer::start().await;
    let (status, body) = server.call("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, body) = server.call("GET", "/v1/nothing-here", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["kind"], "not_found");
    let (status, body): (StatusCode, Value) = server.call("PATCH", "/v1/tools", None, None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["kind"], "method_not_allowed");
}

#[tokio::test]
async fn the_served_document_is_the_one_the_response_checks_use() {
    let server = TestServer::start().await;
    let (_, served) = server.call("GET", "/openapi.json", None, None).await;
    assert_eq!(served, switchboard::api::openapi());
    assert_eq!(served["openapi"], "3.1.0");
    // The problems an integrator's validator found: no dangling reference, query parameters
    // in the query.
    let text = served.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let name = reference.split('"').next().unwrap();
        let name = name.strip_prefix("#/components/schemas/").unwrap();
        assert!(
            served["components"]["schemas"].get(name).is_some(),
            "{name} exists"
        );
    }
    for (path, method, param) in [
        ("/v1/agents/{agent}/tools", "get", "format"),
        ("/v1/calls", "get", "limit"),
        ("/v1/calls", "get", "cursor"),
        ("/v1/components", "post", "name"),
    ] {
        let params = served["paths"][path][method]["parameters"]
            .as_array()
            .unwrap();
        let found = params.iter().find(|p| p["name"] == param).unwrap();
        assert_eq!(found["in"], "query", "{path} {param}");
    }
}

/// The document's schema of a request body, as a validator.
fn request_schema(name: &str) -> jsonschema::Validator {
    let doc = switchboard::api::openapi();
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc["components"],
        "$ref": format!("#/components/schemas/{name}"),
    });
    jsonschema::draft202012::new(&root).unwrap()
}

/// The document and the server agree on what a tool definition may hold: each variation is
/// either allowed by the schema and accepted, or refused by both (the limits come from the
/// validator's constants, so they cannot drift apart).
#[tokio::test]
async fn the_document_and_the_server_agree_on_the_limits() {
    use switchboard::tool::validate::{MAX_ENUM, MAX_NAME};

    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    let schema = request_schema("ToolSpec");
    let secret_32 = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let enum_of = |n: usize| Value::Array((0..n).map(|i| json!(format!("v{i}"))).collect());
    let cases: Vec<(&str, &str, Value, bool)> = vec![
        ("name", "/name", json!("x".repeat(MAX_NAME)), true),
        ("name", "/name", json!("x".repeat(MAX_NAME + 1)), false),
        ("name", "/name", json!(""), false),
        ("name", "/name", json!("!!!"), false),
        ("description", "/description", json!(" \t"), false),
        ("timeout", "/response_timeout_secs", json!(0), false),
        ("timeout", "/response_timeout_secs", json!(1), true),
        ("timeout", "/response_timeout_secs", json!(120), true),
        ("timeout", "/response_timeout_secs", json!(121), false),
        (
            "enum",
            "/body_params/0/enum",
            json!(["san-francisco"]),
            true,
        ),
        ("enum", "/body_params/0/enum", json!([1]), false),
        ("enum", "/body_params/0/enum", json!([]), false),
        ("enum", "/body_params/0/enum", json!(["a", "a"]), false),
        ("enum", "/body_params/0/enum", enum_of(MAX_ENUM), true),
        ("enum", "/body_params/0/enum", enum_of(MAX_ENUM + 1), false),
        ("key", "/body_params/0/key", json!("zip code"), false),
        ("secret", "/signing_secret", json!(secret_32), true),
        ("secret", "/signing_secret", json!("whsec_abc"), false),
        ("secret", "/signing_secret", json!(""), true),
    ];
    for (i, (what, pointer, value, accepted)) in cases.into_iter().enumerate() {
        let mut spec = crate::utils::seed_tool("https://plumbing.example.com");
        spec["name"] = json!(format!("Tool {i}"));
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        let parent = if parent.is_empty() {
            &mut spec
        } else {
            spec.pointer_mut(parent).unwrap()
        };
        parent[field] = value.clone();
        assert_eq!(
            schema.is_valid(&spec),
            accepted,
            "{what} = {value}: the document should {}",
            if accepted { "allow it" } else { "refuse it" }
        );
        let (status, body) = server
            .call("POST", "/v1/tools", Some(&key), Some(spec))
            .await;
        let expected = if accepted {
            StatusCode::CREATED
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(status, expected, "{what} = {value}: {body}");
    }

    for (limit, accepted) in [("0", false), ("1", true), ("500", true), ("501", false)] {
        let (status, _) = server
            .call("GET", &format!("/v1/calls?limit={limit}"), Some(&key), None)
            .await;
        assert_eq!(status.is_success(), accepted, "limit={limit}");
        let doc = switchboard::api::openapi();
        let param = doc["paths"]["/v1/calls"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap()
            .clone();
        let validator = jsonschema::draft202012::new(&param["schema"]).unwrap();
        assert_eq!(
            validator.is_valid(&json!(limit.parse::<u32>().unwrap())),
            accepted,
            "limit={limit} in the document"
        );
    }
}

/// The examples in the document are valid by its own schemas, and the server takes them:
/// the seed's flow, as an integrator reading the document would try it.
#[tokio::test]
async fn the_documents_examples_are_valid_and_accepted() {
    let doc = switchboard::api::openapi();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut checked = 0;
    for (name, schema) in schemas {
        for example in schema["examples"].as_array().into_iter().flatten() {
            assert!(request_schema(name).is_valid(example), "{name}: {example}");
            checked += 1;
        }
    }
    assert!(checked >= 5, "{checked} examples");

    let server = TestServer::start().await;
    let example = |name: &str| schemas[name]["examples"][0].clone();
    let (status, tenant) = server
        .call(
            "POST",
            "/v1/tenants",
            Some(crate::utils::ADMIN),
            Some(example("CreateTenant")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    let key = tenant["api_key"].as_str().unwrap();
    let (status, tool) = server
        .call("POST", "/v1/tools", Some(key), Some(example("ToolSpec")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    assert_eq!(tool["function_id"], example("InvokeRequest")["tool"]);
    let (status, key) = server
        .call("POST", "/v1/keys", Some(key), Some(example("CreateKey")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
}
