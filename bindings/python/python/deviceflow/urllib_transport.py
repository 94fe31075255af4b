"""The standard library transport (``urllib.request``): TLS verified, no
redirects, a deadline on every request, bounded bodies."""

from __future__ import annotations

import http.client
import ipaddress
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, List

from ._native import HttpRequest
from .transport import (DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT, USER_AGENT, Response,
                        TransportError, error_kind)

__all__ = ["UrllibTransport"]


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_limited(stream: Any, limit: int, deadline: float) -> bytes:
    """Reads at most ``limit + 1`` bytes (so an oversized body is recognisable) and
    gives up at ``deadline``, so a server trickling bytes cannot hang the caller."""
    chunks: List[bytes] = []
    size = 0
    reader = getattr(stream, "read1", None) or stream.read
    while size <= limit:
        if time.monotonic() > deadline:
            raise TransportError("timeout", "the response took longer than the timeout")
        chunk = reader(min(65536, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """OAuth endpoints must not be followed through redirects: a 3xx goes back
    to the machine as it is (and is refused as an invalid response)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibTransport:
    """The standard library transport: TLS verification always on (the system's
    trust store), no redirects, a deadline on every request, bounded bodies.
    Proxies from the environment are honoured except for loopback addresses."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        context = ssl_context or ssl.create_default_context()
        if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
            raise ValueError("deviceflow requires TLS certificate and hostname verification")
        def https() -> urllib.request.HTTPSHandler:
            return urllib.request.HTTPSHandler(context=context)

        self._opener = urllib.request.build_opener(_NoRedirect, https())
        self._direct = urllib.request.build_opener(  # loopback: never through a proxy
            _NoRedirect, https(), urllib.request.ProxyHandler({}))
        self._max_body_bytes = max_body_bytes

    def __call__(self, request: HttpRequest, timeout: float = DEFAULT_TIMEOUT) -> Response:
        deadline = time.monotonic() + timeout
        headers = dict(request.headers)
        headers.setdefault("User-Agent", USER_AGENT)
        body = request.body if request.method == "POST" else None
        req = urllib.request.Request(request.url, data=body, headers=headers, method=request.method)
        opener = self._direct if is_loopback(request.url) else self._opener
        try:
            resp = opener.open(req, timeout=timeout)
        except urllib.error.HTTPError as e:  # a 4xx/5xx (or refused redirect) is still a response
            resp = e
        except (OSError, http.client.HTTPException) as e:
            raise TransportError(error_kind(e), str(e)) from e
        try:
            with resp:
                data = read_limited(resp, self._max_body_bytes, deadline)
                return Response(resp.getcode(), list(resp.headers.items()), data)
        except (OSError, http.client.HTTPException) as e:
            raise TransportError(error_kind(e) if error_kind(e) == "timeout" else "io", str(e)) from e
