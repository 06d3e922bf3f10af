//! The servers under test that are not Switchboard: the loopback webhook stub answering
//! fixed JSON, and the bare forwarding proxy (axum in, reqwest out — Switchboard's own
//! libraries, set up like its webhook client) that is the physical floor of the design.
//!
//! Each server runs on a runtime of its own (as many workers as the binary would have), so
//! the stub, the proxy, Switchboard and the load generator never share worker threads.

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use tokio::{net::TcpListener, runtime::Runtime};

/// What the stub answers to everything.
pub const STUB_BODY: &str = r#"{"zip_code":"94107","serviced":true,"next_slot":"Tuesday 9am"}"#;

/// A server running on its own runtime; dropped (outside any runtime) to stop it.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its runtime; dropping it stops the server.
    pub runtime: Runtime,
}

/// A multi-thread runtime named for what runs on it.
pub fn runtime(name: &str) -> anyhow::Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(name)
        .build()?)
}

fn serve(name: &str, app: Router) -> anyhow::Result<Served> {
    let runtime = runtime(name)?;
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    runtime.spawn(async move { axum::serve(listener, app).await });
    Ok(Served { url, runtime })
}

/// The webhook stub: `200` with [`STUB_BODY`] as JSON, whatever was asked.
pub fn stub() -> anyhow::Result<Served> {
    let app = Router::new().fallback(|| async {
        (
            [(header::CONTENT_TYPE, "application/json")],
            Bytes::from_static(STUB_BODY.as_bytes()),
        )
    });
    serve("stub", app)
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
}

/// The bare proxy: forwards method, path, body and `Content-Type` to `upstream` over a
/// pooled keep-alive client and answers status, `Content-Type` and body.
pub fn proxy(upstream: &str) -> anyhow::Result<Served> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .build()?;
    let state = Proxy {
        upstream: upstream.to_owned(),
        http,
    };
    serve("proxy", Router::new().fallback(forward).with_state(state))
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut req = proxy
        .http
        .request(method, format!("{}{}", proxy.upstream, uri.path()))
        .body(body);
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let answer = async {
        let resp = req.send().await?;
        let status = resp.status();
        let ct = resp.headers().get(header::CONTENT_TYPE).cloned();
        let body = resp.bytes().await?;
        reqwest::Result::Ok((status, ct, body))
    };
    match answer.await {
        Ok((status, ct, body)) => {
            let mut response = (status, body).into_response();
            if let Some(ct) = ct {
                response.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            response
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// One kind of request the load generator sends, and what a good answer contains.
#[derive(Clone)]
pub struct Target {
    http: reqwest::Client,
    url: String,
    bearer: Option<HeaderValue>,
    body: Bytes,
    expect: &'static str,
}

impl Target {
    /// `POST url` with the JSON `body`, expecting 200 and `expect` in the answer.
    pub fn new(
        http: &reqwest::Client,
        url: String,
        bearer: Option<&str>,
        body: serde_json::Value,
        expect: &'static str,
    ) -> anyhow::Result<Self> {
        let bearer = bearer
            .map(|key| HeaderValue::from_str(&format!("Bearer {key}")))
            .transpose()?;
        Ok(Self {
            http: http.clone(),
            url,
            bearer,
            body: Bytes::from(body.to_string()),
            expect,
        })
    }

    /// Sends the request once and checks the answer.
    pub async fn send(&self) -> anyhow::Result<()> {
        let mut req = self
            .http
            .post(&self.url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(self.body.clone());
        if let Some(bearer) = &self.bearer {
            req = req.header(header::AUTHORIZATION, bearer.clone());
        }
        let resp = req.send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        let expected = self.expect.as_bytes();
        if status != StatusCode::OK || !body.windows(expected.len()).any(|w| w == expected) {
            anyhow::bail!(
                "{} answered {status} without {:?}: {}",
                self.url,
                self.expect,
                String::from_utf8_lossy(&body)
            );
        }
        Ok(())
    }
}

/// The load generator's client: keep-alive, no proxies.
pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .build()?)
}
