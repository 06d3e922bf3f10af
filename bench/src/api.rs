//! Talking to Switchboard's API while setting a scenario up: tenants, keys, components and
//! tools, each call checked (a set-up that silently failed would measure error answers).

use serde_json::{Value, json};

/// The operator token every Switchboard the harness starts is given.
pub const ADMIN: &str = "bench-operator-token-0123456789";

/// Sends a request and answers the JSON body; anything but 2xx is an error.
pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut req = http.request(method.clone(), url).bearer_auth(token);
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let resp = req.send().await?;
    let status = resp.status();
    let bytes = resp.bytes().await?;
    anyhow::ensure!(
        status.is_success(),
        "{method} {url} answered {status}: {}",
        String::from_utf8_lossy(&bytes)
    );
    Ok(if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    })
}

/// Creates a tenant on `plan`; answers (tenant id, manage key).
pub async fn tenant(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    plan: &str,
) -> anyhow::Result<(String, String)> {
    let body = call(
        http,
        reqwest::Method::POST,
        &format!("{base}/v1/tenants"),
        ADMIN,
        Some(json!({"name": name, "plan": plan})),
    )
    .await?;
    Ok((text(&body, "id")?, text(&body, "api_key")?))
}

/// Issues an `invoke` key.
pub async fn invoke_key(
    http: &reqwest::Client,
    base: &str,
    manage: &str,
) -> anyhow::Result<String> {
    let body = call(
        http,
        reqwest::Method::POST,
        &format!("{base}/v1/keys"),
        manage,
        Some(json!({"scope": "invoke"})),
    )
    .await?;
    text(&body, "key")
}

/// Uploads a component; answers its id.
pub async fn upload(
    http: &reqwest::Client,
    base: &str,
    manage: &str,
    name: &str,
    bytes: Vec<u8>,
) -> anyhow::Result<String> {
    let resp = http
        .post(format!("{base}/v1/components?name={name}"))
        .bearer_auth(manage)
        .body(bytes)
        .send()
        .await?;
    let status = resp.status();
    let body: Value = serde_json::from_slice(&resp.bytes().await?).unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "uploading {name}: {status} {body}");
    text(&body, "id")
}

/// Defines a tool; answers its function id.
pub async fn tool(
    http: &reqwest::Client,
    base: &str,
    manage: &str,
    spec: Value,
) -> anyhow::Result<String> {
    let body = call(
        http,
        reqwest::Method::POST,
        &format!("{base}/v1/tools"),
        manage,
        Some(spec),
    )
    .await?;
    text(&body, "function_id")
}

/// The plumbing example's availability tool, named `name`, pointed at `url`.
pub fn availability_tool(name: &str, url: &str) -> Value {
    json!({
        "name": name,
        "description": "Checks whether we service the caller's area and when the next slot is.",
        "url": url,
        "method": "POST",
        "body_params": [
            {"key": "zip_code", "type": "string", "required": true, "description": "5-digit zip"},
            {"key": "service_type", "type": "string", "required": true, "description": "What they need"}
        ]
    })
}

fn text(body: &Value, field: &str) -> anyhow::Result<String> {
    body[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no '{field}' in {body}"))
}
