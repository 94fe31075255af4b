//! The audit trail: one structured event per security-relevant transition (RFC 10027 §6.1.6,
//! "detect and remediate": an operator can answer "who approved this?"), emitted as a `tracing`
//! event on target `deviceflow::audit`; the host decides where it goes (`deviceflow serve
//! --audit-log` writes JSON lines to stderr).
//!
//! Every event has the same fields: `event`, `at_ms`, `client_id`, `grant` (the device
//! authorization's random id, which also names its tokens' grant and redeems nothing),
//! `subject` (who, when known), `source` (from where) and `detail`. Never a code, a token or a
//! secret.

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Device and user codes issued.
    Issuance,
    /// A wrong, expired or used code entered on the page.
    EntryFailure,
    Approval,
    Denial,
    /// A device code exchanged for tokens.
    Redemption,
    /// A refresh token exchanged (and rotated).
    Refresh,
    /// A used device code or a rotated-out refresh token presented again: the grant is revoked.
    ReuseDetected,
    /// RFC 7009 revocation of a token (a refresh token takes its grant with it).
    Revocation,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Issuance => "issuance",
            Kind::EntryFailure => "entry_failure",
            Kind::Approval => "approval",
            Kind::Denial => "denial",
            Kind::Redemption => "redemption",
            Kind::Refresh => "refresh",
            Kind::ReuseDetected => "reuse_detected",
            Kind::Revocation => "revocation",
        }
    }
}

/// One event; empty strings for what does not apply.
pub(crate) struct Event<'a> {
    pub kind: Kind,
    pub at_ms: i64,
    pub client_id: &'a str,
    pub grant: &'a str,
    pub subject: &'a str,
    pub source: &'a str,
    pub detail: &'a str,
}

impl Event<'_> {
    pub fn emit(&self) {
        tracing::info!(
            target: "deviceflow::audit",
            event = self.kind.as_str(),
            at_ms = self.at_ms,
            client_id = self.client_id,
            grant = self.grant,
            subject = self.subject,
            source = self.source,
            detail = self.detail,
        );
    }
}
