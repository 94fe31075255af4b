//! Each kind of mistake, refused with its key path, line and column.

use super::*;

#[test]
fn unknown_keys_are_refused_with_their_name_and_line() {
    let text = "listen = \"127.0.0.1:8628\"\nlisten_addr = \"0.0.0.0:1\"\n";
    let e = fail(text);
    assert_at(&e, ErrorKind::UnknownKey, "listen_addr", 2);
    assert!(e.message().contains("unknown key `listen_addr`"), "{e}");

    let text = "[[clients]]\nid = \"a\"\ntype = \"public\"\nscopes = [\"x\"]\n\n\
                [[clients]]\nid = \"b\"\ntype = \"confidential\"\nsecret = \"s3cret\"\nscopes = [\"x\"]\n";
    let e = fail(text);
    assert_at(&e, ErrorKind::UnknownKey, "clients[1].secret", 9);
    assert!(
        e.message().contains("secret_env"),
        "says where a secret goes: {e}"
    );
    assert!(!e.to_string().contains("s3cret"), "never the value: {e}");

    let text = "[limits.connections]\nmax = 10\nmax_conns = 5\n";
    assert_at(
        &fail(text),
        ErrorKind::UnknownKey,
        "limits.connections.max_conns",
        3,
    );

    let text = "[sign_in]\nmethod = \"dev\"\npassword = \"x\"\n";
    assert_at(&fail(text), ErrorKind::UnknownKey, "sign_in.password", 3);
}

#[test]
fn wrong_types_name_the_key_and_line() {
    let e = fail("issuer = \"https://login.example.com\"\n\n[polling]\ninterval = true\n");
    assert_at(&e, ErrorKind::WrongType, "polling.interval", 4);
    assert!(e.message().contains("duration"), "{e}");

    let e = fail("[limits.connections]\nmax = \"many\"\n");
    assert_at(&e, ErrorKind::WrongType, "limits.connections.max", 2);

    let e = fail("trusted_proxies = \"10.0.0.0/8\"\n");
    assert_at(&e, ErrorKind::WrongType, "trusted_proxies", 1);

    let e = fail("[limits.entry]\nfailures_per_session = -1\n");
    assert_at(
        &e,
        ErrorKind::WrongType,
        "limits.entry.failures_per_session",
        2,
    );

    let e = fail("[polling]\ndevice_code_ttl = \"10 minutes\"\n");
    assert_at(&e, ErrorKind::WrongType, "polling.device_code_ttl", 2);

    let e = fail("[[clients]]\nid = \"a\"\ntype = \"secret\"\nscopes = [\"x\"]\n");
    assert_at(&e, ErrorKind::WrongType, "clients[0].type", 3);
    assert!(e.message().contains("`public`"), "{e}");

    let e = fail(
        "[[clients]]\nid = \"a\"\ntype = \"public\"\nscopes = [\"x\"]\ngrants = [\"password\"]\n",
    );
    assert_at(&e, ErrorKind::WrongType, "clients[0].grants[0]", 5);
}

#[test]
fn a_missing_required_key_is_named() {
    let e = fail("[[clients]]\nid = \"a\"\nscopes = [\"x\"]\n");
    assert_eq!(e.kind(), ErrorKind::WrongType, "{e}");
    assert_eq!(e.key(), "clients[0]", "{e}");
    assert!(e.message().contains("missing key `type`"), "{e}");
    assert_eq!(e.line(), Some(1), "the table's header: {e}");

    // `scopes` is required of a client with a grant: named at its id.
    let e = fail("[[clients]]\nid = \"a\"\ntype = \"public\"\n");
    assert_at(&e, ErrorKind::Invalid, "clients[0].scopes", 2);

    let e = fail("listen = \"127.0.0.1:1\"\n[tls]\ncert = \"cert.pem\"\n");
    assert_eq!(e.key(), "tls", "{e}");
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(e.message().contains("missing key `key`"), "{e}");
}

#[test]
fn syntax_errors_have_a_line() {
    let e = fail("listen = \"127.0.0.1:1\"\nissuer = \n");
    assert_eq!(e.kind(), ErrorKind::Syntax, "{e}");
    assert_eq!(e.line(), Some(2), "{e}");
}

