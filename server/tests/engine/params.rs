//! Form parsing stays linear in the number of parameters (a duplicate check per parameter by
//! scanning the others would be quadratic: 9,000 parameters in a 16 KiB+ body cost ~100 ms).

use std::hint::black_box;
use std::time::{Duration, Instant};

use deviceflow_server::engine::Params;

fn body(n: usize) -> String {
    (0..n)
        .map(|i| format!("p{i}=v"))
        .collect::<Vec<_>>()
        .join("&")
}

fn parse_time(body: &str) -> Duration {
    let start = Instant::now();
    let parsed = Params::parse(black_box(body.as_bytes())).unwrap();
    let elapsed = start.elapsed();
    black_box(parsed);
    elapsed
}

#[test]
fn parsing_is_linear_in_the_number_of_parameters() {
    // 27x the parameters: linear takes ~27x the time, quadratic ~729x. The wide gap keeps the
    // check meaningful on a loaded machine (other tests run alongside).
    let (small, large) = (body(1_000), body(27_000));
    let parsed = Params::parse(large.as_bytes()).unwrap();
    assert_eq!(parsed.get("p26999"), Some("v"));
    assert_eq!(parsed.get("p27000"), None);
    // Best of 9, interleaved so that a busy moment hits both sizes alike.
    let (mut t1, mut t9) = (Duration::MAX, Duration::MAX);
    for _ in 0..9 {
        t1 = t1.min(parse_time(&small));
        t9 = t9.min(parse_time(&large));
    }
    let ratio = t9.as_secs_f64() / t1.as_secs_f64().max(1e-9);
    println!(
        "Params::parse: 1,000 params ({} bytes) {t1:?}, 27,000 params ({} bytes) {t9:?}, \
         ratio {ratio:.1} (linear ~27, quadratic ~729)",
        small.len(),
        large.len()
    );
    assert!(ratio < 150.0, "27k/1k = {ratio:.1}: {t9:?} vs {t1:?}");
}

#[test]
fn a_repeated_parameter_is_still_invalid_request() {
    let mut repeated = body(9_000);
    repeated.push_str("&p4500=w");
    let e = Params::parse(repeated.as_bytes()).unwrap_err();
    assert_eq!((e.code, e.status), ("invalid_request", 400));
    assert!(e.description.contains("p4500"), "{}", e.description);
    // An empty value still counts as a repeat; distinct names are fine.
    assert!(Params::parse(b"a=1&a=").is_err());
    assert!(Params::parse(b"a=&a=1").is_err());
    assert_eq!(Params::parse(b"a=1&b=2").unwrap().get("b"), Some("2"));
}
