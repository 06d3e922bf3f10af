//! Shared helpers: a [`TestServer`] running the real service on an ephemeral port with its
//! own data dir, a [`Receiver`] — a real HTTP endpoint on loopback that records every
//! request and answers as the test tells it to — and a [`Process`] running the real binary.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use switchboard::{AppState, Config};
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub const ADMIN: &str = "test-operator-token-0123456789";

/// The real service on `127.0.0.1:0`.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A plain client (no proxies).
    pub client: reqwest::Client,
    /// The data dir (kept alive as long as the server).
    pub dir: TempDir,
    /// The server's state (for runtime counters such as compilations).
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// A server whose outbound guard allows loopback (where the test receivers live).
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server with loopback allowed and `tweak` applied to its config.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, tweak).await
    }

    /// A server on an existing data dir.
    pub async fn start_in(dir: TempDir, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::new(dir.path().to_path_buf());
        config.admin_token = Some(ADMIN.to_owned());
        config.allow_net = vec!["127.0.0.0/8".parse().unwrap()];
        tweak(&mut config);
        let state = AppState::open(config).await.expect("state opens");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(switchboard::run(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            url,
            client: client(),
            dir,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server gracefully and returns its data dir.
    pub async fn stop(mut self) -> TempDir {
        let _ = self.stop.take().unwrap().send(());
        // `run` returns once the queued call records are written.
        self.task.take().unwrap().await.unwrap().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    /// Sends a request; answers the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        call(&self.client, &self.url, method, path, token, body).await
    }

    /// Creates a tenant on `plan`; returns (tenant id, manage key).
    pub async fn tenant(&self, plan: &str) -> (String, String) {
        create_tenant(&self.client, &self.url, plan).await
    }

    /// Issues a key of `scope`.
    pub async fn key(&self, manage_key: &str, scope: &str) -> (String, String) {
        let (status, body) = self
            .call(
                "POST",
                "/v1/keys",
                Some(manage_key),
                Some(json!({"scope": scope})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["id"].as_str().unwrap().to_owned(),
            body["key"].as_str().unwrap().to_owned(),
        )
    }

    /// Defines a tool; returns its JSON.
    pub async fn tool(&self, key: &str, spec: Value) -> Value {
        let (status, body) = self.call("POST", "/v1/tools", Some(key), Some(spec)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Invokes the seed tool as the receptionist with `zip` and a service type.
    pub async fn seed_call(&self, key: &str, zip: &str) -> Value {
        self.invoke(
            key,
            "receptionist",
            "check_availability_in_area",
            json!({"zip_code": zip, "service_type": "leak"}),
        )
        .await
    }

    /// Uploads a component; asserts 201 and returns its id.
    pub async fn upload(&self, key: &str, name: &str, path: &str) -> String {
        let (status, body) = self
            .upload_bytes(key, name, test_components::bytes(path))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Uploads raw bytes as a component.
    pub async fn upload_bytes(&self, key: &str, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(format!("{}/v1/components?name={name}", self.url))
            .bearer_auth(key)
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body = resp.bytes().await.unwrap();
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        crate::responses::check("POST", "/v1/components", status.as_u16(), &value);
        (status, value)
    }

    /// Invokes a tool as `agent`; asserts HTTP 200 and returns the result.
    pub async fn invoke(&self, key: &str, agent: &str, tool: &str, arguments: Value) -> Value {
        let (status, body) = self
            .call(
                "POST",
                &format!("/v1/agents/{agent}/invoke"),
                Some(key),
                Some(json!({"tool": tool, "arguments": arguments})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// A client that never uses environment proxies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Sends a JSON request and returns the status and parsed body (`null` when empty).
pub async fn call(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{base}{path}"),
    );
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let resp = req.send().await.expect("the server answers");
    let (status, value) = status_and_json(resp).await;
    crate::responses::check(method, path, status.as_u16(), &value);
    (status, value)
}

/// A response's status and parsed body (`null` when empty); panics on a body that is not JSON.
pub async fn status_and_json(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    (status, value)
}

/// Creates a tenant on `plan` at `base` with the operator token; returns (id, manage key).
pub async fn create_tenant(http: &reqwest::Client, base: &str, plan: &str) -> (String, String) {
    let body = json!({"name": format!("{plan} tenant"), "plan": plan});
    let (status, body) = call(http, base, "POST", "/v1/tenants", Some(ADMIN), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["id"].as_str().unwrap().to_owned(),
        body["api_key"].as_str().unwrap().to_owned(),
    )
}

/// The seed's example tool, pointed at `base`.
pub fn seed_tool(base: &str) -> Value {
    json!({
        "name": "Check availability in area",
        "description": "Checks whether we service the caller's area.",
        "url": format!("{base}/areas/check"),
        "method": "POST",
        "body_params": [
            {"key": "zip_code", "type": "string", "required": true, "description": "5-digit zip"},
            {"key": "service_type", "type": "string", "required": true, "description": "What they need"}
        ]
    })
}

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How the receiver answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }
    pub fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Clone)]
struct ReceiverState {
    requests: Arc<Mutex<Vec<Recorded>>>,
    reply: Arc<Mutex<Reply>>,
}

/// A real HTTP endpoint on loopback that records requests and answers as told.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub addr: SocketAddr,
    state: ReceiverState,
}

impl Receiver {
    /// Starts a receiver answering `{"ok": true}`.
    pub async fn start() -> Self {
        let state = ReceiverState {
            requests: Arc::default(),
            reply: Arc::new(Mutex::new(Reply::json(200, json!({"ok": true})))),
        };
        let app = Router::new().fallback(record).with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}"),
            addr,
            state,
        }
    }

    /// Sets how the receiver answers from now on.
    pub fn reply(&self, reply: Reply) {
        *self.state.reply.lock().unwrap() = reply;
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The one request received (panics otherwise).
    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected exactly one request: {requests:?}"
        );
        requests.into_iter().next().unwrap()
    }
}

async fn record(
    State(state): State<ReceiverState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.requests.lock().unwrap().push(Recorded {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
    });
    let reply = state.reply.lock().unwrap().clone();
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}

/// The path of the real `switchboard` binary built for these tests, or of the one
/// `SWITCHBOARD_TEST_BINARY` names: where two checkouts share a target directory, the other
/// one's build can replace the binary cargo built for this one while the tests run.
pub fn binary() -> PathBuf {
    std::env::var_os("SWITCHBOARD_TEST_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_switchboard")))
}

