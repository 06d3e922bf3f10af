//! `switchboard tools apply -f FILE`: make the tenant's tools match a file kept in git.
//!
//! Tools are matched by function id (derived from `name`). A tool missing on the server is
//! created; one whose definition differs is replaced (`PUT`), and the fields that differ are
//! named; an identical one is left alone; with `--prune`, a tool not in the file is deleted.
//! The whole file is checked before anything is written, and the first refusal stops the run.
//!
//! Secrets are write-only: the server never returns a secret header's value or the signing
//! secret, so they cannot be compared. The rule: secrets are sent when a tool is created,
//! whenever anything else about it changed (reported as "secrets re-sent"), and for every
//! tool that has any when `--resend-secrets` is given — the way to roll a secret's value.
//! Adding or removing a secret header, or signing being turned on or off, is a visible change.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{client::Client, error::CliResult, manifest::Entry};
use crate::tool::ToolSpec;

/// A tool as `GET /v1/tools` returns it (secret values read `null`; `signed` says whether
/// a signing secret is set).
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteTool {
    /// `tool_…`.
    pub id: String,
    /// What apply matches on.
    pub function_id: String,
    /// Whether a signing secret is set.
    #[serde(default)]
    pub signed: bool,
    /// The definition, secrets removed.
    #[serde(flatten)]
    pub spec: ToolSpec,
}

/// `GET /v1/tools`.
#[derive(Debug, Deserialize)]
pub struct RemoteTools {
    /// By function id.
    pub tools: Vec<RemoteTool>,
}

/// What apply does to one tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Not on the server: `POST`.
    Create,
    /// Differs: `PUT` the whole definition.
    Update,
    /// Identical: nothing is sent.
    Unchanged,
    /// On the server, not in the file, and `--prune` was given: `DELETE`.
    Delete,
}

/// One line of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The tool's function id.
    pub function_id: String,
    /// What happens to it.
    pub action: Action,
    /// For an update, the top-level fields that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Whether the request carries the file's secrets (creates and updates of tools with any).
    pub secrets_sent: bool,
    /// The tool id, once it exists.
    pub id: Option<String>,
    /// The definition to send (creates and updates).
    #[serde(skip)]
    body: Option<Value>,
}

/// How apply runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Delete tools that are not in the file.
    pub prune: bool,
    /// Send every tool's secrets even when nothing else changed.
    pub resend_secrets: bool,
}

/// Compares the file with the server and decides, tool by tool, without writing anything.
pub fn plan(desired: &[Entry], existing: &[RemoteTool], options: Options) -> Vec<Change> {
    let mut changes: Vec<Change> = desired
        .iter()
        .map(|entry| {
            let current = existing.iter().find(|t| t.function_id == entry.function_id);
            let secrets = has_secrets(&entry.spec);
            let (action, fields) = match current {
                None => (Action::Create, Vec::new()),
                Some(current) => {
                    let fields = differences(&entry.spec, current);
                    if fields.is_empty() && !(options.resend_secrets && secrets) {
                        (Action::Unchanged, fields)
                    } else {
                        (Action::Update, fields)
                    }
                }
            };
            let body = match action {
                Action::Create => Some(body(&entry.spec, false)),
                Action::Update => Some(body(&entry.spec, current.is_some_and(|c| c.signed))),
                Action::Unchanged | Action::Delete => None,
            };
            Change {
                function_id: entry.function_id.clone(),
                secrets_sent: body.is_some() && secrets,
                action,
                fields,
                id: current.map(|c| c.id.clone()),
                body,
            }
        })
        .collect();
    if options.prune {
        for tool in existing {
            if !desired.iter().any(|e| e.function_id == tool.function_id) {
                changes.push(Change {
                    function_id: tool.function_id.clone(),
                    action: Action::Delete,
                    fields: Vec::new(),
                    secrets_sent: false,
                    id: Some(tool.id.clone()),
                    body: None,
                });
            }
        }
    }
    changes
}

fn has_secrets(spec: &ToolSpec) -> bool {
    spec.signing_secret.is_some() || spec.headers.iter().any(|h| h.secret)
}

