//! `status`, `token`, `refresh`, `logout`: working with a stored login.

use crate::clock::{unix_ms, Clock};
use crate::drive;
use crate::exit::CliError;
use crate::human;
use crate::ndjson;
use crate::store::{check_profile_name, Profile, Secrets, Store, StoreKind};
use crate::transport::Transport;
use deviceflow::display::clean_text;
use deviceflow::{
    Client, Refresh, RefreshConfig, Revocation, RevocationConfig, Secret, SoftwareKey, Timestamp,
    TokenSet, TokenTypeHint,
};
use serde_json::json;

fn open(profile: &str) -> Result<Store, CliError> {
    check_profile_name(profile).map_err(CliError::input)?;
    Store::open_default().map_err(CliError::storage)
}

fn load(store: &Store, name: &str) -> Result<(Profile, Secrets), CliError> {
    match store.load(name).map_err(CliError::storage)? {
        Some((p, Some(s))) => Ok((p, s)),
        Some((_, None)) => Err(CliError::login_required(format!(
            "the tokens of profile \"{name}\" are gone from the keyring; run `deviceflow login`"
        ))),
        None => Err(CliError::login_required(format!(
            "not logged in (profile \"{name}\"); run `deviceflow login`"
        ))),
    }
}

fn client(profile: &Profile, secrets: &Secrets) -> Client {
    let env_secret = std::env::var("DEVICEFLOW_CLIENT_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    Client {
        client_id: profile.client_id.clone(),
        client_secret: env_secret.or_else(|| secrets.client_secret.clone()),
        client_auth: Some(profile.client_auth),
    }
}

/// Refreshes and stores the new tokens (call with the profile lock held).
fn refresh_now(store: &Store, profile: &Profile, secrets: &mut Secrets) -> Result<(), CliError> {
    let refresh_token = secrets.tokens.refresh_token.clone().ok_or_else(|| {
        CliError::login_required(
            "the access token expired and the server gave no refresh token; run `deviceflow login`",
        )
    })?;
    let clock = Clock::new();
    let key = crate::dpop::key_of(secrets)?;
    let mut op = Refresh::new(
        RefreshConfig {
            client: client(profile, secrets),
            token_endpoint: profile.token_endpoint.clone(),
            refresh_token,
            scope: None,
            timing: crate::settings::timing(),
        },
        clock.now(),
    )?;
    // A DPoP login refreshes with its key (a public client's refresh token is bound to it);
    // only then does the core accept `token_type` DPoP.
    if let Some(key) = &key {
        op = op.with_dpop(crate::dpop::config(key)?)?;
    }
    let mut tokens = drive::run_with_key(&mut op, key.as_ref(), &clock, &Transport::new(), |_| {})?;
    // A refresh response need not repeat the ID token or scope; keep what we knew.
    if tokens.id_token.is_none() {
        tokens.id_token = secrets.tokens.id_token.clone();
    }
    if tokens.scope.is_none() {
        tokens.scope = secrets.tokens.scope.clone();
    }
    secrets.tokens = tokens;
    store
        .save(profile, secrets)
        .map_err(|e| CliError::storage(format!("refreshed, but could not store the tokens: {e}")))
}

fn expires_in_s(expires_at: Option<Timestamp>) -> Option<i64> {
    expires_at.map(|at| (at.0 as i64 - unix_ms() as i64) / 1000)
}

