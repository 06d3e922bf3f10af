//! The tools file `tools apply -f` reads: a YAML (or JSON) list of tool definitions in exactly
//! the shape `POST /v1/tools` takes — the same [`ToolSpec`] type, so there is one schema.
//!
//! Loading does everything that can fail before a single request is sent: parsing (unknown
//! fields are errors naming the path and line), `${VAR}` expansion from the environment (an
//! unset variable is an error), the server's own definition rules ([`validate`]), and
//! duplicate function ids. The outbound guard's verdict on a destination is left to the
//! server, which knows its `--allow-net`.

use std::path::Path;

use ipnet::IpNet;

use super::error::{CliError, CliResult};
use crate::{
    tool::{ToolSpec, slug, validate},
    webhook::guard::NetPolicy,
};

/// One tool of the file, checked.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The definition with `${VAR}`s expanded, normalised as the server normalises it.
    pub spec: ToolSpec,
    /// The function id the server will derive from the name: what apply matches on.
    pub function_id: String,
}

/// Reads, expands and checks the tools file at `path`.
pub fn load(path: &Path) -> CliResult<Vec<Entry>> {
    load_with(path, |name| std::env::var(name).ok())
}

/// [`load`] with the environment given (tests).
pub fn load_with(path: &Path, env: impl Fn(&str) -> Option<String>) -> CliResult<Vec<Entry>> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::failed(format!("cannot read {shown}: {e}")))?;
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    let specs = parse(&text, is_json).map_err(|e| e.context(shown.to_string()))?;
    check(specs, &env).map_err(|e| e.context(shown.to_string()))
}

/// Parses the file's text: a list of tool definitions.
pub fn parse(text: &str, is_json: bool) -> CliResult<Vec<ToolSpec>> {
    if is_json {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            CliError::failed(format!("{}: {inner}", json_path(&path)))
        })
    } else {
        yaml_serde::from_str(text).map_err(|e| CliError::failed(yaml_message(&e)))
    }
}

/// `[2].headers[0]` rather than serde_path_to_error's `.` for the root and `[2]`-less forms.
fn json_path(path: &str) -> String {
    if path == "." {
        "the file".to_owned()
    } else {
        path.to_owned()
    }
}

/// The YAML error with the path the parser tracked and the line it found it on.
fn yaml_message(e: &yaml_serde::Error) -> String {
    let text = e.to_string();
    // The parser writes the path from the root as `.[1].url`; the rest of the client `[1].url`.
    let text = match text.strip_prefix('.') {
        Some(rest) if rest.starts_with('[') => rest.to_owned(),
        _ => text,
    };
    if text.starts_with("invalid type: map") && text.contains("expected a sequence") {
        return format!("{text}; the file must be a list of tools (each starting with '- ')");
    }
    text
}

/// Expands and validates every definition; reports every problem of every tool at once.
fn check(specs: Vec<ToolSpec>, env: &dyn Fn(&str) -> Option<String>) -> CliResult<Vec<Entry>> {
    // Every destination is the server's to judge (it knows its --allow-net): open them all.
    let all: Vec<IpNet> = vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()];
    let policy = NetPolicy::new(all);
    let mut problems = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    // (index, name, function id) of every tool so far, valid or not, for the duplicate check.
    let mut seen: Vec<(usize, String, String)> = Vec::new();
    for (index, mut spec) in specs.into_iter().enumerate() {
        let label = format!("[{index}] ({})", spec.name.trim());
        if let Some(function_id) = slug::function_id(spec.name.trim()) {
            if let Some((first, name, _)) = seen.iter().find(|(_, _, id)| *id == function_id) {
                problems.push(format!(
                    "{label}: name: gives the function id '{function_id}', as [{first}] ({name}) does; function ids must be unique"
                ));
            }
            seen.push((index, spec.name.trim().to_owned(), function_id));
        }
        let mut ok = true;
        for problem in expand_spec(&mut spec, env) {
            problems.push(format!("{label}: {problem}"));
            ok = false;
        }
        if !ok {
            continue;
        }
        // An empty signing secret means "none" in a file; the API reads "" as "remove".
        if spec.signing_secret.as_deref() == Some("") {
            spec.signing_secret = None;
        }
        match validate::validate(&mut spec, &policy) {
            Err(fields) => problems.extend(
                fields
                    .into_iter()
                    .map(|f| format!("{label}: {}: {}", f.field, f.message)),
            ),
            Ok(function_id) => {
                entries.push(Entry { spec, function_id });
            }
        }
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        let n = problems.len();
        Err(CliError::failed(format!(
            "{n} problem{} found; nothing was sent to the server:",
            if n == 1 { "" } else { "s" }
        ))
        .with_details(problems))
    }
}

