//! The dev name box.

use super::*;

#[test]
fn the_dev_sign_in_asks_a_name_keeps_it_and_forgets_it_on_not_you() {
    let s = spawn(ServerConfig::default()).unwrap();
    let page = format!("{}/device", s.issuer());
    let a = authorize(s.issuer());
    let mut b = Browser::default();
    let entry = b.get(&page);
    assert!(entry.body.contains("name=\"username\""), "the name box");
    let confirm = b.post(
        &page,
        &[
            ("csrf", &csrf(&entry)),
            ("username", "dora"),
            ("user_code", a["user_code"].as_str().unwrap()),
        ],
    );
    assert!(confirm.body.contains("Signed in as</dt><dd>dora, "));
    let again = b.get(&page);
    assert!(again.body.contains("Signed in as <strong>dora</strong>"));
    assert!(!again.body.contains("name=\"username\""));
    let out = b.post(&format!("{page}/signout"), &[("csrf", &csrf(&again))]);
    assert_eq!((out.status, out.location.as_str()), (303, "/device"));
    assert!(
        b.get(&page).body.contains("name=\"username\""),
        "asked again"
    );
    s.shutdown();
}
