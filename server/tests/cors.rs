//! CORS on the OAuth endpoints (server/src/http/cors.rs), over real loopback sockets: allowed,
//! refused and preflight requests; per-client origins; never on the verification pages; and
//! the `allowed_origins` key of the configuration file and of `ServerConfig`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use deviceflow_server::engine::{AuthMethod, Client};
use deviceflow_server::{approve_via_page, config, spawn, Decision, ServerConfig, ServerHandle};
use serde_json::Value;
use ureq::http::Response;
use ureq::Body;

const TV: &str = "http://127.0.0.1:5173";
const OTHER_APP: &str = "https://other.example";
const EVIL: &str = "https://evil.example";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build();
    ureq::Agent::new_with_config(config)
}

/// `tv-web` allows the TV origin, `other-web` another one; `deviceflow-cli` none.
fn server() -> ServerHandle {
    let scopes = ["openid", "profile", "offline_access"];
    let mut config = ServerConfig {
        interval_secs: 1,
        ..ServerConfig::default()
    };
    config
        .clients
        .push(Client::public("tv-web", "Living-room TV", &scopes));
    config
        .clients
        .push(Client::public("other-web", "Other app", &scopes));
    config.allowed_origins = BTreeMap::from([
        ("tv-web".to_owned(), vec![TV.to_owned()]),
        ("other-web".to_owned(), vec![OTHER_APP.to_owned()]),
    ]);
    spawn(config).unwrap()
}

fn post(
    s: &ServerHandle,
    path: &str,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> Response<Body> {
    let mut req = agent().post(&format!("{}{path}", s.issuer()));
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    req.send_form(form.iter().copied()).unwrap()
}

fn get(s: &ServerHandle, path: &str, origin: &str, bearer: Option<&str>) -> Response<Body> {
    let mut req = agent()
        .get(&format!("{}{path}", s.issuer()))
        .header("Origin", origin);
    if let Some(token) = bearer {
        req = req.header("Authorization", &format!("Bearer {token}"));
    }
    req.call().unwrap()
}

fn preflight(s: &ServerHandle, path: &str, origin: &str) -> Response<Body> {
    agent()
        .options(&format!("{}{path}", s.issuer()))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .call()
        .unwrap()
}

fn header<'a>(r: &'a Response<Body>, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

fn vary(r: &Response<Body>) -> String {
    let all: Vec<&str> = r
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    all.join(", ")
}

fn json(r: Response<Body>) -> Value {
    let text = r.into_body().read_to_string().unwrap();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn authorize(s: &ServerHandle, origin: Option<&str>, client: &str) -> Response<Body> {
    post(
        s,
        "/device_authorization",
        origin,
        &[("client_id", client), ("scope", "openid profile")],
    )
}

#[test]
fn an_allowed_origin_gets_the_device_authorization_and_the_token_responses() {
    let s = server();
    let r = authorize(&s, Some(TV), "tv-web");
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "access-control-allow-origin"), Some(TV));
    assert_eq!(
        header(&r, "access-control-expose-headers"),
        Some("WWW-Authenticate, DPoP-Nonce, Retry-After")
    );
    assert!(vary(&r).contains("Origin"), "{}", vary(&r));
    assert_eq!(header(&r, "access-control-allow-credentials"), None);
    let body = json(r);
    let device_code = body["device_code"].as_str().unwrap().to_owned();
    let user_code = body["user_code"].as_str().unwrap().to_owned();

    // Errors are readable too: the page must see authorization_pending and slow_down.
    let form = [
        ("grant_type", DEVICE_GRANT),
        ("client_id", "tv-web"),
        ("device_code", &device_code),
    ];
    let pending = post(&s, "/token", Some(TV), &form);
    assert_eq!(pending.status(), 400);
    assert_eq!(header(&pending, "access-control-allow-origin"), Some(TV));
    assert_eq!(json(pending)["error"], "authorization_pending");

    assert_eq!(
        approve_via_page(s.issuer(), &user_code, "alice", true).unwrap(),
        Decision::Approved
    );
    std::thread::sleep(Duration::from_millis(1100));
    let done = post(&s, "/token", Some(TV), &form);
    assert_eq!(done.status(), 200);
    assert_eq!(header(&done, "access-control-allow-origin"), Some(TV));
    let tokens = json(done);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let me = get(&s, "/userinfo", TV, Some(&access));
    assert_eq!(me.status(), 200);
    assert_eq!(header(&me, "access-control-allow-origin"), Some(TV));
    assert_eq!(json(me)["sub"], "alice");

    let revoked = post(
        &s,
        "/revoke",
        Some(TV),
        &[
            ("client_id", "tv-web"),
            ("token", &refresh),
            ("token_type_hint", "refresh_token"),
        ],
    );
    assert_eq!(revoked.status(), 200);
    assert_eq!(header(&revoked, "access-control-allow-origin"), Some(TV));
    s.shutdown();
}

