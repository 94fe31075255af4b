"""The errors of the profile store (all ``DeviceFlowError``s with a stable ``code``)."""

from __future__ import annotations

from .errors import DeviceFlowError

__all__ = ["ProfileError", "NotLoggedIn", "UnknownProfileVersion", "KeyringUnavailable"]


class ProfileError(DeviceFlowError):
    """A stored profile cannot be read or written (``code`` ``storage_error``:
    damaged file, no permission, disk full, ...)."""

    code = "storage_error"


class NotLoggedIn(ProfileError):
    """No login is stored for this profile (or its tokens are gone, or the access
    token expired without a refresh token): call ``Profile.login``."""

    code = "login_required"

    @property
    def requires_login(self) -> bool:
        return True


class UnknownProfileVersion(ProfileError):
    """The profile file has a format version this package does not know. The
    file is never rewritten; use the program that wrote it, or a newer one."""

    code = "unknown_profile_version"


class KeyringUnavailable(ProfileError):
    """The profile keeps its tokens in the OS keyring, and the keyring cannot be
    used from Python (install ``deviceflow[keyring]``; on Linux a Secret Service
    such as GNOME Keyring or KWallet must be running)."""

    code = "keyring_unavailable"
