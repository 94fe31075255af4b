//! An upstream OpenID provider, in-process.

use super::*;

// ---- An upstream OpenID provider, in-process: discovery, authorization (signs `alice-sub`
// in at once), token endpoint (checks the client secret, redirect URI and PKCE verifier),
// JWKS. `Op::nonce` can make it put another nonce in the ID token.

#[derive(Default)]
struct OpState {
    issuer: String,
    codes: HashMap<String, (String, String, String)>, // code → (challenge, nonce, redirect_uri)
    wrong_nonce: bool,
    deny: bool,
    verifier_checks: usize,
}

type Op = Arc<Mutex<OpState>>;

fn op_key() -> EncodingKey {
    let secret = p256::SecretKey::from_slice(&[9; 32]).unwrap();
    EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes())
}

fn query(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn op_discovery(State(op): State<Op>) -> Response {
    let issuer = op.lock().unwrap().issuer.clone();
    reply(
        StatusCode::OK,
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "code_challenge_methods_supported": ["S256"],
        }),
    )
}

async fn op_jwks() -> Response {
    let mut jwk = Jwk::from_encoding_key(&op_key(), Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("op-1".into());
    reply(StatusCode::OK, json!({ "keys": [jwk] }))
}

async fn op_authorize(State(op): State<Op>, uri: Uri) -> Response {
    let q = query(&uri);
    let mut op = op.lock().unwrap();
    assert_eq!(q["client_id"], "front");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    let redirect = &q["redirect_uri"];
    let state = form_urlencoded::byte_serialize(q["state"].as_bytes()).collect::<String>();
    let to = if op.deny {
        format!("{redirect}?error=access_denied&state={state}")
    } else {
        let code = format!("code-{}", op.codes.len());
        let grant = (
            q["code_challenge"].clone(),
            q["nonce"].clone(),
            redirect.clone(),
        );
        op.codes.insert(code.clone(), grant);
        let iss: String = form_urlencoded::byte_serialize(op.issuer.as_bytes()).collect();
        format!("{redirect}?code={code}&state={state}&iss={iss}")
    };
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

async fn op_token(State(op): State<Op>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let mut op = op.lock().unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("front:front-secret")
    );
    let bad = |why: &str| {
        reply(
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_grant", "error_description": why }),
        )
    };
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(basic.as_str())
    {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({ "error": "invalid_client" }),
        );
    }
    let Some((challenge, nonce, redirect)) = op.codes.remove(&form["code"]) else {
        return bad("unknown code");
    };
    op.verifier_checks += 1;
    if B64.encode(Sha256::digest(form["code_verifier"].as_bytes())) != challenge {
        return bad("PKCE verifier does not match");
    }
    if form["redirect_uri"] != redirect || form["grant_type"] != "authorization_code" {
        return bad("redirect_uri or grant_type");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let nonce = if op.wrong_nonce {
        "not-the-nonce".to_owned()
    } else {
        nonce
    };
    let claims = json!({
        "iss": op.issuer, "aud": "front", "sub": "alice-sub", "nonce": nonce,
        "iat": now, "exp": now + 300, "name": "Alice Upstream",
    });
    let mut h = jsonwebtoken::Header::new(Algorithm::ES256);
    h.kid = Some("op-1".into());
    let id_token = jsonwebtoken::encode(&h, &claims, &op_key()).unwrap();
    reply(
        StatusCode::OK,
        json!({ "access_token": "at", "token_type": "Bearer", "id_token": id_token }),
    )
}

struct Upstream {
    rt: tokio::runtime::Runtime,
    op: Op,
    server: ServerHandle,
}

fn upstream() -> Upstream {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let op: Op = Arc::default();
    let issuer = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        op.lock().unwrap().issuer = issuer.clone();
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(op_discovery))
            .route("/auth", get(op_authorize))
            .route("/token", post(op_token))
            .route("/jwks", get(op_jwks))
            .with_state(op.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        issuer
    });
    let mut up = UpstreamSignIn::new(issuer, "front");
    up.client_secret = Some("front-secret".into());
    let mut config = ServerConfig::default();
    config.sign_in = SignIn::Upstream(up);
    Upstream {
        rt,
        op,
        server: spawn(config).unwrap(),
    }
}

/// Opens the page and follows the redirects to the provider and back, stopping at the
/// callback (returned, not yet visited).
fn to_callback(b: &mut Browser, issuer: &str) -> String {
    let sent = b.get(&format!("{issuer}/device"));
    assert_eq!(
        (sent.status, sent.location.as_str()),
        (303, "/device/signin")
    );
    let to_op = b.get(&absolute(issuer, &sent.location));
    assert_eq!(to_op.status, 303, "{}", to_op.body);
    assert!(!to_op.location.contains("code_verifier"));
    let back = b.get(&to_op.location);
    assert_eq!(back.status, 303);
    assert!(
        back.location
            .starts_with(&format!("{issuer}/device/callback?")),
        "{}",
        back.location
    );
    back.location
}

