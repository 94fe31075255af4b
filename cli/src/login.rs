//! `deviceflow login`: build the configuration, drive the device flow, show the
//! code to a person (stderr) or an agent (NDJSON on stdout), store the tokens.

use crate::args::LoginArgs;
use crate::browser;
use crate::clock::Clock;
use crate::drive::{self, Event};
use crate::exit::CliError;
use crate::human::{self, Term};
use crate::ndjson;
use crate::plan::{plan, Plan};
use crate::store::{check_profile_name, Profile, Secrets, Store, StoreKind};
use crate::transport::Transport;
use deviceflow::display::clean_text;
use deviceflow::{DeviceFlow, TokenSet, WaitReason};
use serde_json::json;

/// Options that shape the output, separate from where to sign in.
pub struct Presentation {
    pub json: bool,
    pub qr: Option<bool>,
    pub open: Option<bool>,
}

/// The outcome the caller may build on (the demo reports it too).
pub struct LoggedIn {
    pub tokens: TokenSet,
    /// What was (or, with `--store none`, would have been) stored.
    pub profile: Profile,
}

pub fn run(args: LoginArgs, profile_name: &str, json: bool) -> Result<(), CliError> {
    check_profile_name(profile_name).map_err(CliError::input)?;
    let plan = plan(&args)?;
    let store_kind = match args.store {
        // `auto`: the OS keyring when one answers, else the file, saying so in one line.
        StoreKind::Auto => match crate::keyring_store::available() {
            Ok(()) => StoreKind::Keyring,
            Err(why) => {
                auto_fell_back_to_file(profile_name, &why);
                StoreKind::File
            }
        },
        other => Store::resolve(other).map_err(CliError::input)?,
    };
    let store = if store_kind == StoreKind::None {
        None
    } else {
        Some(Store::open_default().map_err(CliError::storage)?)
    };
    let how = Presentation {
        json,
        qr: args.prompt.qr(),
        open: args.prompt.open(),
    };
    login(
        plan,
        profile_name,
        store_kind,
        store.as_ref(),
        &how,
        &mut |_| {},
    )
    .map(|_| ())
}

/// The one-line notice of `--store auto` without a keyring (stderr, also with `--json`).
fn auto_fell_back_to_file(profile_name: &str, why: &str) {
    let path = Store::open_default()
        .map(|s| {
            s.dir()
                .join("profiles")
                .join(format!("{profile_name}.json"))
        })
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "the config directory".into());
    let why = clean_text(why.lines().next().unwrap_or(why));
    human::say(&format!(
        "note: {why}; the tokens will be kept in {path} (mode 0600) instead"
    ));
}

