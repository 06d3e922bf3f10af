//! The published contract's last word: what the handler annotations cannot say, written into
//! the generated OpenAPI document in one pass, from the same constants the validators use.
//!
//! - every limit the server enforces (lengths, counts, ranges, patterns, enums), so nothing
//!   the server refuses for its shape is allowed by the document;
//! - `null` for every optional request field (the API reads it as absent, see
//!   [`crate::nullable`]);
//! - the stored [`Tool`](crate::tool::Tool) as one object (a flattened definition cannot be
//!   `allOf` a schema that forbids extra properties) and any-JSON where a value may be any JSON;
//! - an `ErrorBody` for any status an operation does not list, since every error of the API
//!   has that shape; and `/healthz` and `/openapi.json`, which are served outside the API.
//!
//! This module only edits the document; it never decides what a request may hold.

use serde_json::{Map, Value, json};

use crate::{
    invoke::MAX_CALL_ID,
    tool::{
        model::{MAX_TIMEOUT_SECS, MIN_TIMEOUT_SECS},
        validate::{
            MAX_CONFIG_ENTRIES, MAX_CONFIG_KEY, MAX_CONFIG_VALUE, MAX_DESCRIPTION, MAX_ENUM,
            MAX_HEADER_VALUE, MAX_HEADERS, MAX_KEY, MAX_NAME, MAX_PARAM_DESCRIPTION, MAX_PARAMS,
            MAX_URL,
        },
    },
};

/// A Standard Webhooks secret the server takes: `whsec_` and the canonical base64 of 24 to
/// 64 bytes (unpadded: 8–21 groups of 4; `==`: 8–21 groups and one byte; `=`: 8–20 groups and
/// two bytes), or `""` for none.
const SIGNING_SECRET: &str = "^(?:|whsec_(?:[A-Za-z0-9+/]{4}){8,21}(?:[A-Za-z0-9+/][AQgw]==)?\
    |whsec_(?:[A-Za-z0-9+/]{4}){8,20}[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)$";

/// The document as served: the generated one with the contract's last word written in.
pub fn finish(doc: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).expect("the OpenAPI document serialises");
    limits(&mut doc);
    stored_tool(&mut doc);
    examples(&mut doc);
    any_json(&mut doc);
    json_rpc(&mut doc);
    nullable_optionals(&mut doc);
    parameters(&mut doc);
    service_paths(&mut doc);
    default_errors(&mut doc);
    doc
}

/// The two routes outside the versioned API (`api::app` serves them directly), so the
/// document lists every path the service answers.
fn service_paths(doc: &mut Value) {
    doc["paths"]["/healthz"] = json!({"get": {
        "operationId": "healthz",
        "summary": "Liveness: 200 while the process lives.",
        "security": [],
        "responses": {"200": {"description": "Alive", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status"],
            "properties": {"status": {"const": "ok"}}
        }}}}}
    }});
    doc["paths"]["/openapi.json"] = json!({"get": {
        "operationId": "openapi",
        "summary": "This document.",
        "security": [],
        "responses": {"200": {"description": "The OpenAPI 3.1 document", "content": {
            "application/json": {"schema": {"type": "object", "required": ["openapi", "paths"]}}
        }}}
    }});
}

fn schema<'a>(doc: &'a mut Value, name: &str) -> &'a mut Map<String, Value> {
    doc["components"]["schemas"][name]
        .as_object_mut()
        .unwrap_or_else(|| panic!("the document has a {name} schema"))
}

fn property<'a>(doc: &'a mut Value, name: &str, field: &str) -> &'a mut Map<String, Value> {
    schema(doc, name)["properties"][field]
        .as_object_mut()
        .unwrap_or_else(|| panic!("{name} has a property {field}"))
}

/// Merges `extra` into the property `name.field`.
fn constrain(doc: &mut Value, name: &str, field: &str, extra: Value) {
    let target = property(doc, name, field);
    for (k, v) in extra.as_object().expect("constraints are an object") {
        target.insert(k.clone(), v.clone());
    }
}

/// Text holding something other than white space (the server trims before it checks).
const NOT_BLANK: &str = "\\S";

