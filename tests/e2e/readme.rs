//! The README's commands, taken from the README's own text and run as typed: the run command
//! serves `/healthz` and stops cleanly on SIGTERM, the demo speaks its answer, the command-line
//! walkthrough prints what the README shows, and `./bench.sh --quick` produces its report. The
//! test command is the one `.ci/run` takes from the README and runs (see there).
//!
//! Each command runs through `sh -c` from the repository root, exactly as written; only the
//! service's own environment variables move it to a free port and a temporary data dir.

use std::{
    io::{BufRead, BufReader, Read},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use crate::utils::client;

/// The repository root (the README's commands are typed there).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// The lines of the first fenced block after the heading that starts with `heading`, each
/// without its trailing `# comment`; blank lines dropped.
fn block_after(heading: &str) -> Vec<String> {
    let text = readme();
    let start = text
        .lines()
        .position(|l| l.starts_with('#') && l.trim_start_matches('#').trim().starts_with(heading))
        .unwrap_or_else(|| panic!("the README has no heading starting with {heading:?}"));
    let mut lines = text
        .lines()
        .skip(start + 1)
        .skip_while(|l| !l.starts_with("```"));
    lines.next().expect("a fenced block after the heading");
    lines
        .take_while(|l| !l.starts_with("```"))
        .map(strip_comment)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The lines of the fenced block that has a line containing `needle` (as [`block_after`]).
fn block_with(needle: &str) -> Vec<String> {
    let text = readme();
    let mut block = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("```") {
            if inside && block.iter().any(|l: &String| l.contains(needle)) {
                return block;
            }
            inside = !inside;
            block.clear();
        } else if inside {
            let line = strip_comment(line);
            if !line.is_empty() {
                block.push(line);
            }
        }
    }
    panic!("no fenced block in the README contains {needle:?}")
}

/// `cmd   # comment` → `cmd` (a `#` only counts after white space, so `$#` or `a#b` stay).
fn strip_comment(line: &str) -> String {
    match line.find(" #") {
        Some(i) => line[..i].trim().to_owned(),
        None => line.trim().to_owned(),
    }
}

/// A README command started with `sh -c` in its own process group, stdout and stderr read
/// line by line into one channel.
struct Shell {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Shell {
    fn start(command: &str, env: &[(&str, &str)]) -> Shell {
        let mut child = shell(command, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("sh starts");
        let (tx, lines) = mpsc::channel();
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
        for stream in [out, err] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Shell {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to `limit`, which covers a first release build) for a line containing
    /// `needle` and returns it.
    fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no line with {needle:?} within {limit:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// SIGTERM to the service (the `switchboard` process the command started, as an init
    /// system would stop it); the service must shut down gracefully, and so the command (and
    /// `cargo run` around it) exit 0, within 30 s.
    fn terminate(mut self) {
        let group = self.child.id();
        let service = process_in_group(group, "switchboard")
            .unwrap_or_else(|| panic!("no switchboard process in the command's group {group}"));
        let sent = Command::new("kill")
            .args(["-TERM", &service.to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "no exit 30 s after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        let rest: Vec<_> = self.lines.try_iter().collect();
        assert!(
            status.success(),
            "exits 0 on SIGTERM, got {status:?}; output:\n{}\n{}",
            self.seen.join("\n"),
            rest.join("\n")
        );
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// The process in process group `group` whose name is `name`.
fn process_in_group(group: u32, name: &str) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`; comm may hold spaces, so split after its `)`.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let pgrp = stat[close + 1..].split_whitespace().nth(2);
        if comm == name && pgrp == Some(group.to_string().as_str()) {
            return Some(pid);
        }
    }
    None
}

/// `sh -c command` at the repository root with the environment a user's shell has: the
/// service's variables cleared, and the ones `cargo test` sets for a test (`CARGO_PKG_*`,
/// `CARGO_MANIFEST_DIR`, `OUT_DIR`, …) too — build scripts watch those, so leaving them would
/// make the command rebuild what a plain shell already built. Then `env`.
fn shell(command: &str, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command).current_dir(root());
    for (name, _) in std::env::vars() {
        let cargo_set = (name.starts_with("CARGO")
            && !matches!(name.as_str(), "CARGO_HOME" | "CARGO_TARGET_DIR"))
            || name == "OUT_DIR"
            || name.starts_with("NEXTEST")
            || name.starts_with("RUST_TEST");
        if name.starts_with("SWITCHBOARD_") || cargo_set {
            cmd.env_remove(name);
        }
    }
    cmd.envs(env.iter().copied());
    cmd
}

/// Runs `command` to completion; returns (exit code, stdout + stderr).
fn run(command: &str, env: &[(&str, &str)]) -> (i32, String) {
    let out = shell(command, env).output().expect("sh runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A first release build on a 2-core machine takes minutes; later ones are instant.
const BUILD: Duration = Duration::from_secs(1500);

async fn healthz(url: &str) {
    let resp = client().get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn the_readme_run_command_serves_and_stops_on_sigterm() {
    let commands = block_after("The two commands");
    assert_eq!(
        commands.len(),
        2,
        "the run command and the test command: {commands:?}"
    );
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(
        ci.contains("The two commands"),
        ".ci/run takes the test command from the README's text"
    );

    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let mut serve = Shell::start(
        &commands[0],
        &[
            ("SWITCHBOARD_LISTEN", "127.0.0.1:0"),
            ("SWITCHBOARD_DATA_DIR", data_dir),
        ],
    );
    let line = serve.wait_for("listening on http://", BUILD);
    let url = line[line.find("http://").unwrap()..].trim().to_owned();
    healthz(&url).await;
    assert!(
        data.path().join("switchboard.db").exists(),
        "the data dir comes from SWITCHBOARD_DATA_DIR"
    );
    serve.terminate();
}

#[tokio::test]
async fn the_readme_demo_commands_build_the_plugins_and_speak_the_answer() {
    let commands = block_after("See it work");
    assert_eq!(
        commands.len(),
        2,
        "the plugin build and the demo: {commands:?}"
    );
    let (code, out) = run(&commands[0], &[]);
    assert_eq!(code, 0, "{}: {out}", commands[0]);

    let data = tempfile::tempdir().unwrap();
    let mut demo = Shell::start(
        &commands[1],
        &[
            ("SWITCHBOARD_LISTEN", "127.0.0.1:0"),
            ("SWITCHBOARD_DATA_DIR", data.path().to_str().unwrap()),
        ],
    );
    demo.wait_for("uploaded the plumbing-speech component", BUILD);
    let said = demo.wait_for("The receptionist says:", Duration::from_secs(60));
    assert!(said.contains("Yes, we cover 94107"), "{said}");
    let url_line = demo.wait_for("SWITCHBOARD_URL=", Duration::from_secs(10));
    let url = url_line[url_line.find("http://").unwrap()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    healthz(&url).await;
    demo.wait_for("Serving until Ctrl-C", Duration::from_secs(10));
    demo.terminate();
}

/// `tool_Ab3…` → `tool_*`, digits → `0`, runs of white space → one space: what must match
/// between the README's transcript and this run.
fn shape(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    'scan: while !rest.is_empty() {
        for prefix in ["tool_", "call_", "cmp_", "ten_", "key_"] {
            if let Some(after) = rest.strip_prefix(prefix) {
                let id_len = after
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .unwrap_or(after.len());
                if id_len >= 16 {
                    out.push_str(prefix);
                    out.push('*');
                    rest = &after[id_len..];
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().unwrap();
        out.push(if c.is_ascii_digit() { '0' } else { c });
        rest = &rest[c.len_utf8()..];
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The README's transcripts: each `$ switchboard …` line with the first line it shows after.
fn transcript_lines() -> Vec<(String, String)> {
    let text = readme();
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].starts_with("$ ") && w[0].contains("switchboard "))
        .map(|w| (strip_comment(&w[0][2..]), w[1].to_owned()))
        .collect()
}

#[tokio::test]
async fn the_readme_command_line_walkthrough_prints_what_it_shows() {
    let data = tempfile::tempdir().unwrap();
    let process =
        crate::utils::Process::serve(data.path(), &["--admin-token", crate::utils::ADMIN]);
    let http = client();
    let (_, key) = process.tenant(&http, "pro").await;

    // Putting the binary on PATH, as the README says, then the apply example.
    let setup = block_after("Command-line client").join(" && ");
    let apply = block_with("tools apply -f examples/tools.yaml");
    let exports = apply
        .iter()
        .find(|l| l.starts_with("export "))
        .expect("the apply example exports its variables");
    let names: Vec<String> = exports
        .split_whitespace()
        .skip(1)
        .map(|kv| kv.split('=').next().unwrap().to_owned())
        .collect();
    let mut env: Vec<(String, String)> = names
        .iter()
        .map(|n| {
            let value = if n == "SWITCHBOARD_KEY" {
                key.clone()
            } else if n.contains("SIGNING") {
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()
            } else {
                format!("test-{n}")
            };
            (n.clone(), value)
        })
        .collect();
    env.push(("SWITCHBOARD_URL".into(), process.url.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let commands: Vec<&String> = apply.iter().filter(|l| !l.starts_with("export ")).collect();
    assert_eq!(commands.len(), 1, "{apply:?}");
    let script = format!("{setup} && {}", commands[0]);
    let (code, out) = run(&script, &env);
    assert_eq!(code, 0, "{script}: {out}");
    assert!(
        out.contains(": 6 created, 0 updated, 0 deleted, 0 unchanged"),
        "{out}"
    );
    let (code, again) = run(&script, &env);
    assert_eq!(code, 0, "{again}");
    assert!(again.contains("no changes (6 tools unchanged)"), "{again}");

    // The transcripts whose commands need nothing from outside this machine, each as typed;
    // its first line must have the README's shape (ids and numbers aside).
    let transcripts = transcript_lines();
    let mut checked = 0;
    for (command, shown) in &transcripts {
        let outside = command.contains("tools.yaml") && !command.contains("examples/tools.yaml")
            || command.contains(".wasm")
            || command.contains("hours=1.5");
        if outside {
            continue;
        }
        // The setup's own output (cargo's "Finished …") is not the transcript's.
        let (_, out) = run(
            &format!("{{ {setup}; }} >/dev/null 2>&1 && {command}"),
            &env,
        );
        let first = out.lines().next().unwrap_or_default();
        assert_eq!(shape(first), shape(shown), "`{command}` printed:\n{out}");
        checked += 1;
    }
    assert!(checked >= 5, "{checked} of {transcripts:?}");
    process.terminate();
}

#[test]
fn the_readme_bench_command_produces_its_report() {
    let quick = readme()
        .lines()
        .map(strip_comment)
        .find(|l| l.starts_with("./bench.sh --quick"))
        .expect("the README shows ./bench.sh --quick");
    let (code, out) = run(&quick, &[]);
    // 2: every row ran, and (with tiny counts, as expected) some targets were not met.
    assert!(code == 0 || code == 2, "{quick} exited {code}: {out}");
    assert!(out.contains("| target | this run | met |"), "{out}");
}
