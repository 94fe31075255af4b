"""Exceptions. Two tiers, as in h11:

* :class:`DeviceFlowError` and its subclasses are *outcomes* of the protocol:
  the server or the network said no (RFC 8628 §3.5, RFC 6749 §5.2).
  ``e.code`` is a stable string shared with every other deviceflow binding.
* :class:`MisuseError` and :class:`ConfigError` mean the caller did something
  wrong; nothing about the flow changed.

Messages never contain secrets (device codes, tokens, client secrets).
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

__all__ = [
    "DeviceFlowError",
    "AccessDenied",
    "ExpiredToken",
    "InvalidClient",
    "InvalidGrant",
    "InvalidScope",
    "InvalidRequest",
    "UnauthorizedClient",
    "Unsupported",
    "OAuthError",
    "InvalidResponse",
    "IssuerMismatch",
    "NetworkError",
    "Cancelled",
    "InternalError",
    "MisuseError",
    "ConfigError",
]


class DeviceFlowError(Exception):
    """A flow ended without a result. ``code`` says why; the server's own
    OAuth fields are kept in ``error``, ``error_description``, ``error_uri``
    and ``status`` when it sent them."""

    code: str = "device_flow_error"

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        error: Optional[str] = None,
        error_description: Optional[str] = None,
        error_uri: Optional[str] = None,
        status: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.error = error
        self.error_description = error_description
        self.error_uri = error_uri
        self.status = status

    @property
    def requires_login(self) -> bool:
        """True when only a new interactive login can recover."""
        return self.code in ("invalid_grant", "expired_token", "access_denied")

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}={getattr(self, name)!r}"
            for name in ("error", "status")
            if getattr(self, name) is not None
        )
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}{extra})"

    def __reduce__(self) -> Tuple[Any, ...]:  # keep the keyword fields through pickle
        return (_from_core, (self.code, self.message, self.error,
                             self.error_description, self.error_uri, self.status))


class AccessDenied(DeviceFlowError):
    """The user denied the request (RFC 8628 §3.5)."""

    code = "access_denied"


class ExpiredToken(DeviceFlowError):
    """The device code expired before the user approved (RFC 8628 §3.5)."""

    code = "expired_token"


class InvalidClient(DeviceFlowError):
    """Client authentication failed (RFC 6749 §5.2)."""

    code = "invalid_client"


class InvalidGrant(DeviceFlowError):
    """The device code or refresh token is invalid, used or revoked: log in again."""

    code = "invalid_grant"


class InvalidScope(DeviceFlowError):
    code = "invalid_scope"


class InvalidRequest(DeviceFlowError):
    code = "invalid_request"


class UnauthorizedClient(DeviceFlowError):
    """The client may not use this grant."""

    code = "unauthorized_client"


class Unsupported(DeviceFlowError):
    """The server does not offer what was asked (no device endpoint, grant type
    unsupported, GitHub's ``device_flow_disabled``)."""

    code = "unsupported"


class OAuthError(DeviceFlowError):
    """Any other OAuth error from the server; its code is in ``error``."""

    code = "server_error"


class InvalidResponse(DeviceFlowError):
    """The server's answer was malformed, oversized, of the wrong type or unsafe to show."""

    code = "invalid_response"


class IssuerMismatch(DeviceFlowError):
    """Discovery returned metadata for a different issuer (RFC 8414 §3.3)."""

    code = "issuer_mismatch"


class NetworkError(DeviceFlowError):
    """The server could not be reached, repeatedly."""

    code = "network_error"


class Cancelled(DeviceFlowError):
    """The flow was cancelled by the caller."""

    code = "cancelled"


class InternalError(DeviceFlowError):
    """A bug in deviceflow (a Rust panic, caught). Please report it."""

    code = "internal_error"


_BY_CODE = {
    cls.code: cls
    for cls in (
        AccessDenied, ExpiredToken, InvalidClient, InvalidGrant, InvalidScope,
        InvalidRequest, UnauthorizedClient, Unsupported, OAuthError,
        InvalidResponse, IssuerMismatch, NetworkError, Cancelled, InternalError,
    )
}


def _from_core(
    code: str,
    message: str,
    error: Optional[str] = None,
    error_description: Optional[str] = None,
    error_uri: Optional[str] = None,
    status: Optional[int] = None,
) -> DeviceFlowError:
    """The exception for a core ``FlowError`` (called by the native module)."""
    cls = _BY_CODE.get(code, DeviceFlowError)
    return cls(message, code=code, error=error, error_description=error_description,
               error_uri=error_uri, status=status)


class MisuseError(Exception):
    """The caller used a machine wrongly (h11's ``LocalProtocolError``): ``code``
    is ``unknown_request`` (a stale or unknown request id) or ``finished``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.message, self.code))


class ConfigError(ValueError):
    """The configuration cannot start a flow (``code`` is ``invalid_config``)."""

    code = "invalid_config"