/// The request body: the file's definition; `signing_secret: ""` removes a secret the file
/// no longer has (leaving it out would keep it).
fn body(spec: &ToolSpec, remote_signed: bool) -> Value {
    let mut spec = spec.clone();
    if spec.signing_secret.is_none() && remote_signed {
        spec.signing_secret = Some(String::new());
    }
    serde_json::to_value(spec).expect("a tool definition serialises")
}

/// The top-level fields in which the file's definition and the server's differ, by name,
/// comparing everything but secret values (which the server never returns). Fields are
/// compared as the API serialises them, so a field added to the definition is covered too.
pub fn differences(desired: &ToolSpec, current: &RemoteTool) -> Vec<String> {
    let (want, have) = (comparable(desired), comparable(&current.spec));
    let mut fields: Vec<String> = want
        .keys()
        .chain(have.keys().filter(|k| !want.contains_key(*k)))
        .filter(|k| want.get(*k) != have.get(*k))
        .cloned()
        .collect();
    if desired.signing_secret.is_some() != current.signed {
        fields.push("signing_secret".to_owned());
    }
    fields.sort();
    fields
}

/// The definition as JSON with secret values blanked: what can be compared.
fn comparable(spec: &ToolSpec) -> Map<String, Value> {
    let mut spec = spec.clone();
    for header in spec.headers.iter_mut().filter(|h| h.secret) {
        header.value = None;
    }
    spec.signing_secret = None;
    match serde_json::to_value(spec) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("a tool definition serialises to an object"),
    }
}

/// Carries out the plan in order (creates and updates in file order, then deletions),
/// filling in ids; stops at the first refusal with what was and was not done.
pub async fn execute(client: &Client, changes: &mut [Change]) -> CliResult<()> {
    for i in 0..changes.len() {
        let change = &mut changes[i];
        let result = match change.action {
            Action::Unchanged => Ok(()),
            Action::Create => {
                let body = change.body.as_ref().expect("a create has a body");
                client
                    .json::<RemoteTool>(Method::POST, "/v1/tools", body)
                    .await
                    .map(|(_, tool)| change.id = Some(tool.id))
                    .map_err(|e| e.context(format!("creating {}", change.function_id)))
            }
            Action::Update => {
                let id = change.id.as_deref().expect("an update has an id");
                let body = change.body.as_ref().expect("an update has a body");
                client
                    .json::<RemoteTool>(Method::PUT, &format!("/v1/tools/{id}"), body)
                    .await
                    .map(drop)
                    .map_err(|e| e.context(format!("updating {} ({id})", change.function_id)))
            }
            Action::Delete => {
                let id = change.id.as_deref().expect("a delete has an id");
                client
                    .delete(&format!("/v1/tools/{id}"))
                    .await
                    .map_err(|e| e.context(format!("deleting {} ({id})", change.function_id)))
            }
        };
        if let Err(e) = result {
            return Err(e.with_details(vec![progress(&changes[..i], &changes[i + 1..])]));
        }
    }
    Ok(())
}

/// What the failed run had written and what it had not got to.
fn progress(done: &[Change], rest: &[Change]) -> String {
    let names = |changes: &[Change]| -> Vec<String> {
        changes
            .iter()
            .filter(|c| c.action != Action::Unchanged)
            .map(|c| c.function_id.clone())
            .collect()
    };
    let (written, pending) = (names(done), names(rest));
    let mut out = if written.is_empty() {
        "nothing was written".to_owned()
    } else {
        format!("written before this: {}", written.join(", "))
    };
    if !pending.is_empty() {
        out.push_str(&format!("; not attempted: {}", pending.join(", ")));
    }
    out
}

/// Counts per action: (created, updated, unchanged, deleted).
pub fn summary(changes: &[Change]) -> (usize, usize, usize, usize) {
    let count = |a: Action| changes.iter().filter(|c| c.action == a).count();
    (
        count(Action::Create),
        count(Action::Update),
        count(Action::Unchanged),
        count(Action::Delete),
    )
}

