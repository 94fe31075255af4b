//! Sign-ins running in the background of `deviceflow mcp`: one thread per profile drives the
//! device flow with the same code as `deviceflow login` (progress on stderr, tokens stored under
//! the profile lock), and publishes its phase on a `watch` channel that the tools read.

use super::config::Target;
use crate::exit::CliError;
use crate::login::{login, Presentation};
use crate::store::Store;
use deviceflow::display::clean_text;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;

/// What the person is asked to do (no secret: the user code is for them to type).
#[derive(Clone, Debug, Serialize)]
pub struct Shown {
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    /// The host of the verification page: the person should check it before signing in.
    pub verification_host: String,
    /// Whether that host belongs to the configured server (`human::host_is_expected`).
    pub host_matches_server: bool,
    /// Unix seconds.
    pub expires_at: u64,
    pub interval: u64,
    /// The server's own instructions, if any (cleaned).
    pub message: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Phase {
    /// Asking the server for a code.
    Starting,
    /// The code is out; polling until the person approves, denies, or it expires.
    Waiting(Shown),
    Authenticated {
        account: Option<String>,
        scope: Option<String>,
        /// Unix seconds.
        expires_at: Option<u64>,
    },
    Failed {
        /// The stable code (`access_denied`, `expired_token`, `network_error`, ...).
        error: String,
        message: String,
        oauth_error: Option<String>,
    },
}

impl Phase {
    pub fn running(&self) -> bool {
        matches!(self, Phase::Starting | Phase::Waiting(_))
    }
}

/// The latest sign-in of each profile.
#[derive(Default)]
pub struct Logins {
    slots: Mutex<HashMap<String, watch::Receiver<Phase>>>,
}

impl Logins {
    /// The sign-in of this profile that is still running, if any.
    pub fn running(&self, name: &str) -> Option<watch::Receiver<Phase>> {
        self.latest(name).filter(|rx| rx.borrow().running())
    }

    /// The latest sign-in of this profile, running or finished.
    pub fn latest(&self, name: &str) -> Option<watch::Receiver<Phase>> {
        self.slots.lock().expect("logins lock").get(name).cloned()
    }

    /// Forgets a finished sign-in (after a logout, its outcome is no longer the state).
    pub fn forget(&self, name: &str) {
        let mut slots = self.slots.lock().expect("logins lock");
        if slots.get(name).is_some_and(|rx| !rx.borrow().running()) {
            slots.remove(name);
        }
    }

    /// The running sign-in of the profile (`false`), or a new one (`true`).
    pub fn start(&self, target: &Target) -> Result<(watch::Receiver<Phase>, bool), CliError> {
        let mut slots = self.slots.lock().expect("logins lock");
        if let Some(rx) = slots.get(&target.name) {
            if rx.borrow().running() {
                return Ok((rx.clone(), false));
            }
        }
        // Mistakes that need no network are reported at once.
        let plan = target.plan()?;
        let kind = target.store_kind().map_err(CliError::input)?;
        let store = Store::open_default().map_err(CliError::storage)?;
        let (tx, rx) = watch::channel(Phase::Starting);
        let name = target.name.clone();
        let trusted = plan.trusted_hosts.clone();
        std::thread::Builder::new()
            .name(format!("login-{name}"))
            .spawn(move || {
                let how = Presentation {
                    json: false,
                    qr: Some(false),
                    open: Some(false),
                };
                let mut on_prompt = |p: &deviceflow::Prompt| {
                    tx.send_replace(Phase::Waiting(shown(p, &trusted)));
                };
                let outcome = login(plan, &name, kind, Some(&store), &how, &mut on_prompt);
                tx.send_replace(match outcome {
                    Ok(done) => Phase::Authenticated {
                        account: done.profile.account.clone(),
                        scope: done.tokens.scope.clone().or(done.profile.scope.clone()),
                        expires_at: done.tokens.expires_at.map(|t| t.0 / 1000),
                    },
                    Err(e) => Phase::Failed {
                        error: e.code.clone(),
                        message: e.message.clone(),
                        oauth_error: e.server.error.clone(),
                    },
                });
            })
            .map_err(|e| CliError::new("internal", format!("cannot start a thread: {e}"), 1))?;
        slots.insert(target.name.clone(), rx.clone());
        Ok((rx, true))
    }
}

fn shown(p: &deviceflow::Prompt, trusted: &[String]) -> Shown {
    Shown {
        verification_uri: p.verification_uri.clone(),
        verification_uri_complete: p.verification_uri_complete.clone(),
        user_code: p.user_code.clone(),
        verification_host: p.verification_host.clone(),
        host_matches_server: crate::human::host_is_expected(&p.verification_host, trusted),
        expires_at: p.expires_at.0 / 1000,
        interval: p.interval,
        message: p.message.as_deref().map(clean_text),
    }
}

/// Waits until the phase is no longer `Starting` (or, with `to_end`, until the sign-in ended),
/// at most `limit`. A thread that died is reported as a failure.
pub async fn settle(
    rx: &mut watch::Receiver<Phase>,
    to_end: bool,
    limit: std::time::Duration,
) -> Phase {
    let done = |p: &Phase| {
        if to_end {
            !p.running()
        } else {
            !matches!(p, Phase::Starting)
        }
    };
    let waited = match tokio::time::timeout(limit, rx.wait_for(done)).await {
        Ok(Ok(p)) => Some(p.clone()),
        Ok(Err(_)) => Some(Phase::Failed {
            error: "internal".into(),
            message: "the sign-in stopped unexpectedly".into(),
            oauth_error: None,
        }),
        Err(_) => None,
    };
    waited.unwrap_or_else(|| rx.borrow().clone())
}
