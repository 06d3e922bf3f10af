//! `null` for an optional field means the field is absent, in every request body: what a
//! client generated from the OpenAPI document sends for the fields it was not given. The
//! optional fields are read from the document itself, so a field added later is covered.

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_components as wasm;

use crate::utils::{Receiver, TestServer};

/// `value` (an instance of the schema `name`) with every optional property it leaves out set
/// to `null`, nested objects of other schemas included.
fn with_nulls(value: &Value, name: &str) -> Value {
    let doc = switchboard::api::openapi();
    fill(&doc, value.clone(), &doc["components"]["schemas"][name])
}

fn fill(doc: &Value, mut value: Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array_mut()) {
        for v in values.iter_mut() {
            *v = fill(doc, v.take(), items);
        }
        return value;
    }
    let (Some(properties), Some(object)) =
        (schema["properties"].as_object(), value.as_object_mut())
    else {
        return value;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (field, property) in properties {
        match object.get_mut(field) {
            Some(present) => *present = fill(doc, present.take(), property),
            None if !required.contains(&field.as_str()) => {
                object.insert(field.clone(), Value::Null);
            }
            None => {}
        }
    }
    value
}

/// The schema behind a `$ref`, or the non-null alternative of a nullable one.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(alts) = schema["oneOf"].as_array()
        && let Some(other) = alts.iter().find(|a| a["type"] != "null")
    {
        return resolve(doc, other);
    }
    schema
}

/// A stored tool without what differs between two tools defined alike.
fn definition(mut tool: Value) -> Value {
    let object = tool.as_object_mut().unwrap();
    for stored in ["id", "function_id", "name", "created_at", "updated_at"] {
        object.remove(stored);
    }
    tool
}

#[tokio::test]
async fn null_is_absent_everywhere_in_a_tool_definition() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("pro").await;
    let echo = server.upload(&key, "echo-config", wasm::ECHO_CONFIG).await;
    let bare = |name: &str| {
        json!({
            "name": name,
            "description": "Books a visit.",
            "url": format!("{}/visits/{{zip}}", receiver.url),
            "method": "POST",
            "path_params": [{"key": "zip", "type": "string"}],
            "query_params": [{"key": "when", "type": "string", "enum": ["am", "pm"]}],
            "body_params": [{"key": "note", "type": "string"}],
            "headers": [{"name": "X-Shop", "value": "42"}],
            "transforms": {"response": {"component": echo}}
        })
    };
    let nulled = with_nulls(&bare("Book visit nulled"), "ToolSpec");
    // Every optional field of every level, as a generated client sends it.
    for (pointer, what) in [
        ("/response_timeout_secs", "a number"),
        ("/agent_targets", "an enum"),
        ("/signing_secret", "a write-only secret"),
        ("/path_params/0/required", "a param's flag"),
        ("/body_params/0/enum", "a param's list"),
        ("/headers/0/secret", "a header's flag"),
        ("/transforms/params", "an attachment"),
        ("/transforms/response/config", "an attachment's map"),
        ("/transforms/response/on_failure", "an attachment's policy"),
    ] {
        assert_eq!(
            nulled.pointer(pointer),
            Some(&Value::Null),
            "{what}: {nulled}"
        );
    }
    let plain = server.tool(&key, bare("Book visit")).await;
    let with_null = server.tool(&key, nulled).await;
    assert_eq!(definition(with_null.clone()), definition(plain.clone()));
    assert_eq!(with_null["response_timeout_secs"], 20, "the default, not 0");

    // A replace reads null the same way, and a whole sub-object may be null.
    let mut replaced = with_nulls(&bare("Book visit nulled"), "ToolSpec");
    replaced["transforms"] = Value::Null;
    replaced["headers"] = Value::Null;
    let id = with_null["id"].as_str().unwrap();
    let (status, body) = server
        .call(
            "PUT",
            &format!("/v1/tools/{id}"),
            Some(&key),
            Some(replaced),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["headers"], json!([]));
    assert!(body.get("transforms").is_none(), "{body}");

    // An object is an object: serde alone would read a struct's fields from an array.
    for (field, array) in [
        ("transforms", json!([])),
        ("body_params", json!([["note", "string"]])),
        ("headers", json!([["X-Shop", "42"]])),
    ] {
        let mut spec = bare("Book visit arrays");
        spec[field] = array;
        let (status, body) = server
            .call("POST", "/v1/tools", Some(&key), Some(spec))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("expected a JSON object"),
            "{body}"
        );
    }

    // Unknown fields are still refused, null or not.
    let mut unknown = bare("Book visit unknown");
    unknown["surprise"] = Value::Null;
    let (status, body) = server
        .call("POST", "/v1/tools", Some(&key), Some(unknown))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("surprise"),
        "{body}"
    );
}

