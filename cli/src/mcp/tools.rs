//! The MCP tools, on the official Rust SDK's tool router (`rmcp`): JSON-RPC, the handshake,
//! schemas and the stdio transport are the SDK's. Each tool names a profile and nothing else;
//! results are structured JSON (also as text), with no secret except the access token that
//! `get_access_token` exists to hand out.

use super::config::{Profiles, Target};
use super::logins::{settle, Logins, Phase, Shown};
use crate::exit::CliError;
use crate::lifecycle::{fresh_tokens, logout};
use crate::store::{Profile, Store};
use deviceflow::display::clean_text;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{
    CallToolResult, CustomNotification, ElicitRequestParams, ElicitationAction, Implementation,
    ServerCapabilities, ServerConfig, ServerNotification,
};
use rmcp::service::ElicitationMode;
use rmcp::{
    schemars, tool, tool_handler, tool_router, Peer, RoleServer, ServerHandler, ServiceExt,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long `start_login` waits for the server's code (clients time requests out at 60 s).
const START_WAIT: Duration = Duration::from_secs(45);
/// `wait_for_login`'s default and longest wait.
const WAIT_DEFAULT_S: u64 = 30;
const WAIT_MAX_S: u64 = 50;
/// `get_access_token`'s default and longest `min_valid_s`.
const MIN_VALID_DEFAULT_S: u64 = 60;
const MIN_VALID_MAX_S: u64 = 3600;

const INSTRUCTIONS: &str = "Signs in with the OAuth 2.0 device flow for the profiles the operator \
configured, and hands out short-lived access tokens. To sign in: call start_login, show the person \
the verification address, the host to check and the code (unless your client already opened the \
link it was sent by URL elicitation), then call wait_for_login until it says authenticated. Then \
call get_access_token whenever a token is needed (it refreshes by itself). Never ask the person \
for a password or a code: they approve in their own browser.";

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "rmcp::schemars")]
pub struct ProfileArg {
    /// The profile (see list_profiles); may be left out when only one is configured.
    pub profile: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "rmcp::schemars")]
pub struct WaitArg {
    /// The profile (see list_profiles); may be left out when only one is configured.
    pub profile: Option<String>,
    /// How long to wait for the sign-in to end, in seconds (default 30, at most 50; 0 only
    /// checks). Call again while it says waiting_for_authorization.
    pub timeout_s: Option<u64>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(crate = "rmcp::schemars")]
pub struct TokenArg {
    /// The profile (see list_profiles); may be left out when only one is configured.
    pub profile: Option<String>,
    /// The token must stay valid for at least this many seconds, else it is refreshed first
    /// (default 60, at most 3600).
    pub min_valid_s: Option<u64>,
}

#[derive(Clone)]
pub struct DeviceflowMcp {
    profiles: Arc<Profiles>,
    logins: Arc<Logins>,
    /// Refreshes and logouts running on blocking threads (waited for before exiting).
    busy: Arc<AtomicUsize>,
    tool_router: ToolRouter<Self>,
}

fn done(value: Value) -> CallToolResult {
    CallToolResult::structured(value)
}

fn failure(error: &str, message: impl Into<String>) -> CallToolResult {
    let message = message.into();
    CallToolResult::structured_error(json!({"status": "error", "error": error, "message": message}))
}

fn from_cli(e: CliError, profile: &str) -> CallToolResult {
    if e.code == "login_required" {
        return failure(
            "login_required",
            format!(
                "profile \"{profile}\" is not signed in: call start_login and show the person \
                 the address and code"
            ),
        );
    }
    let mut v = json!({"status": "error", "error": e.code, "message": e.message});
    if let Some(o) = &e.server.error {
        v["oauth_error"] = json!(o);
    }
    CallToolResult::structured_error(v)
}

/// The sentence the agent shows the person.
fn instruction(target: &Target, s: &Shown) -> String {
    let server = target
        .server()
        .unwrap_or_else(|| s.verification_host.clone());
    let warn = if s.host_matches_server {
        String::new()
    } else {
        format!(
            " Warning: the page is not on the configured server's site ({}); do not sign in \
             unless the operator expects it.",
            clean_text(&server)
        )
    };
    let code = clean_text(&s.user_code);
    match &s.verification_uri_complete {
        Some(url) => format!(
            "To sign in profile \"{}\", open {} (site: {}) and check that it shows the code {code}, \
             or open {} and enter the code. Only enter this code at {}.{warn}",
            target.name,
            clean_text(url),
            clean_text(&s.verification_host),
            clean_text(&s.verification_uri),
            clean_text(&s.verification_host),
        ),
        None => format!(
            "To sign in profile \"{}\", open {} (site: {}) and enter the code {code}. Only enter \
             this code at {}.{warn}",
            target.name,
            clean_text(&s.verification_uri),
            clean_text(&s.verification_host),
            clean_text(&s.verification_host),
        ),
    }
}

