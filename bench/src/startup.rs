//! Restart of the real binary with many components registered, every compiled artifact
//! already cached: time to listening, and time until every component is ready to
//! instantiate (the "components ready" log line, which also carries the compilation and
//! cache-load counters proving nothing was recompiled).
//!
//! Distinct components need distinct bytes (uploads are content-addressed), so each is
//! normalize-input with a custom section naming its number appended. Compiling 1,000 of them
//! through the API would take minutes on a small machine, so the harness uploads only the
//! first few through the API (the real upload path: check, compile, cache — their mean time
//! is reported) and registers the rest straight into the stopped server's database, giving
//! each a copy of the first one's compiled artifact under its own content hash. A custom
//! section changes the hash, not the code, so that artifact is what compiling it would give.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use switchboard::{
    clock,
    ids::{ComponentId, TenantId, sha256_hex},
    plugin::Hook,
    store::{ComponentRecord, Store, sqlite::SqliteStore},
};
use tokio::runtime::Runtime;

use crate::{api, process::Server};

/// Most components one tenant may have by default.
const PER_TENANT: usize = switchboard::config::DEFAULT_MAX_COMPONENTS;

/// What the restart measured.
#[derive(Clone, Debug)]
pub struct Startup {
    /// Components registered.
    pub components: usize,
    /// Of them, uploaded (and so compiled) through the API.
    pub uploaded: usize,
    /// Mean time of one upload through the API (checks and compilation), in milliseconds.
    pub upload_ms: f64,
    /// From spawn to listening, in milliseconds.
    pub listen_ms: f64,
    /// From spawn to every component ready, in milliseconds.
    pub ready_ms: f64,
    /// Components the warm-up made ready, and those it could not.
    pub ready: usize,
    /// Components that failed to load.
    pub failed: usize,
    /// Compilations in the restarted process (0 means nothing was recompiled).
    pub compilations: u64,
    /// Artifacts loaded from the cache by the restarted process.
    pub cache_loads: u64,
    /// Resident memory once every component was ready.
    pub rss_bytes: u64,
}

/// `base` with a custom section `switchboard-bench` holding `n`: distinct, equally valid bytes.
pub fn variant(base: &[u8], n: usize) -> Vec<u8> {
    fn leb(mut v: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"switchboard-bench";
    let payload = n.to_string();
    let mut content = Vec::new();
    leb(name.len(), &mut content);
    content.extend_from_slice(name);
    content.extend_from_slice(payload.as_bytes());
    let mut bytes = base.to_vec();
    bytes.push(0); // custom section id
    leb(content.len(), &mut bytes);
    bytes.extend_from_slice(&content);
    bytes
}

/// The artifact the server compiled for `sha256`.
fn artifact_of(compiled: &Path, sha256: &str) -> anyhow::Result<PathBuf> {
    for entry in std::fs::read_dir(compiled)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with(sha256) && name.ends_with(".cwasm") {
            return Ok(path);
        }
    }
    anyhow::bail!(
        "no compiled artifact for {sha256} in {}",
        compiled.display()
    )
}

/// Registers `components` components (uploading `uploaded` of them), restarts, measures.
pub fn measure(
    bin: &Path,
    components: usize,
    uploaded: usize,
    client_rt: &Runtime,
) -> anyhow::Result<Startup> {
    let uploaded = uploaded.clamp(1, components.max(1));
    let dir = tempfile::tempdir()?;
    let base = test_components::bytes(test_components::NORMALIZE_INPUT);

    // 1. The real upload path for the first few.
    let server = Server::start(bin, dir.path())?;
    let (tenants, upload_ms) = client_rt.block_on(async {
        let http = crate::servers::client()?;
        let mut tenants = Vec::new();
        for t in 0..components.div_ceil(PER_TENANT) {
            let (id, key) = api::tenant(&http, &server.url, &format!("Bench {t}"), "pro").await?;
            tenants.push((id, key));
        }
        let started = Instant::now();
        for n in 0..uploaded {
            let key = &tenants[n / PER_TENANT].1;
            api::upload(&http, &server.url, key, &format!("c{n}"), variant(&base, n)).await?;
        }
        let upload_ms = started.elapsed().as_secs_f64() * 1000.0 / uploaded as f64;
        anyhow::Ok((tenants, upload_ms))
    })?;
    server.stop()?;

    // 2. The rest straight into the database, each with the first one's artifact.
    let compiled = dir.path().join("compiled");
    let first = artifact_of(&compiled, &sha256_hex(&variant(&base, 0)))?;
    let engine_suffix = first
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .split_once('-')
        .map(|(_, rest)| rest.to_owned())
        .ok_or_else(|| anyhow::anyhow!("unexpected artifact name {}", first.display()))?;
    client_rt.block_on(async {
        let db = dir.path().join("switchboard.db");
        let store: Arc<dyn Store> =
            Arc::new(tokio::task::spawn_blocking(move || SqliteStore::open(&db)).await??);
        for n in uploaded..components {
            let bytes = variant(&base, n);
            let sha256 = sha256_hex(&bytes);
            let record = ComponentRecord {
                id: ComponentId::generate(),
                name: format!("c{n}"),
                sha256: sha256.clone(),
                size_bytes: bytes.len() as i64,
                hooks: vec![Hook::Params],
                created_at: clock::now_rfc3339(),
            };
            let tenant = TenantId(tenants[n / PER_TENANT].0.clone());
            store.create_component(&tenant, &record, &bytes).await?;
            std::fs::copy(&first, compiled.join(format!("{sha256}-{engine_suffix}")))?;
        }
        anyhow::Ok(())
    })?;

    // 3. The restart.
    let mut server = Server::start(bin, dir.path())?;
    let (ready_at, line) = server.wait_for("components ready", Duration::from_secs(600))?;
    let number = |key: &str| -> anyhow::Result<u64> {
        crate::process::field(&line, key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no {key} in {line:?}"))
    };
    let startup = Startup {
        components,
        uploaded,
        upload_ms,
        listen_ms: ms(server.listening - server.spawned),
        ready_ms: ms(ready_at - server.spawned),
        ready: number("ready")? as usize,
        failed: number("failed")? as usize,
        compilations: number("compilations")?,
        cache_loads: number("cache_loads")?,
        rss_bytes: server.rss_bytes()?,
    };
    server.stop()?;
    Ok(startup)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::variant;

    #[test]
    fn variants_are_distinct_and_extend_the_base() {
        let base = b"\0asm\x0d\0\x01\0".to_vec();
        let (a, b) = (variant(&base, 1), variant(&base, 2));
        assert_ne!(a, b);
        assert!(a.starts_with(&base));
        // id 0, size 19 = 1 (name length) + 17 (name) + 1 (payload "1").
        assert_eq!(&a[base.len()..base.len() + 3], &[0, 19, 17]);
    }
}
