//! An API robustness sweep driven by `GET /openapi.json`: every documented path and method
//! is sent no credentials, garbage ones, a revoked key and the wrong kind of credential; then,
//! with the right credential, malformed, huge and deeply nested bodies, wrong types for every
//! top-level field of its request schema, unknown fields, and hostile path ids (traversal,
//! NUL, 10 KB, invalid UTF-8, another tenant's real ids). Component upload gets garbage bytes.
//!
//! It proves that every answer is a 2xx (where the input is actually valid) or a 4xx in the
//! API's error shape `{"error": {"kind", "message"}}` — never a 5xx, never a hang — that
//! credentials are checked before anything else, that another tenant's ids are 404, and that
//! the server is still healthy afterwards. The MCP route speaks JSON-RPC: there a 4xx about
//! the message may instead be a JSON-RPC error (`{"jsonrpc": "2.0", "error": {"code",
//! "message"}}`), and members it does not know are ignored, as JSON-RPC peers do.

use std::{fmt::Write as _, time::Duration};

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::utils::{ADMIN, Receiver, TestServer, seed_tool};

/// Hard bound on the sweep's size, so a growing API cannot make it run away.
const MAX_REQUESTS: usize = 5000;

/// Whether `path` is the MCP route, whose message errors are JSON-RPC errors.
fn is_mcp(path: &str) -> bool {
    path.ends_with("/mcp")
}

/// One documented operation.
#[derive(Debug, Clone)]
struct Operation {
    method: String,
    /// The path template, e.g. `/v1/tools/{id}`.
    path: String,
    /// `operator`, `tenant_key`, or `None` for public routes.
    security: Option<String>,
    /// The request body's schema (resolved), when the operation takes JSON.
    json_schema: Option<Value>,
    /// Whether the operation takes raw bytes (component upload).
    raw_body: bool,
}

/// The credentials and ids the sweep uses.
struct World {
    tenant_a: String,
    manage_a: String,
    invoke_a: String,
    revoked_manage: String,
    revoked_invoke: String,
    /// Real ids by path prefix (`/v1/tools` → a tool of tenant A), and tenant B's.
    ids_a: Vec<(&'static str, String)>,
    ids_b: Vec<(&'static str, String)>,
    receiver_url: String,
}

impl World {
    async fn build(server: &TestServer, receiver: &Receiver) -> Self {
        let (tenant_a, manage_a) = server.tenant("pro").await;
        let (_, invoke_a) = server.key(&manage_a, "invoke").await;
        let (victim_key, _) = server.key(&manage_a, "invoke").await;
        let mut revoked = Vec::new();
        for scope in ["manage", "invoke"] {
            let (id, key) = server.key(&manage_a, scope).await;
            let (status, _) = server
                .call("DELETE", &format!("/v1/keys/{id}"), Some(&manage_a), None)
                .await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            revoked.push(key);
        }
        let tool_a = server.tool(&manage_a, seed_tool(&receiver.url)).await;
        let component_a = server
            .upload(&manage_a, "speech", test_components::PLUMBING_SPEECH)
            .await;

        let (tenant_b, manage_b) = server.tenant("pro").await;
        let (key_b, _) = server.key(&manage_b, "invoke").await;
        let tool_b = server.tool(&manage_b, seed_tool(&receiver.url)).await;
        let component_b = server
            .upload(&manage_b, "speech", test_components::PLUMBING_SPEECH)
            .await;

        let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
        Self {
            ids_a: vec![
                ("/v1/tenants", tenant_a.clone()),
                ("/v1/keys", victim_key),
                ("/v1/tools", id(&tool_a)),
                ("/v1/components", component_a),
            ],
            ids_b: vec![
                ("/v1/tenants", tenant_b),
                ("/v1/keys", key_b),
                ("/v1/tools", id(&tool_b)),
                ("/v1/components", component_b),
            ],
            tenant_a,
            manage_a,
            invoke_a,
            revoked_invoke: revoked.pop().unwrap(),
            revoked_manage: revoked.pop().unwrap(),
            receiver_url: receiver.url.clone(),
        }
    }

    /// The right credential for an operation.
    fn credential(&self, op: &Operation) -> Option<String> {
        match op.security.as_deref() {
            Some("operator") => Some(format!("Bearer {ADMIN}")),
            Some(_) => Some(format!("Bearer {}", self.manage_a)),
            None => None,
        }
    }

    /// A real id for `{id}` in `path`, from `ids`.
    fn id_for(ids: &[(&'static str, String)], path: &str) -> String {
        ids.iter()
            .find(|(prefix, _)| path.starts_with(&format!("{prefix}/")))
            .map(|(_, id)| id.clone())
            .unwrap_or_else(|| "unknown-id".to_owned())
    }

    /// A body the operation accepts, so that what a request varies is what gets tested.
    fn valid_body(&self, op: &Operation) -> Value {
        match (op.method.as_str(), op.path.as_str()) {
            ("post", "/v1/tenants") => json!({"name": "Sweep tenant", "plan": "free"}),
            ("patch", "/v1/tenants/{id}") => json!({"plan": "pro"}),
            ("post", "/v1/keys") => json!({"scope": "invoke"}),
            ("post", "/v1/tools") => {
                let mut spec = seed_tool(&self.receiver_url);
                spec["name"] = json!("Sweep tool");
                spec
            }
            ("put", "/v1/tools/{id}") => seed_tool(&self.receiver_url),
            ("post", "/v1/tools/{id}/test") => {
                json!({"arguments": {"zip_code": "94107", "service_type": "leak"}})
            }
            ("post", "/v1/agents/{agent}/invoke") => json!({
                "tool": "check_availability_in_area",
                "arguments": {"zip_code": "94107", "service_type": "leak"}
            }),
            ("post", "/v1/agents/{agent}/mcp") => {
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            }
            _ => json!({}),
        }
    }
}

/// Every operation in the document, DELETEs last (they consume the real ids).
fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let security = op["security"]
                .as_array()
                .and_then(|s| s.first())
                .and_then(|s| s.as_object())
                .and_then(|s| s.keys().next().cloned());
            let content = &op["requestBody"]["content"];
            let json_schema = content
                .get("application/json")
                .map(|c| resolve(doc, &c["schema"]));
            let raw_body = content
                .as_object()
                .is_some_and(|c| c.keys().any(|k| k != "application/json"));
            ops.push(Operation {
                method: method.clone(),
                path: path.clone(),
                security,
                json_schema,
                raw_body,
            });
        }
    }
    ops.sort_by_key(|op| (op.method == "delete", op.path.clone(), op.method.clone()));
    ops
}

/// Follows a `$ref` into `components.schemas`.
fn resolve(doc: &Value, schema: &Value) -> Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema.clone(),
    }
}

