//! The real `switchboard` binary as a child process: started on `127.0.0.1:0`, its log read
//! line by line with the time each line arrived, its resident memory read from `/proc`.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use crate::api::ADMIN;

/// A running `switchboard serve`; dropping it kills the process.
pub struct Server {
    child: Child,
    /// When the process was spawned.
    pub spawned: Instant,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// When it announced that it listens.
    pub listening: Instant,
    lines: mpsc::Receiver<(Instant, String)>,
}

impl Server {
    /// Starts `bin serve` on `data_dir` with loopback allowed and per-tenant limits lifted;
    /// returns once it listens.
    pub fn start(bin: &Path, data_dir: &Path) -> anyhow::Result<Server> {
        anyhow::ensure!(
            bin.exists(),
            "no switchboard binary at {}; build it with `cargo build --release -p switchboard` \
             (./bench.sh does) or pass --switchboard PATH",
            bin.display()
        );
        let spawned = Instant::now();
        let mut child = Command::new(bin)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(["--admin-token", ADMIN, "--allow-net", "127.0.0.0/8"])
            .args(["--plus-rate", "100000000", "--pro-rate", "100000000"])
            .env_remove("SWITCHBOARD_ADMIN_TOKEN")
            .env_remove("SWITCHBOARD_ALLOW_NET")
            .env("SWITCHBOARD_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            spawned,
            url: String::new(),
            listening: spawned,
            lines,
        };
        let (at, line) = server.wait_for("listening on http://", Duration::from_secs(60))?;
        let i = line.find("http://").unwrap_or_default();
        server.url = line[i..].trim().to_owned();
        server.listening = at;
        Ok(server)
    }

    /// The first log line containing `needle` from now on, and when it arrived.
    pub fn wait_for(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> anyhow::Result<(Instant, String)> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if line.contains(needle) => return Ok((at, line)),
                Ok((_, line)) => {
                    seen.push(line);
                    if seen.len() > 20 {
                        seen.remove(0);
                    }
                }
                Err(_) => anyhow::bail!(
                    "switchboard did not log {needle:?} within {timeout:?}; its last lines: {seen:#?}"
                ),
            }
        }
    }

    /// Resident memory (VmRSS) in bytes.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/{}/status", self.child.id()))?;
        Ok(kib * 1024)
    }

    /// Sends SIGTERM and waits for the process to exit cleanly.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -TERM failed");
        let exit = self.child.wait()?;
        anyhow::ensure!(exit.success(), "switchboard exited with {exit}");
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `key=value` field of a log line, as text.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pattern = format!(" {key}=");
    let start = line.find(&pattern)? + pattern.len();
    line[start..].split_whitespace().next()
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_read_from_log_lines() {
        let line = "2025-01-01T00:00:00Z  INFO switchboard: components ready total=3 ready=3 compiled=0 elapsed_ms=12";
        assert_eq!(field(line, "ready"), Some("3"));
        assert_eq!(field(line, "elapsed_ms"), Some("12"));
        assert_eq!(field(line, "failed"), None);
    }
}