pub fn status(profile_name: &str, json: bool) -> Result<(), CliError> {
    let store = open(profile_name)?;
    let loaded = store.load(profile_name).map_err(CliError::storage)?;
    let Some((p, secrets)) = loaded else {
        let others = store.list();
        if json {
            ndjson::emit(&[
                ("status", json!("logged_out")),
                ("profile", json!(profile_name)),
                ("profiles", json!(others)),
            ]);
        } else {
            human::say(&format!("Not logged in (profile \"{profile_name}\")."));
            if !others.is_empty() {
                human::say(&format!(
                    "Saved profiles: {} (use --profile NAME)",
                    others.join(", ")
                ));
            }
        }
        return Err(CliError::login_required("not logged in").silent());
    };
    let tokens = secrets.as_ref().map(|s| &s.tokens);
    let expires_at = tokens.and_then(|t| t.expires_at);
    let left = expires_in_s(expires_at);
    let has_refresh = tokens.is_some_and(|t| t.refresh_token.is_some());
    let state = match (tokens, left) {
        (None, _) => "tokens_missing",
        (Some(_), Some(s)) if s <= 0 => "expired",
        _ => "logged_in",
    };
    let scope = tokens.and_then(|t| t.scope.clone()).or(p.scope.clone());
    // The DPoP key's thumbprint (`jkt`) when the login is bound to one.
    let jkt = match secrets.as_ref().map(crate::dpop::key_of) {
        Some(Ok(Some(k))) => Some(k.public_jwk().thumbprint()),
        _ => None,
    };
    if json {
        ndjson::emit(&[
            ("status", json!(state)),
            ("profile", json!(p.name)),
            ("issuer", json!(p.issuer)),
            ("provider", json!(p.provider)),
            ("client_id", json!(p.client_id)),
            ("account", json!(p.account)),
            ("scope", json!(scope)),
            ("token_type", json!(tokens.map(|t| t.token_type.clone()))),
            ("expires_at", json!(expires_at.map(|t| t.0 / 1000))),
            ("expires_in", json!(left)),
            ("refreshable", json!(has_refresh)),
            ("dpop_jkt", json!(jkt)),
            ("store", json!(p.store)),
        ]);
    } else {
        let row = |k: &str, v: &str| human::say(&format!("  {k:<10} {}", clean_text(v)));
        human::say(&format!(
            "Profile \"{}\": {}",
            p.name,
            state.replace('_', " ")
        ));
        row(
            "server",
            p.issuer
                .as_deref()
                .or(p.provider.as_deref())
                .unwrap_or(&p.token_endpoint),
        );
        row("client", &p.client_id);
        if let Some(a) = &p.account {
            row("account", a);
        }
        row("scopes", scope.as_deref().unwrap_or("(none)"));
        row(
            "expires",
            &match left {
                None => "unknown (the server did not say)".to_owned(),
                Some(s) if s <= 0 => format!(
                    "expired {} ago{}",
                    human::in_words((-s) as u64 * 1000),
                    if has_refresh {
                        "; `deviceflow token` will refresh it"
                    } else {
                        ""
                    }
                ),
                Some(s) => format!("in {}", human::in_words(s as u64 * 1000)),
            },
        );
        row(
            "refresh",
            if has_refresh {
                "yes"
            } else {
                "no refresh token"
            },
        );
        if let Some(jkt) = &jkt {
            row(
                "dpop",
                &format!("bound to key {jkt} (kept with the tokens)"),
            );
        }
        row(
            "stored in",
            &match p.store {
                StoreKind::Keyring => "OS keyring".to_owned(),
                _ => store
                    .dir()
                    .join("profiles")
                    .join(format!("{}.json", p.name))
                    .display()
                    .to_string(),
            },
        );
    }
    if state == "logged_in" || (state == "expired" && has_refresh) {
        Ok(())
    } else {
        Err(CliError::login_required("the stored login cannot be used").silent())
    }
}

/// A token set whose access token is valid for at least `min_valid_s` more seconds (or has
/// no known expiry). The refresh protocol shared by every process using the profile: take
/// the profile lock, read the stored tokens *after* taking it (another process may have just
/// rotated the refresh token), refresh only if they still need it, store the result, let go.
/// So N processes that need a refresh at the same moment make one refresh request between
/// them and all get its token; a rotated refresh token is never sent twice.
pub fn fresh_tokens(profile_name: &str, min_valid_s: u64) -> Result<TokenSet, CliError> {
    fresh_login(profile_name, min_valid_s).map(|(tokens, _)| tokens)
}

/// [`fresh_tokens`] and the login's DPoP key (`login --dpop`), which every use of a
/// DPoP-bound access token must prove possession of.
pub fn fresh_login(
    profile_name: &str,
    min_valid_s: u64,
) -> Result<(TokenSet, Option<SoftwareKey>), CliError> {
    let store = open(profile_name)?;
    let _lock = store.lock(profile_name).map_err(CliError::storage)?;
    let (profile, mut secrets) = load(&store, profile_name)?;
    let now = Timestamp(unix_ms());
    if secrets
        .tokens
        .needs_refresh(now, min_valid_s.saturating_mul(1000))
    {
        refresh_now(&store, &profile, &mut secrets)?;
    }
    let key = crate::dpop::key_of(&secrets)?;
    Ok((secrets.tokens, key))
}

