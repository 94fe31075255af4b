"""The profile files the ``deviceflow`` CLI keeps, read and written the same way
(see "Profile files and the refresh lock" in cli/README.md, format version 1):
``<config dir>/profiles/<name>.json``, mode 0600 in a 0700 directory, replaced
atomically; ``profiles/.<name>.lock`` serialises refreshes across processes."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Union

from . import _profile_keyring as keyring_store
from ._profile_errors import ProfileError, UnknownProfileVersion

#: The profile file format this package reads and writes.
FORMAT_VERSION = 1

PROFILE_FIELDS = (
    "name", "provider", "issuer", "device_authorization_endpoint", "token_endpoint",
    "revocation_endpoint", "client_id", "client_auth", "scope", "store", "account",
    "logged_in_at_ms",
)
TOKEN_FIELDS = ("access_token", "token_type", "expires_at", "expires_in", "refresh_token",
                "scope", "id_token", "extra")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def check_name(name: str) -> None:
    """A profile name is a file name and a keyring account: keep it plain."""
    if not (isinstance(name, str) and 0 < len(name) <= 64 and not name.startswith(".")
            and all(c in _NAME_CHARS for c in name)):
        raise ValueError(f"profile name {name!r} must be 1-64 letters, digits, '-', '_' or '.', "
                         "not starting with '.'")


def config_dir() -> Path:
    """``$DEVICEFLOW_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/deviceflow``, else
    ``%APPDATA%\\deviceflow`` (Windows), else ``~/.config/deviceflow``: the CLI's rule."""
    def var(name: str) -> Optional[str]:
        return os.environ.get(name) or None

    d = var("DEVICEFLOW_CONFIG_DIR")
    if d:
        return Path(d)
    d = var("XDG_CONFIG_HOME")
    if d:
        return Path(d) / "deviceflow"
    if sys.platform == "win32":
        d = var("APPDATA")
        if d:
            return Path(d) / "deviceflow"
    d = var("HOME")
    if d:
        return Path(d) / ".config" / "deviceflow"
    raise ProfileError("cannot find a config directory: set DEVICEFLOW_CONFIG_DIR or HOME")


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Replaces ``path`` with ``data``: a 0600 temp file in the same directory,
    fsync, rename over the target, fsync of the directory."""
    _private_dir(path.parent)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if sys.platform != "win32":
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class Lock:
    """An exclusive lock on ``profiles/.<name>.lock``, the CLI's: ``flock(LOCK_EX)``
    on Unix; on Windows ``msvcrt.locking`` on byte 0, which conflicts with the
    CLI's whole-file ``LockFileEx`` (untested). Released by ``close()`` (also
    when the process dies)."""

    def __init__(self, path: Path) -> None:
        _private_dir(path.parent)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
        self._file: Optional[IO[bytes]] = os.fdopen(fd, "r+b", buffering=0)
        try:
            _lock(self._file)
        except BaseException:
            self._file.close()
            raise

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the lock
            self._file = None

    def __enter__(self) -> "Lock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if sys.platform == "win32":
    import msvcrt

    def _lock(f: IO[bytes]) -> None:
        f.seek(0)
        while True:  # LK_LOCK gives up after 10 tries of a second each
            try:
                msvcrt.locking(f.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue
else:
    import fcntl

    def _lock(f: IO[bytes]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)


@dataclass
class Record:
    """One profile file: the ``profile`` object and its secrets (``{"tokens": {...},
    "client_secret": ..., "dpop_key": ...}``, from the file or the keyring; None when
    gone). ``dpop_key`` (optional): base64url of the DPoP key's 32-byte scalar."""

    profile: Dict[str, Any]
    secrets: Optional[Dict[str, Any]]