/// Whether the plan writes nothing.
pub fn is_noop(changes: &[Change]) -> bool {
    changes.iter().all(|c| c.action == Action::Unchanged)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(v: Value) -> ToolSpec {
        serde_json::from_value(v).unwrap()
    }

    fn entry(v: Value) -> Entry {
        let spec = spec(v);
        Entry {
            function_id: crate::tool::slug::function_id(&spec.name).unwrap(),
            spec,
        }
    }

    fn remote(v: Value, signed: bool) -> RemoteTool {
        let spec = spec(v);
        let mut json = serde_json::to_value(&spec).unwrap();
        json["id"] = json!("tool_1");
        json["function_id"] = json!(crate::tool::slug::function_id(&spec.name).unwrap());
        json["signed"] = json!(signed);
        json["created_at"] = json!("2026-01-01T00:00:00Z");
        serde_json::from_value(json).unwrap()
    }

    fn crm(token: &str, url: &str) -> Value {
        json!({"name": "CRM lookup", "description": "d", "url": url, "method": "GET",
               "headers": [{"name": "Authorization", "value": token, "secret": true},
                           {"name": "Accept", "value": "application/json"}]})
    }

    #[test]
    fn a_secret_value_is_not_compared_but_everything_else_is() {
        let mut served = crm("x", "https://crm.example.com");
        served["headers"][0]["value"] = Value::Null;
        let have = remote(served, false);
        let same = entry(crm("Bearer new", "https://crm.example.com"));
        let plan_ = plan(
            std::slice::from_ref(&same),
            std::slice::from_ref(&have),
            Options::default(),
        );
        assert_eq!(plan_[0].action, Action::Unchanged);
        assert!(!plan_[0].secrets_sent);

        let moved = entry(crm("Bearer new", "https://crm2.example.com"));
        let plan_ = plan(&[moved], std::slice::from_ref(&have), Options::default());
        assert_eq!(plan_[0].action, Action::Update);
        assert_eq!(plan_[0].fields, ["url"]);
        assert!(plan_[0].secrets_sent);
        assert_eq!(
            plan_[0].body.as_ref().unwrap()["headers"][0]["value"],
            "Bearer new"
        );

        let mut accept = crm("Bearer new", "https://crm.example.com");
        accept["headers"][1]["value"] = json!("text/plain");
        accept["response_timeout_secs"] = json!(9);
        let plan_ = plan(
            &[entry(accept)],
            std::slice::from_ref(&have),
            Options::default(),
        );
        assert_eq!(plan_[0].fields, ["headers", "response_timeout_secs"]);

        let options = Options {
            resend_secrets: true,
            ..Options::default()
        };
        let plan_ = plan(&[same], &[have], options);
        assert_eq!(plan_[0].action, Action::Update);
        assert!(plan_[0].fields.is_empty() && plan_[0].secrets_sent);
    }

    #[test]
    fn signing_removed_from_the_file_is_removed_on_the_server() {
        let v = json!({"name": "Lead", "description": "d", "url": "https://a.example.com", "method": "POST"});
        let plan_ = plan(&[entry(v.clone())], &[remote(v, true)], Options::default());
        assert_eq!(plan_[0].fields, ["signing_secret"]);
        assert_eq!(plan_[0].body.as_ref().unwrap()["signing_secret"], "");
    }

    #[test]
    fn prune_deletes_only_what_the_file_lacks() {
        let a = json!({"name": "A", "description": "d", "url": "https://a.example.com", "method": "GET"});
        let b = json!({"name": "B", "description": "d", "url": "https://a.example.com", "method": "GET"});
        let existing = [remote(a.clone(), false), remote(b, false)];
        let kept = plan(&[entry(a.clone())], &existing, Options::default());
        assert_eq!(kept.len(), 1);
        let pruned = plan(
            &[entry(a)],
            &existing,
            Options {
                prune: true,
                ..Options::default()
            },
        );
        assert_eq!(pruned[1].action, Action::Delete);
        assert_eq!(pruned[1].function_id, "b");
        assert_eq!(summary(&pruned), (0, 0, 1, 1));
    }
}
