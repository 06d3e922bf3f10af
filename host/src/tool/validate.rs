//! Definition checks for webhook tools. Every problem is reported with the field it is about
//! (`url`, `body_params[1].enum[0]`, `headers[0].name`, …), all at once, so a tenant fixes a
//! definition in one round trip.
//!
//! The outbound guard is consulted for IP-literal URLs so a tool pointing at a blocked
//! address is refused when it is defined, not only when it is called.

use std::collections::HashSet;

use axum::http::{HeaderName, HeaderValue};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    model::{MAX_TIMEOUT_SECS, MIN_TIMEOUT_SECS, Param, ToolSpec},
    slug,
};
use crate::{
    secrets::SecretBox,
    webhook::{guard::NetPolicy, signing},
};

/// Longest tool name accepted.
pub const MAX_NAME: usize = 128;
/// Longest tool description accepted.
pub const MAX_DESCRIPTION: usize = 4096;
/// Longest parameter description accepted.
pub const MAX_PARAM_DESCRIPTION: usize = 1024;
/// Most parameters a tool may declare, across path, query and body.
pub const MAX_PARAMS: usize = 64;
/// Most values an `enum` may list.
pub const MAX_ENUM: usize = 100;
/// Most static headers a tool may declare.
pub const MAX_HEADERS: usize = 32;
/// Longest URL template accepted.
pub const MAX_URL: usize = 2048;
/// Longest header value accepted.
pub const MAX_HEADER_VALUE: usize = 8192;

/// Headers the host sets itself or that would break the HTTP exchange.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
    "proxy-connection",
    "expect",
    "switchboard-call-id",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// One problem with a definition.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the offending field, e.g. `query_params[0].key`.
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
}

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// The URL template of a tool split into its placeholders.
#[derive(Debug)]
pub struct UrlTemplate<'a> {
    /// Placeholder keys in order of appearance (may repeat).
    pub placeholders: Vec<&'a str>,
}

/// Finds the `{key}` placeholders of a URL template.
pub fn parse_template(url: &str) -> Result<UrlTemplate<'_>, String> {
    let mut placeholders = Vec::new();
    let mut rest = url;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err("has a '}' without a matching '{'".into());
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "has a '{' without a matching '}'".to_string())?;
        let key = &after[..close];
        if !is_valid_key(key) {
            return Err(format!(
                "placeholder {{{key}}} must be a parameter key ([A-Za-z0-9_.-], 1 to 64 characters)"
            ));
        }
        placeholders.push(key);
        rest = &after[close + 1..];
    }
    Ok(UrlTemplate { placeholders })
}

