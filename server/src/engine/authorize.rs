//! The device authorization endpoint (RFC 8628 §3.1-3.2).

use serde_json::{json, Value};

use super::audit::{Event, Kind};
use super::clients::Needs;
use super::codes::{self, display_user_code};
use super::{
    ClientRequest, CommitTicket, DeviceRecord, DeviceStatus, Engine, Insertion, OAuthError, Random,
    Response, Store,
};

impl<S: Store> Engine<S> {
    /// `POST /device_authorization`: authenticates the client (§3.1: confidential clients as at
    /// the token endpoint), checks the grant is enabled and the scopes allowed, counts the request
    /// against the [`IssuanceLimits`](super::IssuanceLimits) (429 over them) and issues codes, in one
    /// store transaction.
    pub fn handle_device_authorization(
        &self,
        req: &ClientRequest,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> Response {
        let (response, ticket) = self.handle_device_authorization_grouped(req, now_ms, rng);
        self.finish_grouped(response, ticket)
    }

    /// [`handle_device_authorization`](Self::handle_device_authorization) with the store's group
    /// commit ([`Store::insert_device_grouped`]): the response may not be sent before
    /// [`finish_grouped`](Self::finish_grouped) has committed the ticket. For hosts that let
    /// requests arriving together share one commit.
    pub fn handle_device_authorization_grouped(
        &self,
        req: &ClientRequest,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> (Response, Option<CommitTicket>) {
        let mut ticket = None;
        let response = self
            .device_authorization(req, now_ms, rng, &mut ticket)
            .into();
        (response, ticket)
    }

    /// Commits `ticket` ([`Store::commit_through`]) and returns `response`, or a server error if
    /// the commit failed (nothing the response promises was stored).
    pub fn finish_grouped(&self, response: Response, ticket: Option<CommitTicket>) -> Response {
        match ticket.map(|t| self.store.commit_through(t)) {
            Some(Err(e)) => Err::<Value, _>(OAuthError::from(e)).into(),
            _ => response,
        }
    }

    fn device_authorization(
        &self,
        req: &ClientRequest,
        now_ms: i64,
        rng: &mut dyn Random,
        ticket: &mut Option<CommitTicket>,
    ) -> Result<Value, OAuthError> {
        let client = self.clients.authenticate_for(req, Needs::DeviceGrant)?;
        let scope = self.granted_scope(client, req.params.get("scope"))?;
        // Only requests that passed authentication and the scope check count.
        let keys = super::issuance::issuance_keys(client, &req.source);
        let quotas = self.issuance_quotas(&keys, now_ms);
        let cfg = &self.config;
        // A collision of 256-bit device codes is impossible in practice; of user codes, rare.
        for _ in 0..8 {
            let device_code = codes::new_device_code(rng, now_ms);
            let user_code = codes::new_user_code(rng);
            let record = DeviceRecord {
                id: super::random::time_ordered_id(rng, now_ms),
                device_code_hash: codes::device_code_key(&device_code),
                user_code_hash: codes::user_code_hmac(&cfg.user_code_key, &user_code),
                client_id: client.client_id.clone(),
                scope: scope.clone(),
                created_at_ms: now_ms,
                expires_at_ms: now_ms + cfg.device_code_ttl_ms,
                interval_ms: cfg.interval_ms,
                status: DeviceStatus::Pending,
                subject: None,
                last_poll_ms: None,
                slow_downs: 0,
                source: req.source.chars().take(64).collect(),
                redeemed_at_ms: None,
                sealed_response: None,
            };
            let (inserted, group) = self.store.insert_device_grouped(&record, &quotas)?;
            *ticket = group.max(*ticket);
            match inserted {
                Insertion::Inserted => {}
                Insertion::CodeTaken => continue,
                Insertion::OverQuota(over) => return Err(self.over_issuance_quota(over, now_ms)),
            }
            Event {
                kind: Kind::Issuance,
                at_ms: now_ms,
                client_id: &record.client_id,
                grant: &record.id,
                subject: "",
                source: &record.source,
                detail: &record.scope,
            }
            .emit();
            let shown = display_user_code(&user_code);
            let uri = cfg.verification_uri();
            return Ok(json!({
                "device_code": device_code,
                "user_code": shown,
                "verification_uri": uri,
                "verification_uri_complete": format!("{uri}?user_code={shown}"),
                "expires_in": cfg.device_code_ttl_ms / 1000,
                "interval": (cfg.interval_ms + 999) / 1000,
            }));
        }
        Err(OAuthError::server_error(
            "could not allocate a unique user code",
        ))
    }

    /// The scope to grant: the requested one if every token is allowed, else the client's full
    /// set when none was asked for (RFC 6749 §3.3).
    pub(crate) fn granted_scope(
        &self,
        client: &super::Client,
        requested: Option<&str>,
    ) -> Result<String, OAuthError> {
        let Some(requested) = requested else {
            return Ok(client.scopes.join(" "));
        };
        let mut granted: Vec<&str> = Vec::new();
        for s in requested.split(' ').filter(|s| !s.is_empty()) {
            if !client.scopes.iter().any(|allowed| allowed == s) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {s} is not allowed"
                )));
            }
            if !granted.contains(&s) {
                granted.push(s);
            }
        }
        Ok(granted.join(" "))
    }
}
