//! `switchboard demo`: a newcomer's first five minutes. It starts a host with a demo tenant,
//! a local stand-in for a plumbing company's availability API, and the seed's
//! `Check availability in area` tool pointed at it; then it invokes the tool exactly as the
//! agent runtime would — over HTTP, through the public API — and prints what happened and
//! the curl commands to try next.
//!
//! Everything it does goes through the real API; nothing here is a shortcut around it.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::{Context, bail};
use axum::{Json, Router, routing::post};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot};

use crate::{AppState, Config, ids};

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the demo host listens.
    pub listen: SocketAddr,
    /// Data dir; a fresh temporary one when `None`.
    pub data_dir: Option<PathBuf>,
    /// Exit after the first invocation instead of serving until Ctrl-C.
    pub once: bool,
    /// The plumbing-speech component; looked for under `target/plugins` when `None`.
    pub component: Option<PathBuf>,
}

/// Where `cargo build --release --target wasm32-wasip2 --manifest-path plugins/Cargo.toml
/// --target-dir target/plugins` puts the example: next to the binary's target dir, or under
/// the current directory.
fn find_component(explicit: Option<&PathBuf>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.clone());
    }
    let relative = "plugins/wasm32-wasip2/release/plumbing_speech.wasm";
    let mut candidates = vec![PathBuf::from("target").join(relative)];
    if let Ok(exe) = std::env::current_exe()
        && let Some(target) = exe.parent().and_then(|p| p.parent())
    {
        candidates.push(target.join(relative));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// The stand-in plumbing API: zip codes starting with 94 are serviced.
pub fn plumbing_endpoint() -> Router {
    Router::new().route(
        "/areas/check",
        post(|Json(body): Json<Value>| async move {
            let zip = body["zip_code"].as_str().unwrap_or_default().to_owned();
            let serviced = zip.starts_with("94");
            Json(json!({
                "zip_code": zip,
                "serviced": serviced,
                "service_type": body["service_type"],
                "next_slot": if serviced { json!("Tuesday 9am") } else { Value::Null },
            }))
        }),
    )
}

/// The seed product's example tool, pointed at `endpoint`.
pub fn plumbing_tool(endpoint: &str) -> Value {
    json!({
        "name": "Check availability in area",
        "description": "Checks whether the plumber services the caller's area and when the next opening is. Use it when a caller asks if we cover their area or when we can come.",
        "url": format!("{endpoint}/areas/check"),
        "method": "POST",
        "body_params": [
            {"key": "zip_code", "type": "string", "required": true,
             "description": "The caller's 5-digit US zip code"},
            {"key": "service_type", "type": "string", "required": true,
             "description": "What the caller needs, e.g. leak repair, drain cleaning, water heater"}
        ],
        "response_timeout_secs": 10,
        "agent_targets": "both"
    })
}

/// Runs the demo.
pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let endpoint_listener = TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", endpoint_listener.local_addr()?);
    tokio::spawn(async move { axum::serve(endpoint_listener, plumbing_endpoint()).await });

    let data_dir = opts.data_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("switchboard-demo-{}", ids::random_alnum(8)))
    });
    let admin_token = ids::new_admin_token();
    let mut config = Config::new(data_dir.clone());
    config.listen = opts.listen;
    config.admin_token = Some(admin_token.clone());
    config.allow_net = vec!["127.0.0.0/8".parse().expect("a valid CIDR")];
    let state = AppState::open(config).await?;
    let listener = TcpListener::bind(opts.listen).await.with_context(|| {
        format!(
            "binding {} (is something else on it? try --listen 127.0.0.1:0)",
            opts.listen
        )
    })?;
    let host = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(crate::run(listener, state, async move {
        let _ = stop_rx.await;
    }));

    let client = reqwest::Client::builder().no_proxy().build()?;
    let api = Api {
        client: &client,
        host: &host,
    };

    println!("Switchboard demo\n");
    println!("  host           {host}");
    println!("  demo endpoint  {endpoint}/areas/check  (a plumbing company's availability API)");
    println!("  data dir       {}\n", data_dir.display());

    let tenant = api
        .call(
            "POST",
            "/v1/tenants",
            &admin_token,
            Some(json!({"name": "Rapid Plumbing", "plan": "pro"})),
        )
        .await?;
    let manage_key = tenant["api_key"].as_str().unwrap_or_default().to_owned();
    println!(
        "1. The operator created the tenant \"Rapid Plumbing\" ({}) on the pro plan.",
        tenant["id"].as_str().unwrap_or_default()
    );

    let mut spec = plumbing_tool(&endpoint);
    match find_component(opts.component.as_ref()) {
        Some(path) => {
            let bytes = std::fs::read(&path)
                .with_context(|| format!("reading the component {}", path.display()))?;
            let resp = client
                .post(format!("{host}/v1/components?name=plumbing-speech"))
                .bearer_auth(&manage_key)
                .body(bytes)
                .send()
                .await?;
            let status = resp.status();
            let component: Value = serde_json::from_slice(&resp.bytes().await?)?;
            if !status.is_success() {
                bail!(
                    "uploading {} answered {status}: {component}",
                    path.display()
                );
            }
            println!(
                "   The tenant uploaded the plumbing-speech component ({}, {} bytes).",
                component["id"].as_str().unwrap_or_default(),
                component["size_bytes"]
            );
            spec["transforms"] = json!({"response": {"component": component["id"]}});
        }
        None => println!(
            "   (No plumbing-speech component was found, so the answer is not turned into speech.\n    \
             Build the example plugins, then run the demo again:\n    \
             cargo build --release --target wasm32-wasip2 --manifest-path plugins/Cargo.toml --target-dir target/plugins)"
        ),
    }

    let tool = api
        .call("POST", "/v1/tools", &manage_key, Some(spec))
        .await?;
    println!(
        "2. The tenant defined \"Check availability in area\" -> function id {} ({}).",
        tool["function_id"].as_str().unwrap_or_default(),
        tool["id"].as_str().unwrap_or_default()
    );

    let key = api
        .call(
            "POST",
            "/v1/keys",
            &manage_key,
            Some(json!({"scope": "invoke"})),
        )
        .await?;
    let invoke_key = key["key"].as_str().unwrap_or_default().to_owned();
    println!("3. The tenant issued an invoke key for its agent runtime.");

    let request = json!({
        "tool": "check_availability_in_area",
        "arguments": {"zip_code": "94107", "service_type": "leak repair"},
        "conversation_id": "demo-conversation-1"
    });
    println!(
        "4. Mid-call, the receptionist invoked the tool:\n\n   POST /v1/agents/receptionist/invoke\n   {request}\n"
    );
    let result = api
        .call(
            "POST",
            "/v1/agents/receptionist/invoke",
            &invoke_key,
            Some(request),
        )
        .await?;
    let pretty = serde_json::to_string_pretty(&result)?;
    println!("   Switchboard answered:\n");
    for line in pretty.lines() {
        println!("   {line}");
    }
    if result["ok"] != json!(true) {
        bail!("the demo invocation failed: {}", result["error"]);
    }
    if let Some(speech) = result["speech"].as_str() {
        println!("\n   The receptionist says: \"{speech}\"");
    }

    println!("\nTry it yourself:\n");
    println!("  export SWITCHBOARD_URL={host}");
    println!("  export SWITCHBOARD_KEY={manage_key}   # the tenant's manage key");
    println!("  curl -s $SWITCHBOARD_URL/v1/tools -H \"Authorization: Bearer $SWITCHBOARD_KEY\"");
    println!(
        "  curl -s $SWITCHBOARD_URL/v1/agents/receptionist/invoke -H \"Authorization: Bearer $SWITCHBOARD_KEY\" \\\n       -d '{{\"tool\": \"check_availability_in_area\", \"arguments\": {{\"zip_code\": \"10001\", \"service_type\": \"drain cleaning\"}}}}'"
    );
    println!(
        "  curl -s $SWITCHBOARD_URL/v1/agents/receptionist/invoke -H \"Authorization: Bearer $SWITCHBOARD_KEY\" \\\n       -d '{{\"tool\": \"check_availability_in_area\", \"arguments\": {{\"zip_code\": 94107}}}}'   # a bad call: see the error"
    );
    println!(
        "  curl -s \"$SWITCHBOARD_URL/v1/calls?limit=5\" -H \"Authorization: Bearer $SWITCHBOARD_KEY\""
    );
    println!("  curl -s $SWITCHBOARD_URL/openapi.json");
    println!("  (operator token for /v1/tenants: {admin_token})");

    if opts.once {
        let _ = stop_tx.send(());
    } else {
        println!("\nServing until Ctrl-C.");
        crate::shutdown_signal().await;
        let _ = stop_tx.send(());
    }
    server.await??;
    Ok(())
}

struct Api<'a> {
    client: &'a reqwest::Client,
    host: &'a str,
}

impl Api<'_> {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.host))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body)?);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("calling {path}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("{path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }
}
