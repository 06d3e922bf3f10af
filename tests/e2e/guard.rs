//! The outbound guard end to end, under the default policy: every spelling of loopback a
//! tenant can write is refused — at definition when the URL alone gives it away, at
//! invocation when only resolving the name does — and the endpoint listening there never
//! gets a request. A control run with loopback allowed shows the same spellings do reach it,
//! so the refusals are not vacuous. Then DNS rebinding: a name server that answers a private
//! address (after a public one) never gets the host to connect to it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::http::HeaderMap;
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::{
    tool::model::Method,
    webhook::{
        OutboundRequest, WebhookClient, WebhookError,
        guard::{BlockedRange, GuardedResolver, Lookup, NetPolicy, find_blocked},
    },
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    time::timeout,
};

use crate::utils::{ADMIN, Process, Receiver, TestServer, loopback_hostname, seed_tool};

/// When the guard refuses a URL.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Refused {
    /// `POST /v1/tools` answers 422: the URL alone shows it is local.
    AtDefinition,
    /// The tool is stored; invoking it is `blocked_destination` once the name resolves.
    AtInvocation,
}

/// A GET tool at `url`, named so its function id is `probe`.
fn probe(url: &str) -> Value {
    json!({"name": "Probe", "description": "Where does this go?", "url": url, "method": "GET"})
}

/// Loopback spellings for a receiver on 127.0.0.1:`port`, with when each is refused.
async fn loopback_spellings(port: u16) -> Vec<(String, Refused)> {
    use Refused::*;
    let mut vectors: Vec<(String, Refused)> = [
        "http://127.0.0.1:{port}/",
        "http://127.1:{port}/",
        "http://0x7f.1:{port}/",
        "http://2130706433:{port}/",
        "http://017700000001:{port}/",
        "http://0177.0.0.1:{port}/",
        "http://0x7f.0x0.0x0.0x1:{port}/",
        "http://%31%32%37.0.0.1:{port}/",
        "http://127.0.0.1.:{port}/",
        "http://127.127.127.127:{port}/",
        "http://[::1]:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://[::ffff:7f00:1]:{port}/",
        "http://[::127.0.0.1]:{port}/",
        "http://[64:ff9b::7f00:1]:{port}/",
        "http://[2002:7f00:1::1]:{port}/",
        "http://localhost:{port}/",
        "http://localhost.:{port}/",
        "http://LOCALHOST:{port}/",
        "http://foo.localhost:{port}/",
        "http://0:{port}/",
        "http://0.0.0.0:{port}/",
        "http://[::]:{port}/",
        "http://example.com@127.0.0.1:{port}/",
        "http://127.0.0.1:{port}/#@example.com",
        "http://127.0.0.1:{port}#@example.com",
    ]
    .iter()
    .map(|u| (u.replace("{port}", &port.to_string()), AtDefinition))
    .collect();
    let host = loopback_hostname().await;
    vectors.push((format!("http://{host}:{port}/"), AtInvocation));
    vectors
}