fn phase_json(target: &Target, phase: &Phase) -> (Value, bool) {
    let name = &target.name;
    match phase {
        Phase::Starting => (
            json!({"status": "starting", "profile": name,
                   "message": "the server has not answered with a code yet; call wait_for_login"}),
            false,
        ),
        Phase::Waiting(s) => {
            let mut v = serde_json::to_value(s).expect("Shown serialises");
            v["status"] = json!("waiting_for_authorization");
            v["profile"] = json!(name);
            v["instruction"] = json!(instruction(target, s));
            v["expires_in"] = json!(s.expires_at.saturating_sub(crate::clock::unix_ms() / 1000));
            (v, false)
        }
        Phase::Authenticated {
            account,
            scope,
            expires_at,
        } => (
            json!({"status": "authenticated", "profile": name, "account": account,
                   "scope": scope, "expires_at": expires_at}),
            false,
        ),
        Phase::Failed {
            error,
            message,
            oauth_error,
        } => (
            json!({"status": "error", "profile": name, "error": error, "message": message,
                   "oauth_error": oauth_error}),
            true,
        ),
    }
}

/// A stored login, without its secrets.
struct Stored {
    profile: Profile,
    /// There are tokens, and they are valid or can be refreshed.
    usable: bool,
    refreshable: bool,
    /// Unix seconds.
    expires_at: Option<u64>,
}

fn stored(name: &str) -> Result<Option<Stored>, CliError> {
    let store = Store::open_default().map_err(CliError::storage)?;
    let loaded = store.load(name).map_err(CliError::storage)?;
    Ok(loaded.map(|(profile, secrets)| {
        let tokens = secrets.map(|s| s.tokens);
        let refreshable = tokens.as_ref().is_some_and(|t| t.refresh_token.is_some());
        let expires_at = tokens
            .as_ref()
            .and_then(|t| t.expires_at)
            .map(|e| e.0 / 1000);
        let now_s = crate::clock::unix_ms() / 1000;
        let usable = tokens.is_some() && (refreshable || expires_at.is_none_or(|e| e > now_s));
        Stored {
            profile,
            usable,
            refreshable,
            expires_at,
        }
    }))
}

#[tool_router]
impl DeviceflowMcp {
    pub fn new(profiles: Profiles) -> Self {
        DeviceflowMcp {
            profiles: Arc::new(profiles),
            logins: Arc::new(Logins::default()),
            busy: Arc::new(AtomicUsize::new(0)),
            tool_router: Self::tool_router(),
        }
    }

    fn target(&self, name: Option<&str>) -> Result<Target, CallToolResult> {
        self.profiles
            .get(name)
            .cloned()
            .map_err(|e| match name.filter(|n| !n.is_empty()) {
                Some(_) => failure("not_configured", e),
                None => failure("invalid_input", e),
            })
    }