/// Replaces each `{key}` of a template with `fill(key)` (already percent-encoded).
pub fn fill_template(url: &str, mut fill: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(url.len() + 16);
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push_str(&fill(&after[..close]));
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Longest parameter key.
pub const MAX_KEY: usize = 64;

fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Checks a definition and, when it is sound, returns its function id.
///
/// Path parameters are normalised to `required: true` on success.
pub fn validate(spec: &mut ToolSpec, policy: &NetPolicy) -> Result<String, Vec<FieldError>> {
    let mut errors = Errors(Vec::new());

    let name = spec.name.trim();
    let function_id = if name.is_empty() {
        errors.add("name", "must not be empty");
        None
    } else if spec.name.chars().count() > MAX_NAME {
        errors.add("name", format!("must be at most {MAX_NAME} characters"));
        None
    } else {
        let id = slug::function_id(name);
        if id.is_none() {
            errors.add(
                "name",
                "must contain at least one ASCII letter or digit (the function id is derived from it)",
            );
        }
        id
    };

    if spec.description.trim().is_empty() {
        errors.add(
            "description",
            "must not be empty: it tells the model when to use the tool",
        );
    } else if spec.description.chars().count() > MAX_DESCRIPTION {
        errors.add(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters"),
        );
    }

    check_url(spec, policy, &mut errors);

    if !(MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS).contains(&spec.response_timeout_secs) {
        errors.add(
            "response_timeout_secs",
            format!(
                "must be between {MIN_TIMEOUT_SECS} and {MAX_TIMEOUT_SECS} seconds, got {}",
                spec.response_timeout_secs
            ),
        );
    }

    if !spec.method.has_body() && !spec.body_params.is_empty() {
        errors.add(
            "body_params",
            format!(
                "a {} request has no body; use query_params or path_params",
                spec.method.as_str()
            ),
        );
    }

    let total = spec.path_params.len() + spec.query_params.len() + spec.body_params.len();
    if total > MAX_PARAMS {
        errors.add(
            "body_params",
            format!("a tool may declare at most {MAX_PARAMS} parameters, got {total}"),
        );
    }

    let mut seen = HashSet::new();
    for (list, params) in [
        ("path_params", &spec.path_params),
        ("query_params", &spec.query_params),
        ("body_params", &spec.body_params),
    ] {
        for (i, param) in params.iter().enumerate() {
            check_param(&format!("{list}[{i}]"), param, &mut seen, &mut errors);
        }
    }
    for param in &mut spec.path_params {
        param.required = true;
    }

    check_headers(spec, &mut errors);
    check_transforms(spec, &mut errors);
    if let Some(secret) = &spec.signing_secret
        && !SecretBox::is_sealed(secret)
        && let Err(message) = signing::decode_secret(secret)
    {
        errors.add("signing_secret", message);
    }

    match (errors.0.is_empty(), function_id) {
        (true, Some(id)) => Ok(id),
        _ => Err(errors.0),
    }
}

fn check_url(spec: &ToolSpec, policy: &NetPolicy, errors: &mut Errors) {
    let raw = spec.url.trim();
    if raw.chars().count() > MAX_URL {
        errors.add("url", format!("must be at most {MAX_URL} characters"));
        return;
    }
    let template = match parse_template(raw) {
        Ok(t) => t,
        Err(e) => {
            errors.add("url", e);
            return;
        }
    };
    // Fill each placeholder with a marker, parse, and check the markers landed in the path.
    let probe = fill_template(raw, |key| format!("sbph0{}0x", key.replace(['.', '-'], "")));
    let url = match url::Url::parse(&probe) {
        Ok(u) => u,
        Err(e) => {
            errors.add("url", format!("is not a valid absolute URL: {e}"));
            return;
        }
    };
    if !matches!(url.scheme(), "http" | "https") {
        errors.add(
            "url",
            format!("must use http or https, not {}:", url.scheme()),
        );
        return;
    }
    if url.host_str().is_none_or(str::is_empty) {
        errors.add("url", "must name a host");
        return;
    }
    if !url.username().is_empty() || url.password().is_some() {
        errors.add(
            "url",
            "must not carry credentials; send them in a (secret) header instead",
        );
    }
    if url.fragment().is_some() {
        errors.add("url", "must not have a #fragment (it is never sent)");
    }
    let outside_path = format!(
        "{}{}",
        url.host_str().unwrap_or(""),
        url.query().unwrap_or("")
    );
    if outside_path.contains("sbph0") {
        errors.add(
            "url",
            "placeholders may only appear in the path, not in the host or query (use query_params)",
        );
    }
    if let Err(blocked) = policy.check_url(&url) {
        errors.add("url", blocked.to_string());
    }

    let declared: HashSet<&str> = spec.path_params.iter().map(|p| p.key.as_str()).collect();
    for key in &template.placeholders {
        if !declared.contains(key) {
            errors.add(
                "url",
                format!("placeholder {{{key}}} has no matching entry in path_params"),
            );
        }
    }
    let used: HashSet<&str> = template.placeholders.iter().copied().collect();
    for (i, param) in spec.path_params.iter().enumerate() {
        if !used.contains(param.key.as_str()) {
            errors.add(
                format!("path_params[{i}].key"),
                format!(
                    "'{}' does not appear as {{{}}} in the url",
                    param.key, param.key
                ),
            );
        }
    }
}

fn check_param<'a>(
    field: &str,
    param: &'a Param,
    seen: &mut HashSet<&'a str>,
    errors: &mut Errors,
) {
    if !is_valid_key(&param.key) {
        errors.add(
            format!("{field}.key"),
            "must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '-' or '.'",
        );
    } else if !seen.insert(param.key.as_str()) {
        errors.add(
            format!("{field}.key"),
            format!(
                "duplicate parameter key '{}' (keys are unique across path, query and body)",
                param.key
            ),
        );
    }
    if param.description.chars().count() > MAX_PARAM_DESCRIPTION {
        errors.add(
            format!("{field}.description"),
            format!("must be at most {MAX_PARAM_DESCRIPTION} characters"),
        );
    }
    if let Some(values) = &param.enum_values {
        if values.is_empty() {
            errors.add(
                format!("{field}.enum"),
                "must list at least one value (or be left out)",
            );
        }
        if values.len() > MAX_ENUM {
            errors.add(
                format!("{field}.enum"),
                format!("must list at most {MAX_ENUM} values"),
            );
        }
        let mut distinct: Vec<&Value> = Vec::new();
        for (j, value) in values.iter().enumerate() {
            if !param.kind.accepts(value) {
                errors.add(
                    format!("{field}.enum[{j}]"),
                    format!("{value} is not a {}", param.kind.as_str()),
                );
            } else if distinct.contains(&value) {
                errors.add(
                    format!("{field}.enum[{j}]"),
                    format!("{value} is listed twice"),
                );
            } else {
                distinct.push(value);
            }
        }
    }
}

