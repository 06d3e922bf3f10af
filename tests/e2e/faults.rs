//! Webhook faults from a raw TCP endpoint the test drives by hand, writing the bytes itself:
//! silence, a head or a body trickled slower than the deadline, a reset mid-body, a garbage
//! status line, a body shorter than its `Content-Length`, an endless body, non-UTF-8 text.
//!
//! Each proves that the call ends as a typed result (`error.kind`), no later than the tool's
//! deadline plus a margin for this shared machine, that the host lets go of the endpoint, and
//! that a healthy tool works right afterwards.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use switchboard::Config;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
    time::timeout,
};

use crate::utils::{Receiver, TestServer};

/// The faulty tool's `response_timeout_secs`.
const DEADLINE: Duration = Duration::from_secs(2);
/// How late a result may be past the deadline on this shared 2-core machine.
const MARGIN: Duration = Duration::from_secs(3);
/// The most any script runs, so a broken host cannot hang the suite.
const SCRIPT_LIMIT: Duration = Duration::from_secs(20);

/// A hand-driven endpoint on 127.0.0.1: accepts one connection, reads the request head, then
/// runs its script on the stream and reports what the script observed.
struct RawEndpoint<T> {
    /// `http://127.0.0.1:PORT`.
    url: String,
    script: JoinHandle<T>,
}

impl<T: Send + 'static> RawEndpoint<T> {
    async fn start<F, Fut>(script: F) -> Self
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let script = tokio::spawn(async move {
            let (mut stream, _) = timeout(SCRIPT_LIMIT, listener.accept())
                .await
                .expect("the host connects")
                .unwrap();
            read_head(&mut stream).await;
            timeout(SCRIPT_LIMIT, script(stream))
                .await
                .expect("the script finishes")
        });
        Self { url, script }
    }

    /// What the script observed, once it is done.
    async fn observed(self) -> T {
        self.script.await.expect("the script does not panic")
    }
}

/// Reads the request up to the end of its head (the faulty tool is a GET: no body).
async fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0; 1];
        let n = stream.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "the host hung up mid-request: {head:?}");
        head.push(byte[0]);
        assert!(head.len() < 64 * 1024, "an endless request head");
    }
}

/// Writes `bytes` one at a time, `every` apart; returns how many were written before the host
/// hung up (all of them if it never did).
async fn trickle(stream: &mut TcpStream, bytes: &[u8], every: Duration) -> usize {
    for (i, byte) in bytes.iter().enumerate() {
        if stream.write_all(&[*byte]).await.is_err() {
            return i;
        }
        tokio::time::sleep(every).await;
    }
    bytes.len()
}

/// Waits until the host closes the connection; `false` if it is still open after `limit`.
async fn hang_up_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let waited = timeout(limit, async {
        let mut buf = [0; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    waited.is_ok()
}

/// A response head announcing `body_len` bytes of `content_type`.
fn head(content_type: &str, body_len: usize) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {body_len}\r\n\r\n")
        .into_bytes()
}

/// A server with a tenant, a healthy tool against a real [`Receiver`], and a way to call a
/// faulty one.
struct Host {
    server: TestServer,
    key: String,
    healthy: Receiver,
}

impl Host {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let server = TestServer::start_with(tweak).await;
        let healthy = Receiver::start().await;
        let (_, key) = server.tenant("plus").await;
        server
            .tool(&key, get_tool("Healthy endpoint", &healthy.url))
            .await;
        Self {
            server,
            key,
            healthy,
        }
    }

    /// Defines the faulty tool against `base` and calls it; asserts the result came in time
    /// and returns it with how long it took.
    async fn call_faulty(&self, base: &str) -> (Value, Duration) {
        self.server
            .tool(&self.key, get_tool("Faulty endpoint", base))
            .await;
        let started = Instant::now();
        let result = self
            .server
            .invoke(&self.key, "receptionist", "faulty_endpoint", json!({}))
            .await;
        let elapsed = started.elapsed();
        assert!(
            elapsed < DEADLINE + MARGIN,
            "the result came {elapsed:?} after the call: {result}"
        );
        (result, elapsed)
    }

    /// Right after a fault, a healthy tool answers normally.
    async fn still_serves(&self) {
        let before = self.healthy.requests().len();
        let result = self
            .server
            .invoke(&self.key, "receptionist", "healthy_endpoint", json!({}))
            .await;
        assert_eq!(result["ok"], true, "{result}");
        assert_eq!(result["result"], json!({"ok": true}));
        assert_eq!(self.healthy.requests().len(), before + 1);
    }
}

fn get_tool(name: &str, base: &str) -> Value {
    json!({
        "name": name,
        "description": "An endpoint the fault tests drive by hand.",
        "url": format!("{base}/hook"),
        "method": "GET",
        "response_timeout_secs": DEADLINE.as_secs(),
    })
}

/// A failed result of `kind`, with a message for the model and words for the caller.
fn assert_failed(result: &Value, kind: &str) {
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["error"]["kind"], kind, "{result}");
    let message = result["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{result}");
    assert!(
        result["speech"].as_str().is_some_and(|s| !s.is_empty()),
        "{result}"
    );
}