/// This machine's host name, checked to resolve to a loopback address (Debian maps it to
/// 127.0.1.1 or 127.0.0.1 in /etc/hosts): a name the guard can only judge after resolving.
pub async fn loopback_hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("a Linux host name")
        .trim()
        .to_owned();
    let addrs: Vec<_> = tokio::net::lookup_host((name.as_str(), 80))
        .await
        .unwrap()
        .collect();
    assert!(
        !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()),
        "precondition: the host name {name} should resolve to loopback, got {addrs:?}"
    );
    name
}

/// A `switchboard serve` process and the address it announced. Dropping it kills the
/// process, so a failing test leaves nothing running.
pub struct Process {
    child: Child,
    /// `http://127.0.0.1:PORT`, from the "listening on" line.
    pub url: String,
    stderr: mpsc::Receiver<String>,
}

impl Process {
    /// Starts `switchboard serve` on `127.0.0.1:0` with `data_dir`, loopback allowed, and
    /// `extra` flags; returns once it has announced where it listens.
    pub fn serve(data_dir: &Path, extra: &[&str]) -> Process {
        Self::serve_with_env(data_dir, extra, &[])
    }

    /// Like [`Process::serve`], with extra environment variables.
    pub fn serve_with_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Process {
        let mut cmd = Command::new(binary());
        cmd.envs(env.iter().copied());
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(["--allow-net", "127.0.0.0/8"])
            .args(extra)
            .env_remove("SWITCHBOARD_ADMIN_TOKEN")
            .env_remove("SWITCHBOARD_ALLOW_NET")
            .env("SWITCHBOARD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the binary starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let url = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no 'listening on' line; stderr so far: {seen:#?}"));
            if let Some(i) = line.find("listening on http://") {
                break line[i + "listening on ".len()..].trim().to_owned();
            }
            seen.push(line);
        };
        Process {
            child,
            url,
            stderr: rx,
        }
    }

    /// The first log line from now on that contains `needle` (panics after `timeout`).
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        let mut seen = Vec::new();
        loop {
            let line = self
                .stderr
                .recv_timeout(timeout)
                .unwrap_or_else(|_| panic!("no log line with {needle:?}; stderr since: {seen:#?}"));
            if line.contains(needle) {
                return line;
            }
            seen.push(line);
        }
    }

    /// The process id (to read its memory from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Creates a tenant on `plan` through this process's API; returns (id, manage key).
    pub async fn tenant(&self, http: &reqwest::Client, plan: &str) -> (String, String) {
        create_tenant(http, &self.url, plan).await
    }

    /// Sends SIGTERM and waits for a clean exit; returns the rest of stderr.
    pub fn terminate(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }

    /// Kills the process with SIGKILL — no shutdown, no flush, a crash — and reaps it.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        let exit = self.child.wait().unwrap();
        assert!(
            !exit.success(),
            "a killed process does not exit cleanly: {exit:?}"
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A no-op once the child was reaped by `terminate` or `kill`.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