/// Most configuration entries one attachment may carry.
pub const MAX_CONFIG_ENTRIES: usize = 64;
/// Longest configuration key, in characters.
pub const MAX_CONFIG_KEY: usize = 128;
/// Longest configuration value, in characters.
pub const MAX_CONFIG_VALUE: usize = 4096;

fn check_transforms(spec: &ToolSpec, errors: &mut Errors) {
    for (side, attachment) in [
        ("params", &spec.transforms.params),
        ("response", &spec.transforms.response),
    ] {
        let Some(attachment) = attachment else {
            continue;
        };
        let field = format!("transforms.{side}");
        if attachment.config.len() > MAX_CONFIG_ENTRIES {
            errors.add(
                format!("{field}.config"),
                format!("may hold at most {MAX_CONFIG_ENTRIES} entries"),
            );
        }
        for (key, value) in &attachment.config {
            if key.is_empty() || key.chars().count() > MAX_CONFIG_KEY {
                errors.add(
                    format!("{field}.config"),
                    format!("keys must be 1 to {MAX_CONFIG_KEY} characters"),
                );
            }
            if value.chars().count() > MAX_CONFIG_VALUE {
                errors.add(
                    format!("{field}.config.{key}"),
                    format!("values must be at most {MAX_CONFIG_VALUE} characters"),
                );
            }
        }
    }
}

/// Visible ASCII, spaces and tabs: what a header value may hold (the `http` crate would also
/// take bytes above 127, which no endpoint reads the same way).
fn is_header_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        && HeaderValue::from_str(value).is_ok()
}

