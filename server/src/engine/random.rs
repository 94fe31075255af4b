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

/// `n` random bytes encoded as unpadded base64url: the shape of every opaque secret we issue.
pub(crate) fn token(rng: &mut dyn Random, n: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; n];
    rng.fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
