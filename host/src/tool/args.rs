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

/// Most problems listed one by one; the rest are counted. Arguments come from the model and
/// from a params transform's guest, so neither can make an answer or a call-log record
/// grow with the number of keys it sends.
pub const MAX_LISTED_PROBLEMS: usize = 20;
/// Most problems the one-line summary spells out.
const SUMMARISED: usize = 5;
/// Most characters of a key or value quoted in a message.
const QUOTED_CHARS: usize = 64;

/// What is wrong with the arguments: the first [`MAX_LISTED_PROBLEMS`], and how many in all.
#[derive(Clone, Debug, PartialEq)]
pub struct Problems {
    /// The problems listed (at most [`MAX_LISTED_PROBLEMS`]).
    pub listed: Vec<ArgumentProblem>,
    /// How many problems there are, listed or not.
    pub total: usize,
}

impl Problems {
    fn push(&mut self, problem: impl FnOnce() -> ArgumentProblem) {
        if self.listed.len() < MAX_LISTED_PROBLEMS {
            self.listed.push(problem());
        }
        self.total += 1;
    }
}

impl std::ops::Deref for Problems {
    type Target = [ArgumentProblem];
    fn deref(&self) -> &[ArgumentProblem] {
        &self.listed
    }
}

/// `text`, or its first [`QUOTED_CHARS`] characters and an ellipsis: how a message quotes
/// a key or value it did not choose.
pub fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Checks `arguments` (a JSON object, or absent) against the tool's parameters.
pub fn check(spec: &ToolSpec, arguments: &Value) -> Result<Arguments, Problems> {
    let mut problems = Problems {
        listed: Vec::new(),
        total: 0,
    };
    let given = match arguments {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        other => {
            problems.push(|| ArgumentProblem {
                key: String::new(),
                problem: "wrong_type",
                message: format!("arguments must be a JSON object, got {}", type_name(other)),
            });
            return Err(problems);
        }
    };

    let mut checked = Map::new();
    for param in spec.all_params() {
        match given.get(&param.key) {
            None | Some(Value::Null) => {
                if param.required {
                    problems.push(|| ArgumentProblem {
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
            Some(value) if !param.kind.accepts(value) => problems.push(|| ArgumentProblem {
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
                Some(allowed) if !allowed.contains(value) => problems.push(|| ArgumentProblem {
                    key: param.key.clone(),
                    problem: "not_allowed",
                    message: format!(
                        "'{}' must be one of {}, got {}",
                        param.key,
                        allowed
                            .iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        quoted(&value.to_string())
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
            problems.push(|| ArgumentProblem {
                key: quoted(key),
                problem: "unknown",
                message: format!("'{}' is not a parameter of this tool", quoted(key)),
            });
        }
    }
    if problems.total == 0 {
        Ok(checked)
    } else {
        Err(problems)
    }
}

/// One message summarising all problems.
pub fn summarise(problems: &Problems) -> String {
    let parts: Vec<&str> = problems
        .iter()
        .take(SUMMARISED)
        .map(|p| p.message.as_str())
        .collect();
    let mut summary = format!("invalid arguments: {}", parts.join("; "));
    if problems.total > parts.len() {
        summary.push_str(&format!("; and {} more", problems.total - parts.len()));
    }
    summary
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

    #[test]
    fn many_problems_are_listed_up_to_a_cap_and_counted() {
        let mut many = serde_json::Map::new();
        for i in 0..1000 {
            many.insert(format!("{}{i}", "k".repeat(100)), json!(1));
        }
        many.insert("zip_code".into(), json!("94107"));
        let problems = check(&spec(), &Value::Object(many)).unwrap_err();
        assert_eq!(problems.total, 1000);
        assert_eq!(problems.len(), MAX_LISTED_PROBLEMS);
        assert!(
            problems.iter().all(|p| p.key.chars().count() <= 65),
            "keys quoted short"
        );
        let summary = summarise(&problems);
        assert!(summary.ends_with("; and 995 more"), "{summary}");
        assert!(summary.len() < 1000, "{summary}");
    }
}
