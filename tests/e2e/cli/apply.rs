//! `tools apply -f`: the example file round-trips, one edit updates one tool, secrets follow
//! the documented rule, `--dry-run` and `--prune`, and bad files are refused before writing.

use serde_json::{Value, json};

use super::{EXAMPLE_IDS, Sb, example, line, tool, tools};
use crate::utils::{Receiver, Reply, TestServer};

#[tokio::test]
async fn apply_round_trips_the_example_file() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    let sb = Sb::new(&server.url, &key);

    let first = sb.apply(&example(), &[]).await;
    let out = first.ok();
    for id in EXAMPLE_IDS {
        assert!(line(out, id).starts_with("created "), "{out}");
    }
    assert!(
        out.trim_end()
            .ends_with(": 6 created, 0 updated, 0 deleted, 0 unchanged"),
        "{out}"
    );
    let stored = tools(&server, &key).await;
    assert_eq!(stored.len(), 6);
    let crm = tool(&stored, "look_up_caller");
    assert_eq!(crm["headers"][0]["name"], "Authorization");
    assert_eq!(
        crm["headers"][0]["value"],
        Value::Null,
        "secrets never come back"
    );
    assert_eq!(crm["headers"][1]["value"], "application/json");
    assert_eq!(tool(&stored, "capture_lead")["signed"], true);
    assert_eq!(
        tool(&stored, "check_part_in_stock")["path_params"][0]["required"],
        true
    );

    let second = sb.apply(&example(), &[]).await;
    let out = second.ok();
    for id in EXAMPLE_IDS {
        assert!(line(out, id).starts_with("unchanged "), "{out}");
    }
    assert!(
        out.trim_end().ends_with(": no changes (6 tools unchanged)"),
        "{out}"
    );
    assert_eq!(
        tools(&server, &key).await,
        stored,
        "nothing was rewritten (updated_at included)"
    );

    let json = sb.apply(&example(), &["--json"]).await;
    json.ok();
    let report = json.json();
    assert_eq!(report["changed"], false);
    assert_eq!(report["unchanged"], 6);
    assert_eq!(report["changes"][0]["action"], "unchanged");

    // The same tools written as JSON are the same tools.
    let as_json: Value = yaml_serde::from_str(&example()).unwrap();
    let path = sb.file("tools.json", &as_json.to_string());
    let run = sb.run(&["tools", "apply", "-f", &path]).await;
    assert!(
        run.ok()
            .trim_end()
            .ends_with("no changes (6 tools unchanged)"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn editing_one_field_updates_exactly_that_tool_and_invoke_types_the_arguments() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    receiver.reply(Reply::json(
        200,
        json!({"estimate_usd": 340, "currency": "USD"}),
    ));
    let (_, key) = server.tenant("plus").await;
    let sb = Sb::new(&server.url, &key);
    sb.apply(&example(), &[]).await.ok();
    let before = tools(&server, &key).await;

    let edited = example().replace(
        "https://pricing.example.com/v1/quotes",
        &format!("{}/v1/quotes", receiver.url),
    );
    let run = sb.apply(&edited, &[]).await;
    let out = run.ok();
    let quote = line(out, "get_price_quote");
    assert!(quote.starts_with("updated "), "{out}");
    assert!(quote.ends_with(" url"), "only the url differs: {out}");
    assert!(
        out.trim_end()
            .ends_with(": 0 created, 1 updated, 0 deleted, 5 unchanged"),
        "{out}"
    );
    let after = tools(&server, &key).await;
    for id in EXAMPLE_IDS {
        let changed = tool(&before, id) != tool(&after, id);
        assert_eq!(changed, id == "get_price_quote", "{id}");
    }

    // Values take the declared types: hours is a number, after_hours a boolean.
    let run = sb
        .run(&[
            "invoke",
            "get_price_quote",
            "service_type=leak_repair",
            "hours=2.5",
            "after_hours=true",
        ])
        .await;
    let out = run.ok();
    assert!(
        out.starts_with("ok: get_price_quote answered 200 in "),
        "{out}"
    );
    assert!(out.contains("\"estimate_usd\": 340"), "{out}");
    assert_eq!(
        receiver.only_request().json(),
        json!({"service_type": "leak_repair", "hours": 2.5, "after_hours": true})
    );

    // A value that cannot be its type is a usage error; nothing is sent.
    let run = sb
        .run(&[
            "invoke",
            "get_price_quote",
            "service_type=inspection",
            "hours=two",
        ])
        .await;
    let err = run.failed(2);
    assert!(
        err.contains("'hours' is a number for this tool, got 'two'"),
        "{err}"
    );
    // A tool-level failure prints the speech and exits 1.
    let run = sb.run(&["invoke", "get_price_quote", "hours:=1"]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("failed: get_price_quote: invalid_arguments (call call_"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\n  service_type: "), "{}", run.stdout);
    assert!(run.stdout.contains("speech: Sorry"), "{}", run.stdout);
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn secrets_are_sent_when_created_or_changed_and_resent_only_on_request() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    let mut sb = Sb::new(&server.url, &key);
    let file = example().replace(
        "https://crm.example.com/v1/contacts/search",
        &format!("{}/contacts", receiver.url),
    );
    sb.apply(&file, &[]).await.ok();
    let lookup = ["invoke", "look_up_caller", "phone=+14155550123"];
    sb.run(&lookup).await.ok();
    assert_eq!(
        receiver.requests()[0].header("authorization"),
        Some("Bearer crm-token-1")
    );

    // A new secret value alone cannot be seen: the server never shows it back.
    sb.set("CRM_API_TOKEN", "crm-token-2");
    let out = sb.apply(&file, &[]).await;
    assert!(out.ok().contains("no changes"), "{}", out.stdout);
    sb.run(&lookup).await.ok();
    assert_eq!(
        receiver.requests()[1].header("authorization"),
        Some("Bearer crm-token-1")
    );

    // --resend-secrets rolls it, on every tool that has a secret, and says so.
    let run = sb.apply(&file, &["--resend-secrets"]).await;
    let out = run.ok();
    for id in ["look_up_caller", "capture_lead", "create_service_ticket"] {
        let l = line(out, id);
        assert!(
            l.starts_with("updated ") && l.ends_with(" secrets re-sent"),
            "{out}"
        );
    }
    assert!(
        line(out, "get_price_quote").starts_with("unchanged "),
        "{out}"
    );
    sb.run(&lookup).await.ok();
    assert_eq!(
        receiver.requests()[2].header("authorization"),
        Some("Bearer crm-token-2")
    );

    // Any other change sends the secrets along, and the report says so.
    let edited = file.replace("response_timeout_secs: 5", "response_timeout_secs: 6");
    let run = sb.apply(&edited, &[]).await;
    assert!(
        line(run.ok(), "look_up_caller").ends_with(" response_timeout_secs; secrets re-sent"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn dry_run_writes_nothing_and_prune_deletes_only_with_the_flag() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    let sb = Sb::new(&server.url, &key);

    let run = sb.apply(&example(), &["--dry-run"]).await;
    let out = run.ok();
    assert!(
        line(out, "capture_lead").starts_with("would create "),
        "{out}"
    );
    assert!(out.contains("dry run, nothing was written"), "{out}");
    assert!(tools(&server, &key).await.is_empty());

    sb.apply(&example(), &[]).await.ok();
    let old = json!({"name": "Old tool", "description": "Retired.",
                     "url": "https://old.example.com/hook", "method": "GET"});
    server.tool(&key, old).await;
    let before = tools(&server, &key).await;

    let edited = example().replace("response_timeout_secs: 10", "response_timeout_secs: 12");
    let run = sb.apply(&edited, &["--dry-run", "--prune"]).await;
    let out = run.ok();
    assert!(
        line(out, "check_part_in_stock").starts_with("would update "),
        "{out}"
    );
    assert!(line(out, "old_tool").starts_with("would delete "), "{out}");
    assert_eq!(
        tools(&server, &key).await,
        before,
        "a dry run writes nothing"
    );

    let run = sb.apply(&example(), &[]).await;
    assert!(
        !run.ok().contains("old_tool"),
        "without --prune: left alone"
    );
    assert_eq!(tools(&server, &key).await.len(), 7);

    let run = sb.apply(&example(), &["--prune"]).await;
    let out = run.ok();
    assert!(line(out, "old_tool").starts_with("deleted "), "{out}");
    assert!(out.trim_end().ends_with("1 deleted, 6 unchanged"), "{out}");
    let left = tools(&server, &key).await;
    assert_eq!(left.len(), 6);
    assert!(left.iter().all(|t| t["function_id"] != "old_tool"));
}

#[tokio::test]
async fn a_bad_file_is_refused_whole_before_anything_is_written() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    let mut sb = Sb::new(&server.url, &key);
    let good =
        "- name: Good one\n  description: Fine.\n  url: https://a.example.com/x\n  method: GET\n";

    // A YAML syntax error: where it is.
    let syntax = format!("{good}- name: [unclosed\n  method: GET\n");
    let err = sb.apply(&syntax, &[]).await.failed(1).to_owned();
    assert!(err.contains("tools.yaml: "), "{err}");
    assert!(err.contains("line 5"), "{err}");

    // An unknown field: its path and line.
    let unknown = format!(
        "{good}- name: Second\n  description: d\n  url: https://b.example.com\n  method: GET\n  colour: red\n"
    );
    let err = sb.apply(&unknown, &[]).await.failed(1).to_owned();
    assert!(
        err.contains("tools.yaml: [1]: unknown field `colour`"),
        "{err}"
    );
    assert!(err.contains("line 9"), "{err}");

    // An invalid URL (and every other problem) in the server's words, per tool.
    let invalid =
        format!("{good}- name: Second\n  description: ''\n  url: not a url\n  method: GET\n");
    let err = sb.apply(&invalid, &[]).await.failed(1).to_owned();
    assert!(
        err.contains("2 problems found; nothing was sent to the server:"),
        "{err}"
    );
    assert!(
        err.contains("\n  [1] (Second): url: is not a valid absolute URL"),
        "{err}"
    );
    assert!(
        err.contains("\n  [1] (Second): description: must not be empty"),
        "{err}"
    );

    // An unset ${VAR}: named, with where it is used.
    sb.unset("HELPDESK_API_KEY");
    let err = sb.apply(&example(), &[]).await.failed(1).to_owned();
    assert!(
        err.contains("(Create service ticket): headers[0].value: the environment variable HELPDESK_API_KEY is not set"),
        "{err}"
    );
    // A missing file.
    let err = sb
        .run(&["tools", "apply", "-f", "/nonexistent/tools.yaml"])
        .await
        .failed(1)
        .to_owned();
    assert!(
        err.starts_with("error: cannot read /nonexistent/tools.yaml: "),
        "{err}"
    );

    assert!(tools(&server, &key).await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn a_tool_the_server_refuses_is_reported_field_by_field() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    let sb = Sb::new(&server.url, &key);
    // The outbound guard is the server's to apply: the file is fine locally.
    let file = "- name: First\n  description: d\n  url: https://a.example.com\n  method: GET\n\
                - name: Metadata\n  description: d\n  url: http://169.254.169.254/latest\n  method: GET\n\
                - name: Third\n  description: d\n  url: https://c.example.com\n  method: GET\n";
    let run = sb.apply(file, &[]).await;
    let err = run.failed(1);
    assert!(
        err.starts_with("error: creating metadata: the server refused it (422 invalid_request), 1 problem:\n  url: destination 169.254.169.254 is blocked"),
        "{err}"
    );
    assert!(
        err.contains("\n  written before this: first; not attempted: third"),
        "{err}"
    );
    let stored = tools(&server, &key).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["function_id"], "first");
}
