//! One function per client subcommand: ask the API, print for a person (or `--json`), and
//! answer whether the command succeeded.

use std::path::Path;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::{
    apply::{self, RemoteTool, RemoteTools},
    arguments,
    client::Client,
    error::{CliError, CliResult},
    manifest, output,
};
use crate::tool::ParamType;

/// A path segment, percent-encoded so an id can never change the route.
fn segment(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

fn print_json(value: &impl serde::Serialize) -> CliResult<()> {
    output::emit(&serde_json::to_string_pretty(value).expect("JSON serialises"))
}

/// `tools list`.
pub async fn list_tools(client: &Client, json: bool) -> CliResult<bool> {
    let list: Value = client.get("/v1/tools").await?;
    if json {
        print_json(&list)?;
        return Ok(true);
    }
    let tools = list["tools"].as_array().cloned().unwrap_or_default();
    if tools.is_empty() {
        output::emit("no tools yet; define some with `switchboard tools apply -f tools.yaml`")?;
        return Ok(true);
    }
    let rows: Vec<Vec<String>> = tools
        .iter()
        .map(|t| {
            let count = ["path_params", "query_params", "body_params"]
                .iter()
                .map(|k| t[k].as_array().map_or(0, Vec::len))
                .sum::<usize>();
            vec![
                t["function_id"].as_str().unwrap_or("").to_owned(),
                t["method"].as_str().unwrap_or("").to_owned(),
                t["agent_targets"].as_str().unwrap_or("").to_owned(),
                count.to_string(),
                t["id"].as_str().unwrap_or("").to_owned(),
                t["url"].as_str().unwrap_or("").to_owned(),
            ]
        })
        .collect();
    output::emit(&output::table(
        &["FUNCTION ID", "METHOD", "AGENTS", "PARAMS", "ID", "URL"],
        &rows,
    ))?;
    Ok(true)
}

/// `tools apply -f FILE`.
pub async fn apply(
    client: &Client,
    file: &Path,
    options: apply::Options,
    dry_run: bool,
    json: bool,
) -> CliResult<bool> {
    let entries = manifest::load(file)?;
    let existing: RemoteTools = client.get("/v1/tools").await?;
    let mut changes = apply::plan(&entries, &existing.tools, options);
    if !dry_run {
        apply::execute(client, &mut changes).await?;
    }
    let shown = file.display().to_string();
    if json {
        let (created, updated, unchanged, deleted) = apply::summary(&changes);
        print_json(&json!({
            "file": shown,
            "dry_run": dry_run,
            "changed": !apply::is_noop(&changes),
            "created": created, "updated": updated, "unchanged": unchanged, "deleted": deleted,
            "changes": changes,
        }))?;
    } else {
        output::emit(&output::apply_report(&shown, &changes, dry_run))?;
    }
    Ok(true)
}

/// Finds a tool by function id (or id), listing the known ones when there is no such tool.
async fn find_tool(client: &Client, wanted: &str) -> CliResult<RemoteTool> {
    let list: RemoteTools = client.get("/v1/tools").await?;
    let known: Vec<&str> = list.tools.iter().map(|t| t.function_id.as_str()).collect();
    let hint = if known.is_empty() {
        "this tenant has no tools".to_owned()
    } else {
        format!("the tools are: {}", known.join(", "))
    };
    list.tools
        .iter()
        .find(|t| t.function_id == wanted || t.id == wanted)
        .cloned()
        .ok_or_else(|| CliError::failed(format!("no tool '{wanted}'; {hint}")))
}

/// Prints an invocation result; answers its `ok`.
fn report_invocation(result: &Value, json: bool) -> CliResult<bool> {
    if json {
        print_json(result)?;
    } else {
        output::emit(&output::invocation(result))?;
    }
    Ok(result["ok"] == Value::Bool(true))
}

/// `tools test TOOL key=value…`.
pub async fn test_tool(
    client: &Client,
    tool: &str,
    words: &[String],
    json: bool,
) -> CliResult<bool> {
    let tool = find_tool(client, tool).await?;
    let spec = &tool.spec;
    let arguments = arguments::parse(words, |key| {
        spec.all_params().find(|p| p.key == key).map(|p| p.kind)
    })?;
    let path = format!("/v1/tools/{}/test", segment(&tool.id));
    let (_, result): (StatusCode, Value) = client
        .json(Method::POST, &path, &json!({"arguments": arguments}))
        .await?;
    report_invocation(&result, json)
}

/// What `invoke` sends.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    /// `receptionist` or `assistant`.
    pub agent: &'a str,
    /// The function id.
    pub tool: &'a str,
    /// `key=value` words.
    pub arguments: &'a [String],
    /// A call id, when the caller chose one.
    pub call_id: Option<&'a str>,
    /// The conversation, when known.
    pub conversation_id: Option<&'a str>,
}

