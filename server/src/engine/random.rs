//! Randomness comes from the host: the engine never reads an entropy source itself.

/// A cryptographically secure random source supplied by the host (RFC 8628 §5.2 asks for a CSPRNG).
pub trait Random {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> Random for F {
    fn fill(&mut self, buf: &mut [u8]) {
        self(buf)
    }
}

/// A record id that sorts by creation time: the milliseconds as 12 hex digits, then 16 random
/// bytes (base64url). Stores index ids in B-trees, and a new id lands at the end of the index
/// instead of on a random leaf: one page fewer to write per device authorization (a random id
/// dirtied its own leaf in every commit). Ids are never secrets: every use checks who asks (the
/// approval page takes the id from the server-side session, the grants page revokes only the
/// signed-in user's own grant), so the visible creation time is no loss; the random part keeps
/// them unguessable and unique.
pub(crate) fn time_ordered_id(rng: &mut dyn Random, now_ms: i64) -> String {
    format!("{:012x}{}", now_ms.max(0), token(rng, 16))
}

/// `n` random bytes encoded as unpadded base64url: the shape of every opaque secret we issue.
pub(crate) fn token(rng: &mut dyn Random, n: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; n];
    rng.fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ordered_ids_sort_by_time_and_differ_within_a_millisecond() {
        let mut counter = 0u8;
        let mut rng = |buf: &mut [u8]| {
            counter = counter.wrapping_add(1);
            buf.fill(counter);
        };
        let a = time_ordered_id(&mut rng, 1_700_000_000_000);
        let b = time_ordered_id(&mut rng, 1_700_000_000_000);
        let c = time_ordered_id(&mut rng, 1_700_000_000_001);
        let d = time_ordered_id(&mut rng, 9_999_999_999_999);
        assert_ne!(a, b);
        assert!(a < c && b < c && c < d, "{a} {b} {c} {d}");
        assert_eq!(&a[..12], "018bcfe56800");
        assert_eq!(a.len(), 12 + 22);
    }
}
