"""The core's values and actions as frozen dataclasses. The native module writes each
one as the core's JSON (the form ``tests/vectors`` checks) and ``_action``/``_value``
read it here; nothing is computed on this side. No ``repr`` shows a secret: device
codes, tokens and client secrets are ``repr=False`` or shown as ``<redacted>``.

Loaded on first use, not by ``import deviceflow`` (``dataclasses`` imports ``inspect``, and
building the classes costs as much again): by the native module's first conversion or by
``deviceflow.<class>`` (PEP 562 ``__getattr__`` in ``__init__.py`` and in ``_native``).
Do not import ``_native`` at module level: the native module imports this one."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Dict, List, Literal, Optional, Tuple, Union

WaitReason = Literal["interval", "slow_down", "backoff", "retry_after", "expiry"]
_REDACTED = "<redacted>"


def _now(now_ms: Optional[int]) -> int:
    return now_ms if now_ms is not None else time.time_ns() // 1_000_000


@dataclass(frozen=True, eq=False)
class HttpRequest:
    """A request to perform exactly once; repr hides the body and Authorization
    (they carry the device code, refresh token or client secret)."""

    __match_args__: ClassVar[Tuple[str, ...]] = ("id", "method", "url", "headers", "body")
    id: int
    method: Literal["GET", "POST"]
    url: str
    headers: List[Tuple[str, str]]
    body: bytes
    #: The most this request may take, in ms (what is left of a one-shot operation's
    #: budget); None for token polls. End it at the smaller of this and your own deadline.
    timeout_ms: Optional[int] = None

    def __repr__(self) -> str:
        headers = [(n, _REDACTED if n.lower() == "authorization" else v) for n, v in self.headers]
        return (f"HttpRequest(id={self.id!r}, method={self.method!r}, url={self.url!r}, "
                f"headers={headers!r}, body={_REDACTED}, timeout_ms={self.timeout_ms!r})")


@dataclass(frozen=True)
class Prompt:
    """What to show the user (RFC 8628 §3.3). Every string was checked by the core."""

    user_code: str
    verification_uri: str
    verification_uri_complete: Optional[str]
    verification_host: str = field(repr=False)
    expires_at: int
    expires_in: int = field(repr=False)
    interval: int
    message: Optional[str] = field(repr=False)


@dataclass(frozen=True)
class TokenSet:
    """Tokens from the token endpoint (RFC 6749 §5.1). ``repr`` redacts every token;
    ``to_dict()`` writes them out for storage (treat its output as a secret)."""

    access_token: str = field(repr=False)
    token_type: str
    #: Unix epoch milliseconds (when the flow ran on the default clock).
    expires_at: Optional[int]
    expires_in: Optional[int]
    refresh_token: Optional[str] = field(repr=False)
    scope: Optional[str]
    id_token: Optional[str] = field(repr=False)
    extra: Dict[str, Any]

    def needs_refresh(self, now_ms: Optional[int] = None, skew_ms: int = 60000) -> bool:
        """True when the access token expires within ``skew_ms`` of ``now_ms`` (default:
        now). A token without a known expiry never needs a refresh by this rule."""
        return self.expires_at is not None and _now(now_ms) + skew_ms >= self.expires_at

    def is_expired(self, now_ms: Optional[int] = None) -> bool:
        return self.needs_refresh(now_ms, 0)

    def id_token_claims_unverified(self) -> Optional[Dict[str, Any]]:
        """The ID token's claims, NOT verified: for display only ("signed in as ...")."""
        from ._native import _id_token_claims

        return None if self.id_token is None else _id_token_claims(self.id_token)

    def to_dict(self) -> Dict[str, Any]:
        """Every field, tokens included, as JSON-ready data for storage."""
        return _fields_dict(self)

    @staticmethod
    def from_dict(data: Any) -> TokenSet:
        """The inverse of ``to_dict()``, checked by the core."""
        from ._native import _token_set

        return _token_set(data)

    def __repr__(self) -> str:
        def secret(value: Optional[str]) -> str:
            return "None" if value is None else _REDACTED

        return (f"TokenSet(token_type={self.token_type!r}, access_token={_REDACTED}, "
                f"refresh_token={secret(self.refresh_token)}, id_token={secret(self.id_token)}, "
                f"scope={self.scope!r}, expires_at={self.expires_at!r}, "
                f"extra_keys={list(self.extra)!r})")


