//! Compiling an upload in a child process: `switchboard compile-component` (hidden) reads the
//! component's bytes on stdin and writes wasmtime's compiled artifact on stdout, with an
//! engine built from the same limits, so the artifact fits the service's engine.
//!
//! Cranelift's working memory for a large component runs to hundreds of MiB; an allocator
//! keeps much of it after the compile ends. In a child it is all given back when the child
//! exits, and a compile bomb cannot take the service's memory with it. The child's answer is
//! written to the artifact cache and loaded from there: it is the host's own binary, so the
//! cache's rule (only artifacts the host compiled are deserialized) holds.
//!
//! Without a compiler binary (the library driven in-process by tests and the benchmark),
//! the runtime compiles in its own process instead.

use std::{
    io::{Read, Write},
    path::Path,
    process::{Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use wasmtime::component::Component;

use super::{Refused, engine, limits::SandboxLimits};

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "compile-component";

/// Compiles `bytes` in a child process running `exe`; answers the serialized artifact. A
/// compile that runs past [`SandboxLimits::compile_ms`] is killed and refused: uploads take
/// turns, so one that compiles for ever would hold up every other tenant's.
pub fn in_child(exe: &Path, limits: &SandboxLimits, bytes: &[u8]) -> Result<Vec<u8>, Refused> {
    let failed = |e: std::io::Error| {
        tracing::error!(error = %e, exe = %exe.display(), "running the component compiler");
        Refused("the component could not be compiled: the compiler did not run".into())
    };
    let mut child = Command::new(exe)
        .arg(SUBCOMMAND)
        .arg(limits.memory_bytes.to_string())
        .arg(limits.concurrency.to_string())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(failed)?;
    let mut stdin = child.stdin.take().expect("piped");
    let input = bytes.to_vec();
    // A child that fails early closes its end: its stderr says why, not a write error.
    let writer = std::thread::spawn(move || drop(stdin.write_all(&input)));
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = pipe.read_to_end(&mut out);
            out
        })
    };
    let stdout = reader(Box::new(child.stdout.take().expect("piped")));
    let stderr = reader(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + Duration::from_millis(limits.compile_ms);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(failed)? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Refused(format!(
                "the component could not be compiled within {} ms; make it smaller",
                limits.compile_ms
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = writer.join();
    let (stdout, stderr) = (stdout.join(), stderr.join());
    if status.success() {
        Ok(stdout.unwrap_or_default())
    } else {
        let message = String::from_utf8_lossy(&stderr.unwrap_or_default())
            .trim()
            .to_owned();
        Err(Refused(if message.is_empty() {
            format!("the component could not be compiled: the compiler stopped ({status})")
        } else {
            message
        }))
    }
}

/// The child's side: stdin → compiled artifact on stdout; a refusal on stderr, exit 2.
pub fn run_child(memory_bytes: usize, concurrency: u32) -> ExitCode {
    let limits = SandboxLimits {
        memory_bytes,
        concurrency,
        ..SandboxLimits::default()
    };
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("the component could not be compiled: reading it failed: {e}");
        return ExitCode::from(2);
    }
    let compiled = engine::build(&limits)
        .map_err(|e| format!("the component could not be compiled: no engine: {e:#}"))
        .and_then(|engine| {
            Component::new(&engine, &bytes)
                .map_err(|e| format!("the component could not be compiled: {e:#}"))
        })
        .and_then(|component| {
            component
                .serialize()
                .map_err(|e| format!("the component could not be compiled: {e:#}"))
        });
    match compiled {
        Ok(artifact) => match std::io::stdout().write_all(&artifact) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("the component could not be compiled: writing it failed: {e}");
                ExitCode::from(2)
            }
        },
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}
