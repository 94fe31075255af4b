"""DPoP (RFC 9449): proof of possession of a key for every request.

Pass ``dpop=signer`` to ``login``, ``refresh`` and ``revoke`` (and their ``async_``
forms): each request to the server then carries a proof the core builds and
``signer`` signs, and the server binds the tokens to that key (``token_type``
``DPoP``). Use the access token with :func:`dpop_headers`, one proof per request::

    key = deviceflow.SoftwareKey.generate()          # or your own Signer
    tokens = deviceflow.login(issuer=..., client_id=..., dpop=key)
    headers = deviceflow.dpop_headers("GET", url, tokens.access_token, key=key)

A signer is anything with ``public_jwk()`` (an EC P-256 JWK: ``kty``, ``crv``,
``x``, ``y``) and ``sign(data) -> bytes`` (ES256 over ``data``, raw ``r||s`` or
DER, as HSMs, cloud KMSs and the ``cryptography`` package return it). The async
drivers also await a ``sign`` that returns an awaitable. ``SoftwareKey`` is the
core's P-256 key (no Python crypto dependency); ``key.secret()`` /
``SoftwareKey.from_secret`` store it beside the tokens it binds.
"""

from __future__ import annotations

import os
from typing import Any, Awaitable, Dict, Mapping, Optional, Protocol, Union, runtime_checkable

from ._native import SoftwareKey, dpop_resource_headers, dpop_resource_input

__all__ = ["Signer", "SoftwareKey", "dpop_config", "dpop_headers"]


@runtime_checkable
class Signer(Protocol):
    """A DPoP key: its public half and ES256 signatures (raw ``r||s`` or DER)."""

    def public_jwk(self) -> Dict[str, Any]: ...

    def sign(self, data: bytes) -> Union[bytes, Awaitable[bytes]]: ...


def _entropy() -> str:
    import base64  # here: the package's import time stays that of the plain device flow

    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


def _public_jwk(signer: Signer) -> Dict[str, str]:
    jwk = signer.public_jwk()
    return {k: str(jwk[k]) for k in ("kty", "crv", "x", "y") if k in jwk}


def dpop_config(signer: Signer, nonces: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """The core's DPoP configuration for one operation: the signer's public key, fresh
    entropy for the proofs' ``jti``, and nonces already known per origin."""
    return {"jwk": _public_jwk(signer), "entropy": _entropy(), "nonces": dict(nonces or {})}


def _origin(url: str) -> str:
    after = url.find("://")
    start = after + 3 if after >= 0 else 0
    end = len(url)
    for sep in "/?#":
        i = url.find(sep, start)
        if i >= 0:
            end = min(end, i)
    return url[:end].lower()


def dpop_headers(method: str, url: str, access_token: str, *, key: Signer,
                 nonce: Optional[str] = None, now_ms: Optional[int] = None) -> Dict[str, str]:
    """``{"Authorization": "DPoP <token>", "DPoP": <proof>}`` for one request to a
    resource server (the proof has ``ath``; ``htu`` is ``url`` without query and
    fragment). When the server answers 401 with ``WWW-Authenticate: DPoP
    error="use_dpop_nonce"``, call again with ``nonce=`` its ``DPoP-Nonce`` header.
    ``key.sign`` must answer synchronously here."""
    config = dpop_config(key, {_origin(url): nonce} if nonce is not None else None)
    signing_input = dpop_resource_input(config, method.upper(), url, access_token, now_ms)
    signature = key.sign(signing_input.encode())
    if not isinstance(signature, (bytes, bytearray, memoryview)):
        raise TypeError("dpop_headers needs a signer whose sign() returns bytes; "
                        "await an async signer's proof yourself")
    pairs = dpop_resource_headers(signing_input, bytes(signature), access_token)
    names = {"authorization": "Authorization", "dpop": "DPoP"}
    return {names.get(name, name): value for name, value in pairs}
