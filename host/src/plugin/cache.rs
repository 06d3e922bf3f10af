//! The compiled-artifact cache: `DATA_DIR/compiled/<sha256>-<engine hash>.cwasm`.
//!
//! The key binds the component's content hash to the engine's compatibility hash, so a
//! different wasmtime or different settings simply miss. Files are written atomically
//! (temp file, fsync, rename) and only ever by this module from code the host compiled
//! itself (in process, or in its own compiler child process); nothing uploaded is ever
//! deserialized. This is the crate's one `unsafe`.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    io::Write,
    path::{Path, PathBuf},
};

use wasmtime::{Engine, component::Component};

/// Where compiled artifacts live, for one engine configuration.
#[derive(Clone, Debug)]
pub struct ArtifactCache {
    dir: PathBuf,
    engine_hash: String,
}

impl ArtifactCache {
    /// A cache in `dir` (created if needed) for `engine`.
    pub fn new(dir: PathBuf, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir,
            engine_hash: format!("{:016x}", hasher.finish()),
        })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir
            .join(format!("{sha256}-{}.cwasm", self.engine_hash))
    }

    /// Saves the compiled form of `component` (content hash `sha256`).
    pub fn save(&self, sha256: &str, component: &Component) -> anyhow::Result<()> {
        let bytes = component
            .serialize()
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        self.save_artifact(sha256, &bytes)
    }

    /// Saves an artifact this host compiled in its compiler child process (see
    /// [`super::compile`]): the same bytes [`Self::save`] writes.
    pub fn save_artifact(&self, sha256: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.path(sha256);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    /// Forgets the artifact of `sha256`, if there is one (a refused upload's).
    pub fn remove(&self, sha256: &str) {
        let _ = std::fs::remove_file(self.path(sha256));
    }

    /// The cached compiled component, if this engine produced one for `sha256`.
    pub fn load(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let path = self.path(sha256);
        if !path.exists() {
            return None;
        }
        match deserialize_own_artifact(engine, &path) {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "discarding an unusable compiled artifact");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }
}

/// Loads an artifact this host wrote with [`ArtifactCache::save`].
#[allow(unsafe_code)]
fn deserialize_own_artifact(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    // SAFETY: wasmtime requires that deserialized bytes come from `Component::serialize` of
    // a compatible engine. Files under the cache directory are only ever written by
    // `ArtifactCache::save` from components this process compiled from validated uploads,
    // named with the engine's compatibility hash (and wasmtime re-checks its own header).
    // The data dir is trusted with the operator's database and keys; an attacker who can
    // write there already owns the host.
    unsafe { Component::deserialize_file(engine, path) }.map_err(|e| anyhow::anyhow!("{e:#}"))
}
