//! `deviceflow serve` and `deviceflow demo`: the project's own authorization server
//! (`deviceflow-server`) on 127.0.0.1, so the whole flow runs on one machine.

use crate::exit::{CliError, FAILURE};
use crate::store::StoreKind;
use clap::Args;
#[cfg(feature = "server")]
use {
    crate::clock::Clock,
    crate::drive,
    crate::human,
    crate::login::{self, Presentation},
    crate::ndjson,
    crate::plan::Plan,
    crate::store::{check_profile_name, Store},
    crate::transport::Transport,
    deviceflow::display::clean_text,
    deviceflow::{
        Client, Config, Refresh, RefreshConfig, Revocation, RevocationConfig, TokenTypeHint,
    },
    serde_json::json,
};

/// The public client every `deviceflow-server` knows.
#[cfg(feature = "server")]
pub const DEMO_CLIENT: &str = "deviceflow-cli";
#[cfg(feature = "server")]
pub const DEMO_SCOPE: &str = "openid profile email offline_access";

#[cfg(feature = "server")]
mod web;

#[derive(Args)]
#[command(after_help = DEMO_HELP)]
pub struct DemoArgs {
    /// Approve through the real verification page, unattended (as user "demo").
    #[arg(long)]
    pub auto_approve: bool,
    /// Port for the local server (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Keep the demo tokens under --profile (default: keep nothing; they die with the server).
    #[arg(long, value_enum, default_value = "none")]
    pub store: StoreKind,
    #[command(flatten)]
    pub prompt: crate::prompt_args::PromptArgs,
    /// The browser and TV-app demo: serve the TV example app (examples/tv/) on a second
    /// loopback port, which the server allows by CORS, and wait; sign in from the TV page.
    #[arg(long, conflicts_with = "auto_approve")]
    pub web: bool,
    /// --web: port of the TV app's page (0 = any free port).
    #[arg(long, default_value_t = 0, requires = "web")]
    pub web_port: u16,
    /// --web: the built npm package (default: pkg/ of the repository this was built from).
    #[arg(long, value_name = "DIR", env = "DEVICEFLOW_PKG_DIR", requires = "web")]
    pub pkg_dir: Option<std::path::PathBuf>,
    /// --web: polling interval in seconds (default 2).
    #[arg(long, value_name = "SECS", requires = "web")]
    pub interval: Option<u64>,
    /// --web: lifetime of each code in seconds (default 600).
    #[arg(long, value_name = "SECS", requires = "web")]
    pub code_ttl: Option<u64>,
}

const DEMO_HELP: &str = "\
Examples:
  deviceflow demo                  # sign this terminal in against a local server
  deviceflow demo --auto-approve   # the same, approved through the page by itself
  deviceflow demo --web            # a TV app in the browser: the TV page and the phone's page

--web needs the npm package's browser build: `npm run build --prefix pkg` in the repository.";

#[cfg(feature = "server")]
pub fn start(
    config: deviceflow_server::ServerConfig,
) -> Result<deviceflow_server::ServerHandle, CliError> {
    let addr = config.addr;
    deviceflow_server::spawn(config).map_err(|e| {
        CliError::new(
            "server_error",
            format!("could not start the server on {addr}: {e}"),
            FAILURE,
        )
    })
}