#[test]
fn a_refused_origin_gets_no_cors_headers() {
    let s = server();
    // Not listed anywhere.
    let r = authorize(&s, Some(EVIL), "tv-web");
    assert_eq!(
        r.status(),
        200,
        "the request itself is answered; the browser withholds it"
    );
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    assert_eq!(header(&r, "access-control-expose-headers"), None);
    assert!(vary(&r).contains("Origin"));
    // Listed, but by another client than the request's.
    let r = authorize(&s, Some(OTHER_APP), "tv-web");
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    let r = authorize(&s, Some(TV), "deviceflow-cli");
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    // No client named at all, or two different ones.
    let r = post(&s, "/token", Some(TV), &[("grant_type", DEVICE_GRANT)]);
    assert_eq!(r.status(), 401, "invalid_client");
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    let r = post(
        &s,
        "/revoke",
        Some(TV),
        &[
            ("client_id", "tv-web"),
            ("client_id", "other-web"),
            ("token", "x"),
        ],
    );
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    // Near misses of an exact match.
    for near in [
        "http://127.0.0.1:5174",
        "http://localhost:5173",
        "https://127.0.0.1:5173",
        "null",
    ] {
        let r = authorize(&s, Some(near), "tv-web");
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{near}");
    }
    // Without Origin (not a browser): as before, plus Vary.
    let r = authorize(&s, None, "tv-web");
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    s.shutdown();
}

#[test]
fn a_preflight_is_allowed_when_any_client_lists_the_origin() {
    let s = server();
    for path in ["/device_authorization", "/token", "/revoke", "/userinfo"] {
        for origin in [TV, OTHER_APP] {
            let r = preflight(&s, path, origin);
            assert_eq!(r.status(), 204, "{path}");
            assert_eq!(header(&r, "access-control-allow-origin"), Some(origin));
            assert_eq!(
                header(&r, "access-control-allow-methods"),
                Some("GET, POST, OPTIONS")
            );
            assert_eq!(
                header(&r, "access-control-allow-headers"),
                Some("Content-Type, Authorization, DPoP")
            );
            assert_eq!(header(&r, "access-control-max-age"), Some("600"));
            assert!(vary(&r).contains("Origin"));
            assert!(vary(&r).contains("Access-Control-Request-Headers"));
        }
    }
    let refused = preflight(&s, "/token", EVIL);
    assert_eq!(refused.status(), 204);
    assert_eq!(header(&refused, "access-control-allow-origin"), None);
    assert_eq!(header(&refused, "access-control-allow-methods"), None);
    assert_eq!(header(&refused, "access-control-allow-headers"), None);
    s.shutdown();
}

