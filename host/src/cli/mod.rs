//! The command-line client in the `switchboard` binary: `tools list|apply|test`,
//! `components push|list`, `invoke` and `calls`, against a running server's public HTTP API
//! (`--url` / `SWITCHBOARD_URL`, `--key` / `SWITCHBOARD_KEY`).
//!
//! - [`client`]: HTTP, the key, and the API's errors as one readable line.
//! - [`manifest`]: the tools file — parsing, `${VAR}` expansion, the server's own checks.
//! - [`apply`]: matching the file with the server by function id, and writing the difference.
//! - [`arguments`]: `key=value` words typed by the tool's declared parameters.
//! - [`commands`]: one function per subcommand; [`output`]: what people see.
//!
//! Exit codes: 0 done, 1 failed (server refused, unreachable, bad file, a tool answered
//! `ok: false`), 2 usage. Errors are one line on stderr (plus a line per refused field);
//! never a panic or a backtrace.

pub mod apply;
pub mod arguments;
pub mod client;
pub mod commands;
pub mod error;
pub mod manifest;
pub mod output;

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Subcommand};
pub use error::{CliError, CliResult};

use self::client::{Client, DEFAULT_URL};

/// The client's subcommands; the binary flattens them into its own.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Manage the tenant's webhook tools: list them, apply a tools file, try one.
    Tools(ToolsArgs),
    /// Upload and list Wasm components (Pro plan).
    Components(ComponentsArgs),
    /// Invoke a tool as the agent runtime would: `invoke TOOL key=value…`.
    Invoke(InvokeArgs),
    /// Show recent calls from the call log, newest first.
    Calls(CallsArgs),
}

/// Which server, which key, and how to print.
#[derive(Debug, Args)]
pub struct Connection {
    /// The Switchboard server.
    #[arg(long, global = true, env = "SWITCHBOARD_URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// A tenant API key (`sbk_…`); everything but `invoke` needs scope `manage`.
    #[arg(long, global = true, env = "SWITCHBOARD_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Connection {
    fn client(&self) -> CliResult<Client> {
        Client::new(&self.url, self.key.as_deref())
    }
}

/// `switchboard tools …`.
#[derive(Debug, Args)]
pub struct ToolsArgs {
    #[command(flatten)]
    conn: Connection,
    #[command(subcommand)]
    command: ToolsCommand,
}

#[derive(Debug, Subcommand)]
enum ToolsCommand {
    /// List the tenant's tools.
    List,
    /// Make the tenant's tools match a YAML (or .json) file: create, update by function id,
    /// leave identical ones alone. `${VAR}` in a value is read from the environment.
    Apply {
        /// The tools file: a list of tool definitions, as `POST /v1/tools` takes them.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// Show what would change without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// Also delete the tenant's tools that are not in the file.
        #[arg(long)]
        prune: bool,
        /// Send secrets (secret headers, signing secrets) even for tools that are otherwise
        /// unchanged: the way to roll a secret, since the server never shows one back.
        #[arg(long)]
        resend_secrets: bool,
    },
    /// Try a tool with sample arguments (logged as a test call).
    Test {
        /// Function id (or tool id `tool_…`).
        tool: String,
        /// Arguments: `key=value` (typed by the tool's parameters) or `key:=<json>`.
        arguments: Vec<String>,
    },
}

/// `switchboard components …`.
#[derive(Debug, Args)]
pub struct ComponentsArgs {
    #[command(flatten)]
    conn: Connection,
    #[command(subcommand)]
    command: ComponentsCommand,
}

#[derive(Debug, Subcommand)]
enum ComponentsCommand {
    /// Upload a component (`.wasm`); prints its id and hooks.
    Push {
        /// The compiled component.
        file: PathBuf,
        /// Its name (default: the file name without `.wasm`).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the tenant's components.
    List,
}

/// `switchboard invoke …`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    #[command(flatten)]
    conn: Connection,
    /// The calling agent: `receptionist` or `assistant`.
    #[arg(long, default_value = "receptionist")]
    agent: String,
    /// A call id to send (default: the server makes one).
    #[arg(long)]
    call_id: Option<String>,
    /// The conversation the call belongs to.
    #[arg(long)]
    conversation_id: Option<String>,
    /// The tool's function id.
    tool: String,
    /// Arguments: `key=value` (typed by the tool's parameters) or `key:=<json>`.
    arguments: Vec<String>,
}

/// `switchboard calls …`.
#[derive(Debug, Args)]
pub struct CallsArgs {
    #[command(flatten)]
    conn: Connection,
    /// Only calls of this tool (function id or tool id).
    #[arg(long)]
    tool: Option<String>,
    /// How many (1–500; the server's default is 50).
    #[arg(long)]
    limit: Option<u32>,
}

/// Runs one client command; prints its output or its error, and answers the exit code.
pub fn run(command: ClientCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(command)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Answers whether the command succeeded (`false`: it ran, but e.g. the tool said `ok: false`).
async fn dispatch(command: ClientCommand) -> CliResult<bool> {
    match command {
        ClientCommand::Tools(ToolsArgs { conn, command }) => {
            let client = conn.client()?;
            match command {
                ToolsCommand::List => commands::list_tools(&client, conn.json).await,
                ToolsCommand::Apply {
                    file,
                    dry_run,
                    prune,
                    resend_secrets,
                } => {
                    let options = apply::Options {
                        prune,
                        resend_secrets,
                    };
                    commands::apply(&client, &file, options, dry_run, conn.json).await
                }
                ToolsCommand::Test { tool, arguments } => {
                    commands::test_tool(&client, &tool, &arguments, conn.json).await
                }
            }
        }
        ClientCommand::Components(ComponentsArgs { conn, command }) => {
            let client = conn.client()?;
            match command {
                ComponentsCommand::Push { file, name } => {
                    commands::push_component(&client, &file, name, conn.json).await
                }
                ComponentsCommand::List => commands::list_components(&client, conn.json).await,
            }
        }
        ClientCommand::Invoke(args) => {
            let client = args.conn.client()?;
            let invocation = commands::Invocation {
                agent: &args.agent,
                tool: &args.tool,
                arguments: &args.arguments,
                call_id: args.call_id.as_deref(),
                conversation_id: args.conversation_id.as_deref(),
            };
            commands::invoke(&client, invocation, args.conn.json).await
        }
        ClientCommand::Calls(args) => {
            let client = args.conn.client()?;
            commands::calls(&client, args.tool.as_deref(), args.limit, args.conn.json).await
        }
    }
}
