//! `AppState`: the handles every request needs, built once at start-up and shared behind
//! one `Arc` (a request clones a pointer, not a dozen handles).

use std::{path::PathBuf, sync::Arc};

use anyhow::Context;

use crate::{
    calllog::CallLog,
    config::Config,
    ids,
    invoke::limits::Admission,
    plugin::PluginRuntime,
    secrets::SecretBox,
    store::{Store, cached::CachedStore, sqlite::SqliteStore},
    webhook::{WebhookClient, guard::NetPolicy},
};

/// Shared service state; derefs to [`Services`].
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Services {
    /// Everything persisted, behind the in-memory cache of the hot-path reads.
    pub store: Arc<dyn Store>,
    /// The outbound client for tenant endpoints.
    pub webhooks: WebhookClient,
    /// The Wasm component runtime.
    pub plugins: PluginRuntime,
    /// Seals and opens tenant secrets.
    pub secrets: SecretBox,
    /// Per-tenant invocation limits.
    pub admission: Admission,
    /// The call log's writer, off the invocation path.
    pub calls: CallLog,
    /// SHA-256 of the operator token (the token itself is not kept in memory).
    pub admin_token_hash: Arc<str>,
    /// The settings the service started with.
    pub config: Arc<Config>,
}

impl AppState {
    /// Opens the data dir and the database, and builds the outbound client.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data dir {}", config.data_dir.display()))?;
        let admin_token = admin_token(&config)?;
        let db_path = config.data_dir.join("switchboard.db");
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(&db_path)).await??;
        let webhooks = WebhookClient::new(
            NetPolicy::new(config.allow_net.clone()),
            config.max_response_bytes,
        )?;
        let plugins = PluginRuntime::new(config.sandbox.clone(), config.data_dir.join("compiled"))?;
        let secrets = SecretBox::load(config.secret_key.as_deref(), &config.data_dir)?;
        let store: Arc<dyn Store> = Arc::new(store);
        Ok(Self(Arc::new(Services {
            calls: CallLog::start(store.clone(), config.call_log_retention),
            store: Arc::new(CachedStore::new(store)),
            webhooks,
            plugins,
            secrets,
            admission: Admission::new(config.invoke_limits),
            admin_token_hash: ids::sha256_hex(admin_token.as_bytes()).into(),
            config: Arc::new(config),
        })))
    }
}

/// Where a generated operator token is kept.
pub fn admin_token_path(config: &Config) -> PathBuf {
    config.data_dir.join("admin-token")
}

/// The operator token: as configured, or read from (or generated into) a 0600 file in the
/// data dir. The token itself is never logged, only the file's path.
fn admin_token(config: &Config) -> anyhow::Result<String> {
    if let Some(token) = &config.admin_token {
        anyhow::ensure!(
            token.len() >= 16,
            "the operator token must be at least 16 characters"
        );
        return Ok(token.clone());
    }
    let path = admin_token_path(config);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let token = existing.trim().to_owned();
        if !token.is_empty() {
            tracing::info!(path = %path.display(), "operator token read from file");
            return Ok(token);
        }
    }
    let token = ids::new_admin_token();
    write_private(&path, token.as_bytes())
        .with_context(|| format!("writing the operator token to {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated an operator token; it is in this file (mode 0600)");
    Ok(token)
}

/// Writes `data` to a new file readable only by its owner (mode 0600), durably.
pub fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(data)?;
    file.sync_all()
}
