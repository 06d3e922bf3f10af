//! Warming at start-up: every stored component made ready to instantiate before its first
//! call needs it, from the compiled-artifact cache (a component whose artifact is missing or
//! unusable is compiled from its stored bytes instead).
//!
//! It runs in the background: the server answers from the moment it listens, and a call that
//! needs a component not yet warm loads that one itself (the two never duplicate the work).

use std::{future::Future, time::Instant};

use super::PluginRuntime;

/// What a warm-up did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Warmed {
    /// Components ready to instantiate at the end.
    pub ready: usize,
    /// Components that could not be loaded (each logged).
    pub failed: usize,
    /// Of the ready ones, how many were compiled (the rest came from the artifact cache or
    /// were already in memory).
    pub compiled: u64,
    /// How long it took, in milliseconds.
    pub elapsed_ms: u64,
}

impl PluginRuntime {
    /// Makes each component of `hashes` ready to instantiate; `fetch` answers a component's
    /// stored bytes, needed only when it must be compiled.
    pub async fn warm<F, Fut>(&self, hashes: Vec<String>, fetch: F) -> Warmed
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = anyhow::Result<Vec<u8>>>,
    {
        let started = Instant::now();
        let (compiled_before, _) = self.stats();
        let mut warmed = Warmed::default();
        for sha256 in hashes {
            match self.load(&sha256, fetch(sha256.clone())).await {
                Ok(_) => warmed.ready += 1,
                Err(e) => {
                    warmed.failed += 1;
                    tracing::error!(error = %e, sha256, "a stored component could not be warmed");
                }
            }
        }
        warmed.compiled = self.stats().0.saturating_sub(compiled_before);
        warmed.elapsed_ms = started.elapsed().as_millis() as u64;
        warmed
    }
}