#[test]
fn metadata_and_jwks_answer_any_listed_origin() {
    let s = server();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/jwks",
    ] {
        for origin in [TV, OTHER_APP] {
            let r = get(&s, path, origin, None);
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(
                header(&r, "access-control-allow-origin"),
                Some(origin),
                "{path}"
            );
        }
        let r = get(&s, path, EVIL, None);
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{path}");
    }
    // A refused token at /userinfo: the page may read WWW-Authenticate.
    let r = get(&s, "/userinfo", TV, Some("not-a-token"));
    assert_eq!(r.status(), 401);
    assert_eq!(header(&r, "access-control-allow-origin"), Some(TV));
    assert!(header(&r, "access-control-expose-headers")
        .unwrap()
        .contains("WWW-Authenticate"));
    assert!(header(&r, "www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    s.shutdown();
}

#[test]
fn the_pages_and_the_sign_in_never_get_cors() {
    let s = server();
    for path in ["/device", "/device/grants", "/device/signin", "/introspect"] {
        let r = get(&s, path, TV, None);
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{path}");
        let p = preflight(&s, path, TV);
        assert_ne!(p.status(), 204, "{path}: no preflight answer");
        assert_eq!(header(&p, "access-control-allow-origin"), None, "{path}");
        assert_eq!(header(&p, "access-control-allow-methods"), None, "{path}");
    }
    let r = get(&s, "/device", TV, None);
    assert!(header(&r, "content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let r = post(&s, "/device", Some(TV), &[("user_code", "BCDF-GHJK")]);
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    s.shutdown();
}

#[test]
fn an_oversized_body_from_an_allowed_origin_is_refused() {
    let s = server();
    let big = "x".repeat(20 * 1024);
    let r = post(
        &s,
        "/token",
        Some(TV),
        &[("client_id", "tv-web"), ("pad", &big)],
    );
    assert_eq!(r.status(), 413);
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    s.shutdown();
}

#[test]
fn the_library_refuses_bad_origins_unknown_and_confidential_clients() {
    let start = |client: &str, origin: &str| {
        let mut config = ServerConfig::default();
        config.clients.push(Client::confidential(
            "secret-app",
            "Secret app",
            AuthMethod::ClientSecretBasic,
            "s3cret",
            &["profile"],
        ));
        config.allowed_origins = BTreeMap::from([(client.to_owned(), vec![origin.to_owned()])]);
        spawn(config)
            .map(ServerHandle::shutdown)
            .map_err(|e| (e.kind(), e.to_string()))
    };
    assert_eq!(start("deviceflow-cli", TV), Ok(()));
    for (client, origin, why) in [
        ("deviceflow-cli", "*", "wildcards are not allowed"),
        ("deviceflow-cli", "http://127.0.0.1:5173/", "no path"),
        ("nobody", TV, "no client \"nobody\""),
        ("secret-app", TV, "only a public client"),
    ] {
        let (kind, msg) = start(client, origin).unwrap_err();
        assert_eq!(kind, std::io::ErrorKind::InvalidInput);
        assert!(msg.contains(why), "{msg}");
    }
}

const FILE: &str = r#"
[sign_in]
method = "dev"

[[clients]]
id = "tv-web"
type = "public"
scopes = ["openid", "profile"]
allowed_origins = ["https://tv.example", "http://127.0.0.1:5173"]

[[clients]]
id = "deviceflow-cli"
type = "public"
scopes = ["openid"]
"#;

fn load(text: &str) -> Result<ServerConfig, config::ConfigError> {
    config::from_str_with_env(text, Path::new("deviceflow.toml"), &|_| {
        Some("s3cret".into())
    })
}

#[test]
fn the_file_lists_origins_per_client() {
    let c = load(FILE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.allowed_origins,
        BTreeMap::from([(
            "tv-web".to_owned(),
            vec![
                "https://tv.example".to_owned(),
                "http://127.0.0.1:5173".to_owned()
            ]
        )])
    );
    let s = spawn(ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..c
    })
    .unwrap();
    let r = authorize(&s, Some("https://tv.example"), "tv-web");
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("https://tv.example")
    );
    s.shutdown();
}

#[test]
fn the_file_names_the_bad_origin_and_its_line() {
    for (bad, why) in [
        (r#""*""#, "wildcards are not allowed"),
        (r#""https://tv.example/app""#, "an origin has no path"),
        (
            r#""https://tv.example:443""#,
            "browsers leave out the default port",
        ),
        (
            r#""https://tv.example", "https://tv.example""#,
            "listed twice",
        ),
    ] {
        let text = FILE.replace(
            r#"["https://tv.example", "http://127.0.0.1:5173"]"#,
            &format!("[{bad}]"),
        );
        let e = load(&text).unwrap_err();
        assert_eq!(e.kind(), config::ErrorKind::Invalid, "{e}");
        assert!(e.key().starts_with("clients[0].allowed_origins["), "{e}");
        assert_eq!(e.line(), Some(9), "{e}");
        assert!(e.message().contains(why), "{e}");
    }
    let confidential = FILE.replace(
        "type = \"public\"\nscopes = [\"openid\", \"profile\"]",
        "type = \"confidential\"\nsecret_env = \"TV_SECRET\"\nscopes = [\"openid\", \"profile\"]",
    );
    let e = load(&confidential).unwrap_err();
    assert_eq!(e.key(), "clients[0].allowed_origins", "{e}");
    assert!(e.message().contains("only a public client"), "{e}");
}
