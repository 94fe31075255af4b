//! `deviceflow mcp`: a Model Context Protocol server on stdio, built on the official Rust SDK
//! (`rmcp`). An agent gets five tools: start a sign-in for a configured profile (the address and
//! code go to the person, by URL-mode elicitation where the client supports it), wait for it,
//! get a short-lived access token (refreshed under the profile lock, never the refresh token),
//! log out, list the profiles. Which profiles exist, and where each signs in with which client
//! and scopes, comes only from the operator: a TOML file (`--config`) and/or profiles saved by
//! `deviceflow login` (`--allow`). Tool arguments name a profile and nothing else.
//!
//! stdout carries the protocol and nothing else; a sign-in's progress goes to stderr (the
//! address and code, never a token).

use crate::exit::CliError;
use clap::Args;
use std::path::PathBuf;

#[cfg(feature = "mcp")]
mod config;
#[cfg(feature = "mcp")]
mod logins;
#[cfg(feature = "mcp")]
mod tools;

pub const MCP_HELP: &str = "\
Configuration (--config FILE, TOML): one table per profile the agent may use.
  [profiles.work]
  issuer = \"https://auth.example.com\"        # or provider = \"github\" (+ tenant), or
                                             # device_endpoint + token_endpoint
  client_id = \"my-cli\"
  scope = \"openid offline_access\"
  # revocation_endpoint = \"...\"   client_auth = \"basic\"|\"post\"   client_secret_env = \"WORK_SECRET\"
  # params = { audience = \"https://api.example.com\" }   store = \"auto\"|\"keyring\"|\"file\"

--allow NAME offers a profile saved by `deviceflow login --profile NAME` with its saved server,
client and scopes (extra --param values are not saved: use --config for those).

Register it with an MCP client, e.g.:
  {\"mcpServers\": {\"deviceflow\": {\"command\": \"deviceflow\", \"args\": [\"mcp\", \"--config\", \"/etc/deviceflow/mcp.toml\"]}}}

Tools: start_login, wait_for_login, get_access_token, logout, list_profiles.
The tools take a profile name only: no issuer, client or scope can come from the agent.
(The global --profile is not used here: the profiles are those of --config and --allow.)";

#[derive(Args)]
pub struct McpArgs {
    /// The profiles the agent may use and where each signs in (TOML, see below).
    #[arg(long, value_name = "FILE", env = "DEVICEFLOW_MCP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Also offer this profile saved by `deviceflow login`, with its saved server, client and
    /// scopes (repeatable).
    #[arg(long = "allow", value_name = "PROFILE")]
    pub allow: Vec<String>,
}

/// Serves MCP on stdin/stdout until the client closes stdin (or SIGINT/SIGTERM).
#[cfg(feature = "mcp")]
pub fn run(args: McpArgs) -> Result<(), CliError> {
    let profiles = config::Profiles::load(args.config.as_deref(), &args.allow)?;
    crate::human::say(&format!(
        "deviceflow mcp: serving MCP on stdio for profile(s) {}",
        profiles.names().join(", ")
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::new("internal", format!("cannot start tokio: {e}"), 1))?;
    let outcome = runtime.block_on(tools::serve(profiles));
    // `serve` has waited for refreshes and logouts in flight; what is left is at most a blocking
    // read of stdin (tokio's), which nothing can interrupt.
    runtime.shutdown_background();
    outcome
}

#[cfg(not(feature = "mcp"))]
pub fn run(_: McpArgs) -> Result<(), CliError> {
    Err(CliError::new(
        "unsupported",
        "this deviceflow was built without the `mcp` feature",
        crate::exit::FAILURE,
    ))
}