/// A timeout came at the deadline: not before it, and not much after (checked by the caller).
fn assert_timed_out(result: &Value, elapsed: Duration) {
    assert_failed(result, "timeout");
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2 seconds"),
        "{result}"
    );
    assert!(elapsed >= DEADLINE, "gave up early: {elapsed:?}");
}

#[tokio::test]
async fn an_endpoint_that_never_answers_times_out() {
    let host = Host::start().await;
    let endpoint = RawEndpoint::start(|mut stream| async move {
        // Say nothing; note whether the host lets go of the connection once it gives up.
        hang_up_within(&mut stream, DEADLINE + MARGIN).await
    })
    .await;
    let (result, elapsed) = host.call_faulty(&endpoint.url).await;
    assert_timed_out(&result, elapsed);
    assert_eq!(result["status"], Value::Null);
    assert!(
        endpoint.observed().await,
        "the host kept the connection open"
    );
    host.still_serves().await;
}

#[tokio::test]
async fn a_head_trickled_byte_by_byte_times_out() {
    let host = Host::start().await;
    let mut response = head("application/json", 11);
    response.extend_from_slice(br#"{"a": true}"#);
    let total = response.len();
    let endpoint = RawEndpoint::start(|mut stream| async move {
        // ~80 bytes, 150 ms apart: the head alone would take 11 s.
        trickle(&mut stream, &response, Duration::from_millis(150)).await
    })
    .await;
    let (result, elapsed) = host.call_faulty(&endpoint.url).await;
    assert_timed_out(&result, elapsed);
    let written = endpoint.observed().await;
    assert!(
        written < total - 11,
        "the host waited for the whole head ({written} of {total} bytes)"
    );
    host.still_serves().await;
}

#[tokio::test]
async fn a_body_trickled_slower_than_the_deadline_times_out() {
    let host = Host::start().await;
    let endpoint = RawEndpoint::start(|mut stream| async move {
        stream.write_all(&head("text/plain", 100)).await.unwrap();
        // 100 bytes, one every 300 ms: 30 s for the body.
        trickle(&mut stream, &[b'x'; 100], Duration::from_millis(300)).await
    })
    .await;
    let (result, elapsed) = host.call_faulty(&endpoint.url).await;
    assert_timed_out(&result, elapsed);
    let written = endpoint.observed().await;
    assert!(written < 100, "the host read the whole slow body");
    // One deadline covers the body too: it stopped reading about 2 s in (~7 bytes).
    assert!(
        written <= 25,
        "{written} body bytes written before the host hung up"
    );
    host.still_serves().await;
}

/// Resets the connection (RST, not FIN) by closing it with a zero linger.
fn reset(stream: TcpStream) {
    // SO_LINGER is deprecated in tokio because a non-zero linger blocks on drop; a zero
    // linger never blocks: it discards the send buffer and sends RST at once.
    #[allow(deprecated)]
    stream.set_linger(Some(Duration::ZERO)).unwrap();
    drop(stream);
}

#[tokio::test]
async fn a_connection_reset_mid_body_is_unreachable() {
    let host = Host::start().await;
    let endpoint = RawEndpoint::start(|mut stream| async move {
        stream.write_all(&head("text/plain", 1000)).await.unwrap();
        stream.write_all(b"0123456789").await.unwrap();
        // Let the host read the head and start on the body, then break the connection.
        tokio::time::sleep(Duration::from_millis(300)).await;
        reset(stream);
    })
    .await;
    let (result, elapsed) = host.call_faulty(&endpoint.url).await;
    endpoint.observed().await;
    // The connection broke: that is "unreachable" (no usable answer), and at once.
    assert_failed(&result, "unreachable");
    let message = result["error"]["message"].as_str().unwrap();
    assert!(message.contains("127.0.0.1"), "{message}");
    assert!(elapsed < DEADLINE, "a reset is not a timeout: {elapsed:?}");
    host.still_serves().await;
}

#[tokio::test]
async fn a_hang_up_before_answering_is_unreachable_whatever_the_url_says() {
    // The endpoint reads the request and closes without a word. The second time the URL is
    // full of the words the host's error classification looks for; they must not matter.
    let host = Host::start().await;
    for path in ["", "/invalid/parse/malformed/too-large"] {
        let endpoint = RawEndpoint::start(|mut stream| async move {
            stream.shutdown().await.unwrap();
        })
        .await;
        let (result, elapsed) = host.call_faulty(&format!("{}{path}", endpoint.url)).await;
        endpoint.observed().await;
        assert_failed(&result, "unreachable");
        assert!(
            elapsed < DEADLINE,
            "a hang-up is not a timeout: {elapsed:?}"
        );
        delete_faulty(&host).await;
    }
    host.still_serves().await;
}

#[tokio::test]
async fn a_garbage_status_line_is_an_invalid_response() {
    let host = Host::start().await;
    let endpoint = RawEndpoint::start(|mut stream| async move {
        stream.write_all(b"HELLO WORLD\r\n\r\n").await.unwrap();
        hang_up_within(&mut stream, DEADLINE + MARGIN).await
    })
    .await;
    let (result, elapsed) = host.call_faulty(&endpoint.url).await;
    assert_failed(&result, "invalid_response");
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid HTTP"),
        "{result}"
    );
    assert!(
        elapsed < DEADLINE,
        "garbage is refused at once: {elapsed:?}"
    );
    assert!(
        endpoint.observed().await,
        "the host kept the connection open"
    );
    host.still_serves().await;
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_unreachable() {
    let host = Host::start().await;
    let endpoint = RawEndpoint::start(|mut stream| async move {
        stream
            .write_all(&head("application/json", 100))
            .await
            .unwrap();
        stream.write_all(br#"{"partial":"#).await.unwrap();
        // An orderly close (FIN) with 89 bytes still owed.
        stream.shutdown().await.unwrap();
    })
    .await;
    let (result, elapsed) = host.call_faulty(&endpoint.url).await;
    endpoint.observed().await;
    // The answer was cut off: the connection ended before the message did.
    assert_failed(&result, "unreachable");
    assert_eq!(
        result["result"],
        Value::Null,
        "no partial body is passed on"
    );
    assert!(
        elapsed < DEADLINE,
        "an early close is not a timeout: {elapsed:?}"
    );
    host.still_serves().await;
}

/// How the endless body is framed.
#[derive(Clone, Copy, Debug)]
enum Framing {
    /// No `Content-Length`: the body runs until the connection closes.
    CloseDelimited,
    /// `Transfer-Encoding: chunked`, chunks forever.
    Chunked,
}

/// Streams up to `limit` bytes of body in 16 KiB pieces; returns how many body bytes were
/// written and whether the host hung up before the end.
async fn stream_endlessly(stream: &mut TcpStream, framing: Framing, limit: usize) -> (usize, bool) {
    let head: &[u8] = match framing {
        Framing::CloseDelimited => {
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n"
        }
        Framing::Chunked => {
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
        }
    };
    stream.write_all(head).await.unwrap();
    let piece = vec![b'x'; 16 * 1024];
    let mut written = 0;
    while written < limit {
        let sent = match framing {
            Framing::CloseDelimited => stream.write_all(&piece).await,
            Framing::Chunked => {
                let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
                chunk.extend_from_slice(&piece);
                chunk.extend_from_slice(b"\r\n");
                stream.write_all(&chunk).await
            }
        };
        if sent.is_err() {
            return (written, true);
        }
        written += piece.len();
    }
    (written, false)
}

#[tokio::test]
async fn an_endless_body_is_cut_off_at_the_cap() {
    const CAP: usize = 64 * 1024;
    const STREAM_LIMIT: usize = 16 * 1024 * 1024;
    let host = Host::start_with(|c| c.max_response_bytes = CAP).await;
    for framing in [Framing::CloseDelimited, Framing::Chunked] {
        let endpoint = RawEndpoint::start(move |mut stream| async move {
            stream_endlessly(&mut stream, framing, STREAM_LIMIT).await
        })
        .await;
        let (result, _) = host.call_faulty(&endpoint.url).await;
        assert_failed(&result, "response_too_large");
        assert!(
            result["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&CAP.to_string()),
            "{framing:?}: {result}"
        );
        assert_eq!(result["result"], Value::Null, "{framing:?}");
        let (written, hung_up) = endpoint.observed().await;
        assert!(
            hung_up,
            "{framing:?}: the host read all {written} bytes without stopping"
        );
        // The host stopped reading at the cap; what got through beyond it is only what the
        // sockets' buffers held, far from the end of the stream.
        assert!(
            written <= STREAM_LIMIT / 2,
            "{framing:?}: {written} bytes were written before the host hung up"
        );
        delete_faulty(&host).await;
    }
    host.still_serves().await;
}

/// Deletes the faulty tool so the next scenario can define it again.
async fn delete_faulty(host: &Host) {
    let (_, list) = host
        .server
        .call("GET", "/v1/tools", Some(&host.key), None)
        .await;
    let id = list["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function_id"] == "faulty_endpoint")
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .expect("the faulty tool exists");
    let (status, _) = host
        .server
        .call("DELETE", &format!("/v1/tools/{id}"), Some(&host.key), None)
        .await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn a_non_utf8_text_body_comes_back_with_replacement_characters() {
    let host = Host::start().await;
    let body: &[u8] = b"caf\xe9 au lait \xff\xfe ok";
    let endpoint = RawEndpoint::start(move |mut stream| async move {
        let mut response = head("text/plain; charset=utf-8", body.len());
        response.extend_from_slice(body);
        stream.write_all(&response).await.unwrap();
    })
    .await;
    let (result, elapsed) = host.call_faulty(&endpoint.url).await;
    endpoint.observed().await;
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["status"], 200);
    assert_eq!(result["error"], Value::Null);
    assert_eq!(result["result"], "caf\u{FFFD} au lait \u{FFFD}\u{FFFD} ok");
    assert!(elapsed < DEADLINE, "{elapsed:?}");
    host.still_serves().await;
}