/// The declared type of each of a tool's parameters, from the schema the agent itself sees
/// (`GET /v1/agents/{agent}/tools`, which any tenant key may read).
async fn agent_param_types(
    client: &Client,
    agent: &str,
    tool: &str,
) -> CliResult<Map<String, Value>> {
    let path = format!("/v1/agents/{}/tools?format=mcp", segment(agent));
    let listing: Value = client.get(&path).await?;
    let properties = listing["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == tool)
        .and_then(|t| t["inputSchema"]["properties"].as_object())
        .cloned()
        .unwrap_or_default();
    Ok(properties)
}

/// `invoke TOOL key=value…`.
pub async fn invoke(client: &Client, call: Invocation<'_>, json: bool) -> CliResult<bool> {
    let properties = agent_param_types(client, call.agent, call.tool).await?;
    let arguments = arguments::parse(call.arguments, |key| {
        serde_json::from_value::<ParamType>(properties.get(key)?["type"].clone()).ok()
    })?;
    let mut body = json!({"tool": call.tool, "arguments": arguments});
    if let Some(id) = call.call_id {
        body["call_id"] = json!(id);
    }
    if let Some(id) = call.conversation_id {
        body["conversation_id"] = json!(id);
    }
    let path = format!("/v1/agents/{}/invoke", segment(call.agent));
    let (_, result): (StatusCode, Value) = client.json(Method::POST, &path, &body).await?;
    report_invocation(&result, json)
}

/// `calls [--tool T] [--limit N]`.
pub async fn calls(
    client: &Client,
    tool: Option<&str>,
    limit: Option<u32>,
    json: bool,
) -> CliResult<bool> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(tool) = tool {
        query.append_pair("tool", tool);
    }
    if let Some(limit) = limit {
        query.append_pair("limit", &limit.to_string());
    }
    let query = query.finish();
    let path = if query.is_empty() {
        "/v1/calls".to_owned()
    } else {
        format!("/v1/calls?{query}")
    };
    let list: Value = client.get(&path).await?;
    if json {
        print_json(&list)?;
        return Ok(true);
    }
    let calls = list["calls"].as_array().cloned().unwrap_or_default();
    if calls.is_empty() {
        output::emit("no calls yet")?;
        return Ok(true);
    }
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let rows: Vec<Vec<String>> = calls
        .iter()
        .map(|c| {
            let status = c["status"].as_u64().map(|s| s.to_string());
            let outcome = match (c["ok"].as_bool(), c["error_kind"].as_str()) {
                (Some(true), _) => format!("ok {}", status.unwrap_or_default()),
                (_, Some(kind)) => match status {
                    Some(status) => format!("{kind} {status}"),
                    None => kind.to_owned(),
                },
                _ => "failed".to_owned(),
            };
            // RFC 3339 to the second: 2026-11-23T15:58:16.773Z -> 2026-11-23 15:58:16
            let time: String = s(&c["created_at"])
                .replacen('T', " ", 1)
                .chars()
                .take(19)
                .collect();
            vec![
                time,
                s(&c["tool"]),
                s(&c["agent"]),
                if c["test"] == Value::Bool(true) {
                    "test"
                } else {
                    "live"
                }
                .to_owned(),
                outcome.trim_end().to_owned(),
                s(&c["call_id"]),
            ]
        })
        .collect();
    output::emit(&output::table(
        &["TIME", "TOOL", "AGENT", "MODE", "RESULT", "CALL ID"],
        &rows,
    ))?;
    Ok(true)
}

/// `components push FILE [--name N]`.
pub async fn push_component(
    client: &Client,
    file: &Path,
    name: Option<String>,
    json: bool,
) -> CliResult<bool> {
    let shown = file.display();
    let bytes =
        std::fs::read(file).map_err(|e| CliError::failed(format!("cannot read {shown}: {e}")))?;
    let name = match name {
        Some(name) => name,
        None => file
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                CliError::usage(format!("cannot take a name from {shown}; pass --name"))
            })?,
    };
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("name", &name);
    let path = format!("/v1/components?{}", query.finish());
    let (status, record): (StatusCode, Value) = client
        .upload(&path, bytes)
        .await
        .map_err(|e| e.context(format!("uploading {shown}")))?;
    if json {
        print_json(&record)?;
        return Ok(true);
    }
    let hooks: Vec<&str> = record["hooks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let what = if status == StatusCode::CREATED {
        "uploaded"
    } else {
        "already uploaded"
    };
    output::emit(&format!(
        "{what} {}: {} ({} bytes, hooks: {})",
        record["name"].as_str().unwrap_or(&name),
        record["id"].as_str().unwrap_or(""),
        record["size_bytes"],
        if hooks.is_empty() {
            "none".to_owned()
        } else {
            hooks.join(", ")
        }
    ))?;
    Ok(true)
}

/// `components list`.
pub async fn list_components(client: &Client, json: bool) -> CliResult<bool> {
    let list: Value = client.get("/v1/components").await?;
    if json {
        print_json(&list)?;
        return Ok(true);
    }
    let components = list["components"].as_array().cloned().unwrap_or_default();
    if components.is_empty() {
        output::emit("no components yet; upload one with `switchboard components push FILE.wasm`")?;
        return Ok(true);
    }
    let rows: Vec<Vec<String>> = components
        .iter()
        .map(|c| {
            let hooks: Vec<&str> = c["hooks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            vec![
                c["id"].as_str().unwrap_or("").to_owned(),
                c["name"].as_str().unwrap_or("").to_owned(),
                hooks.join(","),
                c["size_bytes"].to_string(),
            ]
        })
        .collect();
    output::emit(&output::table(&["ID", "NAME", "HOOKS", "BYTES"], &rows))?;
    Ok(true)
}