/// The top-level property names of a request schema (through `allOf`).
fn properties(doc: &Value, schema: &Value) -> Vec<String> {
    let mut names: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        names.extend(properties(doc, &resolve(doc, part)));
    }
    names
}

/// One request of the sweep.
struct Probe {
    method: String,
    path: String,
    auth: Option<String>,
    body: Option<(Vec<u8>, &'static str)>,
    /// What it is, for the failure report.
    what: String,
    /// The statuses this probe must get (empty: any 2xx or 4xx).
    expect: &'static [u16],
}

/// Sends probes and collects every answer that breaks the contract.
struct Sweep<'a> {
    server: &'a TestServer,
    sent: usize,
    failures: Vec<String>,
}

impl Sweep<'_> {
    async fn send(&mut self, probe: Probe) {
        self.sent += 1;
        assert!(self.sent <= MAX_REQUESTS, "the sweep outgrew its bound");
        let url = format!("{}{}", self.server.url, probe.path);
        let method = reqwest::Method::from_bytes(probe.method.to_uppercase().as_bytes()).unwrap();
        // What an MCP client accepts; the other routes ignore it.
        let mut req = self
            .server
            .client
            .request(method, &url)
            .header(header::ACCEPT, "application/json, text/event-stream")
            .timeout(Duration::from_secs(20));
        if let Some(auth) = &probe.auth {
            req = req.header(header::AUTHORIZATION, auth);
        }
        if let Some((body, content_type)) = probe.body {
            req = req.header(header::CONTENT_TYPE, content_type).body(body);
        }
        let label = format!(
            "{} {} [{}]",
            probe.method.to_uppercase(),
            shorten(&probe.path),
            probe.what
        );
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => return self.failures.push(format!("{label}: no answer: {e}")),
        };
        let status = resp.status();
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return self
                    .failures
                    .push(format!("{label}: {status}, body lost: {e}"));
            }
        };
        let documented = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|body| {
                crate::responses::mismatch(&probe.method, &probe.path, status.as_u16(), &body)
            });
        if let Some(problem) = documented {
            self.failures.push(format!("{label}: {problem}"));
        }
        if let Err(problem) = check_answer(status, &bytes, probe.expect, is_mcp(&probe.path)) {
            let body = String::from_utf8_lossy(&bytes);
            self.failures.push(format!(
                "{label}: {problem}; got {status}: {}",
                shorten(&body)
            ));
        }
    }
}

