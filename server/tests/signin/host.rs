//! Embedded in a host application (examples/host_app.rs), in-process, under its prefix.

use super::*;

struct Host {
    rt: tokio::runtime::Runtime,
    issuer: String,
}

fn host(config: ServerConfig) -> Host {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let issuer = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let (app, embedded) = host_app::host_app(&origin, config).await.unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        embedded.issuer
    });
    Host { rt, issuer }
}

/// Signs `user` in on the host's own login page, from wherever the device page sent us.
fn host_login(b: &Host, browser: &mut Browser, user: &str) {
    let page = format!("{}/device", b.issuer);
    let sent = browser.get(&page);
    assert_eq!(sent.status, 303);
    assert_eq!(sent.location, "/login?next=%2Flogin%2Fdevice%2Fdevice");
    let login_url = absolute(&b.issuer, &sent.location);
    let form = browser.get(&login_url);
    assert_eq!(form.status, 200);
    let next = between(&form.body, "name=\"next\" value=\"", "\"").to_owned();
    let done = browser.post(
        &absolute(&b.issuer, "/login"),
        &[("username", user), ("next", &next)],
    );
    assert_eq!(
        (done.status, done.location.as_str()),
        (303, "/login/device/device")
    );
}

/// Another user signs in at the host in this browser.
fn switch_user(h: &Host, browser: &mut Browser, user: &str) {
    let login = browser.post(
        &absolute(&h.issuer, "/login"),
        &[("username", user), ("next", "/login/device/device")],
    );
    assert_eq!(login.status, 303);
}

#[test]
fn a_host_app_signs_the_user_in_on_its_own_login_page_under_its_prefix() {
    let mut config = ServerConfig::default();
    config.interval_secs = 1;
    let h = host(config);
    let issuer = h.issuer.clone();
    assert!(issuer.ends_with("/login/device"), "{issuer}");
    // Metadata, endpoints and the verification URI carry the prefix.
    let mut meta = agent()
        .get(&format!("{issuer}/.well-known/openid-configuration"))
        .call()
        .unwrap();
    let meta: Value = serde_json::from_str(&meta.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(meta["issuer"], issuer);
    assert_eq!(meta["token_endpoint"], format!("{issuer}/token"));
    let a = authorize(&issuer);
    assert_eq!(a["verification_uri"], format!("{issuer}/device"));
    let code = a["user_code"].as_str().unwrap();

    let mut b = Browser::default();
    let first = b.get(a["verification_uri_complete"].as_str().unwrap());
    assert_eq!(
        (first.status, first.location.as_str()),
        (303, "/login/device/device")
    );
    // Nobody is signed in at the host: the page sends the browser to the host's login.
    host_login(&h, &mut b, "bob");
    assert!(b.cookies.contains_key("host_user"));
    let entry = b.get(&format!("{issuer}/device"));
    assert_eq!(outcome(&entry), "entry");
    assert!(
        entry.body.contains("Signed in as <strong>bob</strong>"),
        "{}",
        entry.body
    );
    assert!(!entry.body.contains("name=\"username\""), "no name box");
    assert!(
        entry.body.contains(&format!("value=\"{code}\"")),
        "the code survived the login"
    );
    for action in [
        "action=\"/login/device/device\"",
        "action=\"/login/device/device/signout\"",
    ] {
        assert!(entry.body.contains(action), "missing {action}");
    }
    let done = enter_and_decide(&mut b, &format!("{issuer}/device"), code, "approve");
    assert_eq!(outcome(&done), "approved", "{}", done.body);
    assert_eq!(subject_of_tokens(&issuer, &a), "bob");
    drop(h.rt);
}

#[test]
fn the_cookie_is_scoped_to_the_prefix_and_not_you_leads_to_the_host_sign_out() {
    let h = host(ServerConfig::default());
    let issuer = h.issuer.clone();
    let mut resp = agent()
        .get(&format!("{issuer}/device?user_code=BCDF-GHJK"))
        .call()
        .unwrap();
    let set = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set.contains("; Path=/login/device;"), "{set}");
    let _ = resp.body_mut().read_to_string();

    let mut b = Browser::default();
    host_login(&h, &mut b, "bob");
    let entry = b.get(&format!("{issuer}/device"));
    let out = b.post(
        &format!("{issuer}/device/signout"),
        &[("csrf", &csrf(&entry))],
    );
    assert_eq!(outcome(&out), "signed-out");
    assert!(
        out.body
            .contains("href=\"/logout?next=%2Flogin%2Fdevice%2Fdevice\""),
        "{}",
        out.body
    );
    // A forged sign-out (no CSRF token) is refused.
    let forged = b.post(&format!("{issuer}/device/signout"), &[("csrf", "x")]);
    assert_eq!(forged.status, 403);
    drop(h.rt);
}

#[test]
fn a_user_switch_between_confirmation_and_decision_approves_nothing() {
    let h = host(ServerConfig::default());
    let issuer = h.issuer.clone();
    let a = authorize(&issuer);
    let code = a["user_code"].as_str().unwrap();
    let page = format!("{issuer}/device");
    let mut b = Browser::default();
    host_login(&h, &mut b, "bob");
    let entry = b.get(&page);
    let confirm = b.post(&page, &[("csrf", &csrf(&entry)), ("user_code", code)]);
    assert!(
        confirm.body.contains("Signed in as</dt><dd>bob, "),
        "{}",
        confirm.body
    );
    // Someone else signs in at the host in the same browser, then the decision is posted.
    switch_user(&h, &mut b, "carol");
    let decided = b.post(
        &format!("{page}/confirm"),
        &[("csrf", &csrf(&confirm)), ("decision", "approve")],
    );
    assert_eq!(decided.status, 403);
    assert!(
        decided.body.contains("shown to another user"),
        "{}",
        decided.body
    );
    assert!(pending(&issuer, &a));
    drop(h.rt);
}

#[test]
fn entry_limits_follow_the_signed_in_user_across_browsers() {
    let mut config = ServerConfig::default();
    config.limits.failures_per_session = 2;
    let h = host(config);
    let issuer = h.issuer.clone();
    let page = format!("{issuer}/device");
    let a = authorize(&issuer);
    let code = a["user_code"].as_str().unwrap();
    let wrong = |b: &mut Browser| {
        let entry = b.get(&page);
        b.post(
            &page,
            &[("csrf", &csrf(&entry)), ("user_code", "BBBB-BBBB")],
        )
    };
    let mut first = Browser::default();
    host_login(&h, &mut first, "bob");
    for _ in 0..2 {
        assert_eq!(wrong(&mut first).status, 400);
    }
    // Bob in a fresh browser (new session cookie) is still over his limit...
    let mut second = Browser::default();
    host_login(&h, &mut second, "bob");
    let entry = second.get(&page);
    let refused = second.post(&page, &[("csrf", &csrf(&entry)), ("user_code", code)]);
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused
        .body
        .contains("Too many wrong codes from your account"));
    // ...while Carol, in the browser Bob failed in, is not.
    switch_user(&h, &mut first, "carol");
    let done = enter_and_decide(&mut first, &page, code, "approve");
    assert_eq!(outcome(&done), "approved");
    assert_eq!(subject_of_tokens(&issuer, &a), "carol");
    drop(h.rt);
}
