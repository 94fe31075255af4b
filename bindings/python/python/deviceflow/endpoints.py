"""Configurations of the one-shot operations (refresh, revocation), once their
endpoint is known from the caller or from discovery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from .config import client_fields, drop_none
from .errors import ConfigError, Unsupported

if TYPE_CHECKING:  # the value classes load on first use (see deviceflow/__init__.py)
    from ._values import ServerMetadata, TokenSet


def need_endpoint(given: Optional[str], issuer: Optional[str], name: str) -> bool:
    """True when ``name`` must come from discovery; a ConfigError when it cannot."""
    if given is not None:
        return False
    if issuer is None:
        raise ConfigError(f"give {name}, or issuer to discover it")
    return True


def from_metadata(meta: ServerMetadata, name: str) -> str:
    url: Optional[str] = getattr(meta, name)
    if url is None:
        raise Unsupported(f"{meta.issuer} publishes no {name}")
    return url


def refresh_config(token: Union[str, TokenSet], token_endpoint: str, *, client_id: str,
                   client_secret: Optional[str], client_auth: Optional[str],
                   scope: Optional[str], timing: Optional[Mapping[str, int]],
                   extra_token_types: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    from ._values import TokenSet

    if isinstance(token, TokenSet):
        if token.refresh_token is None:
            raise ConfigError("this TokenSet has no refresh token (ask for the offline_access scope?)")
        token = token.refresh_token
    return drop_none(**client_fields(client_id, client_secret, client_auth),
                     token_endpoint=token_endpoint, refresh_token=token, scope=scope,
                     timing=dict(timing) if timing is not None else None,
                     extra_token_types=(list(extra_token_types)
                                        if extra_token_types is not None else None))


def revocation_target(token: Union[str, TokenSet],
                      hint: Optional[str]) -> Tuple[str, Optional[str]]:
    """The token to revoke: for a TokenSet, its refresh token when it has one
    (revoking it ends the whole grant at most servers), else its access token."""
    from ._values import TokenSet

    if isinstance(token, TokenSet):
        if token.refresh_token is not None:
            return token.refresh_token, hint or "refresh_token"
        return token.access_token, hint or "access_token"
    return token, hint


def revocation_config(token: Union[str, TokenSet], revocation_endpoint: str, *, client_id: str,
                      client_secret: Optional[str], client_auth: Optional[str],
                      token_type_hint: Optional[str],
                      timing: Optional[Mapping[str, int]]) -> Dict[str, Any]:
    value, hint = revocation_target(token, token_type_hint)
    return drop_none(**client_fields(client_id, client_secret, client_auth),
                     revocation_endpoint=revocation_endpoint, token=value, token_type_hint=hint,
                     timing=dict(timing) if timing is not None else None)
