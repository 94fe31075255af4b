//! Profiles and their tokens.
//!
//! A profile records where it logged in (issuer, endpoints, client id, scope) so that
//! `token`, `refresh` and `logout` work later without the original flags. It lives in
//! `<config dir>/profiles/<name>.json` (mode 0600, written atomically). The secrets
//! (tokens, and the client secret when one was used) go to the OS keyring when the
//! profile uses it, otherwise into the same file.
//!
//! Config dir: `$DEVICEFLOW_CONFIG_DIR`, else `$XDG_CONFIG_HOME/deviceflow`,
//! else `~/.config/deviceflow` (`%APPDATA%\deviceflow` on Windows).
//!
//! The file carries `"version": 1` ([`FORMAT_VERSION`]); other programs (the Python package)
//! read and write the same files under the same lock (`profiles/.<name>.lock`), as the
//! README's "Profile files" section specifies. A file of another version is refused, never
//! rewritten.

use crate::fsutil::{write_atomic, FileLock};
use crate::keyring_store;
use deviceflow::{ClientAuth, Secret, TokenSet};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where secrets are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// The OS keyring when one is usable, else the file.
    Auto,
    /// The OS keyring (macOS Keychain, Windows Credential Manager, Linux Secret Service).
    Keyring,
    /// A 0600 file in the config directory.
    File,
    /// Keep nothing (a login that only checks that signing in works).
    None,
}

/// Everything about a login except the secrets.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub issuer: Option<String>,
    pub device_authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    pub client_id: String,
    pub client_auth: ClientAuth,
    #[serde(default)]
    pub scope: Option<String>,
    /// `keyring` or `file`: where [`Secrets`] are.
    pub store: StoreKind,
    /// Display name from the ID token (unverified; for `status` only).
    #[serde(default)]
    pub account: Option<String>,
    pub logged_in_at_ms: u64,
}

/// The secret half of a profile.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Secrets {
    pub tokens: TokenSet,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// `login --dpop`: the DPoP key's private scalar (base64url of 32 bytes), kept with
    /// the tokens it binds. Absent for bearer logins (older readers ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<Secret>,
}

/// The profile file format this build reads and writes. Files from before the field existed
/// (no `version`) are the same format and read as 1.
pub const FORMAT_VERSION: u64 = 1;

#[derive(Serialize, Deserialize)]
struct ProfileFile {
    version: u64,
    profile: Profile,
    #[serde(default)]
    secrets: Option<Secrets>,
}

pub struct Store {
    dir: PathBuf,
}

/// A profile name is a file name and a keyring account: keep it plain.
pub fn check_profile_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "profile name {:?} must be 1-64 letters, digits, '-', '_' or '.', not starting with '.'",
            deviceflow::display::clean_text(name)
        ))
    }
}

impl Store {
    pub fn open_default() -> Result<Store, String> {
        Ok(Store { dir: config_dir()? })
    }

    #[cfg(test)]
    pub fn at(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join("profiles").join(format!("{name}.json"))
    }

    /// Held while reading, refreshing and writing one profile.
    pub fn lock(&self, name: &str) -> Result<FileLock, String> {
        let path = self.dir.join("profiles").join(format!(".{name}.lock"));
        FileLock::acquire(&path).map_err(|e| format!("cannot lock {}: {e}", path.display()))
    }

    /// Resolves `auto` to what will actually be used.
    pub fn resolve(kind: StoreKind) -> Result<StoreKind, String> {
        match kind {
            StoreKind::Auto => Ok(if keyring_store::available().is_ok() {
                StoreKind::Keyring
            } else {
                StoreKind::File
            }),
            StoreKind::Keyring => keyring_store::available().map(|_| StoreKind::Keyring),
            other => Ok(other),
        }
    }

