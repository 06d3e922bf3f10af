//! Conveniences on the generated WIT types, so a hook reads like ordinary Rust.
//!
//! Fallible helpers return [`Refusal`], so a hook can use `?` and still answer
//! with a well-formed refusal rather than a trap.

use serde::{Serialize, de::DeserializeOwned};

use crate::{Argument, Call, Outcome, Refusal, Response, Value};

impl Value {
    /// The text, if this is a `text` value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is a `number` value.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The flag, if this is a `boolean` value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Boolean(b)
    }
}

impl Argument {
    /// An argument named `key` with `value` (`&str`, `String`, `f64` or `bool`).
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Argument {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl Call {
    /// The value of the argument named `key`, if the call has one.
    pub fn argument(&self, key: &str) -> Option<&Value> {
        self.arguments
            .iter()
            .find(|a| a.key == key)
            .map(|a| &a.value)
    }

    /// The argument `key` as text; `None` if absent or not text.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.argument(key).and_then(Value::as_text)
    }

    /// The argument `key` as a number; `None` if absent or not a number.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.argument(key).and_then(Value::as_number)
    }

    /// The argument `key` as a boolean; `None` if absent or not a boolean.
    pub fn boolean(&self, key: &str) -> Option<bool> {
        self.argument(key).and_then(Value::as_bool)
    }
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<&str, Refusal> {
        std::str::from_utf8(&self.body)
            .map_err(|e| Refusal::new(format!("response body is not UTF-8: {e}")))
    }

    /// The body parsed as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Refusal> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Refusal::new(format!("response body is not the expected JSON: {e}")))
    }
}

impl Outcome {
    /// An outcome whose result is `value` serialised as JSON, with optional speech.
    pub fn json(value: &impl Serialize, speech: Option<String>) -> Result<Self, Refusal> {
        let result = serde_json::to_string(value)
            .map_err(|e| Refusal::new(format!("result could not be serialised as JSON: {e}")))?;
        Ok(Outcome { result, speech })
    }
}

impl Refusal {
    /// A refusal with `detail` for the call log and nothing for the caller (the
    /// host's generic fallback is spoken). Add words with [`Refusal::say`].
    pub fn new(detail: impl Into<String>) -> Self {
        Refusal {
            say: None,
            detail: detail.into(),
        }
    }

    /// Sets what the receptionist says to the caller.
    pub fn say(mut self, words: impl Into<String>) -> Self {
        self.say = Some(words.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Agent, Header};

    fn call() -> Call {
        Call {
            id: "call_1".into(),
            tool: "t".into(),
            agent: Agent::Receptionist,
            conversation: None,
            arguments: vec![
                Argument::new("zip", "94107"),
                Argument::new("n", 2.0),
                Argument::new("b", true),
            ],
        }
    }

    #[test]
    fn reads_arguments_by_key_and_type() {
        let c = call();
        assert_eq!(c.text("zip"), Some("94107"));
        assert_eq!(c.number("n"), Some(2.0));
        assert_eq!(c.boolean("b"), Some(true));
        assert_eq!(c.text("n"), None);
        assert_eq!(c.argument("missing"), None);
    }

    #[test]
    fn response_json_and_refusal() {
        let r = Response {
            status: 200,
            headers: vec![Header {
                name: "content-type".into(),
                value: "application/json".into(),
            }],
            body: br#"{"a":1}"#.to_vec(),
        };
        assert!(r.is_success());
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        let v: serde_json::Value = r.json().unwrap();
        assert_eq!(v["a"], 1);

        let bad = Response {
            body: b"nope".to_vec(),
            ..r
        };
        let refusal = bad.json::<serde_json::Value>().unwrap_err().say("sorry");
        assert_eq!(refusal.say.as_deref(), Some("sorry"));
        assert!(refusal.detail.contains("not the expected JSON"));
    }

    #[test]
    fn outcome_json_serialises() {
        let o = Outcome::json(&serde_json::json!({"ok": true}), None).unwrap();
        assert_eq!(o.result, r#"{"ok":true}"#);
    }
}