#[test]
fn a_missing_or_empty_secret_variable_is_named() {
    let text = "[[clients]]\nid = \"tv\"\ntype = \"confidential\"\nscopes = [\"x\"]\nsecret_env = \"NOT_SET_ANYWHERE\"\n";
    let e = fail(text);
    assert_at(&e, ErrorKind::Invalid, "clients[0].secret_env", 5);
    assert!(e.message().contains("NOT_SET_ANYWHERE is not set"), "{e}");

    let e = fail(&text.replace("NOT_SET_ANYWHERE", "EMPTY_SECRET"));
    assert_at(&e, ErrorKind::Invalid, "clients[0].secret_env", 5);
    assert!(e.message().contains("EMPTY_SECRET is empty"), "{e}");

    // A secret pasted where the variable's name goes is refused without being repeated.
    let e = fail(&text.replace("NOT_SET_ANYWHERE", "hunter2 is my password"));
    assert_at(&e, ErrorKind::Invalid, "clients[0].secret_env", 5);
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn confidential_clients_need_exactly_one_secret() {
    let head = "[[clients]]\nid = \"tv\"\ntype = \"confidential\"\nscopes = [\"x\"]\n";
    assert_at(&fail(head), ErrorKind::Invalid, "clients[0].type", 3);

    let both = format!(
        "{head}secret_env = \"TV_SECRET\"\nsecret_sha256 = \"{}\"\n",
        "ab".repeat(32)
    );
    assert_at(
        &fail(&both),
        ErrorKind::Invalid,
        "clients[0].secret_sha256",
        6,
    );

    let short = format!("{head}secret_sha256 = \"{}\"\n", "ab".repeat(31));
    assert_at(
        &fail(&short),
        ErrorKind::Invalid,
        "clients[0].secret_sha256",
        5,
    );

    let public = "[[clients]]\nid = \"p\"\ntype = \"public\"\nscopes = [\"x\"]\nsecret_env = \"TV_SECRET\"\n";
    assert_at(
        &fail(public),
        ErrorKind::Invalid,
        "clients[0].secret_env",
        5,
    );

    let hashed = format!("{head}secret_sha256 = \"{}\"\n", hex(&sha256("pw")));
    let c = load(&hashed).unwrap();
    let p = Params::from_pairs([("client_id", "tv")]);
    assert!(ClientRegistry::new(c.clients)
        .authenticate(&p, Some(&basic("tv", "pw")))
        .is_ok());
}

#[test]
fn a_bad_cidr_is_named_with_its_index_line_and_column() {
    let text = "listen = \"127.0.0.1:8628\"\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n";
    let e = fail(text);
    assert_at(&e, ErrorKind::Invalid, "trusted_proxies[1]", 2);
    let column = text
        .lines()
        .nth(1)
        .unwrap()
        .find("\"10.0.0.0/33\"")
        .unwrap()
        + 1;
    assert_eq!(e.column(), Some(column), "the column of the value: {e}");
    assert!(e.message().contains("10.0.0.0/33"), "{e}");
}

#[test]
fn an_http_issuer_on_a_public_host_is_refused() {
    let e = fail("listen = \"0.0.0.0:8080\"\nissuer = \"http://login.example.com\"\n");
    assert_at(&e, ErrorKind::Invalid, "issuer", 2);
    assert!(e.message().contains("must be https"), "{e}");
    // On loopback plain http is fine, and https anywhere.
    assert!(load("issuer = \"http://localhost:8628\"\n").is_ok());
    assert!(load("issuer = \"https://login.example.com\"\n").is_ok());
}

#[test]
fn bad_addresses_and_values_out_of_bounds_are_refused() {
    assert_at(
        &fail("listen = \"localhost\"\n"),
        ErrorKind::Invalid,
        "listen",
        1,
    );
    assert_at(
        &fail("[polling]\ninterval = \"10m\"\n"),
        ErrorKind::Invalid,
        "polling.interval",
        2,
    );
    assert_at(
        &fail("[polling]\ninterval = \"1500ms\"\n"),
        ErrorKind::Invalid,
        "polling.interval",
        2,
    );
    assert_at(
        &fail("[polling]\ninterval = 30\ndevice_code_ttl = \"20s\"\n"),
        ErrorKind::Invalid,
        "polling.device_code_ttl",
        3,
    );
    assert_at(
        &fail("[limits.connections]\nmax = 0\n"),
        ErrorKind::Invalid,
        "limits.connections.max",
        2,
    );
    assert_at(
        &fail("[limits.issuance]\nper_source = 0\n"),
        ErrorKind::Invalid,
        "limits.issuance.per_source",
        2,
    );
    assert_at(
        &fail("[limits]\nmax_body_bytes = 10\n"),
        ErrorKind::Invalid,
        "limits.max_body_bytes",
        2,
    );
    assert_at(
        &fail("redeem_grace = \"1h\"\n"),
        ErrorKind::Invalid,
        "redeem_grace",
        1,
    );
    let e = fail(
        "[[clients]]\nid = \"a\"\ntype = \"public\"\nscopes = [\"x\"]\naccess_token_ttl = \"2d\"\n",
    );
    assert_at(&e, ErrorKind::Invalid, "clients[0].access_token_ttl", 5);
    assert!(e.message().contains("between 10s and 1d"), "{e}");
}