    /// Saves a profile and its secrets (call with the profile lock held). `profile.store`
    /// must be resolved (not `auto`). The secrets live in one place only: saving to the file
    /// removes a keyring entry the profile had before, and saving to the keyring rewrites the
    /// file without them.
    pub fn save(&self, profile: &Profile, secrets: &Secrets) -> Result<(), String> {
        if let Some(v) = self.foreign_version(&profile.name) {
            let path = self.path(&profile.name);
            return Err(format!(
                "{} has profile format version {v}, which this deviceflow does not know; \
                 it is left as it is (delete it to log in with this deviceflow)",
                path.display()
            ));
        }
        let was_in_keyring = profile.store == StoreKind::File
            && matches!(self.read_file(&profile.name), Ok(Some(f)) if f.profile.store == StoreKind::Keyring);
        let in_file = match profile.store {
            StoreKind::None => return Ok(()),
            StoreKind::Keyring => {
                let json = serde_json::to_string(secrets).map_err(|e| e.to_string())?;
                keyring_store::set(&profile.name, &json)?;
                None
            }
            StoreKind::File => Some(secrets.clone()),
            StoreKind::Auto => return Err("store kind was not resolved".into()),
        };
        let file = ProfileFile {
            version: FORMAT_VERSION,
            profile: profile.clone(),
            secrets: in_file,
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        let path = self.path(&profile.name);
        write_atomic(&path, &json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if was_in_keyring {
            if let Err(e) = keyring_store::delete(&profile.name) {
                crate::human::say(&format!(
                    "warning: the tokens are now in {}, but the old OS keyring entry (service \
                     \"deviceflow\", account \"{}\") could not be removed: {e}",
                    path.display(),
                    profile.name
                ));
            }
        }
        Ok(())
    }

    /// The `version` of an existing, readable profile file when it is not ours.
    fn foreign_version(&self, name: &str) -> Option<serde_json::Value> {
        let bytes = std::fs::read(self.path(name)).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let version = v.get("version")?;
        (version.as_u64() != Some(FORMAT_VERSION)).then(|| version.clone())
    }

    /// The parsed profile file, `None` when there is none; refuses unknown versions.
    fn read_file(&self, name: &str) -> Result<Option<ProfileFile>, String> {
        let path = self.path(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let damaged =
            |e: serde_json::Error| format!("{} is damaged ({e}); log in again", path.display());
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(damaged)?;
        let obj = value.as_object_mut().ok_or_else(|| {
            format!(
                "{} is damaged (not a JSON object); log in again",
                path.display()
            )
        })?;
        let version = obj
            .entry("version")
            .or_insert(FORMAT_VERSION.into())
            .clone();
        if version.as_u64() != Some(FORMAT_VERSION) {
            return Err(format!(
                "{} has profile format version {version}, which this deviceflow does not know \
                 (it reads version {FORMAT_VERSION}); use the deviceflow that wrote it, or a newer one",
                path.display()
            ));
        }
        serde_json::from_value(value).map(Some).map_err(damaged)
    }

    /// The profile and, when they can be read, its secrets.
    pub fn load(&self, name: &str) -> Result<Option<(Profile, Option<Secrets>)>, String> {
        let Some(file) = self.read_file(name)? else {
            return Ok(None);
        };
        let secrets = match file.profile.store {
            StoreKind::Keyring => match keyring_store::get(name)? {
                Some(json) => Some(
                    serde_json::from_str(&json)
                        .map_err(|e| format!("keyring entry for {name} is damaged ({e})"))?,
                ),
                None => None,
            },
            _ => file.secrets,
        };
        Ok(Some((file.profile, secrets)))
    }

    /// Removes the profile file and its keyring entry. `Ok(false)` if there was none.
    pub fn delete(&self, name: &str) -> Result<bool, String> {
        let existed = match self.read_file(name) {
            Ok(Some(ProfileFile { profile: p, .. })) => {
                if p.store == StoreKind::Keyring {
                    keyring_store::delete(name)?;
                }
                true
            }
            Ok(None) => false,
            Err(_) => true, // damaged: remove it anyway
        };
        let path = self.path(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(existed),
            Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
        }
    }

    /// Names of the saved profiles, sorted.
    pub fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.join("profiles"))
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                let stem = name.strip_suffix(".json")?;
                check_profile_name(stem).ok()?;
                Some(stem.to_owned())
            })
            .collect();
        names.sort();
        names
    }
}

