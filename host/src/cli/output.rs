//! What the client prints for people: aligned tables, an invocation result with its speech,
//! and apply's per-tool lines. `--json` bypasses all of it and prints the server's JSON.

use std::io::{ErrorKind, Write};

use serde_json::Value;

use super::{
    apply::{Action, Change, summary},
    error::{CliError, CliResult},
};

/// Writes `text` and a newline to stdout. A reader that went away (`| head`) ends the output
/// quietly instead of panicking as `println!` would.
pub fn emit(text: &str) -> CliResult<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => {
            Err(CliError::failed(format!("cannot write the output: {e}")))
        }
        _ => Ok(()),
    }
}

/// Columns padded to their widest cell, two spaces apart; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = vec![line(headers.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out.join("\n")
}

/// Pretty JSON for a person.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// An invocation result: whether it worked, the endpoint's answer, what the receptionist says.
pub fn invocation(result: &Value) -> String {
    let tool = text(&result["tool"]);
    let call = text(&result["call_id"]);
    let mut out = Vec::new();
    if result["ok"] == Value::Bool(true) {
        let status = result["status"]
            .as_u64()
            .map_or("no status".to_owned(), |s| s.to_string());
        let total = result["timings_ms"]["total"].as_f64().unwrap_or_default();
        out.push(format!(
            "ok: {tool} answered {status} in {total:.2} ms (call {call})"
        ));
    } else {
        let error = &result["error"];
        let details = error["details"].as_array().filter(|d| !d.is_empty());
        // With details, the message is only their summary: say each once.
        let message = match details {
            Some(_) => String::new(),
            None => format!(": {}", text(&error["message"])),
        };
        out.push(format!(
            "failed: {tool}: {}{message} (call {call})",
            text(&error["kind"]),
        ));
        for detail in details.into_iter().flatten() {
            out.push(format!(
                "  {}: {}",
                text(&detail["key"]),
                text(&detail["message"])
            ));
        }
    }
    if !result["result"].is_null() {
        out.push("result:".to_owned());
        out.extend(pretty(&result["result"]).lines().map(|l| format!("  {l}")));
    }
    if let Some(speech) = result["speech"].as_str() {
        out.push(format!("speech: {speech}"));
    }
    if result["disable_interruptions"] == Value::Bool(true) {
        out.push("(the caller cannot interrupt while this tool runs)".to_owned());
    }
    out.join("\n")
}

/// Apply's report: one line per tool, then the totals.
pub fn apply_report(file: &str, changes: &[Change], dry_run: bool) -> String {
    let width = changes
        .iter()
        .map(|c| c.function_id.len())
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for change in changes {
        let verb = match (&change.action, dry_run) {
            (Action::Create, false) => "created",
            (Action::Create, true) => "would create",
            (Action::Update, false) => "updated",
            (Action::Update, true) => "would update",
            (Action::Unchanged, _) => "unchanged",
            (Action::Delete, false) => "deleted",
            (Action::Delete, true) => "would delete",
        };
        let mut note = Vec::new();
        if !change.fields.is_empty() {
            note.push(change.fields.join(", "));
        }
        if change.action == Action::Update && change.secrets_sent {
            note.push("secrets re-sent".to_owned());
        }
        let id = change.id.as_deref().unwrap_or("");
        let line = format!(
            "{verb:<12}  {:<width$}  {id:<22}  {}",
            change.function_id,
            note.join("; ")
        );
        out.push(line.trim_end().to_owned());
    }
    let (created, updated, unchanged, deleted) = summary(changes);
    let tools = |n: usize| format!("{n} tool{}", if n == 1 { "" } else { "s" });
    out.push(if created + updated + deleted == 0 {
        format!("{file}: no changes ({} unchanged)", tools(unchanged))
    } else if dry_run {
        format!(
            "{file}: would create {created}, update {updated}, delete {deleted}, leave {unchanged} unchanged; dry run, nothing was written"
        )
    } else {
        format!(
            "{file}: {created} created, {updated} updated, {deleted} deleted, {unchanged} unchanged"
        )
    });
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["ID", "NAME"],
            &[
                vec!["tool_1".into(), "a".into()],
                vec!["t".into(), "bb".into()],
            ],
        );
        assert_eq!(t, "ID      NAME\ntool_1  a\nt       bb");
    }

    #[test]
    fn a_failed_invocation_lists_its_problems_and_the_speech() {
        let shown = invocation(&json!({
            "call_id": "call_1", "tool": "quote", "ok": false, "status": null, "result": null,
            "speech": "Sorry, could you repeat that?", "disable_interruptions": false,
            "error": {"kind": "invalid_arguments", "message": "invalid arguments: 'hours' is required",
                      "details": [{"key": "hours", "problem": "missing", "message": "'hours' is required"}]},
            "timings_ms": {"total": 0.1}
        }));
        assert_eq!(
            shown,
            "failed: quote: invalid_arguments (call call_1)\n  hours: 'hours' is required\nspeech: Sorry, could you repeat that?"
        );
    }
}
