//! Service settings, as parsed from flags and `SWITCHBOARD_*` variables by the CLI.

use std::{net::SocketAddr, path::PathBuf};

use ipnet::IpNet;

use crate::{invoke::limits::InvokeLimits, plugin::SandboxLimits, store::Retention};

/// Default cap on tools per tenant.
pub const DEFAULT_MAX_TOOLS: usize = 1000;
/// Default cap on components per tenant.
pub const DEFAULT_MAX_COMPONENTS: usize = 100;

/// Default number of calls kept in the log per tenant.
pub const DEFAULT_CALL_LOG_PER_TENANT: u32 = 10_000;
/// Default age after which calls leave the log, in days.
pub const DEFAULT_CALL_LOG_MAX_AGE_DAYS: i64 = 30;

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
    /// How much of the call log to keep.
    pub call_log_retention: Retention,
    /// The names (`host` or `host:port`) clients reach the service at: a request to the MCP
    /// route whose `Host` is none of them is refused, the DNS-rebinding defence the MCP
    /// transport asks of servers. Empty: the listen address and the localhost forms
    /// ([`Config::mcp_hosts`]); `*` allows any `Host` (a proxy in front checks it).
    pub allowed_hosts: Vec<String>,
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
            call_log_retention: Retention {
                max_per_tenant: Some(DEFAULT_CALL_LOG_PER_TENANT),
                max_age_ms: Some(DEFAULT_CALL_LOG_MAX_AGE_DAYS * 24 * 3600 * 1000),
            },
            allowed_hosts: Vec::new(),
        }
    }

    /// The `Host` values the MCP route answers: those configured, or else the listen
    /// address's host with `localhost`, `127.0.0.1` and `::1` (any port). Empty when any
    /// host is allowed (`*`).
    pub fn mcp_hosts(&self) -> Vec<String> {
        if self.allowed_hosts.iter().any(|h| h.trim() == "*") {
            return Vec::new();
        }
        if !self.allowed_hosts.is_empty() {
            return self.allowed_hosts.clone();
        }
        let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).into();
        let ip = self.listen.ip();
        if !ip.is_unspecified() && !ip.is_loopback() {
            hosts.push(ip.to_string());
        }
        hosts
    }
}

/// Parses a retention age such as `90s`, `15m`, `12h` or `30d` into milliseconds; `0` means
/// no limit.
pub fn parse_age(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(0);
    }
    let unit_ms: i64 = match text.chars().last() {
        Some('s') => 1000,
        Some('m') => 60 * 1000,
        Some('h') => 3600 * 1000,
        Some('d') => 24 * 3600 * 1000,
        _ => {
            return Err(format!(
                "'{text}': give a number with s, m, h or d, e.g. 30d"
            ));
        }
    };
    let number: i64 = text[..text.len() - 1]
        .parse()
        .ok()
        .filter(|n| *n > 0 && *n <= 100 * 365)
        .ok_or_else(|| format!("'{text}': the number must be a positive whole number"))?;
    Ok(number * unit_ms)
}

#[cfg(test)]
mod tests {
    use super::parse_age;

    #[test]
    fn mcp_hosts_default_to_the_listen_address_and_localhost() {
        let mut config = super::Config::new("data".into());
        config.listen = "10.1.2.3:8080".parse().unwrap();
        assert_eq!(
            config.mcp_hosts(),
            ["localhost", "127.0.0.1", "::1", "10.1.2.3"]
        );
        config.allowed_hosts = vec!["tools.example.com".into()];
        assert_eq!(config.mcp_hosts(), ["tools.example.com"]);
        config.allowed_hosts = vec!["*".into()];
        assert!(config.mcp_hosts().is_empty(), "any host");
    }

    #[test]
    fn ages_parse_with_units_and_zero_means_forever() {
        assert_eq!(parse_age("90s"), Ok(90_000));
        assert_eq!(parse_age("15m"), Ok(900_000));
        assert_eq!(parse_age("2h"), Ok(7_200_000));
        assert_eq!(parse_age("30d"), Ok(2_592_000_000));
        assert_eq!(parse_age("0"), Ok(0));
        for bad in ["", "30", "d", "-1d", "1.5h", "30 days", "0d", "99999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
