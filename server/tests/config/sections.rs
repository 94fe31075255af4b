//! Clients, store, TLS, sign-in, lifetimes and metrics: what each section becomes.

use super::*;

#[test]
fn client_ids_scopes_and_grants_are_checked() {
    let client = |body: &str| format!("[[clients]]\nid = \"a\"\ntype = \"public\"\n{body}");
    let dup = format!(
        "{}\n{}",
        client("scopes = [\"x\"]\n"),
        client("scopes = [\"y\"]\n")
    );
    let e = fail(&dup);
    assert_at(&e, ErrorKind::Invalid, "clients[1].id", 7);
    assert!(e.message().contains("duplicate client id \"a\""), "{e}");

    assert_at(
        &fail(&client("scopes = []\n")),
        ErrorKind::Invalid,
        "clients[0].scopes",
        4,
    );
    assert_at(
        &fail(&client("scopes = [\"a\", \"b c\"]\n")),
        ErrorKind::Invalid,
        "clients[0].scopes[1]",
        4,
    );
    assert_at(
        &fail(&client("scopes = [\"a\", \"a\"]\n")),
        ErrorKind::Invalid,
        "clients[0].scopes[1]",
        4,
    );
    assert_at(
        &fail(&client("scopes = [\"a\"]\ngrants = []\n")),
        ErrorKind::Invalid,
        "clients[0].grants",
        5,
    );
    assert_at(
        &fail(&client(
            "scopes = [\"a\"]\ngrants = [\"device_code\", \"device_code\"]\n",
        )),
        ErrorKind::Invalid,
        "clients[0].grants[1]",
        5,
    );
    let e = fail(&client(
        "scopes = [\"a\"]\ngrants = [\"device_code\"]\nrefresh_token_ttl = \"1d\"\n",
    ));
    assert_at(&e, ErrorKind::Invalid, "clients[0].refresh_token_ttl", 6);
    assert_at(
        &fail(&client("name = \"\"\nscopes = [\"a\"]\n")),
        ErrorKind::Invalid,
        "clients[0].name",
        4,
    );
    assert_at(&fail("clients = []\n"), ErrorKind::Invalid, "clients", 1);
    // A resource server that only introspects has no grant and needs no scope.
    let rs = "[[clients]]\nid = \"rs\"\ntype = \"confidential\"\nsecret_env = \"TV_SECRET\"\n\
              grants = []\nintrospection = true\n";
    let c = load(rs).unwrap();
    let rs = &c.clients[0];
    assert!(rs.introspection && !rs.device_grant && !rs.refresh_tokens && rs.scopes.is_empty());
    assert_at(
        &fail(&client("scopes = [\"a\"]\nintrospection = true\n")),
        ErrorKind::Invalid,
        "clients[0].introspection",
        5,
    );
}

#[test]
fn jwt_audience_and_introspection_pass_through() {
    let text = String::from(
        "[[clients]]\nid = \"api\"\ntype = \"confidential\"\nsecret_env = \"TV_SECRET\"\nscopes = [\"read\"]\n\
         access_token_format = \"jwt\"\naudience = \"https://api.example.com\"\nintrospection = true\n"
    );
    let c = load(&text).unwrap();
    let api = &c.clients[0];
    assert_eq!(api.access_token_format, AccessTokenFormat::Jwt);
    assert_eq!(api.audience.as_deref(), Some("https://api.example.com"));
    assert!(api.introspection);
    let e = fail(&text.replace("\"jwt\"", "\"paseto\""));
    assert_at(
        &e,
        ErrorKind::WrongType,
        "clients[0].access_token_format",
        6,
    );
}

