//! Tenant secrets: write-only through the API, encrypted at rest and bound to their row,
//! never in logs or call records; and Standard Webhooks signatures checked by an
//! independent verifier (the `standardwebhooks` crate).

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::utils::{Receiver, TestServer, seed_tool};

const SENTINEL: &str = "sentinel-9f2c41d7e8b3";
const SIGNING: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn secret_tool(base: &str) -> Value {
    let mut spec = seed_tool(base);
    spec["headers"] = json!([
        {"name": "Authorization", "value": format!("Bearer {SENTINEL}"), "secret": true},
        {"name": "X-Plain", "value": "visible"}
    ]);
    spec
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_sentinel_secret_is_used_but_never_shown_logged_or_stored_in_plaintext() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    let mut answers = Vec::new();

    let tool = server.tool(&key, secret_tool(&receiver.url)).await;
    answers.push(tool.clone());
    let id = tool["id"].as_str().unwrap().to_owned();
    for path in ["/v1/tools".to_owned(), format!("/v1/tools/{id}")] {
        answers.push(server.call("GET", &path, Some(&key), None).await.1);
    }
    answers.push(server.seed_call(&key, "94107").await);
    // A failing call too: its error must not carry the secret either.
    receiver.reply(crate::utils::Reply::json(500, json!({"echo": "nothing"})));
    answers.push(server.seed_call(&key, "94107").await);
    answers.push(
        server
            .call(
                "POST",
                &format!("/v1/tools/{id}/test"),
                Some(&key),
                Some(json!({"arguments": {"zip_code": "1", "service_type": "x"}})),
            )
            .await
            .1,
    );
    answers.push(server.call("GET", "/v1/calls", Some(&key), None).await.1);

    // The secret did its job: the endpoint received it.
    assert_eq!(
        receiver.requests()[0].header("authorization"),
        Some(format!("Bearer {SENTINEL}").as_str())
    );
    for answer in &answers {
        assert!(!answer.to_string().contains(SENTINEL), "leaked in {answer}");
    }

    let dir = server.stop().await;
    let all = files(dir.path());
    assert!(all.iter().any(|p| p.ends_with("switchboard.db")));
    assert!(all.iter().any(|p| p.ends_with("secret-key")));
    for file in &all {
        let bytes = std::fs::read(file).unwrap();
        assert!(
            !contains(&bytes, SENTINEL.as_bytes()),
            "plaintext secret in {}",
            file.display()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secret-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn a_ciphertext_moved_to_another_tool_does_not_decrypt() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    let a = server.tool(&key, secret_tool(&receiver.url)).await;
    let mut spec_b = secret_tool(&receiver.url);
    spec_b["name"] = json!("Other tool");
    spec_b["headers"][0]["value"] = json!("Bearer something-else");
    let b = server.tool(&key, spec_b).await;
    let dir = server.stop().await;

    // Move A's sealed Authorization value into B's row, as an attacker with the database would.
    let db = rusqlite::Connection::open(dir.path().join("switchboard.db")).unwrap();
    let spec_of = |id: &str| -> Value {
        let text: String = db
            .query_row("SELECT spec FROM tools WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let sealed_a = spec_of(a["id"].as_str().unwrap())["headers"][0]["value"].clone();
    assert!(
        sealed_a.as_str().unwrap().starts_with("enc:v1:"),
        "stored sealed: {sealed_a}"
    );
    let mut spec_b = spec_of(b["id"].as_str().unwrap());
    spec_b["headers"][0]["value"] = sealed_a;
    db.execute(
        "UPDATE tools SET spec = ?1 WHERE id = ?2",
        [spec_b.to_string(), b["id"].as_str().unwrap().to_owned()],
    )
    .unwrap();
    drop(db);

    let server = TestServer::start_in(dir, |_| {}).await;
    let result = server
        .invoke(
            &key,
            "receptionist",
            "other_tool",
            json!({"zip_code": "94107", "service_type": "leak"}),
        )
        .await;
    assert_eq!(result["ok"], false);
    assert_eq!(result["error"]["kind"], "secret_unavailable", "{result}");
    assert!(receiver.requests().is_empty(), "nothing was sent");
    // A's own secret still opens.
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true, "{result}");
}

#[tokio::test]
async fn a_restart_with_another_secret_key_cannot_open_secrets() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    server.tool(&key, secret_tool(&receiver.url)).await;
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, |c| c.secret_key = Some("ab".repeat(32))).await;
    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["error"]["kind"], "secret_unavailable", "{result}");
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn requests_are_signed_per_standard_webhooks() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    let mut spec = seed_tool(&receiver.url);
    spec["signing_secret"] = json!(SIGNING);
    let tool = server.tool(&key, spec.clone()).await;
    assert_eq!(tool["signed"], true);
    assert!(tool.get("signing_secret").is_none(), "write-only: {tool}");
    let id = tool["id"].as_str().unwrap().to_owned();

    let result = server.seed_call(&key, "94107").await;
    assert_eq!(result["ok"], true);
    let verifier = standardwebhooks::Webhook::new(SIGNING).unwrap();
    let sent = receiver.requests().pop().unwrap();
    verifier
        .verify(&sent.body, &sent.headers)
        .expect("the independent verifier accepts the signature over the sent bytes");
    assert_eq!(sent.header("webhook-id"), result["call_id"].as_str());
    assert_eq!(
        sent.header("switchboard-call-id"),
        result["call_id"].as_str()
    );
    // Altered bytes do not verify.
    let mut tampered = sent.body.to_vec();
    tampered.push(b' ');
    assert!(verifier.verify(&tampered, &sent.headers).is_err());
    assert!(
        standardwebhooks::Webhook::new("whsec_c2VjcmV0LWJ1dC1ub3QtdGhlLW9uZS0xMjM0")
            .unwrap()
            .verify(&sent.body, &sent.headers)
            .is_err()
    );

    // Replacing without the secret keeps it; "" removes it.
    spec.as_object_mut().unwrap().remove("signing_secret");
    let (status, kept) = server
        .call(
            "PUT",
            &format!("/v1/tools/{id}"),
            Some(&key),
            Some(spec.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept["signed"], true);
    server.seed_call(&key, "94107").await;
    let sent = receiver.requests().pop().unwrap();
    verifier
        .verify(&sent.body, &sent.headers)
        .expect("still signed after a replace");

    spec["signing_secret"] = json!("");
    let (_, removed) = server
        .call(
            "PUT",
            &format!("/v1/tools/{id}"),
            Some(&key),
            Some(spec.clone()),
        )
        .await;
    assert_eq!(removed["signed"], false);
    server.seed_call(&key, "94107").await;
    assert!(
        receiver
            .requests()
            .pop()
            .unwrap()
            .header("webhook-signature")
            .is_none()
    );

    // GET requests (no body) are signed over the empty body.
    let get = server
        .tool(
            &key,
            json!({
                "name": "Lookup", "description": "d", "method": "GET",
                "url": format!("{}/lookup", receiver.url),
                "query_params": [{"key": "q", "type": "string"}],
                "signing_secret": SIGNING
            }),
        )
        .await;
    assert_eq!(get["signed"], true);
    server
        .invoke(&key, "receptionist", "lookup", json!({"q": "x"}))
        .await;
    let sent = receiver.requests().pop().unwrap();
    verifier
        .verify(&sent.body, &sent.headers)
        .expect("a GET is signed too");

    spec["signing_secret"] = json!("not-a-secret");
    let (status, err) = server
        .call("PUT", &format!("/v1/tools/{id}"), Some(&key), Some(spec))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["fields"][0]["field"], "signing_secret");
}
