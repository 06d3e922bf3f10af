//! JSON arguments to and from the WIT `argument`/`value` types, and the call record a
//! component sees. Numbers cross as `f64`; one that is a whole number within 2^53 comes
//! back as a JSON integer, so `3` stays `3`, not `3.0`.

use serde_json::{Map, Number, Value};

use super::types;
use crate::tool::{args::quoted, model::Agent};

/// Largest integer an `f64` holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// The WIT form of checked arguments (strings, numbers and booleans only).
pub fn args_to_wit(args: &Map<String, Value>) -> Vec<types::Argument> {
    args.iter()
        .filter_map(|(key, value)| {
            let value = match value {
                Value::String(s) => types::Value::Text(s.clone()),
                Value::Number(n) => types::Value::Number(n.as_f64()?),
                Value::Bool(b) => types::Value::Boolean(*b),
                _ => return None,
            };
            Some(types::Argument {
                key: key.clone(),
                value,
            })
        })
        .collect()
}

/// JSON arguments from a component's answer; refuses duplicate keys and non-finite numbers.
pub fn wit_to_args(args: Vec<types::Argument>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for arg in args {
        let value = match arg.value {
            types::Value::Text(s) => Value::String(s),
            types::Value::Boolean(b) => Value::Bool(b),
            types::Value::Number(n) => Value::Number(number(n).ok_or_else(|| {
                format!("argument '{}' is not a finite number", quoted(&arg.key))
            })?),
        };
        if out.insert(arg.key.clone(), value).is_some() {
            return Err(format!("argument '{}' appears twice", quoted(&arg.key)));
        }
    }
    Ok(out)
}

fn number(n: f64) -> Option<Number> {
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        Some(Number::from(n as i64))
    } else {
        Number::from_f64(n)
    }
}

/// Bytes a value takes, for the output limit.
pub fn value_len(value: &types::Value) -> usize {
    match value {
        types::Value::Text(s) => s.len(),
        types::Value::Number(_) => 8,
        types::Value::Boolean(_) => 1,
    }
}

/// The WIT agent.
pub fn agent(agent: Agent) -> types::Agent {
    match agent {
        Agent::Receptionist => types::Agent::Receptionist,
        Agent::Assistant => types::Agent::Assistant,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trips_arguments_keeping_integers_integral() {
        let args = json!({"zip": "94107", "count": 3, "ratio": 2.5, "urgent": true});
        let map = args.as_object().unwrap();
        let back = wit_to_args(args_to_wit(map)).unwrap();
        assert_eq!(Value::Object(back), args);
    }

    #[test]
    fn refuses_duplicates_and_non_finite_numbers() {
        let dup = vec![
            types::Argument {
                key: "a".into(),
                value: types::Value::Boolean(true),
            },
            types::Argument {
                key: "a".into(),
                value: types::Value::Boolean(false),
            },
        ];
        assert!(wit_to_args(dup).unwrap_err().contains("twice"));
        let nan = vec![types::Argument {
            key: "n".into(),
            value: types::Value::Number(f64::NAN),
        }];
        assert!(wit_to_args(nan).unwrap_err().contains("finite"));
    }
}
