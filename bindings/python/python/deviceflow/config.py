"""Keyword arguments of the high-level functions → the core's configuration
(a plain dict the native machines parse and validate; nothing is checked here)."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from ._native import provider_info

Params = Union[Mapping[str, str], Sequence[Tuple[str, str]]]


def drop_none(**fields: Any) -> Dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def client_fields(client_id: str, client_secret: Optional[str], client_auth: Optional[str]) -> Dict[str, Any]:
    return drop_none(client_id=client_id, client_secret=client_secret, client_auth=client_auth)


def flow_config(
    *,
    client_id: str,
    issuer: Optional[str] = None,
    device_authorization_endpoint: Optional[str] = None,
    token_endpoint: Optional[str] = None,
    scope: Optional[str] = None,
    client_secret: Optional[str] = None,
    client_auth: Optional[str] = None,
    params: Optional[Params] = None,
    timing: Optional[Mapping[str, int]] = None,
    provider: Optional[str] = None,
    tenant: Optional[str] = None,
    extra_token_types: Optional[Sequence[str]] = None,
) -> Dict[str, Any]:
    """The device flow ``Config``. A ``provider`` preset (``github``, ``google``,
    ``microsoft`` with ``tenant``, ``gitlab`` with ``tenant`` as its base URL)
    fills whatever was not given explicitly."""
    if provider is not None:
        info = provider_info(provider, tenant)
        issuer = issuer or info["issuer"]
        device_authorization_endpoint = (
            device_authorization_endpoint or info["device_authorization_endpoint"])
        token_endpoint = token_endpoint or info["token_endpoint"]
        scope = scope if scope is not None else info["default_scope"]
        if client_secret is not None and client_auth is None:
            client_auth = info["client_auth"]
    return drop_none(
        **client_fields(client_id, client_secret, client_auth),
        issuer=issuer,
        device_authorization_endpoint=device_authorization_endpoint,
        token_endpoint=token_endpoint,
        scope=scope,
        params=list(params.items()) if isinstance(params, Mapping) else params,
        timing=dict(timing) if timing is not None else None,
        extra_token_types=list(extra_token_types) if extra_token_types is not None else None,
    )