#[test]
fn an_upstream_provider_signs_the_user_in_with_pkce_state_and_nonce() {
    let up = upstream();
    let issuer = up.server.issuer().to_owned();
    let a = authorize(&issuer);
    let mut b = Browser::default();
    let callback = to_callback(&mut b, &issuer);
    let landed = b.get(&callback);
    assert_eq!(
        (landed.status, landed.location.as_str()),
        (303, "/device"),
        "{}",
        landed.body
    );
    assert_eq!(up.op.lock().unwrap().verifier_checks, 1);
    let entry = b.get(&format!("{issuer}/device"));
    assert!(
        entry
            .body
            .contains("Signed in as <strong>Alice Upstream</strong>"),
        "{}",
        entry.body
    );
    // The callback cannot be used twice (the pending sign-in is gone with the old session).
    assert_eq!(b.get(&callback).status, 400);
    let done = enter_and_decide(
        &mut b,
        &format!("{issuer}/device"),
        a["user_code"].as_str().unwrap(),
        "approve",
    );
    assert_eq!(outcome(&done), "approved");
    assert_eq!(subject_of_tokens(&issuer, &a), "alice-sub");
    // "Not you?": the page forgets the user and asks the provider to authenticate again.
    let entry = b.get(&format!("{issuer}/device"));
    let out = b.post(
        &format!("{issuer}/device/signout"),
        &[("csrf", &csrf(&entry))],
    );
    assert_eq!(outcome(&out), "signed-out");
    assert_eq!(
        b.get(&format!("{issuer}/device")).location,
        "/device/signin"
    );
    let to_op = b.get(&format!("{issuer}/device/signin"));
    assert!(
        to_op.location.contains("prompt=login"),
        "{}",
        to_op.location
    );
    drop(up.rt);
}

#[test]
fn a_tampered_state_is_refused_and_leaves_the_sign_in_intact() {
    let up = upstream();
    let issuer = up.server.issuer().to_owned();
    let mut b = Browser::default();
    let callback = to_callback(&mut b, &issuer);
    let state = between(&callback, "state=", "&").to_owned();
    let tampered = callback.replace(&format!("state={state}"), "state=forged");
    let refused = b.get(&tampered);
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("could not be verified"),
        "{}",
        refused.body
    );
    assert_eq!(
        up.op.lock().unwrap().verifier_checks,
        0,
        "the code was not even exchanged"
    );
    // Another browser (no session) replaying the genuine callback gets nothing either.
    assert_eq!(Browser::default().get(&callback).status, 400);
    // The genuine one still signs in.
    assert_eq!(b.get(&callback).location, "/device");
    assert!(b
        .get(&format!("{issuer}/device"))
        .body
        .contains("Alice Upstream"));
    drop(up.rt);
}

#[test]
fn an_id_token_with_another_nonce_signs_nobody_in() {
    let up = upstream();
    up.op.lock().unwrap().wrong_nonce = true;
    let issuer = up.server.issuer().to_owned();
    let mut b = Browser::default();
    let callback = to_callback(&mut b, &issuer);
    let failed = b.get(&callback);
    assert_eq!(failed.status, 502);
    assert!(failed.body.contains("nonce"), "{}", failed.body);
    assert_eq!(
        b.get(&format!("{issuer}/device")).location,
        "/device/signin"
    );
    drop(up.rt);
}

#[test]
fn a_denial_at_the_provider_is_shown_and_signs_nobody_in() {
    let up = upstream();
    up.op.lock().unwrap().deny = true;
    let issuer = up.server.issuer().to_owned();
    let mut b = Browser::default();
    let callback = to_callback(&mut b, &issuer);
    let stopped = b.get(&callback);
    assert_eq!(stopped.status, 400);
    assert!(
        stopped.body.contains("did not complete (access_denied)"),
        "{}",
        stopped.body
    );
    assert_eq!(
        b.get(&format!("{issuer}/device")).location,
        "/device/signin"
    );
    drop(up.rt);
}

#[test]
fn an_unreachable_provider_gives_a_clear_page() {
    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = ServerConfig::default();
    config.sign_in = SignIn::Upstream(UpstreamSignIn::new(
        format!("http://127.0.0.1:{port}"),
        "front",
    ));
    let s = spawn(config).unwrap();
    let mut b = Browser::default();
    let page = b.get(&format!("{}/device/signin", s.issuer()));
    assert_eq!(page.status, 502);
    assert!(page.body.contains("could not be reached"), "{}", page.body);
    s.shutdown();
}
