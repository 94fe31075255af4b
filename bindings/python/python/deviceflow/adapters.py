"""Transports over ``httpx`` and ``requests``, for applications that already use
them (connection pools, proxies, mocks). Neither library is required: each
adapter imports its library when it is created.

    flow = deviceflow.login(..., transport=HttpxTransport(httpx.Client()))
    await deviceflow.async_login(..., transport=AsyncHttpxTransport(httpx.AsyncClient()))

Redirects are never followed and bodies are bounded, as in the default transport.
Keep TLS verification on in the client you pass (it is on by default in both).

Deadlines: ``AsyncHttpxTransport`` ends every request by its ``timeout``, as the default
transport does. The sync adapters cannot: httpx's and requests' timeouts bound each
network operation (the connect, each read), so a server that sends its response a
byte at a time can hold a request far longer than ``timeout``. Against servers you do
not trust, prefer the default transport (or ``AsyncHttpxTransport``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict

from ._native import HttpRequest
from .transport import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT, Response, TransportError

__all__ = ["HttpxTransport", "AsyncHttpxTransport", "RequestsTransport"]


def _httpx_kind(httpx: Any, exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "tls" if "SSL" in str(exc) or "CERTIFICATE" in str(exc).upper() else "connect"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)):
        return "io"
    return "other"


def _request_args(request: HttpRequest) -> Dict[str, Any]:
    return {
        "method": request.method,
        "url": request.url,
        "headers": request.headers,
        "content": request.body if request.method == "POST" else None,
    }


def _check_size(size: int, limit: int, deadline: float) -> bool:
    if time.monotonic() > deadline:
        raise TransportError("timeout", "the response took longer than the timeout")
    return size > limit


class HttpxTransport:
    """A sync transport over an ``httpx.Client`` (a new one if none is given)."""

    def __init__(self, client: Any = None, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        import httpx

        self._httpx = httpx
        self._client = client if client is not None else httpx.Client()
        self._limit = max_body_bytes

    def __call__(self, request: HttpRequest, timeout: float = DEFAULT_TIMEOUT) -> Response:
        deadline = time.monotonic() + timeout
        try:
            with self._client.stream(**_request_args(request), timeout=timeout,
                                     follow_redirects=False) as r:
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if _check_size(len(body), self._limit, deadline):
                        break
                return Response(r.status_code, r.headers.multi_items(), bytes(body))
        except self._httpx.HTTPError as e:
            raise TransportError(_httpx_kind(self._httpx, e), str(e)) from e


class AsyncHttpxTransport:
    """An asyncio transport over an ``httpx.AsyncClient`` (a new one if none is given)."""

    def __init__(self, client: Any = None, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        import httpx

        self._httpx = httpx
        self._client = client if client is not None else httpx.AsyncClient()
        self._limit = max_body_bytes

    async def __call__(self, request: HttpRequest, timeout: float = DEFAULT_TIMEOUT) -> Response:
        # httpx's timeout bounds each read, not the request (a server trickling its headers
        # would keep it waiting for ever): the whole request runs under one deadline.
        try:
            return await asyncio.wait_for(self._fetch(request, timeout), timeout)
        except asyncio.TimeoutError as e:  # httpx's own timeouts are httpx.TimeoutException
            raise TransportError("timeout", "the request took longer than the timeout") from e

    async def _fetch(self, request: HttpRequest, timeout: float) -> Response:
        deadline = time.monotonic() + timeout
        try:
            async with self._client.stream(**_request_args(request), timeout=timeout,
                                           follow_redirects=False) as r:
                body = bytearray()
                async for chunk in r.aiter_bytes():
                    body += chunk
                    if _check_size(len(body), self._limit, deadline):
                        break
                return Response(r.status_code, r.headers.multi_items(), bytes(body))
        except self._httpx.HTTPError as e:
            raise TransportError(_httpx_kind(self._httpx, e), str(e)) from e


class RequestsTransport:
    """A sync transport over a ``requests.Session`` (a new one if none is given)."""

    def __init__(self, session: Any = None, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        import requests

        self._requests = requests
        self._session = session if session is not None else requests.Session()
        self._limit = max_body_bytes

    def __call__(self, request: HttpRequest, timeout: float = DEFAULT_TIMEOUT) -> Response:
        exc = self._requests.exceptions
        deadline = time.monotonic() + timeout
        try:
            with self._session.request(
                request.method, request.url, headers=dict(request.headers),
                data=request.body if request.method == "POST" else None,
                timeout=timeout, allow_redirects=False, stream=True, verify=True,
            ) as r:
                body = bytearray()
                for chunk in r.iter_content(chunk_size=65536):
                    body += chunk
                    if _check_size(len(body), self._limit, deadline):
                        break
                return Response(r.status_code, list(r.headers.items()), bytes(body))
        except exc.Timeout as e:
            raise TransportError("timeout", str(e)) from e
        except exc.SSLError as e:
            raise TransportError("tls", str(e)) from e
        except exc.ConnectionError as e:
            raise TransportError("connect", str(e)) from e
        except exc.RequestException as e:
            raise TransportError("io", str(e)) from e
