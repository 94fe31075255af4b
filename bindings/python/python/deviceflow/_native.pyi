# Type stubs for the Rust extension module (bindings/python/src). The value and action
# classes are dataclasses in deviceflow._values, re-exported by the native module (on first use).
from typing import Any, Final, Iterable, Literal, Mapping, Optional, Tuple, Union, final

from ._values import AwaitingResponse as AwaitingResponse
from ._values import Display as Display
from ._values import Done as Done
from ._values import Failed as Failed
from ._values import HttpRequest as HttpRequest
from ._values import Prompt as Prompt
from ._values import Revoked as Revoked
from ._values import Send as Send
from ._values import ServerMetadata as ServerMetadata
from ._values import Sign as Sign
from ._values import TokenSet as TokenSet
from ._values import Wait as Wait

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
    "_id_token_claims",
    "_panic_for_tests",
    "_token_set",
    "dpop_resource_headers",
    "dpop_resource_input",
    "provider_info",
]

_Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]
_Body = Union[bytes, bytearray, str, None]
_TransportErrorKind = Literal["timeout", "connect", "tls", "io", "other"]
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
def _token_set(data: Mapping[str, Any]) -> TokenSet: ...
def _id_token_claims(id_token: str) -> Optional[dict[str, Any]]: ...