#[cfg(feature = "server")]
pub fn demo(args: DemoArgs, profile: &str, json: bool) -> Result<(), CliError> {
    if args.web {
        return web::run(&args, json);
    }
    check_profile_name(profile).map_err(CliError::input)?;
    let store_kind = Store::resolve(args.store).map_err(CliError::input)?;
    let store = match store_kind {
        StoreKind::None => None,
        _ => Some(Store::open_default().map_err(CliError::storage)?),
    };
    let mut config = deviceflow_server::ServerConfig::on_port(args.port);
    // The demo's page asks for a name and believes it: fine on loopback, for a demo.
    config.sign_in = deviceflow_server::SignIn::Dev;
    if args.auto_approve {
        config.interval_secs = 1; // unattended: no one to wait for
    }
    let server = start(config)?;
    let issuer = server.issuer().to_owned();
    if json {
        ndjson::emit(&[
            ("status", json!("server_started")),
            ("issuer", json!(issuer)),
        ]);
    } else {
        human::say(&format!(
            "Local authorization server: {issuer}  (SQLite in memory; dev sign-in: its page \
             believes any name typed in)"
        ));
        human::say(&format!(
            "Signing in to it as the public client \"{DEMO_CLIENT}\"."
        ));
        if !args.auto_approve {
            human::say(
                "(No browser at hand? `deviceflow demo --auto-approve` approves through the page itself.)",
            );
        }
    }

    let plan = Plan {
        config: Config::from_issuer(DEMO_CLIENT, issuer.clone()).with_scope(DEMO_SCOPE),
        provider: None,
        revocation_endpoint: None,
        trusted_hosts: human::host_of(&issuer).into_iter().collect(),
        dpop_key: None,
    };
    let how = Presentation {
        json,
        qr: args.prompt.qr(),
        open: args.prompt.open().or(args.auto_approve.then_some(false)),
    };
    let mut approver = None;
    let auto = args.auto_approve;
    let mut on_prompt = |prompt: &deviceflow::Prompt| {
        if !auto {
            return;
        }
        if !json {
            human::say(
                "--auto-approve: approving through the verification page as user \"demo\"...",
            );
        }
        let (base, code) = (issuer.clone(), prompt.user_code.clone());
        approver = Some(std::thread::spawn(move || {
            deviceflow_server::approve_via_page(&base, &code, "demo", true)
        }));
    };
    let result = login::login(
        plan,
        profile,
        store_kind,
        store.as_ref(),
        &how,
        &mut on_prompt,
    );
    if let Some(Err(e)) = approver.and_then(|t| t.join().ok()) {
        let msg = format!("automatic approval failed: {}", clean_text(&e.to_string()));
        if json {
            ndjson::error("server_error", &msg);
        } else {
            human::say(&msg);
        }
    }
    let logged_in = result?;

    // The rest of the lifecycle against the same server: refresh (with rotation), then revoke.
    let clock = Clock::new();
    let transport = Transport::new();
    let client = Client::public(DEMO_CLIENT);
    let p = &logged_in.profile;
    let mut tokens = logged_in.tokens;
    if let Some(rt) = tokens.refresh_token.clone() {
        let mut op = Refresh::new(
            RefreshConfig {
                client: client.clone(),
                token_endpoint: p.token_endpoint.clone(),
                refresh_token: rt,
                scope: None,
                timing: crate::settings::timing(),
            },
            clock.now(),
        )?;
        let fresh = drive::run(&mut op, &clock, &transport, |_| {})?;
        let rotated = fresh.refresh_token != tokens.refresh_token;
        if json {
            ndjson::emit(&[
                ("status", json!("refreshed")),
                ("expires_in", json!(fresh.expires_in)),
                ("refresh_token_rotated", json!(rotated)),
            ]);
        } else {
            human::say(&format!(
                "✓ Refreshed the access token{}.",
                if rotated {
                    " (the refresh token was rotated)"
                } else {
                    ""
                }
            ));
        }
        tokens = fresh;
    }
    if let (Some(endpoint), Some(rt)) = (&p.revocation_endpoint, tokens.refresh_token.clone()) {
        if store_kind == StoreKind::None {
            let mut op = Revocation::new(
                RevocationConfig {
                    client,
                    revocation_endpoint: endpoint.clone(),
                    token: rt,
                    token_type_hint: Some(TokenTypeHint::RefreshToken),
                    timing: crate::settings::timing(),
                },
                clock.now(),
            )?;
            drive::run(&mut op, &clock, &transport, |_| {})?;
            if json {
                ndjson::emit(&[("status", json!("logged_out")), ("revoked", json!(true))]);
            } else {
                human::say("✓ Revoked the tokens at the server (RFC 7009). Demo complete.");
            }
        } else if let Some(store) = &store {
            // Keep what the user asked to keep, with the rotated tokens.
            let secrets = crate::store::Secrets {
                tokens,
                client_secret: None,
                dpop_key: None,
            };
            store.save(p, &secrets).map_err(CliError::storage)?;
        }
    }
    server.shutdown();
    Ok(())
}

#[cfg(not(feature = "server"))]
pub fn demo(_: DemoArgs, _: &str, _: bool) -> Result<(), CliError> {
    Err(CliError::new("unsupported", NO_SERVER, FAILURE))
}

#[cfg(not(feature = "server"))]
pub const NO_SERVER: &str = "this build has no server (rebuild with the default `server` feature)";
