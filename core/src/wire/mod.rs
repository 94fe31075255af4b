//! The wire format: building form requests and reading server replies.

pub(crate) mod fields;
pub(crate) mod reply;
pub(crate) mod request;
pub(crate) mod token;

use base64ct::{Base64UrlUnpadded, Encoding};

/// base64url without padding (RFC 4648 §5), as DPoP and JWTs use it. Decoding is strict: no
/// padding, no whitespace, canonical trailing bits (the `base64` crate's `URL_SAFE_NO_PAD`
/// rules; the property test below checks both agree on every input).
pub(crate) struct B64Url;

pub(crate) const B64: B64Url = B64Url;

impl B64Url {
    pub(crate) fn encode(&self, bytes: impl AsRef<[u8]>) -> String {
        Base64UrlUnpadded::encode_string(bytes.as_ref())
    }

    pub(crate) fn decode(&self, text: &str) -> Result<Vec<u8>, base64ct::Error> {
        Base64UrlUnpadded::decode_vec(text)
    }
}

/// Standard base64 with padding (HTTP Basic, RFC 7617), made from the base64url encoding:
/// the two alphabets differ only in `-`/`_`. A second base64ct alphabet is another 1.1 KB of
/// wasm (`bindings/wasm/SIZE.md`) for one header; the property test below checks this
/// against the `base64` crate's `STANDARD` on every input.
pub(crate) fn base64_standard(bytes: impl AsRef<[u8]>) -> String {
    let mut out: String = B64
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// The byte offset of `needle` in `hay`. `str::find` with a `&str` pattern links std's
/// Two-Way searcher, 1.3 KB of wasm for the three short needles the core looks for
/// (`bindings/wasm/SIZE.md`); a window scan is enough for them.
pub(crate) fn find(hay: &str, needle: &str) -> Option<usize> {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    (0..=hay.len().checked_sub(needle.len())?).find(|&i| hay[i..].starts_with(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn encodes_as_the_base64_crate(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(B64.encode(&bytes), URL_SAFE_NO_PAD.encode(&bytes));
            prop_assert_eq!(base64_standard(&bytes), STANDARD.encode(&bytes));
        }

        // Strings of base64url characters, padding, the standard alphabet's extras and a
        // space: every length and every trailing-bit pattern.
        #[test]
        fn decodes_as_the_base64_crate(text in "[A-Za-z0-9_=+/ -]{0,24}") {
            prop_assert_eq!(B64.decode(&text).ok(), URL_SAFE_NO_PAD.decode(&text).ok());
        }

        #[test]
        fn finds_as_str_find(hay in "[a-c:/é]{0,12}", needle in "[a-c:/é]{0,3}") {
            prop_assert_eq!(find(&hay, &needle), hay.find(needle.as_str()));
        }

        #[test]
        fn decodes_what_it_encodes(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(B64.decode(&B64.encode(&bytes)).ok(), Some(bytes));
        }
    }

    #[test]
    fn non_canonical_trailing_bits_are_refused() {
        // "QR" decodes to one byte only if its last 4 bits are zero ("QQ" is canonical).
        assert_eq!(B64.decode("QQ").ok(), Some(vec![0x41]));
        assert!(B64.decode("QR").is_err());
        assert!(URL_SAFE_NO_PAD.decode("QR").is_err());
        assert!(B64.decode("QQ==").is_err());
    }
}
