//! Only hashes are stored; no secret reaches Debug output.

use deviceflow_server::engine::codes::{device_code_key, sha256, user_code_hmac};
use deviceflow_server::engine::{AuthMethod, Client, EngineConfig, Params};
use deviceflow_server::ServerConfig;

use super::Harness;

#[test]
fn store_holds_only_hashes_of_codes_and_tokens() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    let d = h.engine.store.devices().pop().unwrap();
    assert_eq!(d.device_code_hash, device_code_key(&a.device_code));
    assert_eq!(d.device_code_hash[6..], sha256(&a.device_code)[..26]);
    let normalised = a.user_code.replace('-', "");
    assert_eq!(d.user_code_hash, user_code_hmac(&[7; 32], &normalised));
    assert_ne!(
        d.user_code_hash,
        sha256(&normalised),
        "user codes need the keyed hash"
    );
    let dump = format!("{d:?}");
    assert!(!dump.contains(&a.device_code) && !dump.contains(&normalised));

    h.decide(&a.user_code, true, 1);
    let t = h.poll(&a.device_code, 2).body;
    let tokens = h.engine.store.tokens();
    let dump = format!("{tokens:?}");
    for secret in [&t["access_token"], &t["refresh_token"]] {
        let secret = secret.as_str().unwrap();
        assert!(!dump.contains(secret));
        assert!(tokens.iter().any(|r| r.hash == sha256(secret)));
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    h.decide(&a.user_code, true, 1);
    let resp = h.poll(&a.device_code, 2);
    let access = resp.body["access_token"].as_str().unwrap().to_owned();
    let params = Params::from_pairs([
        ("device_code", a.device_code.as_str()),
        ("client_secret", "s3cr3t"),
    ]);
    let client = Client::confidential(
        "c",
        "C",
        AuthMethod::ClientSecretPost,
        "s3cr3t",
        &["openid"],
    );
    let config = EngineConfig::new("http://x", [0xAB; 32]);
    let mut server_config = ServerConfig::default();
    server_config.clients.push(client.clone());
    let debug = format!(
        "{resp:?} {params:?} {client:?} {config:?} {server_config:?} {:?}",
        Harness::request(&[("device_code", &a.device_code)])
    );
    for secret in [access.as_str(), &a.device_code, "s3cr3t", "171, 171"] {
        assert!(!debug.contains(secret), "{secret} leaked in {debug}");
    }
}
