//! Prometheus metrics on their own listener: counts by route, OAuth outcome and code entry,
//! the pending-code gauge, engine call latency; nothing on the public port, no secret.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use deviceflow_server::{approve_via_page, spawn, ServerConfig};

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

/// The value of the sample whose line starts with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
#[allow(clippy::field_reassign_with_default)]
fn metrics_count_requests_outcomes_entries_and_pending_codes() {
    let mut config = ServerConfig::default();
    config.metrics_addr = Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    let s = spawn(config).unwrap();
    let metrics_url = format!("http://{}/metrics", s.metrics_addr().unwrap());
    let a = agent();
    let post = |path: &str, form: &[(&str, &str)]| -> serde_json::Value {
        let mut r = a
            .post(&format!("{}{path}", s.issuer()))
            .send_form(form.iter().copied())
            .unwrap();
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    };
    let first = post("/device_authorization", &[("client_id", "deviceflow-cli")]);
    let second = post("/device_authorization", &[("client_id", "deviceflow-cli")]);
    let code = first["device_code"].as_str().unwrap().to_owned();
    let poll = |code: &str| {
        post(
            "/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", "deviceflow-cli"),
                ("device_code", code),
            ],
        )
    };
    assert_eq!(poll(&code)["error"], "authorization_pending");
    assert_eq!(poll(&code)["error"], "slow_down");
    approve_via_page(
        s.issuer(),
        first["user_code"].as_str().unwrap(),
        "alice",
        true,
    )
    .unwrap();

    let mut r = a.get(&metrics_url).call().unwrap();
    assert_eq!(r.status(), 200);
    let text = r.body_mut().read_to_string().unwrap();
    let count = |prefix: &str| sample(&text, prefix).unwrap_or_else(|| panic!("{prefix}\n{text}"));
    assert_eq!(
        count("deviceflow_oauth_responses_total{endpoint=\"device_authorization\",outcome=\"ok\"}"),
        2.0
    );
    assert_eq!(
        count("deviceflow_oauth_responses_total{endpoint=\"token\",outcome=\"authorization_pending\"}"),
        1.0
    );
    assert_eq!(
        count("deviceflow_oauth_responses_total{endpoint=\"token\",outcome=\"slow_down\"}"),
        1.0
    );
    assert_eq!(count("deviceflow_code_entries_total{outcome=\"ok\"}"), 1.0);
    assert_eq!(
        count("deviceflow_http_requests_total{route=\"/device/confirm\",status=\"200\"}"),
        1.0
    );
    // The second code is still pending; the first was approved.
    assert_eq!(count("deviceflow_pending_codes "), 1.0);
    assert!(count("deviceflow_engine_call_seconds_count ") >= 5.0);
    for secret in [code.as_str(), second["device_code"].as_str().unwrap()] {
        assert!(!text.contains(secret));
    }
    // Not on the public port.
    let r = a.get(&format!("{}/metrics", s.issuer())).call().unwrap();
    assert_eq!(r.status(), 404);
    s.shutdown();
}
