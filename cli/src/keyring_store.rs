//! The OS keyring, where this build has one: macOS Keychain and Windows Credential
//! Manager with the default `keyring` feature; Linux Secret Service only with the
//! `secret-service` feature (it needs libdbus). Entries: service `deviceflow`,
//! account = profile name, value = the profile's secrets as JSON.

const SERVICE: &str = "deviceflow";

#[cfg(all(
    feature = "keyring",
    any(target_os = "macos", windows, feature = "secret-service")
))]
mod imp {
    use super::SERVICE;
    use keyring::{Entry, Error};

    fn entry(profile: &str) -> Result<Entry, String> {
        Entry::new(SERVICE, profile).map_err(|e| format!("keyring: {e}"))
    }

    /// `Ok` when a keyring answers (reading a probe entry that need not exist).
    pub fn available() -> Result<(), String> {
        match entry("deviceflow-probe")?.get_password() {
            Ok(_) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(format!("no usable OS keyring: {e}")),
        }
    }

    pub fn get(profile: &str) -> Result<Option<String>, String> {
        match entry(profile)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(format!("keyring: {e}")),
        }
    }

    pub fn set(profile: &str, value: &str) -> Result<(), String> {
        entry(profile)?
            .set_password(value)
            .map_err(|e| format!("keyring: {e}"))
    }

    pub fn delete(profile: &str) -> Result<(), String> {
        match entry(profile)?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(format!("keyring: {e}")),
        }
    }
}

#[cfg(not(all(
    feature = "keyring",
    any(target_os = "macos", windows, feature = "secret-service")
)))]
mod imp {
    const WHY: &str = "this build has no OS keyring support (on Linux, build with \
                       `--features secret-service`, which needs libdbus)";
    pub fn available() -> Result<(), String> {
        Err(WHY.into())
    }
    pub fn get(_: &str) -> Result<Option<String>, String> {
        Err(WHY.into())
    }
    pub fn set(_: &str, _: &str) -> Result<(), String> {
        Err(WHY.into())
    }
    pub fn delete(_: &str) -> Result<(), String> {
        Err(WHY.into())
    }
}

#[allow(dead_code)]
const _: &str = SERVICE;
pub use imp::{available, delete, get, set};
