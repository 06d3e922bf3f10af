//! Tool arguments on the command line: `key=value`, coerced by the parameter's declared type
//! (`hours=2` is the number 2 when `hours` is a number, the text "2" when it is a string),
//! and `key:=<json>` for a raw JSON value (`zip:='"02134"'`, `tags:='["a"]'`). A key the tool
//! does not declare is sent as text, for the server to refuse with its own words.

use serde_json::{Map, Value};

use super::error::{CliError, CliResult};
use crate::tool::ParamType;

/// Builds the arguments object from `key=value` words, typing each with `declared`.
pub fn parse(
    words: &[String],
    declared: impl Fn(&str) -> Option<ParamType>,
) -> CliResult<Map<String, Value>> {
    let mut arguments = Map::new();
    for word in words {
        let (key, value) = word.split_once('=').ok_or_else(|| {
            CliError::usage(format!(
                "argument '{word}' is not key=value (or key:=<json> for a raw JSON value)"
            ))
        })?;
        let (key, value) = match key.strip_suffix(':') {
            Some(key) => (key, raw(key, value)?),
            None => (key, coerce(key, value, declared(key))?),
        };
        if key.is_empty() {
            return Err(CliError::usage(format!("argument '{word}' has no key")));
        }
        if arguments.insert(key.to_owned(), value).is_some() {
            return Err(CliError::usage(format!("argument '{key}' is given twice")));
        }
    }
    Ok(arguments)
}

fn raw(key: &str, text: &str) -> CliResult<Value> {
    serde_json::from_str(text).map_err(|e| {
        CliError::usage(format!(
            "argument '{key}:=' must be followed by JSON ({e}); use {key}=text for a string"
        ))
    })
}

fn coerce(key: &str, text: &str, kind: Option<ParamType>) -> CliResult<Value> {
    let wrong = |what: &str| {
        CliError::usage(format!(
            "argument '{key}' is a {what} for this tool, got '{text}' (send any JSON with {key}:=<json>)"
        ))
    };
    match kind {
        None | Some(ParamType::String) => Ok(Value::String(text.to_owned())),
        Some(ParamType::Boolean) => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong("boolean (true or false)")),
        },
        Some(ParamType::Number) => match serde_json::from_str::<Value>(text.trim()) {
            Ok(number @ Value::Number(_)) => Ok(number),
            _ => Err(wrong("number")),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn types(key: &str) -> Option<ParamType> {
        match key {
            "hours" => Some(ParamType::Number),
            "urgent" => Some(ParamType::Boolean),
            "zip" => Some(ParamType::String),
            _ => None,
        }
    }

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_take_the_declared_type() {
        let args = parse(
            &words(&[
                "hours=2.5",
                "urgent=true",
                "zip=02134",
                "note=a=b",
                "extra:=[1]",
            ]),
            types,
        )
        .unwrap();
        assert_eq!(
            Value::Object(args),
            json!({"hours": 2.5, "urgent": true, "zip": "02134", "note": "a=b", "extra": [1]})
        );
    }

    #[test]
    fn a_value_that_cannot_be_its_type_is_a_usage_error() {
        let e = parse(&words(&["hours=two"]), types).unwrap_err();
        assert!(e.usage);
        assert_eq!(
            e.message,
            "argument 'hours' is a number for this tool, got 'two' (send any JSON with hours:=<json>)"
        );
        assert!(parse(&words(&["urgent=yes"]), types).unwrap_err().usage);
        assert!(parse(&words(&["zip"]), types).unwrap_err().usage);
        assert!(parse(&words(&["x:={"]), types).unwrap_err().usage);
        assert!(parse(&words(&["=1"]), types).unwrap_err().usage);
        let twice = parse(&words(&["zip=1", "zip=2"]), types).unwrap_err();
        assert_eq!(twice.message, "argument 'zip' is given twice");
    }
}
