//! The OS keyring, with the default `keyring` feature: macOS Keychain, Windows Credential
//! Manager, and on Linux/FreeBSD the Secret Service (GNOME Keyring, KWallet) over D-Bus in
//! pure Rust (zbus: no libdbus). Entries: service `deviceflow`, account (Secret Service
//! attribute `username`) = profile name, value = the profile's secrets as JSON.

const SERVICE: &str = "deviceflow";

#[cfg(all(
    feature = "keyring",
    any(
        target_os = "macos",
        windows,
        target_os = "linux",
        target_os = "freebsd"
    )
))]
mod imp {
    use super::SERVICE;
    use keyring::{Entry, Error};

    fn entry(profile: &str) -> Result<Entry, String> {
        Entry::new(SERVICE, profile).map_err(|e| format!("keyring: {e}"))
    }

    /// `Ok` when a keyring answers. The Secret Service is asked to store and delete a probe
    /// entry: a daemon can answer searches while its collection is locked or missing (no one
    /// to type the password on a headless machine), and only a write shows that it works.
    /// Elsewhere a probe entry is read (it need not exist).
    pub fn available() -> Result<(), String> {
        let probe = entry("deviceflow-probe")?;
        let no = |e: Error| format!("no usable OS keyring: {e}");
        if cfg!(any(target_os = "linux", target_os = "freebsd")) {
            probe.set_password("probe").map_err(no)?;
            return match probe.delete_credential() {
                Ok(()) | Err(Error::NoEntry) => Ok(()),
                Err(e) => Err(no(e)),
            };
        }
        match probe.get_password() {
            Ok(_) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(no(e)),
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
    any(
        target_os = "macos",
        windows,
        target_os = "linux",
        target_os = "freebsd"
    )
)))]
mod imp {
    const WHY: &str = "this build has no OS keyring support (built without the `keyring` feature)";
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
