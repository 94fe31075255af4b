"""The sync and asyncio drivers with caller-supplied transports (no network):
plain functions, `async def` callables, tuples instead of `Response`, and
third-party exceptions."""

from __future__ import annotations

import asyncio
import json
from typing import Any, List

import pytest

import deviceflow as df

BASE = "http://127.0.0.1:9"  # never contacted: the transports below answer
ENDPOINTS = dict(client_id="cli", device_authorization_endpoint=f"{BASE}/device",
                 token_endpoint=f"{BASE}/token", timing={"request_retries": 0})
ISSUED = {"device_code": "dc", "user_code": "ABCD-EFGH", "verification_uri": f"{BASE}/activate",
          "expires_in": 60, "interval": 1}
TOKENS = {"access_token": "at", "token_type": "Bearer", "expires_in": 60}


class Scripted:
    """A server as a list of (status, body) answers; records the URLs asked for."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.urls: List[str] = []

    def __call__(self, request: df.HttpRequest, timeout: float) -> Any:
        assert timeout == 7.0
        self.urls.append(request.url)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, body = answer
        return status, [("Content-Type", "application/json")], json.dumps(body).encode()


def test_plain_function_transport_returning_tuples() -> None:
    server = Scripted((200, ISSUED), (400, {"error": "authorization_pending"}), (200, TOKENS))
    shown = []
    tokens = df.login(**ENDPOINTS, transport=server, timeout=7.0, on_code=shown.append)
    assert tokens.access_token == "at" and shown[0].user_code == "ABCD-EFGH"
    assert server.urls == [f"{BASE}/device", f"{BASE}/token", f"{BASE}/token"]


def test_unwrapped_socket_errors_are_transport_errors() -> None:
    server = Scripted(ConnectionResetError("reset"))
    with pytest.raises(df.NetworkError):
        df.request_device_code(**ENDPOINTS, transport=server, timeout=7.0)


def test_transport_bugs_are_not_masked() -> None:
    server = Scripted(KeyError("a bug in the transport"))
    with pytest.raises(KeyError):
        df.request_device_code(**ENDPOINTS, transport=server, timeout=7.0)


def test_async_def_transport_and_async_callback() -> None:
    server = Scripted((200, ISSUED), (200, TOKENS))
    shown = []

    async def transport(request: df.HttpRequest, timeout: float) -> Any:
        await asyncio.sleep(0)
        return server(request, timeout)

    async def on_code(prompt: df.Prompt) -> None:
        await asyncio.sleep(0)
        shown.append(prompt.user_code)

    tokens = asyncio.run(df.async_login(**ENDPOINTS, transport=transport, timeout=7.0,
                                        on_code=on_code))
    assert tokens.access_token == "at" and shown == ["ABCD-EFGH"]


def test_async_transport_class() -> None:
    class AsyncServer:
        def __init__(self) -> None:
            self.script = Scripted((200, ISSUED))

        async def __call__(self, request: df.HttpRequest, timeout: float) -> Any:
            return df.Response(*self.script(request, timeout))

    auth = asyncio.run(df.async_request_device_code(**ENDPOINTS, transport=AsyncServer(),
                                                    timeout=7.0))
    assert auth.user_code == "ABCD-EFGH"
    auth.cancel()
    with pytest.raises(df.Cancelled):
        df.poll_device_token(auth)
