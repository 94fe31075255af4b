//! Command-line arguments (clap derive).

use crate::exit;
use crate::store::StoreKind;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "deviceflow",
    version,
    about = "Sign in from any terminal with the OAuth 2.0 Device Authorization Grant (RFC 8628)",
    long_about = "Sign in from any terminal with the OAuth 2.0 Device Authorization Grant (RFC 8628).\n\n\
                  People get the address, the code and a QR code on stderr; agents pass --json and \
                  read NDJSON from stdout. Tokens are kept per profile in the OS keyring or a 0600 \
                  file, and never printed except by `deviceflow token`.",
    after_help = format!("{}\n\n{ENV_HELP}", exit::HELP)
)]
pub struct Cli {
    /// Machine-readable output: NDJSON on stdout, one object per line.
    #[arg(long, global = true)]
    pub json: bool,
    /// Keep several logins apart.
    #[arg(
        long,
        global = true,
        default_value = "default",
        env = "DEVICEFLOW_PROFILE"
    )]
    pub profile: String,
    /// Deadline of each HTTP request in seconds (decimals allowed), covering connect,
    /// sending, the response headers and the whole body; the core retries failed
    /// requests with backoff.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value = "30",
        env = "DEVICEFLOW_HTTP_TIMEOUT",
        value_parser = crate::settings::parse_http_timeout
    )]
    pub http_timeout: std::time::Duration,
    #[command(subcommand)]
    pub command: Command,
}