/// Expands `${VAR}` in every string value of a definition (not in keys or header names,
/// which are identifiers); answers one problem per unset variable or malformed reference.
fn expand_spec(spec: &mut ToolSpec, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut go = |field: String, value: &mut String| match expand(value, env) {
        Ok(expanded) => *value = expanded,
        Err(problem) => problems.push(format!("{field}: {problem}")),
    };
    go("name".into(), &mut spec.name);
    go("description".into(), &mut spec.description);
    go("url".into(), &mut spec.url);
    for (list, params) in [
        ("path_params", &mut spec.path_params),
        ("query_params", &mut spec.query_params),
        ("body_params", &mut spec.body_params),
    ] {
        for (i, param) in params.iter_mut().enumerate() {
            go(format!("{list}[{i}].description"), &mut param.description);
        }
    }
    for (i, header) in spec.headers.iter_mut().enumerate() {
        if let Some(value) = header.value.as_mut() {
            go(format!("headers[{i}].value"), value);
        }
    }
    if let Some(secret) = spec.signing_secret.as_mut() {
        go("signing_secret".into(), secret);
    }
    for (side, attachment) in [
        ("params", &mut spec.transforms.params),
        ("response", &mut spec.transforms.response),
    ] {
        if let Some(attachment) = attachment {
            go(
                format!("transforms.{side}.component"),
                &mut attachment.component,
            );
            for (key, value) in attachment.config.iter_mut() {
                go(format!("transforms.{side}.config.{key}"), value);
            }
        }
    }
    problems
}

/// Replaces each `${NAME}` with the variable's value; `$${` stands for a literal `${`.
pub fn expand(value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let close = tail
                .find('}')
                .ok_or_else(|| "'${' without a closing '}'".to_owned())?;
            let name = &tail[..close];
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "'${{{name}}}' is not a variable reference (letters, digits and '_'; write $${{ for a literal '${{')"
                ));
            }
            let found = env(name).ok_or_else(|| {
                format!("the environment variable {name} is not set (referenced as ${{{name}}})")
            })?;
            out.push_str(&found);
            rest = &tail[close + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "TOKEN").then(|| "s3cret".to_owned())
    }

    #[test]
    fn variables_expand_and_unset_ones_are_named() {
        assert_eq!(expand("Bearer ${TOKEN}", &env).unwrap(), "Bearer s3cret");
        assert_eq!(expand("$5 and $${TOKEN}", &env).unwrap(), "$5 and ${TOKEN}");
        assert_eq!(
            expand("${MISSING}", &env).unwrap_err(),
            "the environment variable MISSING is not set (referenced as ${MISSING})"
        );
        assert!(expand("${TOKEN", &env).unwrap_err().contains("closing"));
        assert!(
            expand("${1X}", &env)
                .unwrap_err()
                .contains("not a variable")
        );
    }

    #[test]
    fn unknown_fields_name_the_path_and_line() {
        let text = "- name: A\n  description: d\n  url: https://a.example.com\n  method: GET\n  colour: red\n";
        let e = parse(text, false).unwrap_err();
        assert!(e.message.contains("unknown field `colour`"), "{e}");
        assert!(e.message.contains("line 5"), "{e}");
        assert!(e.message.starts_with("[0]: unknown field"), "{e}");
    }

    #[test]
    fn json_files_name_the_path_too() {
        let text = r#"[{"name": "A", "description": "d", "url": "https://a.example.com", "method": "GET",
            "headers": [{"name": "X", "valeu": "1"}]}]"#;
        let e = parse(text, true).unwrap_err();
        assert!(
            e.message
                .starts_with("[0].headers[0].valeu: unknown field `valeu`"),
            "{e}"
        );
        assert!(e.message.contains("line 2"), "{e}");
    }

    #[test]
    fn a_map_instead_of_a_list_says_what_the_file_must_be() {
        let e = parse("name: A\n", false).unwrap_err();
        assert!(e.message.contains("must be a list of tools"), "{e}");
    }

    #[test]
    fn every_problem_of_every_tool_is_reported_at_once() {
        let text = "
- name: Lookup
  description: d
  url: not a url
  method: GET
- name: lookup
  description: d
  url: https://a.example.com
  method: GET
  headers: [{name: Authorization, value: 'Bearer ${NOPE}', secret: true}]
- name: Lookup!
  description: ''
  url: https://a.example.com
  method: GET
";
        let specs = parse(text, false).unwrap();
        let e = check(specs, &env).unwrap_err();
        assert_eq!(
            e.message,
            "5 problems found; nothing was sent to the server:"
        );
        assert!(e.details[0].starts_with("[0] (Lookup): url: is not a valid absolute URL"));
        assert!(e.details[1].starts_with(
            "[1] (lookup): name: gives the function id 'lookup', as [0] (Lookup) does"
        ));
        assert_eq!(
            e.details[2],
            "[1] (lookup): headers[0].value: the environment variable NOPE is not set (referenced as ${NOPE})"
        );
        assert!(e.details[3].starts_with("[2] (Lookup!): name: gives the function id 'lookup'"));
        assert!(e.details[4].starts_with("[2] (Lookup!): description: must not be empty"));
    }

    #[test]
    fn path_params_are_normalised_as_the_server_does() {
        let text = "
- name: Stock
  description: d
  url: https://inventory.example.com/parts/{part}
  method: GET
  path_params: [{key: part, type: string}]
";
        let entries = check(parse(text, false).unwrap(), &env).unwrap();
        assert!(entries[0].spec.path_params[0].required);
        assert_eq!(entries[0].function_id, "stock");
    }
}