    /// Runs blocking work (HTTP, file locks, the keyring) off the async threads, counted so
    /// that the process does not end in the middle of storing a rotated refresh token.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, CliError> + Send + 'static,
    ) -> Result<T, CliError> {
        let busy = self.busy.clone();
        busy.fetch_add(1, Ordering::SeqCst);
        let joined = tokio::task::spawn_blocking(move || {
            let out = f();
            busy.fetch_sub(1, Ordering::SeqCst);
            out
        })
        .await;
        joined.unwrap_or_else(|e| Err(CliError::new("internal", e.to_string(), 1)))
    }

    /// Checks the stored login against the configuration before anything is handed out.
    fn matching(target: &Target) -> Result<Option<Profile>, CliError> {
        match stored(&target.name)? {
            Some(s) => target
                .check_stored(&s.profile)
                .map(|()| Some(s.profile))
                .map_err(|m| CliError::new("profile_mismatch", m, 2)),
            None => Ok(None),
        }
    }

    #[tool(
        description = "Start signing in a configured profile with the device flow. Returns at once \
                       with the verification address, the host to check and the code: show them to \
                       the person (clients that support URL elicitation are also sent the link). \
                       Then call wait_for_login. Calling it again while a sign-in is waiting returns \
                       the same code."
    )]
    async fn start_login(
        &self,
        Parameters(a): Parameters<ProfileArg>,
        peer: Peer<RoleServer>,
    ) -> CallToolResult {
        let target = match self.target(a.profile.as_deref()) {
            Ok(t) => t,
            Err(e) => return e,
        };
        let (mut rx, new) = match self.logins.start(&target) {
            Ok(x) => x,
            Err(e) => return from_cli(e, &target.name),
        };
        let phase = settle(&mut rx, false, START_WAIT).await;
        let (mut v, is_error) = phase_json(&target, &phase);
        if is_error {
            return CallToolResult::structured_error(v);
        }
        v["already_started"] = json!(!new);
        if let (Phase::Waiting(s), true) = (&phase, new) {
            v["elicitation"] = json!(elicit(&peer, &target, s, rx));
        }
        done(v)
    }

    #[tool(
        description = "Wait until the profile's sign-in ends (approved, denied or expired), at most \
                       timeout_s seconds (default 30, max 50; 0 only checks). status is \
                       waiting_for_authorization (call again), authenticated, not_started, or error \
                       (error: access_denied, expired_token, ...)."
    )]
    async fn wait_for_login(&self, Parameters(a): Parameters<WaitArg>) -> CallToolResult {
        let target = match self.target(a.profile.as_deref()) {
            Ok(t) => t,
            Err(e) => return e,
        };
        let limit = Duration::from_secs(a.timeout_s.unwrap_or(WAIT_DEFAULT_S).min(WAIT_MAX_S));
        if let Some(mut rx) = self.logins.latest(&target.name) {
            let phase = settle(&mut rx, true, limit).await;
            let (v, is_error) = phase_json(&target, &phase);
            return if is_error {
                CallToolResult::structured_error(v)
            } else {
                done(v)
            };
        }
        let t = target.clone();
        match self
            .blocking(move || Ok((stored(&t.name)?, Self::matching(&t))))
            .await
        {
            Ok((Some(s), Ok(_))) if s.usable => done(json!({
                "status": "authenticated", "profile": target.name, "account": s.profile.account,
                "scope": s.profile.scope, "expires_at": s.expires_at})),
            Ok((_, Err(e))) => from_cli(e, &target.name),
            Ok(_) => done(json!({"status": "not_started", "profile": target.name,
                                 "message": "no sign-in for this profile: call start_login"})),
            Err(e) => from_cli(e, &target.name),
        }
    }

    #[tool(
        description = "A valid access token for the profile (refreshed first when it expires within \
                       min_valid_s seconds, default 60), with token_type and expiry. Never returns \
                       the refresh token. Ask again whenever a token is needed rather than keeping it."
    )]
    async fn get_access_token(&self, Parameters(a): Parameters<TokenArg>) -> CallToolResult {
        let target = match self.target(a.profile.as_deref()) {
            Ok(t) => t,
            Err(e) => return e,
        };
        let min_valid = a
            .min_valid_s
            .unwrap_or(MIN_VALID_DEFAULT_S)
            .min(MIN_VALID_MAX_S);
        let t = target.clone();
        let got = self
            .blocking(move || {
                Self::matching(&t)?;
                fresh_tokens(&t.name, min_valid)
            })
            .await;
        match got {
            Ok(tokens) => {
                let now_s = crate::clock::unix_ms() / 1000;
                let at = tokens.expires_at.map(|e| e.0 / 1000);
                done(json!({
                    "profile": target.name,
                    "access_token": tokens.access_token.expose(),
                    "token_type": tokens.token_type,
                    "expires_at": at,
                    "expires_in": at.map(|a| a.saturating_sub(now_s)),
                    "scope": tokens.scope,
                }))
            }
            Err(e) if e.code == "login_required" && self.logins.running(&target.name).is_some() => {
                failure(
                    "login_pending",
                    format!(
                        "profile \"{}\" is not signed in yet: a sign-in is waiting for the \
                         person's approval (call wait_for_login)",
                        target.name
                    ),
                )
            }
            Err(e) => from_cli(e, &target.name),
        }
    }

    #[tool(
        description = "Log the profile out: revoke its tokens at the server (RFC 7009) and delete \
                       them here. A new sign-in then needs the person again."
    )]
    async fn logout(&self, Parameters(a): Parameters<ProfileArg>) -> CallToolResult {
        let target = match self.target(a.profile.as_deref()) {
            Ok(t) => t,
            Err(e) => return e,
        };
        if self.logins.running(&target.name).is_some() {
            return failure(
                "login_pending",
                "a sign-in for this profile is waiting for approval; it would store tokens after \
                 this logout. Let it end (wait_for_login) first",
            );
        }
        let t = target.clone();
        let out = self
            .blocking(move || {
                let Some(p) = Self::matching(&t)? else {
                    return Ok(None);
                };
                logout(&t.name, false, false)?;
                Ok(Some(p.revocation_endpoint.is_some()))
            })
            .await;
        if out.is_ok() {
            self.logins.forget(&target.name);
        }
        match out {
            Ok(None) => done(json!({"status": "logged_out", "profile": target.name,
                                    "was_logged_in": false, "revoked": false})),
            Ok(Some(revoked)) => done(json!({"status": "logged_out", "profile": target.name,
                                             "was_logged_in": true, "revoked": revoked})),
            Err(e) => from_cli(e, &target.name),
        }
    }

    #[tool(
        description = "The profiles this server may sign in, with their server, client, scopes and \
                       state (logged_in, expired, logged_out, mismatch) and expiry. No secrets."
    )]
    async fn list_profiles(&self) -> CallToolResult {
        let targets: Vec<Target> = self.profiles.targets().cloned().collect();
        let logins = self.logins.clone();
        let rows = self
            .blocking(move || {
                Ok(targets
                    .iter()
                    .map(|t| row(t, logins.running(&t.name).is_some()))
                    .collect::<Vec<_>>())
            })
            .await;
        match rows {
            Ok(rows) => done(json!({ "profiles": rows })),
            Err(e) => from_cli(e, ""),
        }
    }
}