fn shorten(text: &str) -> String {
    if text.len() <= 160 {
        return text.to_owned();
    }
    let mut cut = 160;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &text[..cut], text.len())
}

/// The contract: a 2xx with a JSON (or empty) body, or a 4xx in the error shape (on the MCP
/// route, or a JSON-RPC error); never anything else; and one of `expect` when given.
fn check_answer(
    status: StatusCode,
    body: &[u8],
    expect: &[u16],
    jsonrpc: bool,
) -> Result<(), String> {
    if !expect.is_empty() && !expect.contains(&status.as_u16()) {
        return Err(format!("expected {expect:?}"));
    }
    if status.is_success() {
        if body.is_empty() || serde_json::from_slice::<Value>(body).is_ok() {
            return Ok(());
        }
        return Err("a 2xx whose body is not JSON".into());
    }
    if !status.is_client_error() {
        return Err("neither 2xx nor 4xx".into());
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|_| "a 4xx whose body is not JSON".to_owned())?;
    let error = &value["error"];
    let nonempty = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    if jsonrpc && value["jsonrpc"] == "2.0" && error["code"].is_i64() && nonempty(&error["message"])
    {
        return Ok(());
    }
    if !(nonempty(&error["kind"]) && nonempty(&error["message"])) {
        return Err("a 4xx without {\"error\": {\"kind\", \"message\"}}".into());
    }
    Ok(())
}

