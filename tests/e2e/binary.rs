//! The real `switchboard` binary as an operator runs it: start-up, the generated operator
//! token, graceful shutdown on SIGTERM, state surviving a restart, and `switchboard demo`.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;

use crate::utils::{ADMIN, Process, Receiver, binary, call, client, seed_tool};

#[tokio::test]
async fn state_survives_a_restart_of_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let http = client();

    let first = Process::serve(dir.path(), &["--admin-token", ADMIN]);
    let (tenant_id, manage) = first.tenant(&http, "plus").await;
    let (_, key) = call(
        &http,
        &first.url,
        "POST",
        "/v1/keys",
        Some(&manage),
        Some(json!({"scope": "invoke"})),
    )
    .await;
    let invoke = key["key"].as_str().unwrap().to_owned();
    let (_, revoked) = call(
        &http,
        &first.url,
        "POST",
        "/v1/keys",
        Some(&manage),
        Some(json!({"scope": "invoke"})),
    )
    .await;
    call(
        &http,
        &first.url,
        "DELETE",
        &format!("/v1/keys/{}", revoked["id"].as_str().unwrap()),
        Some(&manage),
        None,
    )
    .await;
    let (status, tool) = call(
        &http,
        &first.url,
        "POST",
        "/v1/tools",
        Some(&manage),
        Some(seed_tool(&receiver.url)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let args = json!({"tool": "check_availability_in_area",
                      "arguments": {"zip_code": "94107", "service_type": "leak"},
                      "call_id": "before-restart"});
    let (_, result) = call(
        &http,
        &first.url,
        "POST",
        "/v1/agents/receptionist/invoke",
        Some(&invoke),
        Some(args),
    )
    .await;
    assert_eq!(result["ok"], true);
    let log = first.terminate();
    assert!(log.contains("shutting down"), "{log}");

    let second = Process::serve(dir.path(), &["--admin-token", ADMIN]);
    let (status, got) = call(
        &http,
        &second.url,
        "GET",
        &format!("/v1/tenants/{tenant_id}"),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["plan"], "plus");
    let (status, got) = call(
        &http,
        &second.url,
        "GET",
        &format!("/v1/tools/{}", tool["id"].as_str().unwrap()),
        Some(&manage),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, tool);
    let (status, _) = call(
        &http,
        &second.url,
        "GET",
        "/v1/tools",
        Some(revoked["key"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked key stays revoked"
    );
    let (_, calls) = call(&http, &second.url, "GET", "/v1/calls", Some(&manage), None).await;
    assert_eq!(calls["calls"][0]["call_id"], "before-restart");
    let args = json!({"tool": "check_availability_in_area",
                      "arguments": {"zip_code": "94107", "service_type": "leak"}});
    let (_, result) = call(
        &http,
        &second.url,
        "POST",
        "/v1/agents/receptionist/invoke",
        Some(&invoke),
        Some(args),
    )
    .await;
    assert_eq!(result["ok"], true);
    assert_eq!(receiver.requests().len(), 2);
    second.terminate();
}

#[tokio::test]
async fn a_generated_operator_token_lives_in_a_private_file_and_is_never_logged() {
    let dir = tempfile::tempdir().unwrap();
    let http = client();
    let process = Process::serve(dir.path(), &[]);
    let token_file = dir.path().join("admin-token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    let token = token.trim();
    assert!(token.starts_with("sbo_") && token.len() > 30);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (status, _) = call(
        &http,
        &process.url,
        "POST",
        "/v1/tenants",
        Some(token),
        Some(json!({"name": "x", "plan": "free"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let log = process.terminate();
    assert!(!log.contains(token), "the token is never logged");

    // A restart reuses the same token.
    let again = Process::serve(dir.path(), &[]);
    let (status, _) = call(
        &http,
        &again.url,
        "POST",
        "/v1/tenants",
        Some(token),
        Some(json!({"name": "y", "plan": "free"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    again.terminate();
}

#[test]
fn bad_flags_fail_with_a_clear_message() {
    let out = Command::new(binary())
        .args(["serve", "--allow-net", "not-a-cidr"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--allow-net"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-token",
            "short",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("SWITCHBOARD_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 16 characters"), "{stderr}");
}

#[test]
fn demo_prints_a_real_invocation_and_its_spoken_result() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary())
        .args(["demo", "--listen", "127.0.0.1:0", "--once", "--component"])
        .arg(test_components::PLUMBING_SPEECH)
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("SWITCHBOARD_LISTEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("\"ok\": true"), "{stdout}");
    assert!(
        stdout.contains("\"next_slot\": \"Tuesday 9am\""),
        "{stdout}"
    );
    assert!(stdout.contains("check_availability_in_area"), "{stdout}");
    assert!(stdout.contains("curl"), "{stdout}");
    assert!(
        stdout.contains(
            "The receptionist says: \"Yes, we cover 94107 — the next opening is Tuesday at 9am.\""
        ),
        "{stdout}"
    );
    assert!(dir.path().join("switchboard.db").exists());
}
