"""The OS keyring entry of a profile, the one the ``deviceflow`` CLI uses: service
``deviceflow``, account (Secret Service attribute ``username``) = the profile
name, value = the profile's secrets as JSON. Needs the optional ``keyring``
package (``pip install deviceflow[keyring]``).

On Linux the Secret Service is spoken through ``secretstorage`` (which
``keyring`` installs) with the CLI's exact attributes (``service``,
``username``, ``target`` = ``default``, ``application`` = ``rust-keyring``), so
both programs find and update one item, never two. On macOS and Windows the
``keyring`` package's native backend is used with the names the CLI's Rust
``keyring`` crate gives the entry (untested here).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Dict, List, Optional, TypeVar

from ._profile_errors import KeyringUnavailable, ProfileError

SERVICE = "deviceflow"
_INSTALL = "install the keyring support with `pip install deviceflow[keyring]`"
T = TypeVar("T")


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise KeyringUnavailable(f"the OS keyring needs the {name!r} package: {_INSTALL}") from None


def _linux() -> bool:
    return sys.platform.startswith(("linux", "freebsd"))


# ---- Linux / FreeBSD: the Secret Service --------------------------------------------------

def _attributes(profile: str) -> Dict[str, str]:
    return {"service": SERVICE, "username": profile, "target": "default"}


def _with_service(profile: str, what: Callable[[Any, Any, List[Any]], T]) -> T:
    """Connects, finds the profile's items as the CLI does (every collection by
    service, username and target; else the default collection without target),
    unlocks them and calls ``what(secretstorage, connection, items)``."""
    ss = _module("secretstorage")
    try:
        connection = ss.dbus_init()
    except Exception as e:  # SecretServiceNotAvailableException, a D-Bus error, ...
        raise KeyringUnavailable(f"no usable OS keyring (Secret Service): {e}") from None
    try:
        items = list(ss.search_items(connection, _attributes(profile)))
        if not items:
            legacy = {"service": SERVICE, "username": profile}
            try:
                items = list(ss.get_default_collection(connection).search_items(legacy))
            except ss.exceptions.SecretStorageException:
                items = []
        for item in items:
            if item.is_locked() and item.unlock():
                raise KeyringUnavailable("the keyring stayed locked (the unlock prompt was dismissed)")
        return what(ss, connection, items)
    except ProfileError:
        raise
    except Exception as e:
        raise KeyringUnavailable(f"keyring: {e}") from None
    finally:
        connection.close()


def _one(profile: str, items: List[Any]) -> Optional[Any]:
    if len(items) > 1:
        raise ProfileError(f"keyring: {len(items)} entries match profile {profile!r} "
                           f"(service {SERVICE!r}); remove all but one")
    return items[0] if items else None


def _ss_get(profile: str) -> Optional[str]:
    def get(ss: Any, connection: Any, items: List[Any]) -> Optional[str]:
        item = _one(profile, items)
        return None if item is None else bytes(item.get_secret()).decode("utf-8")
    return _with_service(profile, get)


def _ss_set(profile: str, value: str) -> None:
    def put(ss: Any, connection: Any, items: List[Any]) -> None:
        item = _one(profile, items)
        if item is not None:  # update in place, as the CLI does
            item.set_secret(value.encode("utf-8"), "text/plain")
            return
        collection = ss.get_default_collection(connection)
        if collection.is_locked() and collection.unlock():
            raise KeyringUnavailable("the keyring stayed locked (the unlock prompt was dismissed)")
        collection.create_item(f"{profile}@{SERVICE}:default (deviceflow)",
                               {**_attributes(profile), "application": "rust-keyring"},
                               value.encode("utf-8"), replace=True, content_type="text/plain")
    _with_service(profile, put)


def _ss_delete(profile: str) -> None:
    def delete(ss: Any, connection: Any, items: List[Any]) -> None:
        item = _one(profile, items)
        if item is not None:
            item.delete()
    _with_service(profile, delete)


# ---- macOS (Keychain: service, account) and Windows (target "<account>.<service>") --------

def _native_names(profile: str) -> "tuple[str, str]":
    if sys.platform == "win32":  # keyring-rs: TargetName "{user}.{service}", UserName user
        return f"{profile}.{SERVICE}", profile
    return SERVICE, profile


def _native(call: Callable[[Any], T]) -> T:
    keyring = _module("keyring")
    try:
        return call(keyring)
    except keyring.errors.KeyringError as e:
        raise KeyringUnavailable(f"keyring: {e}") from None


def get(profile: str) -> Optional[str]:
    """The entry's value; None when there is no entry."""
    if _linux():
        return _ss_get(profile)
    service, user = _native_names(profile)
    value: Optional[str] = _native(lambda k: k.get_password(service, user))
    return value


def set(profile: str, value: str) -> None:  # noqa: A001 - mirrors the CLI's keyring_store
    if _linux():
        _ss_set(profile, value)
        return
    service, user = _native_names(profile)
    _native(lambda k: k.set_password(service, user, value))


def delete(profile: str) -> None:
    """Removes the entry; nothing when there is none."""
    if _linux():
        _ss_delete(profile)
        return
    service, user = _native_names(profile)

    def remove(k: Any) -> None:
        try:
            k.delete_password(service, user)
        except k.errors.PasswordDeleteError:
            pass
    _native(remove)


def available() -> bool:
    """True when a keyring answers. On Linux a probe entry is written and deleted,
    as the CLI does: a daemon can answer while its collection cannot store."""
    try:
        if _linux():
            _ss_set("deviceflow-probe", "probe")
            _ss_delete("deviceflow-probe")
        else:
            get("deviceflow-probe")
        return True
    except ProfileError:
        return False