/// Whether the stored login is bound to a DPoP key (`login --dpop`); no refresh, no lock.
pub fn is_dpop(profile_name: &str) -> Result<bool, CliError> {
    let store = open(profile_name)?;
    let (_, secrets) = load(&store, profile_name)?;
    Ok(secrets.dpop_key.is_some())
}

pub fn refresh(profile_name: &str, json: bool) -> Result<(), CliError> {
    let store = open(profile_name)?;
    let _lock = store.lock(profile_name).map_err(CliError::storage)?;
    let (profile, mut secrets) = load(&store, profile_name)?;
    refresh_now(&store, &profile, &mut secrets)?;
    let left = expires_in_s(secrets.tokens.expires_at);
    if json {
        ndjson::emit(&[
            ("status", json!("refreshed")),
            ("profile", json!(profile_name)),
            ("token_type", json!(secrets.tokens.token_type)),
            ("scope", json!(secrets.tokens.scope)),
            ("expires_in", json!(left)),
        ]);
    } else {
        let valid = left
            .map(|s| format!("; valid for {}", human::in_words(s.max(0) as u64 * 1000)))
            .unwrap_or_default();
        human::say(&format!("✓ Refreshed profile \"{profile_name}\"{valid}."));
    }
    Ok(())
}

pub fn logout(profile_name: &str, json: bool, force: bool) -> Result<(), CliError> {
    let store = open(profile_name)?;
    let _lock = store.lock(profile_name).map_err(CliError::storage)?;
    let loaded = store.load(profile_name).map_err(CliError::storage)?;
    let Some((profile, secrets)) = loaded else {
        if json {
            ndjson::emit(&[
                ("status", json!("logged_out")),
                ("profile", json!(profile_name)),
                ("revoked", json!(false)),
            ]);
        } else {
            human::say(&format!(
                "Not logged in (profile \"{profile_name}\"); nothing to do."
            ));
        }
        return Ok(());
    };
    let mut revoked = false;
    let mut problem = None;
    match (&profile.revocation_endpoint, &secrets) {
        (Some(endpoint), Some(secrets)) => match revoke_all(&profile, secrets, endpoint) {
            Ok(()) => revoked = true,
            Err(e) => problem = Some(e),
        },
        (None, Some(_)) => {
            if !json {
                human::say(
                    "The server has no revocation endpoint (RFC 7009): the tokens stay valid \
                     there until they expire. Deleting them here.",
                );
            }
        }
        (_, None) => {}
    }
    if let Some(e) = problem {
        if !force {
            let e = CliError {
                message: format!(
                    "could not revoke the tokens at the server ({}); kept them. \
                     Use `deviceflow logout --force` to delete them here anyway",
                    e.message
                ),
                ..e
            };
            return Err(e);
        }
        if !json {
            human::say(&format!(
                "Could not revoke at the server ({}); deleting locally anyway.",
                clean_text(&e.message)
            ));
        }
    }
    store.delete(profile_name).map_err(CliError::storage)?;
    if json {
        ndjson::emit(&[
            ("status", json!("logged_out")),
            ("profile", json!(profile_name)),
            ("revoked", json!(revoked)),
        ]);
    } else if revoked {
        human::say(&format!("✓ Logged out of profile \"{profile_name}\": tokens revoked at the server and deleted here."));
    } else {
        human::say(&format!(
            "✓ Logged out of profile \"{profile_name}\": tokens deleted here."
        ));
    }
    Ok(())
}

/// Revokes the refresh token (which ends the grant) and the access token.
fn revoke_all(profile: &Profile, secrets: &Secrets, endpoint: &str) -> Result<(), CliError> {
    let clock = Clock::new();
    let transport = Transport::new();
    let key = crate::dpop::key_of(secrets)?;
    let mut targets = Vec::new();
    if let Some(rt) = &secrets.tokens.refresh_token {
        targets.push((rt.clone(), TokenTypeHint::RefreshToken));
    }
    targets.push((
        secrets.tokens.access_token.clone(),
        TokenTypeHint::AccessToken,
    ));
    for (token, hint) in targets {
        let mut op = Revocation::new(
            RevocationConfig {
                client: client(profile, secrets),
                revocation_endpoint: endpoint.to_owned(),
                token,
                token_type_hint: Some(hint),
                timing: crate::settings::timing(),
            },
            clock.now(),
        )?;
        if let Some(key) = &key {
            op = op.with_dpop(crate::dpop::config(key)?)?;
        }
        drive::run_with_key(&mut op, key.as_ref(), &clock, &transport, |_| {})?;
    }
    Ok(())
}
