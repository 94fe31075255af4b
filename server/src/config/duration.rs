//! Durations in the file: an integer number of seconds (`30`), or a string of a whole number
//! and one unit: `ms`, `s`, `m`, `h`, `d` (`"500ms"`, `"30s"`, `"10m"`, `"1h"`, `"30d"`).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A duration from the file, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Dur {
    pub ms: u64,
}

/// The largest duration the file can say (~100 years): nothing overflows further on.
const MAX_MS: u64 = 100 * 365 * 86_400_000;

const EXPECTED: &str =
    "a duration: seconds (30) or a number and a unit: \"500ms\", \"30s\", \"10m\", \"1h\", \"30d\"";

impl Dur {
    pub fn parse(text: &str) -> Option<Dur> {
        let digits = text.find(|c: char| !c.is_ascii_digit())?;
        let (number, unit) = text.split_at(digits);
        let factor = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        let ms = number.parse::<u64>().ok()?.checked_mul(factor)?;
        (ms <= MAX_MS).then_some(Dur { ms })
    }

    /// Whole seconds, if it is a whole number of seconds.
    pub fn whole_secs(self) -> Option<u64> {
        self.ms.is_multiple_of(1000).then_some(self.ms / 1000)
    }
}

/// The shortest exact form: `500ms`, `90s`, `10m`, `30d`.
impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.ms;
        for (factor, unit) in [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ] {
            if ms >= factor && ms.is_multiple_of(factor) {
                return write!(f, "{}{unit}", ms / factor);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                let secs = u64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is negative; expected {EXPECTED}")))?;
                self.visit_u64(secs)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                v.checked_mul(1000)
                    .filter(|ms| *ms <= MAX_MS)
                    .map(|ms| Dur { ms })
                    .ok_or_else(|| E::custom(format!("{v} seconds is too long")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                Dur::parse(v).ok_or_else(|| {
                    E::custom(format!("{v:?} is not a duration; expected {EXPECTED}"))
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::Dur;

    #[test]
    fn units() {
        let ms = |s| Dur::parse(s).map(|d| d.ms);
        assert_eq!(ms("500ms"), Some(500));
        assert_eq!(ms("30s"), Some(30_000));
        assert_eq!(ms("10m"), Some(600_000));
        assert_eq!(ms("1h"), Some(3_600_000));
        assert_eq!(ms("30d"), Some(2_592_000_000));
        for bad in [
            "",
            "10",
            "s",
            "1.5h",
            "-1s",
            "1 h",
            "1H",
            "1w",
            "10mins",
            "99999999999999d",
        ] {
            assert_eq!(ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn display_is_the_shortest_exact_form() {
        for (ms, text) in [
            (500, "500ms"),
            (90_000, "90s"),
            (600_000, "10m"),
            (2_592_000_000, "30d"),
            (1_500, "1500ms"),
        ] {
            assert_eq!(Dur { ms }.to_string(), text);
        }
    }

    #[test]
    fn whole_seconds() {
        assert_eq!(Dur { ms: 5_000 }.whole_secs(), Some(5));
        assert_eq!(Dur { ms: 5_500 }.whole_secs(), None);
    }
}
