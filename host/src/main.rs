//! The `switchboard` binary: `serve` runs the service, `demo` shows it working end to end,
//! and the client commands (`tools`, `components`, `invoke`, `calls`) talk to a running one.

#![forbid(unsafe_code)]

#[global_allocator]
static ALLOCATOR: switchboard::Allocator = switchboard::Allocator;

use std::{io::IsTerminal, net::SocketAddr, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;
use switchboard::{
    AppState, Config, cli, config, demo,
    invoke::limits::{InvokeLimits, PlanLimits},
    plugin::SandboxLimits,
    store::Retention,
};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Hosts the tools an AI phone receptionist calls mid-conversation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Start a demo host with a demo tenant, tool and endpoint, and invoke it once.
    Demo(DemoArgs),
    /// Compile a component read on stdin (the service runs this itself, for each upload).
    #[command(name = "compile-component", hide = true)]
    CompileComponent {
        /// The sandbox's memory limit in bytes (the engine's settings must match the service's).
        memory_bytes: usize,
        /// The sandbox's concurrency.
        concurrency: u32,
    },
    #[command(flatten)]
    Client(cli::ClientCommand),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for the database and generated files.
    #[arg(
        long,
        env = "SWITCHBOARD_DATA_DIR",
        default_value = "./switchboard-data"
    )]
    data_dir: PathBuf,
    /// The operator token (at least 16 characters); generated into DATA_DIR/admin-token when absent.
    #[arg(long, env = "SWITCHBOARD_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The key that encrypts tenant secrets at rest (64 hex characters); generated into
    /// DATA_DIR/secret-key when absent. Keep it with your database backups.
    #[arg(long, env = "SWITCHBOARD_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// A network tenant endpoints may reach despite the outbound guard (CIDR; repeatable or
    /// comma-separated). For development and tests only, e.g. 127.0.0.0/8.
    #[arg(long, env = "SWITCHBOARD_ALLOW_NET", value_delimiter = ',')]
    allow_net: Vec<IpNet>,
    /// Cap on an endpoint's response body, in bytes.
    #[arg(long, env = "SWITCHBOARD_MAX_RESPONSE_BYTES", default_value_t = config::DEFAULT_MAX_RESPONSE_BYTES)]
    max_response_bytes: usize,
    /// Cap on a JSON request body to the API, in bytes.
    #[arg(long, env = "SWITCHBOARD_MAX_REQUEST_BYTES", default_value_t = config::DEFAULT_MAX_REQUEST_BYTES)]
    max_request_bytes: usize,
    /// Time budget of one component hook call, in milliseconds.
    #[arg(long, env = "SWITCHBOARD_PLUGIN_CPU_MS", default_value_t = 50)]
    plugin_cpu_ms: u64,
    /// Memory cap of one component instance (all its memories), in MiB.
    #[arg(long, env = "SWITCHBOARD_PLUGIN_MEMORY_MIB", default_value_t = 64)]
    plugin_memory_mib: usize,
    /// Largest output of one hook call, in bytes.
    #[arg(long, env = "SWITCHBOARD_PLUGIN_OUTPUT_BYTES", default_value_t = 1024 * 1024)]
    plugin_output_bytes: usize,
    /// Largest component upload, in bytes.
    #[arg(long, env = "SWITCHBOARD_MAX_COMPONENT_BYTES", default_value_t = 16 * 1024 * 1024)]
    max_component_bytes: usize,
    /// Invocations in flight at once per plus tenant.
    #[arg(long, env = "SWITCHBOARD_PLUS_CONCURRENCY", default_value_t = 20)]
    plus_concurrency: u32,
    /// Invocations per minute per plus tenant (bursts of 1/20 of it above the rate).
    #[arg(long, env = "SWITCHBOARD_PLUS_RATE", default_value_t = 1200)]
    plus_rate: u32,
    /// Invocations in flight at once per pro tenant.
    #[arg(long, env = "SWITCHBOARD_PRO_CONCURRENCY", default_value_t = 100)]
    pro_concurrency: u32,
    /// Invocations per minute per pro tenant (bursts of 1/20 of it above the rate).
    #[arg(long, env = "SWITCHBOARD_PRO_RATE", default_value_t = 6000)]
    pro_rate: u32,
    /// Most tools one tenant may define.
    #[arg(long, env = "SWITCHBOARD_MAX_TOOLS_PER_TENANT", default_value_t = config::DEFAULT_MAX_TOOLS)]
    max_tools_per_tenant: usize,
    /// Most components one tenant may upload.
    #[arg(long, env = "SWITCHBOARD_MAX_COMPONENTS_PER_TENANT", default_value_t = config::DEFAULT_MAX_COMPONENTS)]
    max_components_per_tenant: usize,
    /// Component hook calls that may run at once (the sandbox's pool has half as many
    /// slots again, for instances made ahead of their call or awaiting tear-down).
    #[arg(long, env = "SWITCHBOARD_PLUGIN_CONCURRENCY", default_value_t = 64)]
    plugin_concurrency: u32,
    /// Hook calls one tenant may run at once, out of --plugin-concurrency (default: the
    /// cores available, at least 2).
    #[arg(long, env = "SWITCHBOARD_PLUGIN_TENANT_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..))]
    plugin_tenant_concurrency: Option<u32>,
    /// Wall-clock time one hook call may take, waiting for its slot and instantiation
    /// included, in milliseconds (the tool's response timeout may end it sooner).
    #[arg(long, env = "SWITCHBOARD_PLUGIN_WALL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=120_000))]
    plugin_wall_ms: u64,
    /// Wall-clock time one upload's compilation may take, in milliseconds.
    #[arg(long, env = "SWITCHBOARD_PLUGIN_COMPILE_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    plugin_compile_ms: u64,
    /// Calls kept in the log per tenant, newest first (0: no limit).
    #[arg(long, env = "SWITCHBOARD_CALL_LOG_PER_TENANT", default_value_t = config::DEFAULT_CALL_LOG_PER_TENANT)]
    call_log_per_tenant: u32,
    /// Age after which calls leave the log: a number with s, m, h or d, e.g. 30d (0: no limit).
    #[arg(long, env = "SWITCHBOARD_CALL_LOG_MAX_AGE", default_value = "30d", value_parser = config::parse_age)]
    call_log_max_age: i64,
    /// A name clients reach the service at (`host` or `host:port`; repeatable or
    /// comma-separated): the MCP route refuses any other `Host` (DNS-rebinding defence).
    /// Default: the listen address and localhost. `*` allows any (a proxy in front checks it).
    #[arg(long, env = "SWITCHBOARD_ALLOWED_HOSTS", value_delimiter = ',')]
    allowed_host: Vec<String>,
}

