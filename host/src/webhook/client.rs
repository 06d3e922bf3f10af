//! The outbound HTTP client: one pooled `reqwest::Client` that resolves names only through
//! the [`GuardedResolver`], never follows redirects, ignores environment proxies and never
//! decompresses. [`WebhookClient::send`] holds one deadline over connect, headers and body,
//! and stops reading at the body cap.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::redirect;

use super::{
    guard::{GuardedResolver, Lookup, NetPolicy, find_blocked, system_lookup},
    request::OutboundRequest,
};
use crate::tool::model::Method;

/// What the endpoint answered.
#[derive(Debug, Clone)]
pub struct WebhookResponse {
    /// The HTTP status.
    pub status: u16,
    /// Response headers, in order.
    pub headers: Vec<(String, String)>,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The whole body (at most the cap).
    pub body: Vec<u8>,
}

/// Why no answer was obtained.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The destination is on a refused range.
    #[error("{0}")]
    Blocked(String),
    /// The deadline passed before the whole answer arrived.
    #[error("the endpoint did not answer within {0} seconds")]
    Timeout(u32),
    /// No connection could be made or it broke.
    #[error("{0}")]
    Unreachable(String),
    /// The endpoint answered with something that is not HTTP.
    #[error("{0}")]
    InvalidResponse(String),
    /// The body is over the cap.
    #[error("the response body is larger than the {0}-byte limit")]
    TooLarge(usize),
}

/// The shared outbound client (cheap to clone).
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: NetPolicy,
    max_body: usize,
}

impl WebhookClient {
    /// A client enforcing `policy`, reading at most `max_body` bytes of any answer.
    pub fn new(policy: NetPolicy, max_body: usize) -> anyhow::Result<Self> {
        Self::with_lookup(policy, max_body, Arc::new(system_lookup))
    }

    /// The same client, asking `lookup` instead of the system resolver for names (tests play a
    /// rebinding name server with it); every answer still goes through `policy`.
    pub fn with_lookup(policy: NetPolicy, max_body: usize, lookup: Lookup) -> anyhow::Result<Self> {
        let resolver = GuardedResolver::with_lookup(policy.clone(), lookup);
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(resolver))
            .no_proxy()
            .redirect(redirect::Policy::none())
            .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            policy,
            max_body,
        })
    }

    /// The policy this client enforces.
    pub fn policy(&self) -> &NetPolicy {
        &self.policy
    }

    /// Sends `req`, waiting at most `timeout_secs` for the complete answer.
    pub async fn send(
        &self,
        req: OutboundRequest,
        timeout_secs: u32,
    ) -> Result<WebhookResponse, WebhookError> {
        let deadline = Instant::now() + Duration::from_secs(u64::from(timeout_secs));
        self.send_by(req, deadline, timeout_secs).await
    }

    /// Like [`Self::send`], ending at `deadline`: what is left of the tool's response timeout
    /// (`timeout_secs`, named in the error) after a params transform.
    pub async fn send_by(
        &self,
        req: OutboundRequest,
        deadline: Instant,
        timeout_secs: u32,
    ) -> Result<WebhookResponse, WebhookError> {
        self.policy
            .check_url(&req.url)
            .map_err(|blocked| WebhookError::Blocked(blocked.to_string()))?;
        match tokio::time::timeout_at(deadline.into(), self.exchange(req)).await {
            Ok(result) => result,
            Err(_) => Err(WebhookError::Timeout(timeout_secs)),
        }
    }

    async fn exchange(&self, req: OutboundRequest) -> Result<WebhookResponse, WebhookError> {
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let host = req.url.host_str().unwrap_or_default().to_owned();
        let mut builder = self.http.request(method, req.url).headers(req.headers);
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| classify(&e, &host, "sending the request"))?;

        if let Some(len) = response.content_length()
            && len > self.max_body as u64
        {
            return Err(WebhookError::TooLarge(self.max_body));
        }
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());

        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(&e, &host, "reading the response body"))?
        {
            if body.len() + chunk.len() > self.max_body {
                return Err(WebhookError::TooLarge(self.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(WebhookResponse {
            status,
            headers,
            content_type,
            body,
        })
    }
}

/// Turns a reqwest error into what it means for the caller, without its internals.
fn classify(err: &reqwest::Error, host: &str, during: &str) -> WebhookError {
    if let Some(blocked) = find_blocked(err) {
        return WebhookError::Blocked(blocked.to_string());
    }
    let chain = source_chain(err);
    if err.is_connect() {
        let why = if chain.contains("dns error") || chain.contains("failed to lookup") {
            "its name could not be resolved"
        } else if chain.contains("refused") {
            "the connection was refused"
        } else if chain.contains("certificate") || chain.contains("tls") {
            "the TLS handshake failed"
        } else {
            "no connection could be made"
        };
        return WebhookError::Unreachable(format!("could not reach {host}: {why}"));
    }
    if chain.contains("invalid")
        || chain.contains("parse")
        || chain.contains("malformed")
        || chain.contains("too large")
    {
        return WebhookError::InvalidResponse(format!(
            "{host} answered with something that is not valid HTTP ({during})"
        ));
    }
    WebhookError::Unreachable(format!("the connection to {host} failed while {during}"))
}

/// The text of the error's sources, lowercased. reqwest's own message is left out: it
/// carries the URL, and words in a tenant's URL (`/invalid`, `parse.example.com`) must not
/// decide what a failure is.
fn source_chain(err: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text.to_lowercase()
}
