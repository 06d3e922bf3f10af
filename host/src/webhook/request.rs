//! Building the outbound request: path parameters percent-encoded into the URL template,
//! query parameters appended, body parameters as one JSON object, the tool's static headers
//! and the call id.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::tool::{ToolSpec, args::Arguments, model::Method, validate::fill_template};

/// Everything but RFC 3986 "unreserved" is encoded in a path segment, `/` included, so a
/// value can never add segments, a query or a fragment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The request, ready to send.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// The HTTP method.
    pub method: Method,
    /// The final URL.
    pub url: url::Url,
    /// Headers to send (static headers, call id, content type).
    pub headers: HeaderMap,
    /// The JSON body, for POST/PUT/PATCH.
    pub body: Option<Vec<u8>>,
}

/// Why a request could not be built from otherwise valid arguments.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// Text form of an argument for a path segment or a query string.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The body parameters present in the arguments, as one JSON object in key order, written
/// straight from the arguments (no copy of them is built).
struct BodyObject<'a> {
    spec: &'a ToolSpec,
    args: &'a Arguments,
}

impl Serialize for BodyObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let params = &self.spec.body_params;
        serializer.collect_map(
            self.args
                .iter()
                .filter(|(key, _)| params.iter().any(|p| &p.key == *key)),
        )
    }
}

/// Builds the request for `spec` with checked `args`. `extra_headers` are added last
/// (the call id, signatures).
pub fn build(
    spec: &ToolSpec,
    args: &Arguments,
    extra_headers: &[(HeaderName, String)],
) -> Result<OutboundRequest, BuildError> {
    let mut url = if let Some(fixed) = spec.fixed_url() {
        fixed.cloned()
    } else {
        let mut bad_segment = None;
        let filled = fill_template(spec.url.trim(), |key| {
            let text = args.get(key).map(value_text).unwrap_or_default();
            if text.is_empty() || text == "." || text == ".." {
                bad_segment = Some(key.to_owned());
            }
            utf8_percent_encode(&text, PATH_SEGMENT).to_string()
        });
        if let Some(key) = bad_segment {
            return Err(BuildError(format!(
                "'{key}' is used in the URL path and cannot be empty, '.' or '..'"
            )));
        }
        url::Url::parse(&filled)
    }
    .map_err(|e| BuildError(format!("the tool's URL could not be built: {e}")))?;

    let query: Vec<(&str, String)> = spec
        .query_params
        .iter()
        .filter_map(|p| args.get(&p.key).map(|v| (p.key.as_str(), value_text(v))))
        .collect();
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (key, value) in &query {
            pairs.append_pair(key, value);
        }
    }

    let mut headers = HeaderMap::new();
    for h in &spec.headers {
        let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            h.value.as_deref().map(HeaderValue::from_str),
        ) else {
            return Err(BuildError(format!("header '{}' is not valid", h.name)));
        };
        headers.append(name, value);
    }
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/plain;q=0.9, */*;q=0.5"),
    );

    let body = if spec.method.has_body() {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Some(serde_json::to_vec(&BodyObject { spec, args }).expect("a JSON map serialises"))
    } else {
        None
    };

    for (name, value) in extra_headers {
        let value = HeaderValue::from_str(value)
            .map_err(|_| BuildError(format!("header '{name}' is not valid")))?;
        headers.insert(name.clone(), value);
    }

    Ok(OutboundRequest {
        method: spec.method,
        url,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(v: Value) -> ToolSpec {
        serde_json::from_value(v).unwrap()
    }

    fn args(v: Value) -> Arguments {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn places_path_query_and_body_parameters() {
        let spec = spec(json!({
            "name": "t", "description": "d", "method": "POST",
            "url": "https://api.example.com/v1/areas/{zip}/slots?src=ai",
            "path_params": [{"key": "zip", "type": "string"}],
            "query_params": [{"key": "days", "type": "number"}, {"key": "urgent", "type": "boolean"}],
            "body_params": [{"key": "service", "type": "string"}, {"key": "notes", "type": "string"}],
            "headers": [{"name": "X-Api-Key", "value": "k1"}]
        }));
        let req = build(
            &spec,
            &args(json!({"zip": "941 07/..", "days": 3, "urgent": true, "service": "leak"})),
            &[(
                HeaderName::from_static("switchboard-call-id"),
                "call_1".into(),
            )],
        )
        .unwrap();
        assert_eq!(
            req.url.as_str(),
            "https://api.example.com/v1/areas/941%2007%2F../slots?src=ai&days=3&urgent=true"
        );
        assert_eq!(req.body.unwrap(), br#"{"service":"leak"}"#);
        assert_eq!(req.headers["x-api-key"], "k1");
        assert_eq!(req.headers["switchboard-call-id"], "call_1");
        assert_eq!(req.headers["content-type"], "application/json");
    }

    #[test]
    fn path_values_cannot_escape_their_segment() {
        let spec = spec(json!({
            "name": "t", "description": "d", "method": "GET",
            "url": "https://api.example.com/users/{id}/profile",
            "path_params": [{"key": "id", "type": "string"}]
        }));
        for bad in ["..", ".", ""] {
            let err = build(&spec, &args(json!({"id": bad})), &[]).unwrap_err();
            assert!(err.0.contains("cannot be empty"), "{bad}");
        }
        let req = build(&spec, &args(json!({"id": "a?b#c@d"})), &[]).unwrap();
        assert_eq!(req.url.path(), "/users/a%3Fb%23c%40d/profile");
        assert_eq!(req.url.host_str(), Some("api.example.com"));
        assert!(req.body.is_none());
    }

    #[test]
    fn a_fixed_url_is_parsed_once_and_never_changed_by_a_call() {
        let spec = spec(json!({
            "name": "t", "description": "d", "method": "GET",
            "url": "https://api.example.com/slots?src=ai",
            "query_params": [{"key": "days", "type": "number"}]
        }));
        for days in [3, 4] {
            let req = build(&spec, &args(json!({"days": days})), &[]).unwrap();
            assert_eq!(
                req.url.as_str(),
                format!("https://api.example.com/slots?src=ai&days={days}")
            );
        }
        assert!(spec.fixed_url().is_some());
        let templated = self::spec(json!({
            "name": "t", "description": "d", "method": "GET",
            "url": "https://api.example.com/users/{id}",
            "path_params": [{"key": "id", "type": "string"}]
        }));
        assert!(templated.fixed_url().is_none());
    }
}
