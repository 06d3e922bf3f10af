//! The client's HTTP side: the server's base URL, the tenant key, one `reqwest` client, and
//! the API's error envelope (`{"error": {"kind", "message", "fields"?}}`) turned into a
//! [`CliError`] a person can act on. It speaks only the public HTTP API.

use std::{error::Error as _, time::Duration};

use reqwest::{Method, StatusCode};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;

use super::error::{CliError, CliResult};

/// Where the client looks when neither `--url` nor `SWITCHBOARD_URL` is given.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// Longest wait for one answer: above the longest tool timeout (120 s) an invoke may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(150);

/// A connection to one Switchboard server with one tenant key.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// The API's error envelope.
#[derive(Debug, Deserialize)]
struct Envelope {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    kind: String,
    message: String,
    #[serde(default)]
    fields: Vec<FieldError>,
}

#[derive(Debug, Deserialize)]
struct FieldError {
    field: String,
    message: String,
}

impl Client {
    /// A client for `url` authenticating with `key`; both are checked before any request.
    pub fn new(url: &str, key: Option<&str>) -> CliResult<Self> {
        let parsed = url::Url::parse(url).map_err(|e| {
            CliError::usage(format!(
                "--url '{url}' is not a URL ({e}); expected e.g. {DEFAULT_URL}"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(CliError::usage(format!(
                "--url '{url}' must be an http:// or https:// address, e.g. {DEFAULT_URL}"
            )));
        }
        let key = key
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                CliError::usage(
                    "no API key: pass --key or set SWITCHBOARD_KEY to a tenant key (sbk_…)",
                )
            })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("switchboard-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::failed(format!("could not set up HTTP: {e}")))?;
        Ok(Self {
            http,
            base: url.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
        })
    }

    /// The server's base URL, as given.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`, decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> CliResult<T> {
        let (_, body) = self.send(Method::GET, path, None).await?;
        decode(body, path)
    }

    /// A JSON request; answers the status (2xx only) and the decoded body.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> CliResult<(StatusCode, T)> {
        let bytes = serde_json::to_vec(body).expect("a JSON value serialises");
        let (status, body) = self
            .send(method, path, Some(("application/json", bytes)))
            .await?;
        Ok((status, decode(body, path)?))
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> CliResult<()> {
        self.send(Method::DELETE, path, None).await.map(drop)
    }

    /// `POST path` with raw bytes (a component upload).
    pub async fn upload<T: DeserializeOwned>(
        &self,
        path: &str,
        bytes: Vec<u8>,
    ) -> CliResult<(StatusCode, T)> {
        let (status, body) = self
            .send(Method::POST, path, Some(("application/wasm", bytes)))
            .await?;
        Ok((status, decode(body, path)?))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> CliResult<(StatusCode, Vec<u8>)> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.key);
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport(e))?
            .to_vec();
        if status.is_success() {
            Ok((status, bytes))
        } else {
            Err(api_error(status, &bytes))
        }
    }

    fn transport(&self, e: reqwest::Error) -> CliError {
        let cause = root_cause(&e);
        if e.is_connect() {
            CliError::failed(format!(
                "cannot reach Switchboard at {}: {cause}; is `switchboard serve` running there? (set --url or SWITCHBOARD_URL)",
                self.base
            ))
        } else if e.is_timeout() {
            CliError::failed(format!(
                "Switchboard at {} did not answer in time ({cause})",
                self.base
            ))
        } else {
            CliError::failed(format!(
                "talking to Switchboard at {} failed: {cause}",
                self.base
            ))
        }
    }
}

/// The innermost error's text: "Connection refused (os error 111)" rather than reqwest's
/// "error sending request for url (…)".
fn root_cause(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    text
}

fn decode<T: DeserializeOwned>(body: Vec<u8>, path: &str) -> CliResult<T> {
    let body = if body.is_empty() {
        b"null".to_vec()
    } else {
        body
    };
    serde_json::from_slice(&body).map_err(|e| {
        CliError::failed(format!(
            "the server's answer to {path} is not what this client expects ({e}); is --url a Switchboard of the same version?"
        ))
    })
}

/// A non-2xx answer as an error: the API's own message, the status and kind, and one detail
/// line per refused field.
fn api_error(status: StatusCode, body: &[u8]) -> CliError {
    let Ok(Envelope { error }) = serde_json::from_slice::<Envelope>(body) else {
        let text = String::from_utf8_lossy(body);
        let excerpt: String = text.trim().chars().take(200).collect();
        return CliError::failed(format!(
            "the server answered {status} without a Switchboard error body{}",
            if excerpt.is_empty() {
                String::new()
            } else {
                format!(": {excerpt}")
            }
        ));
    };
    let code = status.as_u16();
    let hint = match status {
        StatusCode::UNAUTHORIZED => "; check --key or SWITCHBOARD_KEY",
        StatusCode::FORBIDDEN if error.kind == "forbidden" => "; use a key with scope 'manage'",
        _ => "",
    };
    let message = if error.fields.is_empty() {
        format!("{} ({code} {}){hint}", error.message, error.kind)
    } else {
        format!(
            "the server refused it ({code} {}), {} problem{}:",
            error.kind,
            error.fields.len(),
            if error.fields.len() == 1 { "" } else { "s" }
        )
    };
    CliError::failed(message).with_details(
        error
            .fields
            .into_iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_become_one_line_each() {
        let body = br#"{"error":{"kind":"invalid_request","message":"url: bad; method: worse",
            "fields":[{"field":"url","message":"bad"},{"field":"method","message":"worse"}]}}"#;
        let e = api_error(StatusCode::UNPROCESSABLE_ENTITY, body);
        assert_eq!(
            e.to_string(),
            "error: the server refused it (422 invalid_request), 2 problems:\n  url: bad\n  method: worse"
        );
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn a_refused_key_says_where_the_key_comes_from() {
        let body = br#"{"error":{"kind":"unauthorized","message":"the API key is unknown or has been revoked"}}"#;
        let e = api_error(StatusCode::UNAUTHORIZED, body);
        assert_eq!(
            e.message,
            "the API key is unknown or has been revoked (401 unauthorized); check --key or SWITCHBOARD_KEY"
        );
    }

    #[test]
    fn a_foreign_error_body_is_quoted_not_parsed() {
        let e = api_error(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(
            e.message,
            "the server answered 502 Bad Gateway without a Switchboard error body: <html>bad gateway</html>"
        );
    }

    #[test]
    fn url_and_key_are_checked_before_any_request() {
        assert!(Client::new("ftp://x", Some("k")).unwrap_err().usage);
        assert!(Client::new("not a url", Some("k")).unwrap_err().usage);
        let e = Client::new(DEFAULT_URL, None).unwrap_err();
        assert!(e.usage && e.message.contains("SWITCHBOARD_KEY"), "{e}");
        assert!(Client::new(DEFAULT_URL, Some("  ")).unwrap_err().usage);
    }
}
