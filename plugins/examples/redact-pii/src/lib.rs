//! Example response transform: removes personal data from a CRM lookup before
//! it reaches the model.
//!
//! Every object key anywhere in the JSON (nested objects and arrays included)
//! that matches one of config `fields` (comma separated, case-insensitive,
//! default `email,phone,ssn,date_of_birth,address`) has its value replaced by
//! `"[redacted]"` (config `mode` = `mask`, the default) or is deleted (`mode` =
//! `remove`). A body that is not JSON is refused rather than passed on
//! unredacted. No speech; the count of redacted fields goes to the call log.
//! Demonstrates: fail-closed handling of sensitive data and `host.log`.

#![forbid(unsafe_code)]

mod redact;

use switchboard_plugin::{Call, Outcome, Refusal, Response, ResponseTransform, config, log};

pub use crate::redact::{Mode, redact};

/// The fields redacted when config `fields` is not set.
pub const DEFAULT_FIELDS: &str = "email,phone,ssn,date_of_birth,address";

struct RedactPii;

impl ResponseTransform for RedactPii {
    fn transform_response(_call: Call, response: Response) -> Result<Outcome, Refusal> {
        let mode = match config("mode").as_deref().map(str::trim) {
            None | Some("") | Some("mask") => Mode::Mask,
            Some("remove") => Mode::Remove,
            Some(other) => {
                return Err(Refusal::new(format!(
                    "config mode must be \"mask\" or \"remove\", got {other:?}"
                )));
            }
        };
        let fields: Vec<String> = config("fields")
            .as_deref()
            .unwrap_or(DEFAULT_FIELDS)
            .split(',')
            .map(|f| f.trim().to_lowercase())
            .filter(|f| !f.is_empty())
            .collect();

        let mut body: serde_json::Value = if response.body.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Null
        } else {
            response.json()?
        };
        let count = redact(&mut body, &fields, mode);
        log::info(format!("redacted {count} field(s)"));
        Outcome::json(&body, None)
    }
}

switchboard_plugin::export_response!(RedactPii);

#[cfg(test)]
mod tests {
    use switchboard_plugin::{Agent, testing};

    use super::*;

    fn run(body: &str) -> Result<serde_json::Value, Refusal> {
        let call = Call {
            id: "call_1".into(),
            tool: "lookup_customer".into(),
            agent: Agent::Assistant,
            conversation: None,
            arguments: vec![],
        };
        let response = Response {
            status: 200,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        };
        let outcome = RedactPii::transform_response(call, response)?;
        assert_eq!(outcome.speech, None);
        Ok(serde_json::from_str(&outcome.result).unwrap())
    }

    #[test]
    fn masks_default_fields() {
        testing::set_config(&[]);
        let out = run(r#"{"name": "Ada", "Email": "ada@example.com", "ssn": "123"}"#).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"name": "Ada", "Email": "[redacted]", "ssn": "[redacted]"})
        );
    }

    #[test]
    fn removes_configured_fields() {
        testing::set_config(&[("fields", "Name, notes"), ("mode", "remove")]);
        let out = run(r#"[{"name": "Ada", "email": "a@b.c", "notes": "x"}]"#).unwrap();
        assert_eq!(out, serde_json::json!([{"email": "a@b.c"}]));
    }

    #[test]
    fn refuses_what_it_cannot_redact() {
        testing::set_config(&[]);
        assert!(run("name: Ada").is_err());
        testing::set_config(&[("mode", "shred")]);
        assert!(run("{}").unwrap_err().detail.contains("shred"));
    }
}