fn limits(doc: &mut Value) {
    // A function id is derived from the name: it needs an ASCII letter or digit.
    constrain(
        doc,
        "ToolSpec",
        "name",
        json!({"minLength": 1, "maxLength": MAX_NAME, "pattern": "[A-Za-z0-9]"}),
    );
    constrain(
        doc,
        "ToolSpec",
        "description",
        json!({"minLength": 1, "maxLength": MAX_DESCRIPTION, "pattern": NOT_BLANK}),
    );
    constrain(
        doc,
        "ToolSpec",
        "url",
        json!({"minLength": 1, "maxLength": MAX_URL, "pattern": "^\\s*[Hh][Tt][Tt][Pp][Ss]?://"}),
    );
    constrain(
        doc,
        "ToolSpec",
        "response_timeout_secs",
        json!({"minimum": MIN_TIMEOUT_SECS, "maximum": MAX_TIMEOUT_SECS}),
    );
    for list in ["path_params", "query_params", "body_params"] {
        constrain(doc, "ToolSpec", list, json!({"maxItems": MAX_PARAMS}));
    }
    constrain(doc, "ToolSpec", "headers", json!({"maxItems": MAX_HEADERS}));
    constrain(
        doc,
        "ToolSpec",
        "signing_secret",
        json!({"pattern": SIGNING_SECRET}),
    );

    constrain(
        doc,
        "Param",
        "key",
        json!({"pattern": format!("^[A-Za-z0-9_.-]{{1,{MAX_KEY}}}$")}),
    );
    constrain(
        doc,
        "Param",
        "description",
        json!({"maxLength": MAX_PARAM_DESCRIPTION}),
    );
    // Each value of the parameter's own type, distinct.
    constrain(
        doc,
        "Param",
        "enum",
        json!({
            "type": "array", "minItems": 1, "maxItems": MAX_ENUM, "uniqueItems": true,
            "items": {"type": ["string", "number", "boolean"]}
        }),
    );
    let param = schema(doc, "Param");
    param.insert(
        "allOf".into(),
        Value::Array(
            ["string", "number", "boolean"]
                .iter()
                .map(|ty| {
                    json!({
                        "if": {"properties": {"type": {"const": ty}}, "required": ["type"]},
                        "then": {"properties": {"enum": {"items": {"type": ty}}}}
                    })
                })
                .collect(),
        ),
    );

    constrain(
        doc,
        "HeaderSpec",
        "name",
        json!({"minLength": 1, "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"}),
    );
    constrain(
        doc,
        "HeaderSpec",
        "value",
        json!({"maxLength": MAX_HEADER_VALUE, "pattern": "^[\\t\\x20-\\x7E]*$"}),
    );
    constrain(
        doc,
        "Attachment",
        "config",
        json!({
            "maxProperties": MAX_CONFIG_ENTRIES,
            "propertyNames": {"minLength": 1, "maxLength": MAX_CONFIG_KEY},
            "additionalProperties": {"type": "string", "maxLength": MAX_CONFIG_VALUE}
        }),
    );

    let tenant_name =
        json!({"minLength": 1, "maxLength": super::tenants::MAX_NAME, "pattern": NOT_BLANK});
    constrain(doc, "CreateTenant", "name", tenant_name.clone());
    constrain(doc, "UpdateTenant", "name", tenant_name);

    let call_id = json!({"pattern": format!("^[A-Za-z0-9._:-]{{1,{MAX_CALL_ID}}}$")});
    constrain(doc, "InvokeRequest", "call_id", call_id.clone());
    constrain(doc, "InvokeRequest", "conversation_id", call_id);
}

/// The stored tool: the definition's fields (less the write-only secret) beside the stored
/// ones, as one object a response can match.
fn stored_tool(doc: &mut Value) {
    let spec = schema(doc, "ToolSpec").clone();
    let mut properties = spec["properties"].as_object().cloned().unwrap_or_default();
    properties.remove("signing_secret");
    let stored = schema(doc, "Tool").clone();
    let mut required: Vec<Value> = spec["required"].as_array().cloned().unwrap_or_default();
    for part in stored["allOf"].as_array().into_iter().flatten() {
        if let Some(own) = part["properties"].as_object() {
            properties.extend(own.clone());
        }
        required.extend(part["required"].as_array().cloned().unwrap_or_default());
    }
    // Always written, so always there.
    for always in [
        "path_params",
        "query_params",
        "body_params",
        "response_timeout_secs",
        "disable_interruptions",
        "agent_targets",
        "headers",
    ] {
        required.push(always.into());
    }
    let mut tool = Map::new();
    tool.insert("type".into(), "object".into());
    if let Some(description) = stored.get("description") {
        tool.insert("description".into(), description.clone());
    }
    tool.insert("required".into(), Value::Array(required));
    tool.insert("properties".into(), Value::Object(properties));
    doc["components"]["schemas"]["Tool"] = Value::Object(tool);
}

/// The seed's flow as examples of the request bodies: what an integrator reads first, and
/// what a fuzzer's example phase sends, so it reaches a real tool and not only 404s.
fn examples(doc: &mut Value) {
    let arguments = json!({"zip_code": "94107", "service_type": "leak repair"});
    let examples = [
        (
            "CreateTenant",
            json!({"name": "Bay Plumbing", "plan": "plus"}),
        ),
        ("CreateKey", json!({"scope": "invoke"})),
        (
            "ToolSpec",
            json!({
                "name": "Check availability in area",
                "description": "Checks whether we service the caller's area and when the next opening is.",
                "url": "https://plumbing.example.com/areas/{zip_code}/availability",
                "method": "POST",
                "path_params": [
                    {"key": "zip_code", "type": "string", "description": "The caller's 5-digit zip code"}
                ],
                "body_params": [
                    {"key": "service_type", "type": "string", "required": true,
                     "description": "What the caller needs, e.g. leak repair"}
                ]
            }),
        ),
        (
            "InvokeRequest",
            json!({"tool": "check_availability_in_area", "arguments": arguments,
                   "conversation_id": "conv_8f2k"}),
        ),
        ("TestRequest", json!({"arguments": arguments})),
    ];
    for (name, example) in examples {
        schema(doc, name).insert("examples".into(), json!([example]));
    }
}