#[tokio::test]
async fn loopback_in_any_spelling_is_refused_and_never_reached() {
    let server = TestServer::start_with(|c| c.allow_net.clear()).await;
    let receiver = Receiver::start().await;
    let (_, key) = server.tenant("plus").await;
    let vectors = loopback_spellings(receiver.addr.port()).await;
    assert!(vectors.len() >= 15);

    for (url, when) in &vectors {
        let (status, body) = server
            .call("POST", "/v1/tools", Some(&key), Some(probe(url)))
            .await;
        match when {
            Refused::AtDefinition => {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
                assert_eq!(body["error"]["kind"], "invalid_request", "{url}");
                let blocked = body["error"]["fields"].as_array().unwrap().iter().any(|f| {
                    f["field"] == "url" && f["message"].as_str().unwrap().contains("is blocked (")
                });
                assert!(blocked, "{url}: not refused by the guard: {body}");
            }
            Refused::AtInvocation => {
                assert_eq!(status, StatusCode::CREATED, "{url}: {body}");
                let result = server
                    .invoke(&key, "receptionist", "probe", json!({}))
                    .await;
                assert_eq!(result["ok"], false, "{url}: {result}");
                assert_eq!(result["error"]["kind"], "blocked_destination", "{url}");
                let message = result["error"]["message"].as_str().unwrap();
                assert!(
                    message.contains("resolves only to blocked addresses")
                        && message.contains("loopback"),
                    "{url}: {message}"
                );
                assert_eq!(result["status"], Value::Null);
                let id = body["id"].as_str().unwrap();
                let (status, _) = server
                    .call("DELETE", &format!("/v1/tools/{id}"), Some(&key), None)
                    .await;
                assert_eq!(status, StatusCode::NO_CONTENT);
            }
        }
    }

    // Not http(s) at all.
    for url in [
        "file:///etc/passwd".to_owned(),
        format!("gopher://127.0.0.1:{}/", receiver.addr.port()),
    ] {
        let (status, body) = server
            .call("POST", "/v1/tools", Some(&key), Some(probe(&url)))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(body["error"]["fields"][0]["field"], "url");
        let message = body["error"]["fields"][0]["message"].as_str().unwrap();
        assert!(message.contains("http or https"), "{url}: {message}");
    }

    assert!(
        receiver.requests().is_empty(),
        "the loopback receiver was reached: {:?}",
        receiver.requests()
    );
    let (_, tools) = server.call("GET", "/v1/tools", Some(&key), None).await;
    assert_eq!(tools["tools"], json!([]), "nothing refused was stored");
}

#[tokio::test]
async fn the_same_spellings_reach_the_receiver_when_the_operator_allows_it() {
    // The control: with loopback (and 0.0.0.0/8, which Linux connects to loopback) allowed,
    // the spellings that point at 127.0.0.1 really do arrive there.
    let server = TestServer::start_with(|c| {
        c.allow_net = vec!["127.0.0.0/8".parse().unwrap(), "0.0.0.0/8".parse().unwrap()];
    })
    .await;
    let receiver = Receiver::start().await;
    let port = receiver.addr.port();
    let (_, key) = server.tenant("plus").await;
    let host = loopback_hostname().await;
    let reachable = [
        "127.1",
        "0x7f.1",
        "2130706433",
        "017700000001",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "0",
        "0.0.0.0",
        host.as_str(),
    ];
    for (i, spelling) in reachable.iter().enumerate() {
        let url = format!("http://{spelling}:{port}/reached");
        let tool = server.tool(&key, probe(&url)).await;
        let result = server
            .invoke(&key, "receptionist", "probe", json!({}))
            .await;
        assert_eq!(result["ok"], true, "{url}: {result}");
        assert_eq!(receiver.requests().len(), i + 1, "{url}");
        let id = tool["id"].as_str().unwrap();
        server
            .call("DELETE", &format!("/v1/tools/{id}"), Some(&key), None)
            .await;
    }
}

/// A lookup that answers `answers[n]` on its n-th call (the last one from then on), and
/// counts its calls: an attacker's name server, without any DNS traffic.
fn scripted(answers: &[&str]) -> (Lookup, Arc<AtomicUsize>) {
    let answers: Vec<std::net::IpAddr> = answers.iter().map(|a| a.parse().unwrap()).collect();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let lookup: Lookup = Arc::new(move |_: &str| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let answer = answers[n.min(answers.len() - 1)];
        Box::pin(async move { Ok(vec![answer]) })
    });
    (lookup, calls)
}

/// A listener on `ip`:`port` (0 for any) that answers every connection `200 ok` and closes
/// it, counting connections.
async fn counting_listener(ip: &str, port: u16) -> std::io::Result<(u16, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind((ip, port)).await?;
    let port = listener.local_addr()?.port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0; 8192];
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    Ok((port, accepted))
}