fn row(t: &Target, pending: bool) -> Value {
    let s = &t.settings;
    let mut v = json!({
        "profile": t.name, "source": t.source.as_str(), "server": t.server(),
        "client_id": s.client_id, "scope": s.scope, "login_pending": pending,
    });
    match stored(&t.name) {
        Ok(None) => v["state"] = json!("logged_out"),
        Ok(Some(s)) => {
            let now_s = crate::clock::unix_ms() / 1000;
            let state = match (t.check_stored(&s.profile), s.usable, s.expires_at) {
                (Err(_), ..) => "mismatch",
                (Ok(()), false, _) => "logged_out",
                (Ok(()), true, Some(e)) if e <= now_s => "expired",
                _ => "logged_in",
            };
            v["state"] = json!(state);
            v["account"] = json!(s.profile.account);
            v["expires_at"] = json!(s.expires_at);
            v["refreshable"] = json!(s.refreshable);
        }
        Err(e) => {
            v["state"] = json!("unreadable");
            v["message"] = json!(e.message);
        }
    }
    v
}

/// Sends the link by URL-mode elicitation when the client declared it (MCP 2025-11-25), in the
/// background: the tool answers at once. When the sign-in ends, the client is told
/// (`notifications/elicitation/complete`). Returns what was done: `url` or `none`.
fn elicit(
    peer: &Peer<RoleServer>,
    target: &Target,
    s: &Shown,
    mut rx: tokio::sync::watch::Receiver<Phase>,
) -> &'static str {
    if !peer
        .supported_elicitation_modes()
        .contains(&ElicitationMode::Url)
    {
        return "none";
    }
    let url = s
        .verification_uri_complete
        .clone()
        .unwrap_or_else(|| s.verification_uri.clone());
    let id = format!(
        "deviceflow-login-{}-{}",
        target.name,
        crate::clock::unix_ms()
    );
    let params = ElicitRequestParams::UrlElicitationParams {
        meta: None,
        message: instruction(target, s),
        url,
        elicitation_id: id.clone(),
    };
    let peer = peer.clone();
    let name = target.name.clone();
    tokio::spawn(async move {
        let action = match peer.create_elicitation(params).await {
            Ok(r) => r.action,
            Err(e) => {
                crate::human::say(&format!(
                    "deviceflow mcp: the client did not take the sign-in link for \"{name}\": {e}"
                ));
                return;
            }
        };
        if action != ElicitationAction::Accept {
            crate::human::say(&format!(
                "deviceflow mcp: the person did not open the sign-in link for \"{name}\" ({action:?})"
            ));
            return;
        }
        let _ = rx.wait_for(|p| !p.running()).await;
        let note = CustomNotification::new(
            "notifications/elicitation/complete",
            Some(json!({ "elicitationId": id })),
        );
        let _ = peer
            .send_notification(ServerNotification::CustomNotification(note))
            .await;
    });
    "url"
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for DeviceflowMcp {
    fn get_info(&self) -> ServerConfig {
        let mut c = ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(INSTRUCTIONS);
        c.server_info = Implementation::new("deviceflow", env!("CARGO_PKG_VERSION"));
        c
    }
}

/// Resolves once SIGINT or SIGTERM arrived.
async fn interrupted() {
    while !crate::interrupt::requested() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serves on stdin/stdout until the client closes stdin, or SIGINT/SIGTERM.
pub async fn serve(profiles: Profiles) -> Result<(), CliError> {
    let server = DeviceflowMcp::new(profiles);
    let busy = server.busy.clone();
    let service = tokio::select! {
        s = server.serve(rmcp::transport::stdio_pipes()) => s.map_err(|e| {
            CliError::new("mcp_error", format!("MCP handshake failed: {e}"), 1)
        })?,
        () = interrupted() => return Ok(()),
    };
    tokio::select! {
        _ = service.waiting() => {}
        () = interrupted() => {}
    }
    // A refresh or logout in flight may be storing a rotated refresh token: let it finish.
    for _ in 0..350 {
        if busy.load(Ordering::SeqCst) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