/// Runs the flow and stores the result. Reports the final line itself.
pub fn login(
    plan: Plan,
    profile_name: &str,
    store_kind: StoreKind,
    store: Option<&Store>,
    how: &Presentation,
    on_prompt: &mut dyn FnMut(&deviceflow::Prompt),
) -> Result<LoggedIn, CliError> {
    let clock = Clock::new();
    let transport = Transport::new();
    let term = Term::detect();
    let client_secret = plan.config.client.client_secret.clone();
    let mut config = plan.config.clone();
    config.timing = crate::settings::timing();
    if let Some(key) = &plan.dpop_key {
        config = config.with_dpop(crate::dpop::config(key)?);
    }
    let mut flow = DeviceFlow::new(config, clock.now())?;

    let mut expires_at = None;
    let mut polls = 0u32;
    let mut interval_s = 0u64;
    let key = plan.dpop_key.as_ref();
    let outcome = drive::run_with_key(&mut flow, key, &clock, &transport, |event| match event {
        Event::Prompt(prompt) => {
            expires_at = Some(prompt.expires_at);
            interval_s = prompt.interval;
            if how.json {
                ndjson::emit(&[
                    ("status", json!("waiting_for_authorization")),
                    ("verification_uri", json!(prompt.verification_uri)),
                    (
                        "verification_uri_complete",
                        json!(prompt.verification_uri_complete),
                    ),
                    ("user_code", json!(prompt.user_code)),
                    ("expires_in", json!(prompt.expires_in)),
                    ("interval", json!(prompt.interval)),
                ]);
            }
            let expected = human::host_is_expected(&prompt.verification_host, &plan.trusted_hosts);
            if !how.json {
                let qr = how.qr.unwrap_or(term.tty);
                human::show_prompt(&term, prompt, expected, qr);
            }
            open_browser(how, prompt, expected);
            on_prompt(prompt);
            if !how.json && !term.tty {
                human::say("Waiting for approval...");
            }
        }
        Event::Sending => {
            if expires_at.is_some() {
                polls += 1;
            }
        }
        Event::Waiting {
            until,
            now,
            reason,
            first,
            interval_ms,
        } => {
            if first && polls > 0 && how.json {
                // The server's interval, not this wait (which adds a safety margin).
                let new_interval = interval_ms.unwrap_or_else(|| until.since(now)) / 1000;
                if reason == WaitReason::SlowDown && new_interval != interval_s {
                    interval_s = new_interval;
                    ndjson::emit(&[
                        ("status", json!("slow_down")),
                        ("interval", json!(interval_s)),
                    ]);
                } else if matches!(reason, WaitReason::Interval | WaitReason::SlowDown) {
                    ndjson::emit(&[("status", json!("pending"))]);
                }
            }
            if let (false, true, Some(at)) = (how.json, term.tty, expires_at) {
                let note = if reason == WaitReason::Backoff {
                    " (server unreachable, retrying)"
                } else {
                    ""
                };
                human::countdown(&term, at, now, note);
            }
        }
    });
    if !how.json {
        human::clear_line(&term);
    }
    let tokens = match outcome {
        Ok(t) => t,
        Err(e) => {
            let err = CliError::from(e);
            report_failure(how.json, &err);
            return Err(err.silent());
        }
    };

    let account = account_name(&tokens);
    let meta = flow.metadata();
    let profile = Profile {
        name: profile_name.to_owned(),
        provider: plan.provider.clone(),
        issuer: meta
            .map(|m| m.issuer.clone())
            .or(plan.config.issuer.clone()),
        device_authorization_endpoint: plan
            .config
            .device_authorization_endpoint
            .clone()
            .or_else(|| meta.and_then(|m| m.device_authorization_endpoint.clone()))
            .unwrap_or_default(),
        token_endpoint: plan
            .config
            .token_endpoint
            .clone()
            .or_else(|| meta.and_then(|m| m.token_endpoint.clone()))
            .unwrap_or_default(),
        revocation_endpoint: plan
            .revocation_endpoint
            .clone()
            .or_else(|| meta.and_then(|m| m.revocation_endpoint.clone())),
        client_id: plan.config.client.client_id.clone(),
        client_auth: plan.config.client.auth_method(),
        scope: plan.config.scope.clone(),
        store: store_kind,
        account: account.clone(),
        logged_in_at_ms: crate::clock::unix_ms(),
    };
    if let Some(store) = store {
        let secrets = Secrets {
            tokens: tokens.clone(),
            client_secret,
            dpop_key: plan.dpop_key.as_ref().map(|k| k.secret()),
        };
        let saved = store
            .lock(profile_name)
            .and_then(|_lock| store.save(&profile, &secrets));
        if let Err(e) = saved {
            let err = CliError::storage(format!("signed in, but could not store the tokens: {e}"));
            report_failure(how.json, &err);
            return Err(err.silent());
        }
    }

    let scope = tokens.scope.clone().or(plan.config.scope.clone());
    if how.json {
        ndjson::emit(&[
            ("status", json!("authenticated")),
            ("token_type", json!(tokens.token_type)),
            ("scope", json!(scope)),
            ("expires_in", json!(tokens.expires_in)),
            ("profile", json!(profile_name)),
        ]);
    } else {
        let who = account
            .as_deref()
            .map(|a| format!("Signed in as {a}"))
            .unwrap_or_else(|| "Signed in".to_owned());
        let expiry = tokens
            .expires_at
            .map(|at| {
                format!(
                    ", token valid for {}",
                    human::in_words(at.since(clock.now()))
                )
            })
            .unwrap_or_default();
        let saved = match (store_kind, store) {
            (StoreKind::Keyring, _) => "  Tokens saved in the OS keyring.".to_owned(),
            (StoreKind::File, Some(s)) => format!(
                "  Tokens saved in {}.",
                s.dir()
                    .join("profiles")
                    .join(format!("{profile_name}.json"))
                    .display()
            ),
            _ => "  Tokens not saved (--store none).".to_owned(),
        };
        let about = if store.is_some() {
            format!("profile \"{profile_name}\"{expiry}")
        } else {
            expiry.trim_start_matches(", ").to_owned()
        };
        human::say(&format!("✓ {who} ({about})."));
        human::say(&saved);
    }
    Ok(LoggedIn { tokens, profile })
}

fn report_failure(json: bool, err: &CliError) {
    if json {
        ndjson::error_of(err);
    } else {
        human::say(&format!("✗ {} ({})", clean_text(&err.message), err.code));
        if err.code == "expired_token" || err.code == "access_denied" {
            human::say("Run `deviceflow login` again to get a new code.");
        }
    }
}

/// Only where a browser can exist, only a validated URL,
/// never automatically when the verification host looks foreign.
fn open_browser(how: &Presentation, prompt: &deviceflow::Prompt, expected_host: bool) {
    let want = match how.open {
        Some(forced) => forced,
        None => expected_host && browser::headless_reason_here().is_none(),
    };
    if !want {
        return;
    }
    let url = prompt
        .verification_uri_complete
        .as_deref()
        .unwrap_or(&prompt.verification_uri);
    match browser::open(url) {
        Ok(()) if !how.json => human::say("Opened your browser; check that the code matches."),
        Ok(()) => {}
        Err(e) if !how.json => {
            human::say(&format!("(Could not open a browser: {})", clean_text(&e)))
        }
        Err(_) => {}
    }
}

/// "Signed in as ...": unverified ID token claims, for display only, never to decide anything.
pub fn account_name(tokens: &TokenSet) -> Option<String> {
    let claims = tokens.id_token_claims_unverified()?;
    let text = |k: &str| claims.get(k).and_then(|v| v.as_str()).map(clean_text);
    let name = text("name");
    let email = text("email").or_else(|| text("preferred_username"));
    let who = match (name, email) {
        (Some(n), Some(e)) if n != e => format!("{n} <{e}>"),
        (_, Some(e)) => e,
        (Some(n), None) => n,
        (None, None) => text("sub")?,
    };
    Some(who.chars().take(120).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_name_from_unverified_id_token() {
        use base64::Engine;
        let claims =
            serde_json::json!({"sub": "u1", "name": "Ada\u{1b}[31m", "email": "ada@example.com"});
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
        let tokens: TokenSet = serde_json::from_value(serde_json::json!({
            "access_token": "x", "token_type": "Bearer", "id_token": format!("e30.{payload}.sig"), "extra": {}
        }))
        .unwrap();
        assert_eq!(
            account_name(&tokens).as_deref(),
            Some("Ada <ada@example.com>"),
            "the whole escape sequence goes, not just ESC"
        );
    }
}