@dataclass(frozen=True)
class ServerMetadata:
    """What discovery learned about a server (RFC 8414 §2). Endpoints are checked URLs."""

    issuer: str
    device_authorization_endpoint: Optional[str]
    token_endpoint: Optional[str]
    revocation_endpoint: Optional[str]
    token_endpoint_auth_methods_supported: List[str] = field(repr=False)
    grant_types_supported: List[str] = field(repr=False)
    scopes_supported: List[str] = field(repr=False)
    #: The URL the document came from.
    source: str

    def to_dict(self) -> Dict[str, Any]:
        return _fields_dict(self)


@dataclass(frozen=True)
class Revoked:
    """A revocation succeeded (RFC 7009 §2.2)."""

    status: int

    def to_dict(self) -> Dict[str, Any]:
        return _fields_dict(self)


@dataclass(frozen=True, eq=False)
class Send:
    """Perform ``request``, then call ``handle_response`` or ``handle_transport_error``
    with its id."""

    request: HttpRequest


@dataclass(frozen=True, eq=False)
class Display:
    """Show ``prompt`` to the user (RFC 8628 §3.3). Handed out once."""

    prompt: Prompt


@dataclass(frozen=True)
class Wait:
    """Nothing to do before ``until`` (``delay_ms`` from the ``now_ms`` given). Waking
    early is harmless."""

    until: int
    delay_ms: int
    reason: WaitReason


@dataclass(frozen=True)
class AwaitingResponse:
    """A request is in flight: feed its response."""

    id: int


@dataclass(frozen=True)
class Sign:
    """DPoP: sign ``input`` (UTF-8) with ES256, then ``handle_signature(id, signature)``
    (raw r||s or DER). Repeats until answered."""

    id: int
    input: str


@dataclass(frozen=True, eq=False)
class Done:
    """Finished: ``result`` is a ``TokenSet``, ``ServerMetadata`` or ``Revoked``."""

    result: Any


@dataclass(frozen=True, eq=False)
class Failed:
    """Finished without a result: ``error`` is the ``DeviceFlowError`` to raise."""

    error: Any


Action = Union[Send, Sign, Display, Wait, AwaitingResponse, Done, Failed]
_RESULTS = {"TokenSet": TokenSet, "ServerMetadata": ServerMetadata, "Revoked": Revoked,
            "Prompt": Prompt}


def _fields_dict(value: Any) -> Dict[str, Any]:
    """The core's serde form of a value (a fresh copy)."""
    return {f.name: copy.deepcopy(getattr(value, f.name)) for f in fields(value)}


def _value(kind: str, text: str) -> Any:
    """A ``Prompt``, ``TokenSet``, ``ServerMetadata`` or ``Revoked`` from the core's JSON."""
    return _RESULTS[kind](**json.loads(text))


def _action(result: str, text: str) -> Action:
    """The action the core wrote; a ``Done`` holds a ``result`` (class name)."""
    data: Dict[str, Any] = json.loads(text)
    kind = data.pop("type")
    if kind == "send":
        headers = [(h["name"], h["value"]) for h in data.pop("headers")]
        body = data.pop("body").encode()
        return Send(HttpRequest(headers=headers, body=body, **data))
    if kind == "display":
        return Display(Prompt(**data))
    if kind == "wait":
        return Wait(**data)
    if kind == "awaiting_response":
        return AwaitingResponse(**data)
    if kind == "sign":
        return Sign(**data)
    if kind == "done":
        return Done(_RESULTS[result](**data))
    from .errors import _from_core

    return Failed(_from_core(**data))