class Store:
    def __init__(self, directory: Union[str, "os.PathLike[str]", None] = None) -> None:
        self.dir = Path(directory) if directory is not None else config_dir()

    def path(self, name: str) -> Path:
        return self.dir / "profiles" / f"{name}.json"

    def lock(self, name: str) -> Lock:
        path = self.dir / "profiles" / f".{name}.lock"
        try:
            return Lock(path)
        except OSError as e:
            raise ProfileError(f"cannot lock {path}: {e}") from None

    def list(self) -> List[str]:
        try:
            entries = os.listdir(self.dir / "profiles")
        except OSError:
            return []
        names = []
        for entry in entries:
            if entry.endswith(".json"):
                try:
                    check_name(entry[:-5])
                except ValueError:
                    continue
                names.append(entry[:-5])
        return sorted(names)

    def _read_json(self, name: str) -> Optional[Dict[str, Any]]:
        """The file's object with its version checked; None when there is none."""
        path = self.path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise ProfileError(f"cannot read {path}: {e}") from None
        try:
            value = json.loads(data)
        except ValueError as e:
            raise ProfileError(f"{path} is damaged ({e}); log in again") from None
        if not isinstance(value, dict):
            raise ProfileError(f"{path} is damaged (not a JSON object); log in again")
        version = value.setdefault("version", FORMAT_VERSION)  # files from before the field: 1
        if type(version) is not int or version != FORMAT_VERSION:
            raise UnknownProfileVersion(
                f"{path} has profile format version {json.dumps(version)}, which this deviceflow "
                f"does not know (it reads version {FORMAT_VERSION}); use the deviceflow that "
                "wrote it, or a newer one")
        profile = value.get("profile")
        if not isinstance(profile, dict) or not all(
                isinstance(profile.get(k), str)
                for k in ("device_authorization_endpoint", "token_endpoint", "client_id",
                          "client_auth", "store")):
            raise ProfileError(f"{path} is damaged (no valid \"profile\"); log in again")
        return value

    def load(self, name: str) -> Optional[Record]:
        """The profile and, when they can be read, its secrets; None when there is none."""
        value = self._read_json(name)
        if value is None:
            return None
        profile: Dict[str, Any] = value["profile"]
        secrets: Any
        if profile["store"] == "keyring":
            text = keyring_store.get(name)
            if text is None:
                secrets = None
            else:
                try:
                    secrets = json.loads(text)
                except ValueError as e:
                    raise ProfileError(f"keyring entry for {name} is damaged ({e})") from None
        else:
            secrets = value.get("secrets")
        if secrets is not None and not (isinstance(secrets, dict)
                                        and isinstance(secrets.get("tokens"), dict)):
            raise ProfileError(f"the tokens of profile {name!r} are damaged; log in again")
        return Record(profile, secrets)

    def save(self, name: str, profile: Dict[str, Any], secrets: Dict[str, Any]) -> None:
        """Writes the profile and its secrets (call with the lock held). The secrets
        live in one place only, as the CLI keeps them. A file of another format
        version is left as it is."""
        path = self.path(name)
        try:
            old = self._read_json(name)
        except UnknownProfileVersion as e:
            raise UnknownProfileVersion(f"{e.message}; it is left as it is") from None
        except ProfileError:
            old = None  # damaged: replace it
        was_in_keyring = (profile["store"] == "file" and old is not None
                          and old["profile"].get("store") == "keyring")
        tokens: Dict[str, Any] = {k: secrets["tokens"].get(k) for k in TOKEN_FIELDS}
        if tokens["extra"] is None:
            tokens["extra"] = {}
        canonical_secrets = {"tokens": tokens, "client_secret": secrets.get("client_secret")}
        if secrets.get("dpop_key") is not None:  # login --dpop: the key the tokens are bound to
            canonical_secrets["dpop_key"] = secrets["dpop_key"]
        in_file: Optional[Dict[str, Any]]
        if profile["store"] == "keyring":
            keyring_store.set(name, json.dumps(canonical_secrets, separators=(",", ":")))
            in_file = None
        elif profile["store"] == "file":
            in_file = canonical_secrets
        else:
            raise ValueError(f"store must be 'file' or 'keyring', not {profile['store']!r}")
        document = {"version": FORMAT_VERSION,
                    "profile": {k: profile.get(k) for k in PROFILE_FIELDS},
                    "secrets": in_file}
        try:
            write_atomic(path, json.dumps(document, indent=2).encode())
        except OSError as e:
            raise ProfileError(f"cannot write {path}: {e}") from None
        if was_in_keyring:
            try:
                keyring_store.delete(name)
            except ProfileError:
                pass  # the tokens are in the file now; a stale entry is only unused

    def delete(self, name: str) -> bool:
        """Removes the profile file and its keyring entry. False if there was none."""
        try:
            value = self._read_json(name)
        except UnknownProfileVersion:
            raise
        except ProfileError:
            value = None  # damaged: remove it anyway
            existed = True
        else:
            existed = value is not None
        if value is not None and value["profile"]["store"] == "keyring":
            keyring_store.delete(name)
        path = self.path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            return existed
        except OSError as e:
            raise ProfileError(f"cannot remove {path}: {e}") from None
        return True
