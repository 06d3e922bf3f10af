//! Paths of the components built from `plugins/` (see `build.rs`), for the host's tests.
//!
//! Each constant is an absolute path to a `.wasm` component: the example plugins
//! (`NORMALIZE_INPUT`, `PLUMBING_SPEECH`, `REDACT_PII`) and the hostile or diagnostic
//! fixtures (`INFINITE_LOOP`, `MEMORY_BOMB`, …); and, in [`hostile`], components no
//! Rust toolchain emits, written by hand in WAT.

#![forbid(unsafe_code)]

pub mod hostile;

include!(concat!(env!("OUT_DIR"), "/components.rs"));

/// Reads a component's bytes.
pub fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}