fn check_headers(spec: &ToolSpec, errors: &mut Errors) {
    if spec.headers.len() > MAX_HEADERS {
        errors.add(
            "headers",
            format!("a tool may declare at most {MAX_HEADERS} headers"),
        );
    }
    let mut seen = HashSet::new();
    for (i, header) in spec.headers.iter().enumerate() {
        let field = format!("headers[{i}]");
        match HeaderName::from_bytes(header.name.as_bytes()) {
            Err(_) => errors.add(
                format!("{field}.name"),
                format!("'{}' is not a valid HTTP header name", header.name),
            ),
            Ok(name) => {
                if RESERVED_HEADERS.contains(&name.as_str()) || name.as_str().starts_with("proxy-")
                {
                    errors.add(
                        format!("{field}.name"),
                        format!(
                            "'{}' is set by Switchboard and cannot be overridden",
                            header.name
                        ),
                    );
                } else if !seen.insert(name.as_str().to_string()) {
                    errors.add(
                        format!("{field}.name"),
                        format!("header '{}' is declared twice", header.name),
                    );
                }
            }
        }
        match &header.value {
            None => errors.add(format!("{field}.value"), "is required"),
            Some(value) if value.len() > MAX_HEADER_VALUE => errors.add(
                format!("{field}.value"),
                format!("must be at most {MAX_HEADER_VALUE} bytes"),
            ),
            Some(value) if !is_header_value(value) => errors.add(
                format!("{field}.value"),
                "must be visible ASCII, spaces or tabs (no line breaks, control or non-ASCII characters)",
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(v: Value) -> ToolSpec {
        serde_json::from_value(v).expect("test spec parses")
    }

    fn seed() -> Value {
        json!({
            "name": "Check availability in area",
            "description": "Checks whether we service the caller's area.",
            "url": "https://plumbing.example.com/areas/check",
            "method": "POST",
            "body_params": [
                {"key": "zip_code", "type": "string", "description": "5-digit zip", "required": true},
                {"key": "service_type", "type": "string", "description": "what they need", "required": true}
            ]
        })
    }

    fn errors_of(v: Value) -> Vec<FieldError> {
        validate(&mut spec(v), &NetPolicy::default()).expect_err("should be refused")
    }

    fn fields_of(v: Value) -> Vec<String> {
        errors_of(v).into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn accepts_the_seed_example() {
        let mut s = spec(seed());
        assert_eq!(
            validate(&mut s, &NetPolicy::default()).unwrap(),
            "check_availability_in_area"
        );
        assert_eq!(s.response_timeout_secs, 20);
    }

    #[test]
    fn refuses_non_http_and_malformed_urls() {
        for url in [
            "ftp://example.com/x",
            "file:///etc/passwd",
            "not a url",
            "/relative/path",
            "http://",
        ] {
            let mut v = seed();
            v["url"] = json!(url);
            assert_eq!(fields_of(v), ["url"], "{url}");
        }
    }

    #[test]
    fn refuses_credentials_and_fragments_in_urls() {
        let mut v = seed();
        v["url"] = json!("https://user:pw@example.com/x");
        assert!(errors_of(v)[0].message.contains("credentials"));
        let mut v = seed();
        v["url"] = json!("https://example.com/x#frag");
        assert!(errors_of(v)[0].message.contains("fragment"));
    }

    #[test]
    fn refuses_blocked_ip_literals_at_definition_time() {
        for url in [
            "http://127.0.0.1/x",
            "http://169.254.169.254/latest",
            "http://10.0.0.1/",
        ] {
            let mut v = seed();
            v["url"] = json!(url);
            let errs = errors_of(v);
            assert_eq!(errs[0].field, "url", "{url}");
            assert!(
                errs[0].message.contains("blocked"),
                "{url}: {}",
                errs[0].message
            );
        }
    }

    #[test]
    fn placeholders_need_path_params_and_vice_versa() {
        let mut v = seed();
        v["url"] = json!("https://example.com/areas/{zip}/check");
        let errs = errors_of(v);
        assert!(errs[0].message.contains("{zip}"), "{errs:?}");

        let mut v = seed();
        v["path_params"] = json!([{"key": "area", "type": "string"}]);
        assert_eq!(fields_of(v), ["path_params[0].key"]);

        let mut v = seed();
        v["url"] = json!("https://example.com/areas/{area}");
        v["path_params"] = json!([{"key": "area", "type": "string"}]);
        let mut s = spec(v);
        validate(&mut s, &NetPolicy::default()).unwrap();
        assert!(s.path_params[0].required, "path params become required");
    }

    #[test]
    fn placeholders_only_in_the_path() {
        let mut v = seed();
        v["url"] = json!("https://{tenant}.example.com/x");
        v["path_params"] = json!([{"key": "tenant", "type": "string"}]);
        assert!(
            errors_of(v)
                .iter()
                .any(|e| e.message.contains("only appear in the path"))
        );
        let mut v = seed();
        v["url"] = json!("https://example.com/x?zip={zip}");
        v["path_params"] = json!([{"key": "zip", "type": "string"}]);
        assert!(
            errors_of(v)
                .iter()
                .any(|e| e.message.contains("only appear in the path"))
        );
    }

    #[test]
    fn unbalanced_braces_are_refused() {
        for url in [
            "https://example.com/{a",
            "https://example.com/a}",
            "https://example.com/{}",
        ] {
            let mut v = seed();
            v["url"] = json!(url);
            assert_eq!(fields_of(v), ["url"], "{url}");
        }
    }

    #[test]
    fn body_params_are_refused_on_get_and_delete() {
        for method in ["GET", "DELETE"] {
            let mut v = seed();
            v["method"] = json!(method);
            assert_eq!(fields_of(v), ["body_params"]);
        }
    }

    #[test]
    fn unknown_method_is_a_parse_error_naming_the_choices() {
        let mut v = seed();
        v["method"] = json!("TRACE");
        let err = serde_json::from_value::<ToolSpec>(v)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `TRACE`"), "{err}");
    }

    #[test]
    fn duplicate_keys_across_lists_are_refused() {
        let mut v = seed();
        v["query_params"] = json!([{"key": "zip_code", "type": "string"}]);
        assert_eq!(fields_of(v), ["body_params[0].key"]);
    }

    #[test]
    fn timeout_must_be_between_1_and_120() {
        for t in [0, 121, 1000] {
            let mut v = seed();
            v["response_timeout_secs"] = json!(t);
            assert_eq!(fields_of(v), ["response_timeout_secs"]);
        }
        for t in [1, 120] {
            let mut v = seed();
            v["response_timeout_secs"] = json!(t);
            validate(&mut spec(v), &NetPolicy::default()).unwrap();
        }
        // JSON Schema's integer: a whole number in decimal form is that number.
        for (t, read) in [(json!(20.0), 20), (json!(-1), 0), (json!(1e12), u32::MAX)] {
            let mut v = seed();
            v["response_timeout_secs"] = t;
            assert_eq!(spec(v).response_timeout_secs, read);
        }
        let mut v = seed();
        v["response_timeout_secs"] = json!(1.5);
        assert!(serde_json::from_value::<ToolSpec>(v).is_err());
    }

    #[test]
    fn enum_values_must_match_the_type_and_be_distinct() {
        let mut v = seed();
        v["body_params"][1]["enum"] = json!(["leak", 3, "leak"]);
        assert_eq!(
            fields_of(v),
            ["body_params[1].enum[1]", "body_params[1].enum[2]"]
        );
        let mut v = seed();
        v["body_params"][1]["enum"] = json!([]);
        assert_eq!(fields_of(v), ["body_params[1].enum"]);
    }

    #[test]
    fn bad_keys_names_and_descriptions_are_refused() {
        let mut v = seed();
        v["body_params"][0]["key"] = json!("zip code");
        assert_eq!(fields_of(v), ["body_params[0].key"]);
        let mut v = seed();
        v["name"] = json!("   ");
        v["description"] = json!("");
        assert_eq!(fields_of(v), ["name", "description"]);
        let mut v = seed();
        v["name"] = json!("???");
        assert_eq!(fields_of(v), ["name"]);
    }

    #[test]
    fn headers_are_checked() {
        let mut v = seed();
        v["headers"] = json!([
            {"name": "X-Api-Key", "value": "k", "secret": true},
            {"name": "bad header", "value": "v"},
            {"name": "Host", "value": "evil.example"},
            {"name": "x-api-key", "value": "again"},
            {"name": "X-Line", "value": "a\r\nInjected: yes"},
            {"name": "X-Missing"}
        ]);
        assert_eq!(
            fields_of(v),
            [
                "headers[1].name",
                "headers[2].name",
                "headers[3].name",
                "headers[4].value",
                "headers[5].value"
            ]
        );
    }

    #[test]
    fn fill_template_replaces_every_placeholder() {
        let filled = fill_template("https://x/{a}/b/{c}/{a}", |k| k.to_uppercase());
        assert_eq!(filled, "https://x/A/b/C/A");
    }
}