/// The environment, after the exit statuses in `--help`.
const ENV_HELP: &str = "\
Environment:
  DEVICEFLOW_CONFIG_DIR     where profiles are kept (default: ~/.config/deviceflow)
  DEVICEFLOW_PROFILE        as --profile
  DEVICEFLOW_CLIENT_ID      as --client-id (login)
  DEVICEFLOW_CLIENT_SECRET  the client secret, if the client has one (login)
  DEVICEFLOW_HTTP_TIMEOUT   as --http-timeout
  DEVICEFLOW_TIMING         for tests: the core's retries and limits as JSON, e.g.
                            {\"request_retries\":1,\"retry_base_ms\":100,\"max_transient_failures\":2}
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY   honoured (never for loopback hosts)";

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
pub enum Command {
    /// Sign in with a device code and store the tokens.
    #[command(after_help = LOGIN_HELP)]
    Login(LoginArgs),
    /// Show the stored login: issuer, account, scopes, expiry (never the token).
    Status,
    /// Print a valid access token for scripts, refreshing it first when needed.
    #[command(after_help = TOKEN_HELP)]
    Token(TokenArgs),
    /// git's credential helper: `git config credential.https://HOST.helper '!deviceflow git-credential --profile P'`.
    #[command(name = "git-credential", after_help = GIT_HELP)]
    GitCredential(GitCredentialArgs),
    /// Run a command with a valid access token in its environment.
    #[command(after_help = EXEC_HELP)]
    Exec(ExecArgs),
    /// Refresh the stored tokens now.
    Refresh,
    /// Revoke the tokens at the server (RFC 7009), then delete them locally.
    Logout(LogoutArgs),
    /// Run the authorization server (device flow + verification page): loopback by default.
    Serve(crate::serve::ServeArgs),
    /// Start a local server and sign in against it: the whole flow on one machine.
    Demo(crate::demo::DemoArgs),
    /// A Model Context Protocol server on stdio: agents sign in, get access tokens and log out
    /// for the profiles the operator configured.
    #[command(after_help = crate::mcp::MCP_HELP)]
    Mcp(crate::mcp::McpArgs),
}

const LOGIN_HELP: &str = "\
Examples:
  deviceflow login --issuer https://auth.example.com --client-id my-cli --scope 'openid offline_access'
  deviceflow login --provider github --client-id Iv1.0123456789abcdef
  deviceflow login --provider microsoft --tenant organizations --client-id 00000000-0000-0000-0000-000000000000
  deviceflow --json login --issuer https://auth.example.com --client-id my-cli   # for agents

The client secret, when the client has one, is read from DEVICEFLOW_CLIENT_SECRET
(preferred: it stays out of shell history and process listings) or --client-secret.

With --json, stdout carries one JSON object per line:
  {\"status\":\"waiting_for_authorization\",\"verification_uri\":...,\"verification_uri_complete\":...|null,
   \"user_code\":...,\"expires_in\":600,\"interval\":5}
  {\"status\":\"pending\"} / {\"status\":\"slow_down\",\"interval\":10}   (progress, optional)
  {\"status\":\"authenticated\",\"token_type\":\"Bearer\",\"scope\":...,\"expires_in\":3600,\"profile\":...}
  or {\"status\":\"error\",\"error\":\"access_denied\",\"error_description\":...}
No token, device code or secret is ever printed by login.

Exit status: 0 authenticated, 2 invalid input, 3 denied, 4 expired, 5 network error,
1 other failure, 130 interrupted (see `deviceflow --help`).";

#[derive(Args)]
pub struct LoginArgs {
    /// The authorization server; its endpoints come from discovery (RFC 8414 / OpenID Connect).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// Device authorization endpoint (instead of, or overriding, discovery).
    #[arg(long, value_name = "URL", requires = "token_endpoint")]
    pub device_endpoint: Option<String>,
    /// Token endpoint (instead of, or overriding, discovery).
    #[arg(long, value_name = "URL", requires = "device_endpoint")]
    pub token_endpoint: Option<String>,
    /// Revocation endpoint (RFC 7009), used by `logout`.
    #[arg(long, value_name = "URL")]
    pub revocation_endpoint: Option<String>,
    /// A well-known provider: github, google, microsoft, gitlab.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["issuer", "device_endpoint"])]
    pub provider: Option<String>,
    /// Microsoft tenant (default `common`) or GitLab instance URL.
    #[arg(long, value_name = "TENANT", requires = "provider")]
    pub tenant: Option<String>,
    /// The OAuth client id.
    #[arg(long, value_name = "ID", env = "DEVICEFLOW_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The client secret, if the client has one. Prefer DEVICEFLOW_CLIENT_SECRET.
    #[arg(long, value_name = "SECRET")]
    pub client_secret: Option<String>,
    /// How to send the secret: basic (default with a secret) or post.
    #[arg(long, value_name = "METHOD", value_parser = ["basic", "post", "none"])]
    pub client_auth: Option<String>,
    /// Space-separated scopes (e.g. "openid offline_access").
    #[arg(long)]
    pub scope: Option<String>,
    /// Extra request parameter, e.g. --param audience=https://api.example.com (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Where to keep the tokens.
    #[arg(long, value_enum, default_value = "auto")]
    pub store: StoreKind,
    #[command(flatten)]
    pub prompt: crate::prompt_args::PromptArgs,
    /// Bind the tokens to a new P-256 key (DPoP, RFC 9449), kept with them in the profile:
    /// every request to the server proves possession of it, and so must every use of the
    /// access token (`deviceflow token --format header --method M --url U`).
    #[arg(long)]
    pub dpop: bool,
}

const TOKEN_HELP: &str = "\
Formats (--format):
  raw              the token alone (default)
  json             {\"access_token\":...,\"token_type\":...,\"expires_in\":...,\"expires_at\":...} (as --json)
  header           Authorization: Bearer <token>          curl -H @<(deviceflow token --format header) URL
                   A DPoP login (login --dpop) needs --method and --url, and prints
                   `Authorization: DPoP <token>` and `DPoP: <proof>` for that one request:
                   curl -H @<(deviceflow token --format header --method GET --url URL) URL
                   On 401 with WWW-Authenticate: DPoP error=\"use_dpop_nonce\", run it again with
                   --nonce set to the response's DPoP-Nonce header.
  env              export DEVICEFLOW_ACCESS_TOKEN='...'   eval \"$(deviceflow token --format env)\"
  exec-credential  a Kubernetes ExecCredential (client.authentication.k8s.io/v1) for a kubeconfig
                   `exec` entry: command: deviceflow, args: [token, --format, exec-credential]

Processes sharing a profile refresh it once between them (a lock next to the profile file).";

const GIT_HELP: &str = "\
Configure it for one host (never for every host: git would send the token anywhere):
  git config --global credential.https://git.example.com.helper '!deviceflow git-credential --profile work'
`get` answers username (the one in the URL, else --username), password=<access token> and
password_expiry_utc; `store` and `erase` do nothing.";

const EXEC_HELP: &str = "\
Example:
  deviceflow exec --profile work --env GITHUB_TOKEN -- gh api user
The command replaces deviceflow (Unix): its exit status is the command's; 127 when it is not
found, 126 when it cannot be run. The token is valid when the command starts; a long-running
command should call `deviceflow token` whenever it needs one.";

#[derive(Args)]
pub struct TokenArgs {
    /// Refresh when the token expires within this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub min_valid: u64,
    /// Output format (default: raw, or json with --json).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<crate::handoff::Format>,
    /// The variable `--format env` exports.
    #[arg(long = "env", value_name = "NAME", default_value = crate::handoff::DEFAULT_ENV,
          value_parser = crate::handoff::parse_env_name)]
    pub env: String,
    /// DPoP: the HTTP method of the request the proof is for (`--format header` or `json`).
    #[arg(long, value_name = "METHOD", requires = "url",
          value_parser = crate::dpop::parse_method)]
    pub method: Option<String>,
    /// DPoP: the URL of the request the proof is for (its query and fragment are not signed).
    #[arg(long, value_name = "URL", requires = "method", value_parser = crate::dpop::parse_url)]
    pub url: Option<String>,
    /// DPoP: the resource server's `DPoP-Nonce`, after it answered `use_dpop_nonce`. A nonce
    /// may begin with `-` (base64url), so the value is taken as it comes.
    #[arg(
        long,
        value_name = "NONCE",
        requires = "url",
        allow_hyphen_values = true,
        value_parser = crate::dpop::parse_nonce
    )]
    pub nonce: Option<String>,
}

#[derive(Args)]
pub struct GitCredentialArgs {
    /// get, store or erase (git passes it; others are ignored).
    pub operation: String,
    /// The username to answer when git has none (GitLab wants `oauth2`; GitHub takes any).
    #[arg(long, default_value = "oauth2", value_name = "NAME")]
    pub username: String,
    /// Refresh when the token expires within this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub min_valid: u64,
}

#[derive(Args)]
pub struct ExecArgs {
    /// The environment variable that carries the token.
    #[arg(long = "env", value_name = "NAME", default_value = crate::handoff::DEFAULT_ENV,
          value_parser = crate::handoff::parse_env_name)]
    pub env: String,
    /// Refresh when the token expires within this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub min_valid: u64,
    /// The command and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Args)]
pub struct LogoutArgs {
    /// Delete the local tokens even if the server could not revoke them.
    #[arg(long)]
    pub force: bool,
}
