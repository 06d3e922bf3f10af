//! What the call log must never keep.
//!
//! Three rules, applied to everything a record holds (arguments, URL, headers, response
//! excerpt, error text, plugin log lines):
//!
//! 1. The values of the tool's secret headers (and its signing secret), opened for this call,
//!    are replaced wherever they appear — an endpoint that echoes its `Authorization` header
//!    or a plugin that prints its input cannot leak them into the log.
//! 2. Arguments of parameters marked `sensitive` are replaced — and, like secrets, their
//!    values are scrubbed from free text (an endpoint echoing a card number).
//! 3. In the URL, a password in the userinfo and the values of credential-looking query
//!    parameters (`api_key`, `token`, `signature`, …) are replaced.

use serde_json::{Map, Value};
use url::Url;

use crate::tool::ToolSpec;

/// What replaces a value the log must not keep.
pub const REDACTED: &str = "[redacted]";

/// Secret values shorter than this are not searched for in free text (a two-character
/// secret would shred every excerpt); they are still never logged where they are known.
const MIN_SCRUBBED_LEN: usize = 4;

/// Query parameter names (compared in lowercase, without `-` and `_`) whose values are
/// credentials.
const CREDENTIAL_NAMES: &[&str] = &[
    "apikey",
    "key",
    "token",
    "accesstoken",
    "authtoken",
    "auth",
    "secret",
    "clientsecret",
    "password",
    "pass",
    "pwd",
    "sig",
    "signature",
    "code",
];

/// The secret values of one call.
#[derive(Debug, Default, Clone)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// Remembers `value` as secret.
    pub fn add(&mut self, value: &str) {
        if value.len() >= MIN_SCRUBBED_LEN && !self.0.iter().any(|s| s == value) {
            self.0.push(value.to_owned());
            // Longest first, so a secret containing another is replaced whole.
            self.0.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `text` with every known secret replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// Whether no secret is known (nothing to scrub).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Scrubs every string (and object key) inside `value`.
    pub fn scrub_value(&self, value: &mut Value) {
        if self.0.is_empty() {
            return;
        }
        match value {
            Value::String(s) => *s = self.scrub(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_value(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut v) in entries {
                    self.scrub_value(&mut v);
                    map.insert(self.scrub(&key), v);
                }
            }
            _ => {}
        }
    }
}

/// Remembers the values of `sensitive` parameters in `arguments` as secret.
pub fn sensitive_values(spec: &ToolSpec, arguments: &Value, secrets: &mut Secrets) {
    let Value::Object(map) = arguments else {
        return;
    };
    for param in spec.all_params().filter(|p| p.sensitive) {
        match map.get(&param.key) {
            Some(Value::String(s)) => secrets.add(s),
            Some(Value::Number(n)) => secrets.add(&n.to_string()),
            _ => {}
        }
    }
}

/// `arguments` with the values of `sensitive` parameters replaced.
pub fn arguments(spec: &ToolSpec, arguments: &Value) -> Value {
    let Value::Object(map) = arguments else {
        return arguments.clone();
    };
    let redacted: Map<String, Value> = map
        .iter()
        .map(|(key, value)| {
            let sensitive = spec.all_params().any(|p| p.sensitive && &p.key == key);
            let value = if sensitive {
                Value::String(REDACTED.to_owned())
            } else {
                value.clone()
            };
            (key.clone(), value)
        })
        .collect();
    Value::Object(redacted)
}

/// `url` with its userinfo password and credential-looking query values replaced.
pub fn url(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some(REDACTED));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if is_credential_name(&name) {
                    REDACTED.to_owned()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

fn is_credential_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect();
    CREDENTIAL_NAMES.contains(&folded.as_str())
        || folded.ends_with("apikey")
        || folded.ends_with("token")
        || folded.ends_with("secret")
        || folded.ends_with("password")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn known_secrets_are_scrubbed_everywhere_longest_first() {
        let mut secrets = Secrets::default();
        secrets.add("Bearer sk_live_abcdef");
        secrets.add("sk_live_abcdef");
        secrets.add("ab"); // too short to search for
        let mut value = json!({"echo": "got Bearer sk_live_abcdef and sk_live_abcdef",
            "sk_live_abcdef": [1, "x sk_live_abcdef"], "ab": "ab"});
        secrets.scrub_value(&mut value);
        assert_eq!(
            value,
            json!({"echo": "got [redacted] and [redacted]",
                "[redacted]": [1, "x [redacted]"], "ab": "ab"})
        );
    }

    #[test]
    fn credential_query_values_and_passwords_leave_the_url() {
        let u = Url::parse(
            "https://user:hunter22@api.example.com/x?zip=94107&api_key=K1&X-Auth-Token=T&sig=S&page=2",
        )
        .unwrap();
        assert_eq!(
            url(&u),
            "https://user:%5Bredacted%5D@api.example.com/x?zip=94107&api_key=%5Bredacted%5D\
             &X-Auth-Token=%5Bredacted%5D&sig=%5Bredacted%5D&page=2"
        );
        let plain = Url::parse("https://api.example.com/areas/94107").unwrap();
        assert_eq!(url(&plain), "https://api.example.com/areas/94107");
    }
}
