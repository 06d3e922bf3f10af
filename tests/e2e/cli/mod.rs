//! The command-line client as a tenant runs it: the real `switchboard` binary as a child
//! process against a real server, with `SWITCHBOARD_URL` / `SWITCHBOARD_KEY` in its
//! environment. [`apply`]: `tools apply -f`, starting with the shipped example file;
//! [`commands`]: list, test, invoke, calls, components, and the error paths.
//!
//! This module is the harness: [`Sb`] runs the binary, [`Run`] is what it did.

mod apply;
mod commands;

use std::{path::Path, process::Output};

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::process::Command;

use crate::utils::{TestServer, binary};

/// The example file shipped in the repository.
fn example() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tools.yaml");
    std::fs::read_to_string(path).expect("examples/tools.yaml exists")
}

const EXAMPLE_IDS: [&str; 6] = [
    "look_up_caller",
    "check_part_in_stock",
    "capture_lead",
    "create_service_ticket",
    "get_price_quote",
    "check_availability_in_area",
];

fn signing_secret() -> String {
    let key = base64::engine::general_purpose::STANDARD.encode(b"0123456789abcdef0123456789abcdef");
    format!("whsec_{key}")
}

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// Asserts exit code 0 and returns stdout.
    fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts a failure with `code`, an error on stderr and no panic; returns stderr.
    fn failed(&self, code: i32) -> &str {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(self.stderr.starts_with("error:"), "{}", self.stderr);
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("backtrace"),
            "{}",
            self.stderr
        );
        &self.stderr
    }
}

/// The client configured for one server and key, with the example's secrets in its env.
struct Sb {
    url: String,
    key: String,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl Sb {
    fn new(url: &str, key: &str) -> Self {
        Self {
            url: url.to_owned(),
            key: key.to_owned(),
            env: vec![
                ("CRM_API_TOKEN".into(), "crm-token-1".into()),
                ("HELPDESK_API_KEY".into(), "helpdesk-key-1".into()),
                ("LEADS_SIGNING_SECRET".into(), signing_secret()),
            ],
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn set(&mut self, name: &str, value: &str) {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.into(), value.into()));
    }

    fn unset(&mut self, name: &str) {
        self.env.retain(|(n, _)| n != name);
    }

    /// Writes `text` to a file in this client's temp dir; returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    async fn run(&self, args: &[&str]) -> Run {
        let mut cmd = client_command(&self.url, &self.key);
        for var in ["CRM_API_TOKEN", "HELPDESK_API_KEY", "LEADS_SIGNING_SECRET"] {
            cmd.env_remove(var);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v))).args(args);
        let Output {
            status,
            stdout,
            stderr,
        } = cmd.output().await.expect("the binary runs");
        Run {
            code: status.code().expect("exited, not killed"),
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        }
    }

    async fn apply(&self, text: &str, extra: &[&str]) -> Run {
        let path = self.file("tools.yaml", text);
        let mut args = vec!["tools", "apply", "-f", &path];
        args.extend_from_slice(extra);
        self.run(&args).await
    }
}

/// The binary with the server and key in its environment, and no proxy.
fn client_command(url: &str, key: &str) -> Command {
    let mut cmd = Command::new(binary());
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("SWITCHBOARD_URL", url)
        .env("SWITCHBOARD_KEY", key)
        .env("RUST_BACKTRACE", "1");
    cmd
}

/// The tenant's tools by function id.
async fn tools(server: &TestServer, key: &str) -> Vec<Value> {
    let (status, body) = server.call("GET", "/v1/tools", Some(key), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["tools"].as_array().unwrap().clone()
}

fn tool<'a>(tools: &'a [Value], function_id: &str) -> &'a Value {
    tools
        .iter()
        .find(|t| t["function_id"] == function_id)
        .unwrap_or_else(|| panic!("no {function_id} in {tools:?}"))
}

/// The line apply printed about one tool.
fn line<'a>(stdout: &'a str, function_id: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == function_id))
        .unwrap_or_else(|| panic!("no line for {function_id} in:\n{stdout}"))
}