fn config_dir() -> Result<PathBuf, String> {
    let var = |n: &str| std::env::var_os(n).filter(|v| !v.is_empty());
    if let Some(d) = var("DEVICEFLOW_CONFIG_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = var("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(d).join("deviceflow"));
    }
    #[cfg(windows)]
    if let Some(d) = var("APPDATA") {
        return Ok(PathBuf::from(d).join("deviceflow"));
    }
    if let Some(home) = var("HOME") {
        return Ok(PathBuf::from(home).join(".config").join("deviceflow"));
    }
    Err("cannot find a config directory: set DEVICEFLOW_CONFIG_DIR or HOME".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(store: StoreKind) -> (Profile, Secrets) {
        let profile = Profile {
            name: "work".into(),
            provider: None,
            issuer: Some("http://127.0.0.1:1".into()),
            device_authorization_endpoint: "http://127.0.0.1:1/device".into(),
            token_endpoint: "http://127.0.0.1:1/token".into(),
            revocation_endpoint: None,
            client_id: "cli".into(),
            client_auth: ClientAuth::None,
            scope: Some("openid".into()),
            store,
            account: None,
            logged_in_at_ms: 1,
        };
        let tokens: TokenSet = serde_json::from_value(serde_json::json!({
            "access_token": "at-secret", "token_type": "Bearer", "expires_at": 5000,
            "refresh_token": "rt-secret", "extra": {}
        }))
        .unwrap();
        (
            profile,
            Secrets {
                tokens,
                client_secret: None,
                dpop_key: None,
            },
        )
    }

    #[test]
    fn profile_names() {
        assert!(check_profile_name("default").is_ok());
        assert!(check_profile_name("work.eu-1_b").is_ok());
        for bad in [
            "",
            ".hidden",
            "../x",
            "a/b",
            "a b",
            "x\u{1b}",
            &"a".repeat(65),
        ] {
            assert!(check_profile_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_store_round_trip_list_delete() {
        let dir = std::env::temp_dir().join(format!("deviceflow-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::at(&dir);
        let (p, s) = sample(StoreKind::File);
        store.save(&p, &s).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("profiles/work.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (p2, s2) = store.load("work").unwrap().unwrap();
        assert_eq!(p2.token_endpoint, p.token_endpoint);
        let s2 = s2.unwrap();
        assert_eq!(s2.tokens.access_token.expose(), "at-secret");
        assert_eq!(s2.tokens.expires_at, Some(deviceflow::Timestamp(5000)));
        assert_eq!(store.list(), vec!["work".to_string()]);
        {
            let _lock = store.lock("work").unwrap();
        }
        assert_eq!(
            store.list(),
            vec!["work".to_string()],
            "lock files are not profiles"
        );
        assert!(store.delete("work").unwrap());
        assert!(!store.delete("work").unwrap());
        assert!(store.load("work").unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_file_is_versioned_and_unknown_versions_are_refused() {
        let dir = std::env::temp_dir().join(format!("deviceflow-ver-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::at(&dir);
        let (p, s) = sample(StoreKind::File);
        store.save(&p, &s).unwrap();
        let path = dir.join("profiles/work.json");
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["version"], 1);
        // A file written before the field existed reads as version 1.
        v.as_object_mut().unwrap().remove("version");
        std::fs::write(&path, v.to_string()).unwrap();
        assert!(store.load("work").unwrap().is_some());
        for other in [
            serde_json::json!(2),
            serde_json::json!("1"),
            serde_json::json!(0),
        ] {
            v["version"] = other.clone();
            std::fs::write(&path, v.to_string()).unwrap();
            let e = store.load("work").unwrap_err();
            assert!(
                e.contains("profile format version") && e.contains("reads version 1"),
                "{other}: {e}"
            );
            // Nor is it overwritten by a new login.
            let e = store.save(&p, &s).unwrap_err();
            assert!(e.contains("left as it is"), "{e}");
            let now: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(now["version"], other);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn store_none_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("deviceflow-none-{}", std::process::id()));
        let store = Store::at(&dir);
        let (p, s) = sample(StoreKind::None);
        store.save(&p, &s).unwrap();
        assert!(!dir.exists());
    }
}