/// Bodies that are not the JSON any route wants.
fn malformed_bodies() -> Vec<(String, Vec<u8>)> {
    let deep_arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    [
        ("empty", Vec::new()),
        ("`{`", b"{".to_vec()),
        ("`[]`", b"[]".to_vec()),
        ("`null`", b"null".to_vec()),
        ("`\"x\"`", b"\"x\"".to_vec()),
        ("`{}`", b"{}".to_vec()),
        ("`{} {}`", b"{} {}".to_vec()),
        ("10k nested arrays", deep_arrays.into_bytes()),
        ("10k nested objects", deep_objects.into_bytes()),
        ("2 MiB body", huge.into_bytes()),
        ("not UTF-8", b"{\"name\": \"\xff\xfe\"}".to_vec()),
        ("NUL bytes", b"\0\0\0\0".to_vec()),
        ("unknown field", br#"{"zzz_unknown": 1}"#.to_vec()),
    ]
    .into_iter()
    .map(|(what, body)| (what.to_owned(), body))
    .collect()
}

/// Values of every JSON type, at least one wrong for any field.
fn wrong_values() -> Vec<Value> {
    vec![
        json!(12345),
        json!(-1.5e300),
        json!("wrong"),
        json!(true),
        json!([1, "two"]),
        json!({"k": []}),
        Value::Null,
    ]
}

/// Hostile path ids, already written as they go on the wire.
fn hostile_ids() -> Vec<(&'static str, String)> {
    vec![
        ("encoded traversal", "..%2F..%2Fetc%2Fpasswd".to_owned()),
        ("raw traversal", "../../etc/passwd".to_owned()),
        ("NUL", "%00".to_owned()),
        ("10 KB id", "a".repeat(10 * 1024)),
        (
            "unicode",
            "%F0%9F%93%9E-%C3%BCn%C3%AFc%C3%B6d%C3%A9".to_owned(),
        ),
        ("invalid UTF-8", "%FF%FE".to_owned()),
        ("overlong dot", "%C0%AE%C0%AE".to_owned()),
        ("space", "%20".to_owned()),
        ("SQL", "x'%20OR%20'1'='1".to_owned()),
        ("prefix only", "tool_".to_owned()),
    ]
}

/// Fills the path template: `{agent}` with `agent`, any other parameter with `id`.
fn fill(path: &str, id: &str, agent: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str(&rest[..open]);
        out.push_str(if &rest[open + 1..close] == "agent" {
            agent
        } else {
            id
        });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_documented_route_answers_4xx_in_shape_and_never_5xx() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let world = World::build(&server, &receiver).await;
    let (status, doc) = server.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let ops = operations(&doc);
    assert!(
        ops.len() >= 15,
        "the document lists {} operations",
        ops.len()
    );

    let mut sweep = Sweep {
        server: &server,
        sent: 0,
        failures: Vec::new(),
    };
    let json_body = |v: &Value| Some((v.to_string().into_bytes(), "application/json"));

    for op in &ops {
        let real_id = World::id_for(&world.ids_a, &op.path);
        let path = fill(&op.path, &real_id, "receptionist");
        let valid = world.valid_body(op);
        let body = || {
            if op.raw_body {
                Some((b"not a component".to_vec(), "application/wasm"))
            } else {
                json_body(&valid)
            }
        };
        let probe = |what: String, auth: Option<String>, body, expect| Probe {
            method: op.method.clone(),
            path: path.clone(),
            auth,
            body,
            what,
            expect,
        };

        // (a)–(c) Credentials: missing, garbage, revoked, or of the wrong kind.
        if let Some(kind) = &op.security {
            let wrong_kind = if kind == "operator" {
                format!("Bearer {}", world.manage_a)
            } else {
                format!("Bearer {ADMIN}")
            };
            for (what, auth) in [
                ("no credentials", None),
                (
                    "garbage bearer",
                    Some("Bearer garbage-0123456789".to_owned()),
                ),
                (
                    "garbage key",
                    Some("Bearer sbk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
                ),
                ("empty bearer", Some("Bearer ".to_owned())),
                ("basic auth", Some("Basic dXNlcjpwYXNzd29yZA==".to_owned())),
                (
                    "revoked manage key",
                    Some(format!("Bearer {}", world.revoked_manage)),
                ),
                (
                    "revoked invoke key",
                    Some(format!("Bearer {}", world.revoked_invoke)),
                ),
                ("wrong kind of credential", Some(wrong_kind)),
            ] {
                sweep
                    .send(probe(what.to_owned(), auth, body(), &[401]))
                    .await;
            }
            // An invoke key is enough for the agent routes only; never a 5xx either way.
            sweep
                .send(probe(
                    "invoke-scope key".to_owned(),
                    Some(format!("Bearer {}", world.invoke_a)),
                    body(),
                    &[],
                ))
                .await;
        }

        let auth = world.credential(op);

        // The valid request itself, so every variation below starts from something the route
        // accepts (a DELETE goes first here: the variations after it find nothing to delete).
        if !op.raw_body {
            let agents: &[&str] = if op.path.contains("{agent}") {
                &["receptionist", "assistant"]
            } else {
                &["receptionist"]
            };
            for agent in agents {
                let mut p = probe("valid".into(), auth.clone(), body(), &[200, 201, 204]);
                p.path = fill(&op.path, &real_id, agent);
                sweep.send(p).await;
            }
        }

        // (d) Malformed bodies, with the right credential.
        for (what, bytes) in malformed_bodies() {
            let content_type = if op.raw_body {
                "application/wasm"
            } else {
                "application/json"
            };
            sweep
                .send(probe(what, auth.clone(), Some((bytes, content_type)), &[]))
                .await;
        }

        // (d) Wrong types for every top-level field, alone and in an otherwise valid body,
        // plus an unknown field in a valid body.
        if let Some(schema) = &op.json_schema {
            let fields = properties(&doc, schema);
            assert!(!fields.is_empty(), "{} {}: no fields", op.method, op.path);
            for field in &fields {
                for value in wrong_values() {
                    let mut in_valid = valid.clone();
                    in_valid[field.as_str()] = value.clone();
                    let alone = json!({ field.as_str(): value });
                    for (what, body) in [("in a valid body", in_valid), ("alone", alone)] {
                        let what = format!("{field} = {} {what}", shorten(&value.to_string()));
                        sweep
                            .send(probe(what, auth.clone(), json_body(&body), &[]))
                            .await;
                    }
                }
            }
            let mut unknown = valid.clone();
            unknown["zzz_unknown"] = json!("surprise");
            let expect: &[u16] = if is_mcp(&op.path) { &[200] } else { &[422] };
            sweep
                .send(probe(
                    "unknown field in a valid body".into(),
                    auth.clone(),
                    json_body(&unknown),
                    expect,
                ))
                .await;
        }

        // Component upload: garbage bytes and bad names.
        if op.raw_body {
            let mut not_quite = b"\0asm\x0d\0\x01\0".to_vec();
            not_quite.extend_from_slice(&[0xff; 64]);
            for (what, bytes) in [
                (
                    "garbage bytes",
                    (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
                ),
                (
                    "a core module, not a component",
                    b"\0asm\x01\0\0\0".to_vec(),
                ),
                ("a component header and garbage", not_quite),
                ("2 MiB of 0xff", vec![0xff; 2 * 1024 * 1024]),
            ] {
                sweep
                    .send(probe(
                        what.to_owned(),
                        auth.clone(),
                        Some((bytes, "application/wasm")),
                        &[422],
                    ))
                    .await;
            }
            for name in [
                "",
                "..%2F..%2Fetc%2Fpasswd",
                "%00",
                "%F0%9F%93%9E",
                &"n".repeat(10_000),
            ] {
                let mut p = probe(
                    format!("name={}", shorten(name)),
                    auth.clone(),
                    Some((b"\0asm\x01\0\0\0".to_vec(), "application/wasm")),
                    &[422],
                );
                p.path = format!("{}?name={name}", op.path);
                sweep.send(p).await;
            }
        }

        // (d) Hostile path ids, and another tenant's real ids.
        if op.path.contains('{') {
            let mut ids: Vec<(String, String, &[u16])> = hostile_ids()
                .into_iter()
                .map(|(what, id)| (format!("id: {what}"), id, &[][..]))
                .collect();
            // Another tenant's id is as good as unknown: 404 on every tenant route. (The
            // operator may read any tenant.)
            let other_expect: &[u16] = if op.security.as_deref() == Some("tenant_key") {
                &[404]
            } else {
                &[]
            };
            let other = World::id_for(&world.ids_b, &op.path);
            ids.push(("another tenant's id".into(), other, other_expect));
            for (what, id, expect) in ids {
                // The hostile value goes into every parameter but a known agent.
                let agent = if op.path.contains("{id}") {
                    "receptionist"
                } else {
                    &id
                };
                let mut p = probe(what, auth.clone(), body(), expect);
                p.path = fill(&op.path, &id, agent);
                sweep.send(p).await;
            }
        }
    }

    // Methods the document does not list for a path answer 405 in the error shape.
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for path in paths {
        let listed = doc["paths"][path.as_str()].as_object().unwrap();
        for method in ["get", "post", "put", "patch", "delete"] {
            if listed.contains_key(method) {
                continue;
            }
            let real_id = World::id_for(&world.ids_a, path);
            sweep
                .send(Probe {
                    method: method.to_owned(),
                    path: fill(path, &real_id, "receptionist"),
                    auth: Some(format!("Bearer {}", world.manage_a)),
                    body: None,
                    what: "undocumented method".into(),
                    expect: &[405],
                })
                .await;
        }
    }

    let (sent, failures) = (sweep.sent, sweep.failures);
    let mut report = String::new();
    for failure in failures.iter().take(60) {
        let _ = writeln!(report, "  {failure}");
    }
    assert!(
        failures.is_empty(),
        "{} of {sent} answers broke the contract:\n{report}",
        failures.len()
    );

    // The server is still healthy and still serves tenant A.
    let (status, health) = server.call("GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    let (status, _) = server
        .call(
            "GET",
            &format!("/v1/tenants/{}", world.tenant_a),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .call("GET", "/v1/tools", Some(&world.manage_a), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_path_id_that_is_not_utf8_is_a_422_naming_it() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    for (path, field) in [
        ("/v1/tools/%FF", "path.id"),
        ("/v1/tools/%C0%AE/test", "path.id"),
        ("/v1/agents/%FF/invoke", "path.agent"),
    ] {
        let method = if path.ends_with("/tools/%FF") {
            "GET"
        } else {
            "POST"
        };
        let (status, body) = server
            .call(method, path, Some(&key), Some(json!({"tool": "x"})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(body["error"]["kind"], "invalid_request", "{path}");
        assert_eq!(body["error"]["fields"][0]["field"], field, "{path}");
    }
    // Credentials are still checked first.
    let (status, _) = server.call("GET", "/v1/tools/%FF", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
