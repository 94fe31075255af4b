//! Authorization server metadata (RFC 8414 §2), with RFC 8628 §4's `device_authorization_endpoint`.

use serde_json::{json, Value};

use super::{Engine, Store, DEVICE_CODE_GRANT};

impl<S: Store> Engine<S> {
    /// The document served at `/.well-known/oauth-authorization-server`.
    pub fn metadata(&self) -> Value {
        let issuer = &self.config.issuer;
        let mut scopes: Vec<&str> = self
            .clients
            .iter()
            .flat_map(|c| c.scopes.iter().map(String::as_str))
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        let auth_methods = ["none", "client_secret_basic", "client_secret_post"];
        // Resource servers are confidential clients: `none` does not authenticate.
        let introspection_auth_methods = &auth_methods[1..];
        json!({
            "issuer": issuer,
            "device_authorization_endpoint": format!("{issuer}/device_authorization"),
            "token_endpoint": format!("{issuer}/token"),
            "revocation_endpoint": format!("{issuer}/revoke"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "introspection_endpoint": format!("{issuer}/introspect"),
            "introspection_endpoint_auth_methods_supported": introspection_auth_methods,
            "jwks_uri": format!("{issuer}/jwks"),
            "grant_types_supported": [DEVICE_CODE_GRANT, "refresh_token"],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "scopes_supported": scopes,
        })
    }
}
