//! Durability under a crash: the real binary is killed with SIGKILL in the middle of a burst
//! of tool creations from several concurrent clients. After the crash the SQLite file passes
//! `PRAGMA integrity_check`; after a restart on the same data dir every creation that was
//! acknowledged with a 201 is there, and the server works.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::StatusCode;
use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::utils::{ADMIN, Process, Receiver, call, client, seed_tool};

/// Concurrent clients creating tools.
const WRITERS: usize = 4;
/// Each client's bound; the kill comes long before.
const PER_WRITER: usize = 500;
/// How many acknowledged creations before the kill.
const KILL_AFTER: usize = 40;

/// What one client saw.
#[derive(Debug, Default)]
struct Outcome {
    /// `(id, function_id)` of every tool acknowledged with a 201.
    acknowledged: Vec<(String, String)>,
    /// Answers other than 201 (there should be none).
    unexpected: Vec<String>,
    /// Whether the client was cut off by the crash (rather than finishing its bound).
    cut_off: bool,
}

fn burst_tool(writer: usize, i: usize) -> Value {
    let mut spec = seed_tool("http://127.0.0.1:9");
    spec["name"] = json!(format!("Burst {writer} {i}"));
    spec
}

/// Creates tools until the server stops answering; reports each acknowledged one to `acked`.
async fn write_until_cut_off(
    http: reqwest::Client,
    url: String,
    key: String,
    writer: usize,
    acked: Arc<Mutex<usize>>,
    enough: Arc<Notify>,
) -> Outcome {
    let mut outcome = Outcome::default();
    for i in 0..PER_WRITER {
        let sent = http
            .post(format!("{url}/v1/tools"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(burst_tool(writer, i).to_string())
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        // Only a complete 201 with its body counts as acknowledged.
        let answer = match sent {
            Ok(resp) => {
                let status = resp.status();
                resp.bytes().await.map(|body| {
                    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    (status, body)
                })
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok((StatusCode::CREATED, body)) => {
                let id = body["id"].as_str().unwrap().to_owned();
                let function_id = body["function_id"].as_str().unwrap().to_owned();
                outcome.acknowledged.push((id, function_id));
                let mut count = acked.lock().unwrap();
                *count += 1;
                if *count == KILL_AFTER {
                    enough.notify_one();
                }
            }
            Ok((status, body)) => outcome.unexpected.push(format!("{status}: {body}")),
            Err(_) => {
                outcome.cut_off = true;
                break;
            }
        }
    }
    outcome
}

#[tokio::test]
async fn acknowledged_tools_survive_a_kill_9_mid_burst() {
    let dir = tempfile::tempdir().unwrap();
    let http = client();
    let first = Process::serve(dir.path(), &["--admin-token", ADMIN]);
    let (_, key) = first.tenant(&http, "plus").await;

    let acked = Arc::new(Mutex::new(0));
    let enough = Arc::new(Notify::new());
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            tokio::spawn(write_until_cut_off(
                http.clone(),
                first.url.clone(),
                key.clone(),
                writer,
                Arc::clone(&acked),
                Arc::clone(&enough),
            ))
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(120), enough.notified())
        .await
        .expect("the burst got going");
    first.kill();

    let mut acknowledged = Vec::new();
    for writer in writers {
        let outcome = writer.await.unwrap();
        assert!(outcome.unexpected.is_empty(), "{:?}", outcome.unexpected);
        assert!(
            outcome.cut_off,
            "a client finished its {PER_WRITER} creations before the kill"
        );
        acknowledged.extend(outcome.acknowledged);
    }
    assert!(acknowledged.len() >= KILL_AFTER);

    // The crashed image, as the kill left it: intact, and holding at least every
    // acknowledged tool (a creation can commit just before its answer was lost).
    let db = dir.path().join("switchboard.db");
    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let stored: usize = conn
        .query_row("SELECT count(*) FROM tools", [], |row| row.get(0))
        .unwrap();
    assert!(
        stored >= acknowledged.len(),
        "{stored} tools stored, {} acknowledged",
        acknowledged.len()
    );
    drop(conn);

    // Restart on the same data dir: every acknowledged tool is there, as acknowledged.
    let second = Process::serve(dir.path(), &["--admin-token", ADMIN]);
    for (id, function_id) in &acknowledged {
        let (status, tool) = call(
            &http,
            &second.url,
            "GET",
            &format!("/v1/tools/{id}"),
            Some(&key),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "acknowledged tool {id} is gone");
        assert_eq!(&tool["function_id"], function_id);
    }
    let (_, list) = call(&http, &second.url, "GET", "/v1/tools", Some(&key), None).await;
    assert_eq!(list["tools"].as_array().unwrap().len(), stored);

    // And it works: a new tool can be defined and called.
    let receiver = Receiver::start().await;
    let (status, _) = call(
        &http,
        &second.url,
        "POST",
        "/v1/tools",
        Some(&key),
        Some(seed_tool(&receiver.url)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, result) = call(
        &http,
        &second.url,
        "POST",
        "/v1/agents/receptionist/invoke",
        Some(&key),
        Some(json!({"tool": "check_availability_in_area",
                    "arguments": {"zip_code": "94107", "service_type": "leak"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(receiver.requests().len(), 1);
    second.terminate();

    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "after the restart too");
}
