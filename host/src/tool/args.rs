//! Argument checks at invocation time: the model's arguments against the tool's declared
//! parameters. Every problem is collected so the model can fix them all in one retry.
//!
//! `null` counts as "not given" — OpenAI's strict mode sends optional parameters as `null`.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::model::ToolSpec;

/// One thing wrong with the arguments.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ArgumentProblem {
    /// The argument's key.
    pub key: String,
    /// `missing`, `unknown`, `wrong_type` or `not_allowed`.
    pub problem: &'static str,
    /// A sentence the model can act on.
    pub message: String,
}

/// The checked arguments, `null`s removed.
pub type Arguments = Map<String, Value>;

/// Checks `arguments` (a JSON object, or absent) against the tool's parameters.
pub fn check(spec: &ToolSpec, arguments: &Value) -> Result<Arguments, Vec<ArgumentProblem>> {
    let given = match arguments {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        other => {
            return Err(vec![ArgumentProblem {
                key: String::new(),
                problem: "wrong_type",
                message: format!("arguments must be a JSON object, got {}", type_name(other)),
            }]);
        }
    };

    let mut problems = Vec::new();
    let mut checked = Map::new();
    for param in spec.all_params() {
        match given.get(&param.key) {
            None | Some(Value::Null) => {
                if param.required {
                    problems.push(ArgumentProblem {
                        key: param.key.clone(),
                        problem: "missing",
                        message: format!(
                            "'{}' is required ({}{})",
                            param.key,
                            param.kind.as_str(),
                            describe(&param.description)
                        ),
                    });
                }
            }
            Some(value) if !param.kind.accepts(value) => problems.push(ArgumentProblem {
                key: param.key.clone(),
                problem: "wrong_type",
                message: format!(
                    "'{}' must be a {}, got {}",
                    param.key,
                    param.kind.as_str(),
                    type_name(value)
                ),
            }),
            Some(value) => match &param.enum_values {
                Some(allowed) if !allowed.contains(value) => problems.push(ArgumentProblem {
                    key: param.key.clone(),
                    problem: "not_allowed",
                    message: format!(
                        "'{}' must be one of {}, got {value}",
                        param.key,
                        allowed
                            .iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
                _ => {
                    checked.insert(param.key.clone(), value.clone());
                }
            },
        }
    }
    for key in given.keys() {
        if !spec.all_params().any(|p| &p.key == key) {
            problems.push(ArgumentProblem {
                key: key.clone(),
                problem: "unknown",
                message: format!("'{key}' is not a parameter of this tool"),
            });
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    }
}

/// One message summarising all problems.
pub fn summarise(problems: &[ArgumentProblem]) -> String {
    let parts: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    format!("invalid arguments: {}", parts.join("; "))
}

fn describe(description: &str) -> String {
    if description.is_empty() {
        String::new()
    } else {
        format!(": {description}")
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec() -> ToolSpec {
        serde_json::from_value(json!({
            "name": "Book visit",
            "description": "Books a visit.",
            "url": "https://example.com/visits",
            "method": "POST",
            "query_params": [{"key": "urgent", "type": "boolean"}],
            "body_params": [
                {"key": "zip_code", "type": "string", "required": true, "description": "5-digit zip"},
                {"key": "hours", "type": "number"},
                {"key": "service_type", "type": "string", "enum": ["leak", "drain"]}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn accepts_good_arguments_and_drops_nulls() {
        let args = check(
            &spec(),
            &json!({"zip_code": "94107", "hours": 2.5, "service_type": "leak", "urgent": null}),
        )
        .unwrap();
        assert_eq!(args.len(), 3);
        assert!(!args.contains_key("urgent"));
    }

    #[test]
    fn reports_every_problem() {
        let problems = check(
            &spec(),
            &json!({"hours": "two", "service_type": "roof", "colour": "red", "urgent": 1}),
        )
        .unwrap_err();
        let summary: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.key.as_str(), p.problem))
            .collect();
        assert_eq!(
            summary,
            [
                ("urgent", "wrong_type"),
                ("zip_code", "missing"),
                ("hours", "wrong_type"),
                ("service_type", "not_allowed"),
                ("colour", "unknown")
            ]
        );
        assert!(summarise(&problems).contains("'zip_code' is required (string: 5-digit zip)"));
    }

    #[test]
    fn arguments_must_be_an_object() {
        let problems = check(&spec(), &json!(["94107"])).unwrap_err();
        assert_eq!(
            problems[0].message,
            "arguments must be a JSON object, got an array"
        );
        // Absent arguments are an empty object: only the required one is missing.
        let problems = check(&spec(), &Value::Null).unwrap_err();
        assert_eq!(problems.len(), 1);
    }
}
