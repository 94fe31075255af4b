# Type stubs for the Rust extension module (bindings/python/src).
from typing import Any, Final, Iterable, Literal, Mapping, Optional, Tuple, Union, final

__version__: Final[str]
__all__ = [
    "AwaitingResponse",
    "DeviceFlow",
    "Discovery",
    "Display",
    "Done",
    "Failed",
    "HttpRequest",
    "Prompt",
    "Refresh",
    "Revocation",
    "Revoked",
    "Send",
    "ServerMetadata",
    "Sign",
    "SoftwareKey",
    "TokenSet",
    "Wait",
    "__version__",
    "_panic_for_tests",
    "dpop_resource_headers",
    "dpop_resource_input",
    "provider_info",
]

_Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]
_Body = Union[bytes, bytearray, str, None]
_TransportErrorKind = Literal["timeout", "connect", "tls", "io", "other"]
_WaitReason = Literal["interval", "slow_down", "backoff", "retry_after", "expiry"]

@final
class HttpRequest:
    """A request to perform exactly once; repr hides the body and Authorization."""
    __match_args__ = ("id", "method", "url", "headers", "body")
    @property
    def id(self) -> int: ...
    @property
    def method(self) -> Literal["GET", "POST"]: ...
    @property
    def url(self) -> str: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def timeout_ms(self) -> Optional[int]:
        """The most this request may take (what is left of a one-shot operation's
        budget), or None for token polls: end it at the smaller of this and your own."""
        ...

@final
class Prompt:
    """What to show the user (RFC 8628 §3.3)."""
    @property
    def user_code(self) -> str: ...
    @property
    def verification_uri(self) -> str: ...
    @property
    def verification_uri_complete(self) -> Optional[str]: ...
    @property
    def verification_host(self) -> str: ...
    @property
    def expires_at(self) -> int: ...
    @property
    def expires_in(self) -> int: ...
    @property
    def interval(self) -> int: ...
    @property
    def message(self) -> Optional[str]: ...

@final
class TokenSet:
    """Tokens (RFC 6749 §5.1); repr redacts them, to_dict() writes them out for storage."""
    @property
    def access_token(self) -> str: ...
    @property
    def token_type(self) -> str: ...
    @property
    def expires_at(self) -> Optional[int]: ...
    @property
    def expires_in(self) -> Optional[int]: ...
    @property
    def refresh_token(self) -> Optional[str]: ...
    @property
    def scope(self) -> Optional[str]: ...
    @property
    def id_token(self) -> Optional[str]: ...
    @property
    def extra(self) -> dict[str, Any]: ...
    def needs_refresh(self, now_ms: Optional[int] = None, skew_ms: int = 60000) -> bool: ...
    def is_expired(self, now_ms: Optional[int] = None) -> bool: ...
    def id_token_claims_unverified(self) -> Optional[dict[str, Any]]: ...
    def to_dict(self) -> dict[str, Any]: ...
    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> TokenSet: ...

