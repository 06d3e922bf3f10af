//! One tool definition, three renderings for the model: OpenAI function tools (valid for
//! `strict` mode), Anthropic tools (`input_schema`) and MCP tools (`inputSchema` plus
//! annotations derived from the HTTP method). Each is plain JSON Schema built from the
//! declared parameters, so the model's view and the host's own validator ([`super::args`])
//! accept and refuse the same arguments.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::model::{Method, Param, ParamType, Tool};

/// The tool-schema dialects served by `GET /v1/agents/{agent}/tools`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// OpenAI Chat Completions function tools, `strict: true`.
    #[default]
    Openai,
    /// Anthropic Messages API tools.
    Anthropic,
    /// MCP `tools/list` entries (the same for protocols 2025-11-25 and 2026-07-28).
    Mcp,
}

fn param_schema(param: &Param, strict: bool, in_path: bool) -> Value {
    let nullable = strict && !param.required;
    let mut schema = Map::new();
    let ty = param.kind.as_str();
    schema.insert(
        "type".into(),
        if nullable {
            json!([ty, "null"])
        } else {
            json!(ty)
        },
    );
    if !param.description.is_empty() {
        schema.insert("description".into(), json!(param.description));
    }
    // A path segment cannot be empty. OpenAI's strict mode does not take `minLength`; there
    // the host's own check is what refuses "".
    if in_path && !strict && param.kind == ParamType::String {
        schema.insert("minLength".into(), json!(1));
    }
    if let Some(values) = &param.enum_values {
        let mut values = values.clone();
        if nullable {
            values.push(Value::Null);
        }
        schema.insert("enum".into(), Value::Array(values));
    }
    Value::Object(schema)
}

/// The JSON Schema of a tool's arguments. In `strict` form (OpenAI's), every property is
/// listed as required and optional ones accept `null` — which the host treats as absent.
pub fn input_schema(tool: &Tool, strict: bool) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let spec = &tool.spec;
    let params = spec.path_params.iter().map(|p| (p, true)).chain(
        spec.query_params
            .iter()
            .chain(&spec.body_params)
            .map(|p| (p, false)),
    );
    for (param, in_path) in params {
        properties.insert(param.key.clone(), param_schema(param, strict, in_path));
        if param.required || strict {
            required.push(json!(param.key));
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The tool in `format`.
pub fn render(tool: &Tool, format: Format) -> Value {
    let name = &tool.function_id;
    let description = &tool.spec.description;
    match format {
        Format::Openai => json!({
            "type": "function",
            "function": {
                "name": name,
                "description": description,
                "parameters": input_schema(tool, true),
                "strict": true,
            }
        }),
        Format::Anthropic => json!({
            "name": name,
            "description": description,
            "input_schema": input_schema(tool, false),
        }),
        Format::Mcp => {
            let method = tool.spec.method;
            json!({
                "name": name,
                "title": tool.spec.name,
                "description": description,
                "inputSchema": input_schema(tool, false),
                "annotations": {
                    "title": tool.spec.name,
                    "readOnlyHint": method == Method::Get,
                    "destructiveHint": method == Method::Delete,
                    "idempotentHint": matches!(method, Method::Get | Method::Put | Method::Delete),
                    "openWorldHint": true,
                }
            })
        }
    }
}
