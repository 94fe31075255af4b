"""Keyword arguments of the high-level functions → the core's configuration
(a plain dict the native machines parse and validate; nothing is checked here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Sequence, Tuple, TypedDict, Union

from ._native import provider_info
from .dpop import Signer, dpop_config

if TYPE_CHECKING:  # no runtime dependency: type checkers know typing_extensions
    from typing_extensions import Unpack

Params = Union[Mapping[str, str], Sequence[Tuple[str, str]]]
Timing = Mapping[str, int]


class FlowOptions(TypedDict, total=False):
    """The device flow's options beside ``client_id``, spelled once for ``login``,
    ``request_device_code`` and their ``async_`` forms (all optional, ``None`` = not given)."""

    issuer: Optional[str]
    device_authorization_endpoint: Optional[str]
    token_endpoint: Optional[str]
    scope: Optional[str]
    client_secret: Optional[str]
    client_auth: Optional[str]
    params: Optional[Params]
    #: A preset (``github``, ``google``, ``microsoft`` with ``tenant``, ``gitlab`` with
    #: ``tenant`` as its base URL) fills whatever was not given explicitly.
    provider: Optional[str]
    tenant: Optional[str]
    extra_token_types: Optional[Sequence[str]]
    #: A ``deviceflow.Signer`` every request proves possession of (RFC 9449).
    dpop: Optional[Signer]
    timing: Optional[Timing]


def drop_none(**fields: Any) -> Dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def client_fields(client_id: str, client_secret: Optional[str], client_auth: Optional[str]) -> Dict[str, Any]:
    return drop_none(client_id=client_id, client_secret=client_secret, client_auth=client_auth)


def flow_config(*, client_id: str, **options: Unpack[FlowOptions]) -> Dict[str, Any]:
    """The device flow ``Config`` (with ``dpop`` as the core's DPoP configuration)."""
    unknown = sorted(set(options) - set(FlowOptions.__annotations__))
    if unknown:
        raise TypeError(f"got an unexpected keyword argument {unknown[0]!r}")
    o = options
    issuer, dae, te = o.get("issuer"), o.get("device_authorization_endpoint"), o.get("token_endpoint")
    scope, client_secret, client_auth = o.get("scope"), o.get("client_secret"), o.get("client_auth")
    provider, params, timing = o.get("provider"), o.get("params"), o.get("timing")
    if provider is not None:
        info = provider_info(provider, o.get("tenant"))
        issuer = issuer or info["issuer"]
        dae = dae or info["device_authorization_endpoint"]
        te = te or info["token_endpoint"]
        scope = scope if scope is not None else info["default_scope"]
        if client_secret is not None and client_auth is None:
            client_auth = info["client_auth"]
    extra_token_types, dpop = o.get("extra_token_types"), o.get("dpop")
    return drop_none(
        **client_fields(client_id, client_secret, client_auth),
        issuer=issuer,
        device_authorization_endpoint=dae,
        token_endpoint=te,
        scope=scope,
        params=list(params.items()) if isinstance(params, Mapping) else params,
        timing=dict(timing) if timing is not None else None,
        extra_token_types=list(extra_token_types) if extra_token_types is not None else None,
        dpop=dpop_config(dpop) if dpop is not None else None,
    )