#[test]
fn the_store_is_a_sqlite_path_next_to_the_file_or_a_postgres_url() {
    let dir = temp_dir("store");
    let origin = dir.join("deviceflow.toml");
    let c = config::from_str_with_env(
        &with_sign_in("[store]\npath = \"db.sqlite\"\n"),
        &origin,
        &env,
    )
    .unwrap();
    assert_eq!(c.database, Some(dir.join("db.sqlite")));
    let c = config::from_str_with_env(
        &with_sign_in("[store]\npath = \"/var/x.sqlite\"\n"),
        &origin,
        &env,
    )
    .unwrap();
    assert_eq!(c.database, Some(PathBuf::from("/var/x.sqlite")));
    assert_eq!(load("[store]\n").unwrap().database, None, "in memory");

    // PostgreSQL: the URL as given, connected to (and migrated) when the server starts.
    let c = load("[store]\nurl = \"postgres://app@db.internal:5432/deviceflow\"\n").unwrap();
    assert_eq!(
        c.database_url.as_deref(),
        Some("postgres://app@db.internal:5432/deviceflow")
    );
    assert_eq!(c.database, None);
    // Its password from the environment, never shown.
    let text = "[store]\nurl = \"postgres://app@db/df\"\npassword_env = \"DF_DB_PASSWORD\"\n";
    let password = |name: &str| (name == "DF_DB_PASSWORD").then(|| "s3cr3t p@ss".to_owned());
    let c = config::from_str_with_env(&with_sign_in(text), &origin, &password).unwrap();
    assert_eq!(
        c.database_url.as_deref(),
        Some("postgres://app@db/df?password=s3cr3t%20p%40ss")
    );
    assert!(!format!("{c:?}").contains("s3cr3t"), "{c:?}");
    assert_at(&fail(text), ErrorKind::Invalid, "store.password_env", 3);
    let e = fail("[store]\nurl = \"postgres://app:hunter2@db/df\"\npassword_env = \"DEVICEFLOW_API_SECRET\"\n");
    assert_at(&e, ErrorKind::Invalid, "store.password_env", 3);
    assert!(e.message().contains("has a password already"), "{e}");
    // Not a PostgreSQL URL, a URL the driver cannot read, or both stores: refused, no password shown.
    let e = fail("[store]\nurl = \"mysql://app:hunter2@db/df\"\n");
    assert_at(&e, ErrorKind::Invalid, "store.url", 2);
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = fail("[store]\nurl = \"postgres://app:hunter2@db:port/df\"\n");
    assert_at(&e, ErrorKind::Invalid, "store.url", 2);
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert_at(
        &fail("[store]\npath = \"db.sqlite\"\nurl = \"postgres://db/df\"\n"),
        ErrorKind::Invalid,
        "store.url",
        3,
    );
    assert_at(
        &fail("[store]\npath = \"db.sqlite\"\npassword_env = \"DF_DB_PASSWORD\"\n"),
        ErrorKind::Invalid,
        "store.password_env",
        3,
    );
    assert_at(
        &fail("[store]\npath = \"/no/such/dir/db.sqlite\"\n"),
        ErrorKind::Invalid,
        "store.path",
        2,
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("deviceflow-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn tls_files_are_resolved_next_to_the_file_and_must_be_readable() {
    let dir = temp_dir("tls");
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let origin = dir.join("deviceflow.toml");
    let text = "listen = \"127.0.0.1:0\"\n[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n";
    let c = config::from_str_with_env(&with_sign_in(text), &origin, &env).unwrap();
    let tls = c.tls.clone().expect("tls");
    assert_eq!(
        (tls.cert, tls.key),
        (dir.join("cert.pem"), dir.join("key.pem"))
    );
    // The files really serve https.
    let server = spawn(c).unwrap();
    assert!(
        server.issuer().starts_with("https://127.0.0.1:"),
        "{}",
        server.issuer()
    );
    server.shutdown();

    let missing = text.replace("key.pem", "nope.pem");
    let e = config::from_str_with_env(&with_sign_in(&missing), &origin, &env).unwrap_err();
    assert_eq!(
        (e.kind(), e.key(), e.line()),
        (ErrorKind::Invalid, "tls.key", Some(4)),
        "{e}"
    );
    assert!(e.message().contains("nope.pem"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sign_in_methods_and_their_keys() {
    assert!(matches!(
        load("[sign_in]\nmethod = \"dev\"\n").unwrap().sign_in,
        SignIn::Dev
    ));
    // Required: the file must say how people sign in.
    let e = config::from_str_with_env("listen = \"127.0.0.1:1\"\n", Path::new("t.toml"), &env)
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.key(), e.line()),
        (ErrorKind::WrongType, "", Some(1)),
        "{e}"
    );
    assert!(e.message().starts_with("missing [sign_in]"), "{e}");

    let c = load(
        "trusted_proxies = [\"127.0.0.1\"]\n[sign_in]\nmethod = \"header\"\n\
         header = \"X-Auth-Request-User\"\nsign_out_url = \"/oauth2/sign_out\"\n",
    )
    .unwrap();
    let SignIn::Header(h) = &c.sign_in else {
        panic!("{:?}", c.sign_in)
    };
    assert_eq!(h.header, "X-Auth-Request-User");
    assert_eq!(h.sign_out_url.as_deref(), Some("/oauth2/sign_out"));

    let upstream = "[sign_in]\nmethod = \"upstream\"\nissuer = \"https://idp.example.com\"\n\
                    client_id = \"df\"\nclient_secret_env = \"TV_SECRET\"\nscopes = [\"openid\", \"email\"]\n";
    let c = load(upstream).unwrap();
    let SignIn::Upstream(u) = &c.sign_in else {
        panic!("{:?}", c.sign_in)
    };
    assert_eq!(u.issuer, "https://idp.example.com");
    assert_eq!(u.client_id, "df");
    assert_eq!(u.client_secret.as_deref(), Some(TV_SECRET));
    assert_eq!(u.scope, "openid email");
    assert!(
        !format!("{c:?}").contains(TV_SECRET),
        "the upstream secret is not shown"
    );

    let e = fail("[sign_in]\nmethod = \"dev\"\nheader = \"X-User\"\n");
    assert_at(&e, ErrorKind::Invalid, "sign_in.header", 3);
    assert!(e.message().contains("not a key of method = \"dev\""), "{e}");
    let e = fail("[sign_in]\nmethod = \"header\"\nheader = \"X User\"\n");
    assert_at(&e, ErrorKind::Invalid, "sign_in.header", 3);
    assert_at(
        &fail("[sign_in]\nmethod = \"header\"\n"),
        ErrorKind::Invalid,
        "sign_in.method",
        2,
    );
    assert_at(
        &fail(&upstream.replace("https://idp", "http://idp")),
        ErrorKind::Invalid,
        "sign_in.issuer",
        3,
    );
    assert_at(
        &fail(&upstream.replace("\"TV_SECRET\"", "\"NOPE\"")),
        ErrorKind::Invalid,
        "sign_in.client_secret_env",
        5,
    );
    assert_at(
        &fail(&upstream.replace("\"openid\", ", "")),
        ErrorKind::Invalid,
        "sign_in.scopes",
        6,
    );
    assert_at(
        &fail("[sign_in]\nmethod = \"ldap\"\n"),
        ErrorKind::WrongType,
        "sign_in.method",
        2,
    );
}

#[test]
fn secrets_never_reach_debug_output() {
    let text = String::from(
        "[[clients]]\nid = \"tv\"\ntype = \"confidential\"\nsecret_env = \"TV_SECRET\"\nscopes = [\"x\"]\n"
    );
    let c = load(&text).unwrap();
    let shown = format!("{c:?}");
    assert!(shown.contains("\"tv\""), "{shown}");
    assert!(!shown.contains(TV_SECRET), "{shown}");
    assert!(!shown.contains(&hex(&sha256(TV_SECRET))), "{shown}");
}

#[test]
fn load_reads_the_file_and_names_it_in_errors() {
    let dir = temp_dir("load");
    let path = dir.join("deviceflow.toml");
    std::fs::write(&path, with_sign_in("[polling]\ninterval = 3\n")).unwrap();
    assert_eq!(config::load(&path).unwrap().interval_secs, 3);
    std::fs::write(&path, with_sign_in("[polling]\nintervall = 3\n")).unwrap();
    let e = config::load(&path).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "{}:2:1: polling.intervall: unknown key",
            path.display()
        )),
        "{e}"
    );
    let e = config::load(dir.join("absent.toml")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Read, "{e}");
    assert!(e.to_string().contains("absent.toml"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A client's own lifetimes reach the token endpoint and the store.
#[test]
fn per_client_lifetimes_reach_the_tokens() {
    let text = "listen = \"127.0.0.1:0\"\n[polling]\ninterval = 1\n\
                [[clients]]\nid = \"short\"\ntype = \"public\"\nscopes = [\"profile\"]\n\
                access_token_ttl = \"2m\"\nrefresh_token_ttl = \"7d\"\n";
    let server = spawn(load(text).unwrap()).unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let post = |path: &str, form: &[(&str, &str)]| -> Value {
        let mut r = agent
            .post(&format!("{}{path}", server.issuer()))
            .send_form(form.iter().copied())
            .unwrap();
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    };
    let auth = post("/device_authorization", &[("client_id", "short")]);
    let code = auth["user_code"].as_str().expect("user_code").to_owned();
    let device_code = auth["device_code"].as_str().unwrap().to_owned();
    assert_eq!(
        approve_via_page(server.issuer(), &code, "alice", true).unwrap(),
        Decision::Approved
    );
    std::thread::sleep(Duration::from_millis(1100));
    let tokens = post(
        "/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "short"),
            ("device_code", &device_code),
        ],
    );
    assert_eq!(tokens["expires_in"], 120, "{}", tokens["error"]);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let record = server
        .engine()
        .store
        .token(&sha256(refresh))
        .unwrap()
        .expect("the refresh token is stored");
    assert_eq!(record.expires_at_ms - record.issued_at_ms, 7 * 86_400_000);
    server.shutdown();
}

#[test]
fn the_metrics_address_is_read_and_checked() {
    let ok = deviceflow_server::config::from_str(
        "metrics = \"127.0.0.1:9100\"\n[sign_in]\nmethod = \"dev\"\n",
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    assert_eq!(ok.metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
    let err = deviceflow_server::config::from_str(
        "metrics = \"localhost\"\n[sign_in]\nmethod = \"dev\"\n",
        std::path::Path::new("t.toml"),
    )
    .unwrap_err();
    assert_eq!((err.key(), err.line()), ("metrics", Some(1)));
}
