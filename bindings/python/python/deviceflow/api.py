"""The blocking high-level API: ``login``, ``request_device_code`` +
``poll_device_token``, ``refresh``, ``revoke``, ``discover``.

Standard library only (``urllib``; TLS verified; a timeout on every request).
Pass ``transport=`` to use another HTTP client (see ``deviceflow.adapters``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Optional, Sequence, Union, cast

from ._native import DeviceFlow, Discovery, Refresh, Revocation
from .authorization import DeviceAuthorization
from .clock import Clock
from .config import FlowOptions, Timing, flow_config
from .dpop import Signer, dpop_config
from .driver import OnPrompt, drive
from .endpoints import from_metadata, need_endpoint, refresh_config, revocation_config
from .prompt import print_prompt
from .transport import DEFAULT_TIMEOUT, Transport, default_transport

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._values import ServerMetadata, TokenSet  # loaded on first use (see __init__.py)


def discover(issuer: str, *, transport: Optional[Transport] = None,
             timeout: float = DEFAULT_TIMEOUT, timing: Optional[Timing] = None) -> ServerMetadata:
    """The server's metadata (OpenID Connect Discovery, then RFC 8414)."""
    clock = Clock()
    machine = Discovery(issuer, timing=timing, now_ms=clock.now())
    return cast("ServerMetadata", drive(machine, transport or default_transport(), clock, timeout))


def request_device_code(*, client_id: str, transport: Optional[Transport] = None,
                        timeout: float = DEFAULT_TIMEOUT,
                        **options: Unpack[FlowOptions]) -> DeviceAuthorization:
    """Starts a device authorization (RFC 8628 §3.1, after discovery when only
    ``issuer`` is given) and returns what to show the user. ``options``: see
    ``deviceflow.config.FlowOptions``."""
    clock = Clock()
    flow = DeviceFlow(flow_config(client_id=client_id, **options), now_ms=clock.now())
    transport, signer = transport or default_transport(), options.get("dpop")
    prompt = drive(flow, transport, clock, timeout, stop_at_prompt=True, signer=signer)
    return DeviceAuthorization(flow, prompt, transport, clock, timeout, signer=signer)


def poll_device_token(auth: DeviceAuthorization, *,
                      cancel_event: Optional[threading.Event] = None) -> TokenSet:
    """Polls until the user approves (RFC 8628 §3.4, §3.5). Raises AccessDenied,
    ExpiredToken, ... or Cancelled when ``cancel_event`` is set."""
    return cast("TokenSet", drive(auth.flow, auth.transport, auth.clock, auth.timeout,
                                cancel_event=cancel_event, signer=auth.signer))


def login(*, client_id: str, on_code: OnPrompt = print_prompt,
          cancel_event: Optional[threading.Event] = None, transport: Optional[Transport] = None,
          timeout: float = DEFAULT_TIMEOUT, **options: Unpack[FlowOptions]) -> TokenSet:
    """The whole device flow: ``on_code(prompt)`` is called once with the user
    code and verification URI (default: printed to stderr), then this blocks
    until the user approves, denies, or the code expires. ``dpop``: a
    ``deviceflow.Signer`` (e.g. ``SoftwareKey.generate()``) every request proves
    possession of; the server then binds the tokens to it (RFC 9449, see
    ``deviceflow.dpop``). Refresh and revoke them with the same ``dpop=``."""
    auth = request_device_code(client_id=client_id, transport=transport, timeout=timeout,
                               **options)
    try:
        on_code(auth.prompt)
    except BaseException:
        auth.cancel()
        raise
    return poll_device_token(auth, cancel_event=cancel_event)


def refresh(
    token: Union[str, TokenSet],
    *,
    client_id: str,
    token_endpoint: Optional[str] = None,
    issuer: Optional[str] = None,
    client_secret: Optional[str] = None,
    client_auth: Optional[str] = None,
    scope: Optional[str] = None,
    extra_token_types: Optional[Sequence[str]] = None,
    dpop: Optional[Signer] = None,
    timing: Optional[Timing] = None,
    transport: Optional[Transport] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> TokenSet:
    """New tokens for a refresh token or a TokenSet (RFC 6749 §6). Keeps the old
    refresh token when the server does not rotate it. ``InvalidGrant`` means:
    log in again."""
    transport = transport or default_transport()
    if need_endpoint(token_endpoint, issuer, "token_endpoint"):
        meta = discover(issuer, transport=transport, timeout=timeout, timing=timing)  # type: ignore[arg-type]
        token_endpoint = from_metadata(meta, "token_endpoint")
    config = refresh_config(token, token_endpoint, client_id=client_id,  # type: ignore[arg-type]
                            client_secret=client_secret, client_auth=client_auth, scope=scope,
                            timing=timing, extra_token_types=extra_token_types)
    if dpop is not None:
        config["dpop"] = dpop_config(dpop)
    clock = Clock()
    return cast("TokenSet", drive(Refresh(config, now_ms=clock.now()), transport, clock, timeout,
                                signer=dpop))


def revoke(
    token: Union[str, TokenSet],
    *,
    client_id: str,
    revocation_endpoint: Optional[str] = None,
    issuer: Optional[str] = None,
    token_type_hint: Optional[str] = None,
    client_secret: Optional[str] = None,
    client_auth: Optional[str] = None,
    dpop: Optional[Signer] = None,
    timing: Optional[Timing] = None,
    transport: Optional[Transport] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Revokes a token (RFC 7009). For a TokenSet, its refresh token (which
    ends the grant) or else its access token."""
    transport = transport or default_transport()
    if need_endpoint(revocation_endpoint, issuer, "revocation_endpoint"):
        meta = discover(issuer, transport=transport, timeout=timeout, timing=timing)  # type: ignore[arg-type]
        revocation_endpoint = from_metadata(meta, "revocation_endpoint")
    config = revocation_config(token, revocation_endpoint,  # type: ignore[arg-type]
                               client_id=client_id, client_secret=client_secret,
                               client_auth=client_auth, token_type_hint=token_type_hint,
                               timing=timing)
    if dpop is not None:
        config["dpop"] = dpop_config(dpop)
    clock = Clock()
    drive(Revocation(config, now_ms=clock.now()), transport, clock, timeout, signer=dpop)