fn get(url: &str) -> OutboundRequest {
    OutboundRequest {
        method: Method::Get,
        url: url.parse().unwrap(),
        headers: HeaderMap::new(),
        body: None,
    }
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_gets_no_connection() {
    let (port, accepted) = counting_listener("127.0.0.1", 0).await.unwrap();
    let url = format!("http://rebind.test:{port}/");
    let (lookup, calls) = scripted(&["127.0.0.1"]);

    // A reqwest client built the way the webhook client builds its own.
    let http = reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver::with_lookup(
            NetPolicy::default(),
            lookup.clone(),
        )))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = http.get(&url).send().await.unwrap_err();
    let blocked = find_blocked(&err).unwrap_or_else(|| panic!("not a refusal: {err:?}"));
    assert_eq!(blocked.range(), Some(BlockedRange::Loopback));
    assert_eq!(blocked.host(), "rebind.test");

    // And the webhook client itself, with the same lookup.
    let webhooks = WebhookClient::with_lookup(NetPolicy::default(), 1024, lookup).unwrap();
    match webhooks.send(get(&url), 2).await {
        Err(WebhookError::Blocked(message)) => {
            assert!(
                message.contains("rebind.test") && message.contains("127.0.0.1 is loopback"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    assert_eq!(calls.load(Ordering::SeqCst), 2, "both asked the lookup");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "a connection was made");
}

/// Binds the "public" and the private side of the rebinding test on the same port.
async fn two_sides() -> ((u16, Arc<AtomicUsize>), Arc<AtomicUsize>) {
    for _ in 0..20 {
        let public = counting_listener("127.0.0.2", 0).await.unwrap();
        if let Ok((_, private)) = counting_listener("127.0.0.1", public.0).await {
            return (public, private);
        }
    }
    panic!("no port free on both 127.0.0.2 and 127.0.0.1");
}

#[tokio::test]
async fn a_rebinding_name_gets_the_public_side_and_never_the_private_one() {
    // 127.0.0.2 plays the public address: the operator allows exactly it. The name server
    // answers it first, then 127.0.0.1 — the classic rebinding attack.
    let ((port, public), private) = two_sides().await;
    let policy = NetPolicy::new(vec!["127.0.0.2/32".parse().unwrap()]);
    let (lookup, calls) = scripted(&["127.0.0.2", "127.0.0.1"]);
    let webhooks = WebhookClient::with_lookup(policy, 1024, lookup).unwrap();
    let url = format!("http://rebind.test:{port}/");

    let first = webhooks.send(get(&url), 2).await.expect("the public side");
    assert_eq!((first.status, first.body.as_slice()), (200, &b"ok"[..]));
    assert_eq!(public.load(Ordering::SeqCst), 1);

    // The public side closed its connection, so the next call resolves again: to loopback.
    for _ in 0..3 {
        match webhooks.send(get(&url), 2).await {
            Err(WebhookError::Blocked(message)) => {
                assert!(message.contains("127.0.0.1 is loopback"), "{message}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(calls.load(Ordering::SeqCst), 4, "each call resolved anew");
    let connected = timeout(Duration::from_millis(200), async {
        while private.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(connected.is_err(), "the private side got a connection");
    assert_eq!(public.load(Ordering::SeqCst), 1);
}

/// With every proxy variable pointing at a recording "proxy", the request still goes straight
/// to the endpoint: the outbound client never uses environment proxies (a proxy would be a
/// way around the guard, which checks the endpoint, not the proxy).
#[tokio::test]
async fn environment_proxies_are_ignored() {
    let endpoint = Receiver::start().await;
    let proxy = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let via = proxy.url.as_str();
    let mut env = vec![("NO_PROXY", ""), ("no_proxy", "")];
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        env.push((name, via));
    }
    let process = Process::serve_with_env(dir.path(), &["--admin-token", ADMIN], &env);
    let http = crate::utils::client();
    let (_, key) = process.tenant(&http, "plus").await;
    let (status, _) = crate::utils::call(
        &http,
        &process.url,
        "POST",
        "/v1/tools",
        Some(&key),
        Some(seed_tool(&endpoint.url)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, result) = crate::utils::call(
        &http,
        &process.url,
        "POST",
        "/v1/agents/receptionist/invoke",
        Some(&key),
        Some(json!({"tool": "check_availability_in_area",
            "arguments": {"zip_code": "94107", "service_type": "leak"}})),
    )
    .await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(
        endpoint.requests().len(),
        1,
        "the request went straight to the endpoint"
    );
    assert!(proxy.requests().is_empty(), "the proxy saw nothing");
    process.terminate();
}
