"""The standard library transport (``urllib.request``): TLS verified, no
redirects, one deadline for the whole request, bounded bodies."""

from __future__ import annotations

import functools
import http.client
import io
import ipaddress
import socket
import ssl
import time
import urllib.parse
import urllib.request
from typing import Any, List, Optional, cast

from ._native import HttpRequest
from .transport import (DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT, USER_AGENT, Response,
                        TransportError, error_kind)

__all__ = ["UrllibTransport"]

# The deadline. A socket timeout bounds one blocking call (one connect, one recv), not a
# request: a server sending its headers one byte every 200 ms keeps plain http.client
# reading for ever. So every blocking call gets the time *left* as its timeout: the TCP
# connect, each socket http.client installs (the TLS handshake runs under it: CPython
# enforces a socket timeout as one deadline over a whole handshake, as over a whole
# sendall), each send, and each recv of the response, head and body (`_DeadlineReader`).
# Out of time, `socket.timeout` is raised as by the socket itself. No watchdog thread,
# nothing to cancel or race with. Not covered: name resolution (getaddrinfo cannot be
# interrupted), which is bounded by the system resolver's own timeouts.


def time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("the request took longer than the timeout")
    return left


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_limited(stream: Any, limit: int) -> bytes:
    """Reads at most ``limit + 1`` bytes (so an oversized body is recognisable);
    the response's reads themselves end at the request's deadline."""
    chunks: List[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read1(min(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class _DeadlineReader(io.RawIOBase):
    """The socket as a raw stream whose every recv gets the time left as its timeout."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        # A file of the socket (what http.client reads through otherwise): it keeps the
        # socket open until the response is closed, after urllib has closed the socket.
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> Optional[int]:
        self._sock.settimeout(time_left(self._deadline))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Stream(io.BufferedReader):
    """Remembers the last line read: the header section must end with an empty line."""

    last_line = b""

    def readline(self, size: Optional[int] = -1) -> bytes:
        self.last_line = super().readline(size)
        return self.last_line


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response, read by the deadline, refusing a cut-off head or body."""

    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: Optional[str] = None,
                 url: Optional[str] = None, *, deadline: float) -> None:
        super().__init__(sock, debuglevel, method, url)
        self.fp.close()  # the plain file http.client made; nothing was read from it
        self.fp = self._stream = _Stream(_DeadlineReader(sock, deadline))

    def begin(self) -> None:
        super().begin()
        # http.client takes the end of the stream for the end of the headers.
        if self._stream.last_line == b"":
            raise http.client.RemoteDisconnected(
                "the server closed the connection inside the response headers")

    def read1(self, n: int = -1) -> bytes:
        expected = None if self.chunked else self.length  # chunked: http.client checks itself
        data = super().read1(n)
        if not data and n and expected:  # http.client returns the short body as it is
            raise http.client.IncompleteRead(b"", expected)
        return data


class _DeadlineConnection(http.client.HTTPConnection):
    """An HTTP connection whose connect, sends and reads all end by ``deadline``."""

    def __init__(self, host: str, *, deadline: float, **kwargs: Any) -> None:
        self._deadline = deadline
        self._sock: Any = None
        super().__init__(host, **kwargs)
        self.response_class = cast("type[http.client.HTTPResponse]", functools.partial(
            _DeadlineResponse, deadline=deadline))

    @property
    def sock(self) -> Any:
        return self._sock

    @sock.setter
    def sock(self, sock: Any) -> None:
        # The TCP socket, then (HTTPS) the TLS one: each starts with the time left, so
        # the TLS handshake, run under the TCP socket's timeout, ends by the deadline.
        self._sock = sock
        if sock is not None:
            sock.settimeout(time_left(self._deadline))

    def connect(self) -> None:
        self.timeout = time_left(self._deadline)  # the TCP connect
        super().connect()

    def send(self, data: Any) -> None:
        if self.sock is not None:  # else http.client connects first (under the deadline)
            self.sock.settimeout(time_left(self._deadline))
        super().send(data)


class _DeadlineHTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    pass


def _deadline(req: urllib.request.Request) -> float:
    deadline = getattr(req, "deadline", None)
    if deadline is None:  # a request that is not ours: its own timeout, from now
        deadline = time.monotonic() + (getattr(req, "timeout", None) or DEFAULT_TIMEOUT)
    return float(deadline)


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        deadline = _deadline(req)

        def connection(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            return _DeadlineConnection(host, deadline=deadline, **kwargs)

        return self.do_open(connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: Optional[ssl.SSLContext]) -> None:
        # Not HTTPSHandler.__init__: on Python 3.12+ it loads the trust store at once.
        urllib.request.AbstractHTTPHandler.__init__(self)
        self._tls = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        deadline = _deadline(req)
        context = self._tls or default_context()

        def connection(host: str, **kwargs: Any) -> http.client.HTTPConnection:
            return _DeadlineHTTPSConnection(host, deadline=deadline, **kwargs)

        return self.do_open(connection, req, context=context)


class _EveryStatus(urllib.request.HTTPErrorProcessor):
    """Every status is a response for the machine to judge, as it came: no
    ``HTTPError``, and so no redirect is ever followed (OAuth endpoints must not
    move a POST with secrets, or turn it into a GET): a 3xx is refused by the core."""

    def http_response(self, request: urllib.request.Request,
                      response: http.client.HTTPResponse) -> http.client.HTTPResponse:
        return response

    https_response = http_response


@functools.lru_cache(maxsize=None)
def default_context() -> ssl.SSLContext:
    """The system's trust store, loaded once, on the first HTTPS request (it takes
    ~20 ms: never at construction, which may be on an event loop)."""
    return ssl.create_default_context()


class _Request(urllib.request.Request):
    def __init__(self, url: str, deadline: float, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.deadline = deadline


class UrllibTransport:
    """The standard library transport: TLS verification always on (the system's
    trust store), no redirects, one deadline over the whole request (connect, TLS,
    send, headers and body), bounded bodies. Proxies from the environment are
    honoured except for loopback addresses."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if ssl_context is not None and (ssl_context.verify_mode != ssl.CERT_REQUIRED
                                        or not ssl_context.check_hostname):
            raise ValueError("deviceflow requires TLS certificate and hostname verification")
        def opener(*extra: urllib.request.BaseHandler) -> urllib.request.OpenerDirector:
            return urllib.request.build_opener(_EveryStatus, _HTTPHandler,
                                               _HTTPSHandler(ssl_context), *extra)

        self._opener = opener()
        self._direct = opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
        self._max_body_bytes = max_body_bytes

    def __call__(self, request: HttpRequest, timeout: float = DEFAULT_TIMEOUT) -> Response:
        headers = dict(request.headers)
        headers.setdefault("User-Agent", USER_AGENT)
        body = request.body if request.method == "POST" else None
        req = _Request(request.url, time.monotonic() + timeout, data=body, headers=headers,
                       method=request.method)
        opener = self._direct if is_loopback(request.url) else self._opener
        try:
            resp = opener.open(req, timeout=timeout)
        except (OSError, http.client.HTTPException) as e:
            raise TransportError(error_kind(e), str(e)) from e
        try:
            with resp:
                data = read_limited(resp, self._max_body_bytes)
                return Response(resp.status, list(resp.headers.items()), data)
        except (OSError, http.client.HTTPException) as e:
            raise TransportError(error_kind(e) if error_kind(e) == "timeout" else "io", str(e)) from e
