//! The other commands — `tools list`, `tools test`, `invoke`, `calls`, `components` — and
//! the errors every command shares: a wrong key, a wrong scope, no server, usage mistakes.

use serde_json::json;

use super::{Sb, client_command};
use crate::utils::{Receiver, Reply, TestServer, seed_tool};

#[tokio::test]
async fn tools_list_test_and_calls() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    receiver.reply(Reply::json(
        200,
        json!({"serviced": true, "next_slot": "Tuesday 9am"}),
    ));
    let (_, key) = server.tenant("plus").await;
    let sb = Sb::new(&server.url, &key);
    let run = sb.run(&["tools", "list"]).await;
    assert!(run.ok().starts_with("no tools yet"), "{}", run.stdout);

    let created = server.tool(&key, seed_tool(&receiver.url)).await;
    let run = sb.run(&["tools", "list"]).await;
    let out = run.ok();
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("FUNCTION ID "), "{out}");
    let row = lines.next().unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "check_availability_in_area",
            "POST",
            "both",
            "2",
            created["id"].as_str().unwrap(),
            &format!("{}/areas/check", receiver.url),
        ]
    );
    let run = sb.run(&["tools", "list", "--json"]).await;
    run.ok();
    assert_eq!(run.json()["tools"][0]["id"], created["id"]);

    let run = sb
        .run(&[
            "tools",
            "test",
            "check_availability_in_area",
            "zip_code=94107",
            "service_type=leak",
        ])
        .await;
    let out = run.ok();
    assert!(
        out.starts_with("ok: check_availability_in_area answered 200"),
        "{out}"
    );
    assert_eq!(
        receiver.only_request().json(),
        json!({"zip_code": "94107", "service_type": "leak"})
    );
    // The agent runtime's key (scope invoke) is enough to invoke.
    let (_, invoke_key) = server.key(&key, "invoke").await;
    Sb::new(&server.url, &invoke_key)
        .run(&[
            "invoke",
            "check_availability_in_area",
            "zip_code=94110",
            "service_type=drain",
        ])
        .await
        .ok();

    let (_, calls) = server.call("GET", "/v1/calls", Some(&key), None).await;
    assert_eq!(calls["calls"][0]["test"], false);
    assert_eq!(
        calls["calls"][1]["test"], true,
        "tools test is logged as a test"
    );

    let run = sb.run(&["calls"]).await;
    let out = run.ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("TIME "), "{out}");
    let newest: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        &newest[2..7],
        [
            "check_availability_in_area",
            "receptionist",
            "live",
            "ok",
            "200"
        ],
        "{out}"
    );
    assert!(lines[2].contains(" test "), "{out}");

    let run = sb.run(&["calls", "--limit", "1", "--json"]).await;
    run.ok();
    assert_eq!(run.json()["calls"].as_array().unwrap().len(), 1);
    let run = sb.run(&["calls", "--tool", "nothing_like_it"]).await;
    assert_eq!(run.ok().trim(), "no calls yet");

    let run = sb.run(&["tools", "test", "no_such_tool"]).await;
    let err = run.failed(1);
    assert_eq!(
        err.trim_end(),
        "error: no tool 'no_such_tool'; the tools are: check_availability_in_area"
    );
}

#[tokio::test]
async fn components_push_uploads_and_names_the_hooks() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("pro").await;
    let sb = Sb::new(&server.url, &key);
    let path = test_components::NORMALIZE_INPUT;

    let run = sb.run(&["components", "push", path]).await;
    let out = run.ok();
    assert!(out.starts_with("uploaded normalize_input: cmp_"), "{out}");
    assert!(out.trim_end().ends_with("bytes, hooks: params)"), "{out}");
    let run = sb.run(&["components", "push", path]).await;
    assert!(
        run.ok()
            .starts_with("already uploaded normalize_input: cmp_"),
        "the same bytes are the same component: {}",
        run.stdout
    );
    let run = sb
        .run(&[
            "components",
            "push",
            test_components::PLUMBING_SPEECH,
            "--name",
            "plumbing-speech",
            "--json",
        ])
        .await;
    run.ok();
    let record = run.json();
    assert_eq!(record["name"], "plumbing-speech");
    assert_eq!(record["hooks"], json!(["response"]));
    let (_, listed) = server.call("GET", "/v1/components", Some(&key), None).await;
    assert_eq!(listed["components"].as_array().unwrap().len(), 2);
    assert_eq!(listed["components"][1]["id"], record["id"]);

    let run = sb.run(&["components", "list"]).await;
    let out = run.ok();
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.contains(record["id"].as_str().unwrap()), "{out}");

    // A plus tenant is told which plan it needs; bytes that are not a component are refused.
    let (_, plus) = server.tenant("plus").await;
    let run = Sb::new(&server.url, &plus)
        .run(&["components", "push", path])
        .await;
    let err = run.failed(1);
    assert!(err.contains("(403 plan_required)"), "{err}");
    let junk = sb.file("junk.wasm", "not wasm");
    let run = sb.run(&["components", "push", &junk]).await;
    let err = run.failed(1);
    assert!(err.starts_with("error: uploading "), "{err}");
    assert!(err.contains("422 invalid_request"), "{err}");
}

#[tokio::test]
async fn credentials_and_reachability_errors_are_one_clear_line() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;

    let run = Sb::new(&server.url, "sbk_not_a_real_key")
        .run(&["tools", "list"])
        .await;
    assert_eq!(
        run.failed(1),
        "error: the API key is unknown or has been revoked (401 unauthorized); check --key or SWITCHBOARD_KEY\n"
    );

    let (_, invoke_key) = server.key(&key, "invoke").await;
    let run = Sb::new(&server.url, &invoke_key).run(&["calls"]).await;
    assert_eq!(
        run.failed(1),
        "error: this key has scope 'invoke'; this route needs a 'manage' key (403 forbidden); use a key with scope 'manage'\n"
    );

    let run = Sb::new(&server.url, "").run(&["tools", "list"]).await;
    assert!(
        run.failed(2)
            .contains("no API key: pass --key or set SWITCHBOARD_KEY")
    );

    // --url on the command line wins over SWITCHBOARD_URL; nothing listens on a port just freed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dead = format!("http://127.0.0.1:{port}");
    let run = Sb::new(&server.url, &key)
        .run(&["tools", "list", "--url", &dead])
        .await;
    let err = run.failed(1);
    assert!(
        err.starts_with(&format!("error: cannot reach Switchboard at {dead}: ")),
        "{err}"
    );
    assert!(
        err.contains("is `switchboard serve` running there?"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // Usage mistakes exit 2.
    let sb = Sb::new(&server.url, &key);
    assert_eq!(
        sb.run(&["tools", "apply"]).await.code,
        2,
        "clap: -f is required"
    );
    let run = sb
        .run(&["invoke", "check_availability_in_area", "zip"])
        .await;
    assert!(
        run.failed(2).contains("'zip' is not key=value"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["calls", "--url", "ftp://example.com"]).await;
    assert!(
        run.failed(2)
            .contains("must be an http:// or https:// address")
    );
    let run = sb.run(&["invoke", "--agent", "dispatcher", "x"]).await;
    assert!(
        run.failed(1).contains("no agent 'dispatcher'"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_reader_that_goes_away_ends_the_output_quietly() {
    let server = TestServer::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool("https://a.example.com")).await;
    // As `switchboard tools list --json | head -1`: nobody reads what the client writes.
    let mut child = client_command(&server.url, &key)
        .args(["tools", "list", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "no panic, no error"
    );
}
