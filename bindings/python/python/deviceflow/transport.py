"""How requests reach the network. A transport is any callable
``(request, timeout) -> Response`` (or an ``async`` one); it raises
:class:`TransportError` when there is no HTTP response at all. Every HTTP status,
3xx/4xx/5xx included, is a ``Response``: the machine decides what it means.

The default, ``UrllibTransport`` (``deviceflow.urllib_transport``), uses only the
standard library; it is imported on first use to keep ``import deviceflow`` fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Mapping, NamedTuple, Protocol, Sequence, Tuple, Union

from ._native import __version__

if TYPE_CHECKING:  # the value classes load on first use (see deviceflow/__init__.py)
    from ._values import HttpRequest

__all__ = ["Response", "TransportError", "Transport", "AsyncTransport", "default_transport",
           "DEFAULT_TIMEOUT", "DEFAULT_MAX_BODY_BYTES"]

#: Seconds allowed for one whole request (connect, send, receive).
DEFAULT_TIMEOUT = 30.0
#: Bodies are read up to this size; the core refuses anything over its own limit (64 KiB).
DEFAULT_MAX_BODY_BYTES = 1 << 20
USER_AGENT = f"deviceflow-python/{__version__}"

Headers = Union[Mapping[str, str], Sequence[Tuple[str, str]]]
TRANSPORT_ERROR_KINDS = ("timeout", "connect", "tls", "io", "other")


class Response(NamedTuple):
    """An HTTP response of any status."""

    status: int
    headers: Headers
    body: bytes


class TransportError(Exception):
    """A request produced no HTTP response. ``kind`` is ``timeout``, ``connect``,
    ``tls``, ``io`` or ``other`` (the machine backs off and retries, RFC 8628 §3.5)."""

    def __init__(self, kind: str, message: str = "") -> None:
        if kind not in TRANSPORT_ERROR_KINDS:
            raise ValueError(f"unknown transport error kind {kind!r}")
        super().__init__(message or kind)
        self.kind = kind


class Transport(Protocol):
    def __call__(self, request: HttpRequest, timeout: float) -> Response: ...


class AsyncTransport(Protocol):
    def __call__(self, request: HttpRequest, timeout: float) -> Awaitable[Response]: ...


def default_transport() -> Any:
    """A new :class:`deviceflow.urllib_transport.UrllibTransport`."""
    from .urllib_transport import UrllibTransport

    return UrllibTransport()


def error_kind(exc: BaseException) -> str:
    """The transport error kind for a standard library exception."""
    import http.client
    import socket
    import ssl
    import urllib.error

    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return error_kind(exc.reason)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        return "tls"
    if isinstance(exc, (ConnectionRefusedError, socket.gaierror, urllib.error.URLError)):
        return "connect"
    if isinstance(exc, (ConnectionError, http.client.HTTPException)):
        return "io"
    return "other"