#[tokio::test]
async fn a_null_signing_secret_keeps_it_like_leaving_it_out_and_empty_removes_it() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let spec = |signing: Option<Value>| {
        let mut spec = crate::utils::seed_tool("https://plumbing.example.com");
        if let Some(value) = signing {
            spec["signing_secret"] = value;
        }
        spec
    };
    let tool = server.tool(&key, spec(Some(json!(secret)))).await;
    assert_eq!(tool["signed"], true);
    let path = format!("/v1/tools/{}", tool["id"].as_str().unwrap());
    for (sent, signed) in [
        (Some(Value::Null), true),
        (None, true),
        (Some(json!("")), false),
        (Some(Value::Null), false),
    ] {
        let (status, body) = server
            .call("PUT", &path, Some(&key), Some(spec(sent.clone())))
            .await;
        assert_eq!(status, StatusCode::OK, "{sent:?}: {body}");
        assert_eq!(body["signed"], signed, "after sending {sent:?}");
    }
    // On create, "" is no secret as well.
    let mut unsigned = spec(Some(json!("")));
    unsigned["name"] = json!("Unsigned");
    assert_eq!(server.tool(&key, unsigned).await["signed"], false);
}

#[tokio::test]
async fn null_is_absent_in_the_other_request_bodies() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (tenant, key) = server.tenant("plus").await;

    let (status, before) = server
        .call(
            "GET",
            &format!("/v1/tenants/{tenant}"),
            Some(crate::utils::ADMIN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, after) = server
        .call(
            "PATCH",
            &format!("/v1/tenants/{tenant}"),
            Some(crate::utils::ADMIN),
            Some(with_nulls(&json!({}), "UpdateTenant")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after, before);

    let tool = server
        .tool(
            &key,
            json!({
                "name": "Opening hours",
                "description": "Today's opening hours.",
                "url": format!("{}/hours", receiver.url),
                "method": "GET",
                "query_params": [{"key": "day", "type": "string"}]
            }),
        )
        .await;
    let invoke = with_nulls(&json!({"tool": "opening_hours"}), "InvokeRequest");
    assert_eq!(invoke["arguments"], Value::Null, "{invoke}");
    let (status, result) = server
        .call(
            "POST",
            "/v1/agents/receptionist/invoke",
            Some(&key),
            Some(invoke),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["ok"], true, "{result}");

    let test = with_nulls(&json!({}), "TestRequest");
    let (status, result) = server
        .call(
            "POST",
            &format!("/v1/tools/{}/test", tool["id"].as_str().unwrap()),
            Some(&key),
            Some(test),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(receiver.requests().len(), 2);
    assert!(receiver.requests().iter().all(|r| r.query.is_none()));
}

/// On replace, a secret header whose value is `null` keeps its stored value, as one sent
/// without a value does: the endpoint still receives it.
#[tokio::test]
async fn a_secret_header_with_a_null_value_keeps_its_stored_value() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    let mut spec = crate::utils::seed_tool(&receiver.url);
    spec["headers"] = json!([{"name": "Authorization", "value": "Bearer kept-7Q", "secret": true}]);
    let tool = server.tool(&key, spec.clone()).await;
    assert_eq!(tool["headers"][0]["value"], Value::Null, "write-only");

    spec["headers"] = json!([{"name": "Authorization", "value": null, "secret": true}]);
    let path = format!("/v1/tools/{}", tool["id"].as_str().unwrap());
    let (status, body) = server.call("PUT", &path, Some(&key), Some(spec)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(
        receiver.only_request().header("authorization"),
        Some("Bearer kept-7Q")
    );
}