#[derive(Args)]
struct DemoArgs {
    /// Address for the demo host.
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Data directory (default: a fresh temporary directory).
    #[arg(long, env = "SWITCHBOARD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Print the invocation and exit instead of serving until Ctrl-C.
    #[arg(long)]
    once: bool,
    /// The plumbing-speech component (default: target/plugins/wasm32-wasip2/release/plumbing_speech.wasm).
    #[arg(long)]
    component: Option<PathBuf>,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Client(command) => return cli::run(command),
        Command::CompileComponent {
            memory_bytes,
            concurrency,
        } => return switchboard::plugin::compile::run_child(memory_bytes, concurrency),
        Command::Serve(args) => host(serve(args)),
        Command::Demo(args) => host(demo::run(demo::DemoOptions {
            listen: args.listen,
            data_dir: args.data_dir,
            once: args.once,
            component: args.component,
        })),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // As `fn main() -> anyhow::Result<()>` reports it.
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

/// The log filter `directives` asks for, except that the MCP SDK speaks only of errors unless
/// they name it: it logs every JSON-RPC error it answers (an unknown tool, a bad `Host`, a
/// protocol version it does not serve) at WARN, and those are the clients' mistakes, answered
/// to the client, not the operator's to fix.
fn quiet_client_mistakes(directives: String) -> EnvFilter {
    let directives = if directives.contains("rmcp") {
        directives
    } else {
        format!("{directives},rmcp=error")
    };
    EnvFilter::try_new(&directives).unwrap_or_else(|e| {
        eprintln!("ignoring the log filter {directives:?}: {e}");
        EnvFilter::new("info,rmcp=error")
    })
}

/// Runs `serve` or `demo`: the service itself, with its logs on stderr.
fn host(work: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(quiet_client_mistakes(
            std::env::var("SWITCHBOARD_LOG")
                .or_else(|_| std::env::var("RUST_LOG"))
                .unwrap_or_else(|_| "info".into()),
        ))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(work)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config {
        listen: args.listen,
        data_dir: args.data_dir,
        admin_token: args.admin_token,
        secret_key: args.secret_key,
        allow_net: args.allow_net,
        max_response_bytes: args.max_response_bytes,
        max_request_bytes: args.max_request_bytes,
        sandbox: SandboxLimits {
            cpu_ms: args.plugin_cpu_ms,
            memory_bytes: args.plugin_memory_mib * 1024 * 1024,
            output_bytes: args.plugin_output_bytes,
            upload_bytes: args.max_component_bytes,
            concurrency: args.plugin_concurrency,
            tenant_concurrency: args
                .plugin_tenant_concurrency
                .unwrap_or_else(SandboxLimits::default_tenant_concurrency)
                .min(args.plugin_concurrency.max(1)),
            wall_ms: args.plugin_wall_ms,
            // Uploads compile in a child process of this same binary.
            compiler: std::env::current_exe().ok(),
            compile_ms: args.plugin_compile_ms,
            ..SandboxLimits::default()
        },
        invoke_limits: InvokeLimits {
            plus: PlanLimits {
                concurrency: args.plus_concurrency,
                per_minute: args.plus_rate,
                burst: (args.plus_rate / 20).max(1),
            },
            pro: PlanLimits {
                concurrency: args.pro_concurrency,
                per_minute: args.pro_rate,
                burst: (args.pro_rate / 20).max(1),
            },
        },
        max_tools_per_tenant: args.max_tools_per_tenant,
        max_components_per_tenant: args.max_components_per_tenant,
        call_log_retention: Retention {
            max_per_tenant: Some(args.call_log_per_tenant).filter(|n| *n > 0),
            max_age_ms: Some(args.call_log_max_age).filter(|ms| *ms > 0),
        },
        allowed_hosts: args.allowed_host,
    };
    if !config.allow_net.is_empty() {
        tracing::warn!(allow_net = ?config.allow_net, "the outbound guard is opened for these networks");
    }
    if config.listen.ip().is_unspecified() && config.allowed_hosts.is_empty() {
        tracing::warn!(
            hosts = ?config.mcp_hosts(),
            "listening on every address, but the MCP route answers only these Host names; \
             give the names clients reach the service at with --allowed-host"
        );
    }
    let listen = config.listen;
    let state = AppState::open(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    // Listen for signals before saying where we listen: a SIGTERM right after must be graceful.
    let shutdown = switchboard::shutdown_signal();
    tracing::info!("switchboard listening on http://{addr}");
    switchboard::run(listener, state, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}