/// Values that may be any JSON: the endpoint's answer (`null` when it sent nothing), and the
/// arguments of a call, where anything but an object is a tool-level failure (a result with
/// `invalid_arguments`, as the model must be able to read and recover from), not a 422.
fn any_json(doc: &mut Value) {
    for (name, field) in [
        ("InvocationResult", "result"),
        ("InvokeRequest", "arguments"),
        ("TestRequest", "arguments"),
    ] {
        property(doc, name, field).retain(|k, _| k == "description");
    }
}

/// The JSON-RPC envelope of the MCP route, as JSON-RPC 2.0 defines it (the SDK reads it, not
/// our types: `null` is not "absent" there, an `id` is a string or an integer).
fn json_rpc(doc: &mut Value) {
    constrain(doc, "McpMessage", "jsonrpc", json!({"const": "2.0"}));
    constrain(
        doc,
        "McpMessage",
        "id",
        json!({"type": ["string", "integer"], "minimum": i64::MIN, "maximum": i64::MAX}),
    );
    constrain(doc, "McpMessage", "params", json!({"type": "object"}));
}

/// The schemas whose fields follow JSON-RPC's rules rather than the API's.
const NOT_OURS: &[&str] = &["McpMessage"];

/// Every optional property of every schema a request body can reach also takes `null`.
fn nullable_optionals(doc: &mut Value) {
    let mut names = Vec::new();
    let mut stack: Vec<Value> = Vec::new();
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            if let Some(content) = op["requestBody"]["content"].as_object() {
                stack.extend(content.values().map(|c| c["schema"].clone()));
            }
        }
    }
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    && !names.iter().any(|n| n == name)
                {
                    names.push(name.to_owned());
                    stack.push(doc["components"]["schemas"][name].clone());
                }
                stack.extend(map.into_values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    for name in names.iter().filter(|n| !NOT_OURS.contains(&n.as_str())) {
        let schema = schema(doc, name);
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for (field, property) in properties.iter_mut() {
            if !required.contains(field) {
                allow_null(property);
            }
        }
    }
}

fn allow_null(property: &mut Value) {
    let Some(map) = property.as_object_mut() else {
        return;
    };
    let is_null = |v: &Value| v["type"] == "null";
    match map.get_mut("type") {
        Some(Value::String(ty)) if ty == "null" => return,
        Some(Value::String(ty)) => {
            let ty = std::mem::take(ty);
            map.insert("type".into(), json!([ty, "null"]));
        }
        Some(Value::Array(types)) => {
            if !types.iter().any(|t| t == "null") {
                types.push("null".into());
            }
        }
        _ => {
            let constrained = ["$ref", "allOf", "anyOf", "oneOf", "enum", "const", "not"];
            if !constrained.iter().any(|k| map.contains_key(*k)) {
                // Any JSON value, null included.
                return;
            }
            if map
                .get("oneOf")
                .and_then(Value::as_array)
                .is_some_and(|alts| alts.iter().any(is_null))
            {
                return;
            }
            // A reference or a combination: either it, or null. The description stays outside.
            let description = map.remove("description");
            let inner = std::mem::take(map);
            map.insert("oneOf".into(), json!([{"type": "null"}, inner]));
            if let Some(d) = description {
                map.insert("description".into(), d);
            }
            return;
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

/// Parameter limits the handlers check themselves.
fn parameters(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            let params = op.get_mut("parameters").and_then(Value::as_array_mut);
            for param in params.into_iter().flatten() {
                let name = param["name"].as_str().unwrap_or_default().to_owned();
                let (schema, required) = match (path.as_str(), name.as_str()) {
                    (_, "agent") => (
                        json!({"type": "string", "enum": ["receptionist", "assistant"]}),
                        None,
                    ),
                    ("/v1/calls", "limit") => (
                        json!({"type": "integer", "format": "int32", "minimum": 1,
                               "maximum": super::calls::MAX_LIMIT}),
                        None,
                    ),
                    ("/v1/calls", "cursor") => (
                        json!({"type": "string", "pattern": "^cur_[1-9][0-9]{0,17}$"}),
                        None,
                    ),
                    ("/v1/components", "name") => (
                        json!({"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}),
                        Some(true),
                    ),
                    _ => continue,
                };
                param["schema"] = schema;
                if let Some(required) = required {
                    param["required"] = required.into();
                }
            }
        }
    }
}

/// Every error answers `ErrorBody`: operations say so for the statuses they do not list.
fn default_errors(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                responses.entry("default").or_insert_with(|| {
                    json!({
                        "description": "Any other error, in the API's error shape",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                    })
                });
            }
        }
    }
}
