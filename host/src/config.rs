//! Service settings, as parsed from flags and `SWITCHBOARD_*` variables by the CLI.

use std::{net::SocketAddr, path::PathBuf};

use ipnet::IpNet;

use crate::{invoke::limits::InvokeLimits, plugin::SandboxLimits};

/// Default cap on tools per tenant.
pub const DEFAULT_MAX_TOOLS: usize = 1000;
/// Default cap on components per tenant.
pub const DEFAULT_MAX_COMPONENTS: usize = 100;

/// Default cap on an endpoint's response body (1 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Default cap on a JSON request body to the API (1 MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the database and generated files live.
    pub data_dir: PathBuf,
    /// The operator token; generated into the data dir when absent.
    pub admin_token: Option<String>,
    /// The key sealing tenant secrets (64 hex characters); generated into the data dir when absent.
    pub secret_key: Option<String>,
    /// Network ranges tenant endpoints may reach despite the outbound guard.
    pub allow_net: Vec<IpNet>,
    /// Cap on an endpoint's response body.
    pub max_response_bytes: usize,
    /// Cap on a JSON request body to the API.
    pub max_request_bytes: usize,
    /// Limits of the Wasm sandbox.
    pub sandbox: SandboxLimits,
    /// Per-tenant invocation limits, per plan.
    pub invoke_limits: InvokeLimits,
    /// Most tools one tenant may define.
    pub max_tools_per_tenant: usize,
    /// Most components one tenant may upload.
    pub max_components_per_tenant: usize,
}

impl Config {
    /// Defaults for everything but the data dir (used by tests and the demo).
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir,
            admin_token: None,
            secret_key: None,
            allow_net: Vec::new(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            sandbox: SandboxLimits::default(),
            invoke_limits: InvokeLimits::default(),
            max_tools_per_tenant: DEFAULT_MAX_TOOLS,
            max_components_per_tenant: DEFAULT_MAX_COMPONENTS,
        }
    }
}
