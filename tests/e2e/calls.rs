//! The call log from the outside: what a record holds, order, filters, the cursor, retention,
//! redaction (checked down to the bytes on disk), a writer that cannot slow a call, and
//! records queued at shutdown surviving a restart of the real binary.

use std::{collections::HashSet, path::Path};

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::store::Retention;

use crate::utils::{self, Process, Receiver, Reply, TestServer, seed_tool};

async fn list(server: &TestServer, key: &str, query: &str) -> Value {
    let (status, body) = server
        .call("GET", &format!("/v1/calls{query}"), Some(key), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn invoke_as(server: &TestServer, key: &str, call_id: &str, conversation: &str) -> Value {
    let (status, body) = server
        .call(
            "POST",
            "/v1/agents/receptionist/invoke",
            Some(key),
            Some(
                json!({"tool": "check_availability_in_area", "call_id": call_id,
                "conversation_id": conversation,
                "arguments": {"zip_code": "94107", "service_type": "leak"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn call_ids(page: &Value) -> Vec<String> {
    page["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_record_holds_what_happened_with_its_timings() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    let long = "x".repeat(10_000);
    receiver.reply(Reply::json(200, json!({"serviced": true, "notes": long})));
    invoke_as(&server, &key, "call-1", "conv-1").await;
    receiver.reply(Reply::json(503, json!({"error": "down"})));
    invoke_as(&server, &key, "call-2", "conv-1").await;

    let page = list(&server, &key, "").await;
    assert_eq!(call_ids(&page), ["call-2", "call-1"], "newest first");
    assert_eq!(page["next_cursor"], Value::Null);
    let failed = &page["calls"][0];
    assert_eq!(failed["ok"], false);
    assert_eq!(failed["status"], 503);
    assert_eq!(failed["error_kind"], "webhook_status");
    let ok = &page["calls"][1];
    assert_eq!(ok["agent"], "receptionist");
    assert_eq!(ok["tool"], "check_availability_in_area");
    assert!(ok["tool_id"].as_str().unwrap().starts_with("tool_"));
    assert_eq!(ok["conversation_id"], "conv-1");
    assert!(ok["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(ok["error_kind"], Value::Null);
    let detail = &ok["detail"];
    assert_eq!(
        detail["arguments"],
        json!({"zip_code": "94107", "service_type": "leak"})
    );
    assert_eq!(detail["request"]["method"], "POST");
    assert_eq!(
        detail["request"]["url"],
        format!("{}/areas/check", receiver.url)
    );
    let timings = &detail["timings_ms"];
    assert!(timings["total"].as_f64().unwrap() > 0.0);
    assert!(timings["webhook"].as_f64().unwrap() > 0.0);
    assert!(timings["webhook"].as_f64() <= timings["total"].as_f64());
    let excerpt = detail["response_excerpt"].as_str().unwrap();
    assert!(excerpt.starts_with("{\"notes\":\"xxx") || excerpt.starts_with("{\"serviced\""));
    assert!(excerpt.len() <= 2048 + '…'.len_utf8(), "capped");
    assert!(excerpt.ends_with('…'));
}

#[tokio::test]
async fn the_cursor_pages_through_filters_without_gaps_or_repeats() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    let mut other = seed_tool(&receiver.url);
    other["name"] = json!("Book a visit");
    server.tool(&key, other).await;
    for i in 0..7 {
        let conversation = if i % 2 == 0 { "even" } else { "odd" };
        invoke_as(&server, &key, &format!("c{i}"), conversation).await;
    }
    let (status, body) = server
        .call(
            "POST",
            "/v1/agents/receptionist/invoke",
            Some(&key),
            Some(json!({"tool": "book_a_visit", "call_id": "other",
                "arguments": {"zip_code": "1"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ok"], false, "missing service_type: {body}");

    // Pages of 3 over the seed tool's 7 calls: 3, 3, 1, each newest first.
    let mut seen = Vec::new();
    let mut query = "?tool=check_availability_in_area&limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = list(&server, &key, &query).await;
        pages += 1;
        seen.extend(call_ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                query = format!("?tool=check_availability_in_area&limit=3&cursor={cursor}")
            }
            None => break,
        }
        assert!(pages < 10, "the cursor must end");
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).rev().map(|i| format!("c{i}")).collect();
    assert_eq!(seen, expected);

    let odd = list(&server, &key, "?conversation_id=odd").await;
    assert_eq!(call_ids(&odd), ["c5", "c3", "c1"]);
    let failed = list(&server, &key, "?ok=false").await;
    assert_eq!(call_ids(&failed), ["other"]);
    assert_eq!(failed["calls"][0]["error_kind"], "invalid_arguments");
    let all = list(&server, &key, "?limit=500").await;
    assert_eq!(all["calls"].as_array().unwrap().len(), 8);

    for bad in [
        "?cursor=abc",
        "?cursor=cur_-4",
        "?cursor=",
        "?ok=maybe",
        "?limit=501",
        "?since=yesterday",
    ] {
        let (status, body) = server
            .call("GET", &format!("/v1/calls{bad}"), Some(&key), None)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["error"]["message"].is_string(), "{bad}: {body}");
    }
}

#[tokio::test]
async fn retention_keeps_the_newest_calls_per_tenant_and_drops_old_ones() {
    let server = TestServer::start_with(|c| {
        c.call_log_retention = Retention {
            max_per_tenant: Some(3),
            max_age_ms: None,
        }
    })
    .await;
    let receiver = Receiver::start().await;
    let (_, a) = server.tenant("plus").await;
    let (_, b) = server.tenant("plus").await;
    server.tool(&a, seed_tool(&receiver.url)).await;
    server.tool(&b, seed_tool(&receiver.url)).await;
    for i in 0..5 {
        invoke_as(&server, &a, &format!("a{i}"), "x").await;
    }
    for i in 0..2 {
        invoke_as(&server, &b, &format!("b{i}"), "x").await;
    }
    assert_eq!(call_ids(&list(&server, &a, "").await), ["a4", "a3", "a2"]);
    assert_eq!(call_ids(&list(&server, &b, "").await), ["b1", "b0"]);

    let aged = TestServer::start_with(|c| {
        c.call_log_retention = Retention {
            max_per_tenant: None,
            max_age_ms: Some(300),
        }
    })
    .await;
    let (_, key) = aged.tenant("plus").await;
    aged.tool(&key, seed_tool(&receiver.url)).await;
    invoke_as(&aged, &key, "old", "x").await;
    assert_eq!(call_ids(&list(&aged, &key, "").await), ["old"]);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    invoke_as(&aged, &key, "new", "x").await;
    assert_eq!(call_ids(&list(&aged, &key, "").await), ["new"]);
}

/// Every file in the data dir (database, WAL, generated keys), as bytes.
fn data_dir_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn secrets_and_sensitive_arguments_never_reach_the_log_or_the_disk() {
    const TOKEN: &str = "sk_live_9f8e7d6c5b4a";
    const QUERY_KEY: &str = "qk_0011223344";
    const CARD: &str = "4111111111111111";
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    server
        .tool(
            &key,
            json!({
                "name": "Take payment",
                "description": "Charges the caller's card.",
                "url": format!("{}/pay?api_key={QUERY_KEY}&currency=usd", receiver.url),
                "method": "POST",
                "headers": [
                    {"name": "Authorization", "value": format!("Bearer {TOKEN}"), "secret": true},
                    {"name": "X-Shop", "value": "plumbing-co"}
                ],
                "body_params": [
                    {"key": "card_number", "type": "string", "required": true, "sensitive": true},
                    {"key": "amount", "type": "number", "required": true}
                ]
            }),
        )
        .await;
    // A careless endpoint that echoes what it was sent, secrets included.
    receiver.reply(Reply::json(
        402,
        json!({"echo": {"authorization": format!("Bearer {TOKEN}"), "card": CARD}}),
    ));
    let result = server
        .invoke(
            &key,
            "receptionist",
            "take_payment",
            json!({"card_number": CARD, "amount": 120}),
        )
        .await;
    assert_eq!(result["ok"], false);
    let sent = receiver.only_request();
    assert_eq!(
        sent.json()["card_number"],
        CARD,
        "the endpoint gets the value"
    );
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    let page = list(&server, &key, "").await;
    let record = &page["calls"][0];
    let detail = &record["detail"];
    assert_eq!(
        detail["arguments"],
        json!({"card_number": "[redacted]", "amount": 120})
    );
    assert_eq!(
        detail["request"]["headers"],
        json!({"Authorization": "[redacted]", "X-Shop": "plumbing-co"})
    );
    let url = detail["request"]["url"].as_str().unwrap();
    assert!(
        url.contains("currency=usd") && url.contains("api_key=%5Bredacted%5D"),
        "{url}"
    );
    let text = page.to_string();
    for secret in [TOKEN, QUERY_KEY, CARD] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into the log: {text}"
        );
    }
    assert_eq!(
        detail["response_excerpt"],
        r#"{"echo":{"authorization":"[redacted]","card":"[redacted]"}}"#,
        "what the endpoint echoed is scrubbed too"
    );

    // Nothing on disk either: stop the server and read every file it wrote.
    let dir = server.stop().await;
    let bytes = data_dir_bytes(dir.path());
    assert!(!bytes.is_empty());
    assert!(!contains(&bytes, TOKEN), "the token is on disk in clear");
    // (The query key is part of the tool's URL, which is stored as the tenant wrote it; only
    // header secrets are sealed. The log above does not hold it.)
    assert!(!contains(&bytes, CARD), "the card number is on disk");
}

#[tokio::test]
async fn a_locked_database_neither_slows_nor_fails_the_call_it_logs() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, seed_tool(&receiver.url)).await;
    // Warm the tool path, then take SQLite's write lock from outside the service.
    invoke_as(&server, &key, "warm", "x").await;
    let db = rusqlite::Connection::open(server.dir.path().join("switchboard.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    for i in 0..3 {
        let result = invoke_as(&server, &key, &format!("locked-{i}"), "x").await;
        assert_eq!(result["ok"], true, "{result}");
    }
    // The three calls returned while the log could not be written; release the lock.
    db.execute_batch("COMMIT").unwrap();
    let ids: HashSet<String> = call_ids(&list(&server, &key, "").await)
        .into_iter()
        .collect();
    for id in ["warm", "locked-0", "locked-1", "locked-2"] {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
}

#[tokio::test]
async fn records_queued_at_shutdown_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let http = utils::client();
    let server = Process::serve(dir.path(), &["--admin-token", utils::ADMIN]);
    let (_, key) = server.tenant(&http, "plus").await;
    utils::call(
        &http,
        &server.url,
        "POST",
        "/v1/tools",
        Some(&key),
        Some(seed_tool(&receiver.url)),
    )
    .await;
    for i in 0..20 {
        let (status, _) = utils::call(
            &http,
            &server.url,
            "POST",
            "/v1/agents/receptionist/invoke",
            Some(&key),
            Some(
                json!({"tool": "check_availability_in_area", "call_id": format!("s{i}"),
                "arguments": {"zip_code": "94107", "service_type": "leak"}}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    // SIGTERM right after the last call returned: the queue is written before exit.
    server.terminate();
    let again = Process::serve(dir.path(), &["--admin-token", utils::ADMIN]);
    let (_, page) = utils::call(
        &http,
        &again.url,
        "GET",
        "/v1/calls?limit=100",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(page["calls"].as_array().unwrap().len(), 20, "{page}");
    again.terminate();
}
