"""deviceflow: an OAuth 2.0 Device Authorization Grant (RFC 8628) client.

High level (standard library only; TLS verified; a timeout on every request)::

    import deviceflow
    tokens = deviceflow.login(issuer="https://issuer.example", client_id="my-cli",
                              scope="openid offline_access")
    tokens = deviceflow.refresh(tokens, issuer="https://issuer.example", client_id="my-cli")

``async_login``, ``async_refresh``, ... do the same without blocking an asyncio
loop. Low level, the sans-IO machines (``DeviceFlow``, ``Discovery``,
``Refresh``, ``Revocation``) hand out actions (``Send``, ``Display``, ``Wait``,
``AwaitingResponse``, ``Done``, ``Failed``) for your own driver::

    flow = deviceflow.DeviceFlow(client_id="my-cli", issuer="https://issuer.example")
    match flow.poll_action(now_ms):
        case deviceflow.Send(request): ...
        case deviceflow.Wait(until, delay_ms, reason): ...

Every outcome error is a ``DeviceFlowError`` with a stable ``.code``
(``access_denied``, ``expired_token``, ...). No ``repr`` shows a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

from ._native import (
    DeviceFlow,
    Discovery,
    Refresh,
    Revocation,
    SoftwareKey,
    __version__,
    provider_info,
)
from .api import discover, login, poll_device_token, refresh, request_device_code, revoke
from .authorization import DeviceAuthorization
from .dpop import Signer, dpop_headers
from .errors import (
    AccessDenied,
    Cancelled,
    ConfigError,
    DeviceFlowError,
    ExpiredToken,
    InternalError,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidResponse,
    InvalidScope,
    IssuerMismatch,
    MisuseError,
    NetworkError,
    OAuthError,
    UnauthorizedClient,
    Unsupported,
)
from ._profile_errors import KeyringUnavailable, NotLoggedIn, ProfileError, UnknownProfileVersion
from .prompt import print_prompt
from .transport import DEFAULT_TIMEOUT, AsyncTransport, Response, Transport, TransportError

if TYPE_CHECKING:
    from ._values import (
        Action,
        AwaitingResponse,
        Display,
        Done,
        Failed,
        HttpRequest,
        Prompt,
        Revoked,
        Send,
        ServerMetadata,
        Sign,
        TokenSet,
        Wait,
    )
    from .async_api import (
        async_discover,
        async_login,
        async_poll_device_token,
        async_refresh,
        async_request_device_code,
        async_revoke,
    )
    from .profile import Profile, ProfileInfo
    from .urllib_transport import UrllibTransport

# Imported on first use: asyncio and urllib.request/http.client/ssl cost more to
# import than everything else together, and the value classes are dataclasses
# (``dataclasses`` imports ``inspect``; building twelve of them is as costly again):
# see bench/python. ``Action`` (what ``poll_action`` returns) is
# ``Union[Send, Sign, Display, Wait, AwaitingResponse, Done, Failed]``.
_LAZY = {
    "Action": "_values", "AwaitingResponse": "_values", "Display": "_values",
    "Done": "_values", "Failed": "_values", "HttpRequest": "_values", "Prompt": "_values",
    "Revoked": "_values", "Send": "_values", "ServerMetadata": "_values", "Sign": "_values",
    "TokenSet": "_values", "Wait": "_values",
    "async_discover": "async_api", "async_login": "async_api",
    "async_poll_device_token": "async_api", "async_refresh": "async_api",
    "async_request_device_code": "async_api", "async_revoke": "async_api",
    "UrllibTransport": "urllib_transport",
    "Profile": "profile", "ProfileInfo": "profile",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deviceflow' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    # high level
    "login", "request_device_code", "poll_device_token", "refresh", "revoke", "discover",
    "async_login", "async_request_device_code", "async_poll_device_token",
    "async_refresh", "async_revoke", "async_discover",
    "DeviceAuthorization", "print_prompt",
    # values
    "TokenSet", "Prompt", "ServerMetadata", "Revoked", "HttpRequest", "provider_info",
    # sans-IO machines and their actions
    "DeviceFlow", "Discovery", "Refresh", "Revocation",
    "Action", "Send", "Sign", "Display", "Wait", "AwaitingResponse", "Done", "Failed",
    # DPoP (RFC 9449)
    "Signer", "SoftwareKey", "dpop_headers",
    # transports
    "Transport", "AsyncTransport", "Response", "TransportError", "UrllibTransport",
    "DEFAULT_TIMEOUT",
    # stored logins shared with the CLI
    "Profile", "ProfileInfo", "ProfileError", "NotLoggedIn", "UnknownProfileVersion",
    "KeyringUnavailable",
    # errors
    "DeviceFlowError", "AccessDenied", "ExpiredToken", "InvalidClient", "InvalidGrant",
    "InvalidScope", "InvalidRequest", "UnauthorizedClient", "Unsupported", "OAuthError",
    "InvalidResponse", "IssuerMismatch", "NetworkError", "Cancelled", "InternalError",
    "MisuseError", "ConfigError",
    "__version__",
]