@final
class ServerMetadata:
    @property
    def issuer(self) -> str: ...
    @property
    def device_authorization_endpoint(self) -> Optional[str]: ...
    @property
    def token_endpoint(self) -> Optional[str]: ...
    @property
    def revocation_endpoint(self) -> Optional[str]: ...
    @property
    def token_endpoint_auth_methods_supported(self) -> list[str]: ...
    @property
    def grant_types_supported(self) -> list[str]: ...
    @property
    def scopes_supported(self) -> list[str]: ...
    @property
    def source(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Revoked:
    @property
    def status(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Send:
    __match_args__ = ("request",)
    @property
    def request(self) -> HttpRequest: ...

@final
class Display:
    __match_args__ = ("prompt",)
    @property
    def prompt(self) -> Prompt: ...

@final
class Wait:
    __match_args__ = ("until", "delay_ms", "reason")
    @property
    def until(self) -> int: ...
    @property
    def delay_ms(self) -> int: ...
    @property
    def reason(self) -> _WaitReason: ...

@final
class AwaitingResponse:
    __match_args__ = ("id",)
    @property
    def id(self) -> int: ...

@final
class Sign:
    """DPoP: sign ``input`` (UTF-8) with ES256, then ``handle_signature(id, sig)``."""
    __match_args__ = ("id", "input")
    @property
    def id(self) -> int: ...
    @property
    def input(self) -> str: ...

@final
class Done:
    __match_args__ = ("result",)
    @property
    def result(self) -> Any: ...  # TokenSet | ServerMetadata | Revoked, by machine

@final
class Failed:
    __match_args__ = ("error",)
    @property
    def error(self) -> Any: ...  # deviceflow.errors.DeviceFlowError

_Action = Union[Send, Sign, Display, Wait, AwaitingResponse, Done, Failed]

class _Machine:
    def poll_action(self, now_ms: Optional[int] = None) -> _Action: ...
    def handle_response(self, id: int, status: int, headers: _Headers, body: _Body,
                        now_ms: Optional[int] = None) -> None: ...
    def handle_signature(self, id: int, signature: bytes,
                         now_ms: Optional[int] = None) -> None: ...
    def handle_transport_error(self, id: int, kind: _TransportErrorKind,
                               now_ms: Optional[int] = None) -> None: ...
    def cancel(self, now_ms: Optional[int] = None) -> None: ...
    @property
    def is_finished(self) -> bool: ...

@final
class DeviceFlow(_Machine):
    """RFC 8628 client machine. Config keys: client_id, client_secret, client_auth,
    issuer, device_authorization_endpoint, token_endpoint, scope, params, timing."""
    def __new__(cls, config: Optional[Mapping[str, Any]] = None, /, *,
                 now_ms: Optional[int] = None, **kwargs: Any) -> DeviceFlow: ...
    @property
    def prompt(self) -> Optional[Prompt]: ...
    @property
    def metadata(self) -> Optional[ServerMetadata]: ...
    @property
    def token_endpoint(self) -> Optional[str]: ...
    @property
    def state(self) -> str: ...
    @property
    def dpop_nonces(self) -> dict[str, str]: ...

@final
class Discovery(_Machine):
    def __new__(cls, issuer: str, *, timing: Optional[Mapping[str, int]] = None,
                 now_ms: Optional[int] = None) -> Discovery: ...

@final
class Refresh(_Machine):
    """Config keys: client fields, token_endpoint, refresh_token, scope, timing, dpop."""
    def __new__(cls, config: Optional[Mapping[str, Any]] = None, /, *,
                 now_ms: Optional[int] = None, **kwargs: Any) -> Refresh: ...
    @property
    def dpop_nonces(self) -> dict[str, str]: ...

@final
class Revocation(_Machine):
    """Config keys: client fields, revocation_endpoint, token, token_type_hint, timing, dpop."""
    def __new__(cls, config: Optional[Mapping[str, Any]] = None, /, *,
                 now_ms: Optional[int] = None, **kwargs: Any) -> Revocation: ...
    @property
    def dpop_nonces(self) -> dict[str, str]: ...

@final
class SoftwareKey:
    """An ES256 (P-256) key in memory; repr shows only the thumbprint."""
    def __new__(cls, secret: bytes) -> SoftwareKey: ...
    @staticmethod
    def generate() -> SoftwareKey: ...
    @staticmethod
    def from_secret(secret: str) -> SoftwareKey: ...
    def secret(self) -> str: ...
    def public_jwk(self) -> dict[str, str]: ...
    @property
    def thumbprint(self) -> str: ...
    def sign(self, data: bytes) -> bytes: ...

def dpop_resource_input(config: Mapping[str, Any], method: str, url: str, access_token: str,
                        now_ms: Optional[int] = None) -> str: ...
def dpop_resource_headers(input: str, signature: bytes,
                          access_token: str) -> list[Tuple[str, str]]: ...

def provider_info(name: str, tenant_or_url: Optional[str] = None) -> dict[str, Any]: ...
def _panic_for_tests(message: str) -> None: ...
