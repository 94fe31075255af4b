"""End to end, asyncio API, against node-oidc-provider on 127.0.0.1: approval,
denial, expiry, refresh and revoke; cancellation; the loop is never blocked."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from typing import Iterator

import pytest

import deviceflow as df
from servers import Approver, approve_now

SCOPE = "openid offline_access"


def run(coro):
    return asyncio.run(coro)


async def ticker(ticks: list) -> None:
    while True:
        await asyncio.sleep(0.01)
        ticks.append(time.monotonic())


def test_async_login_refresh_revoke(issuer: str) -> None:
    async def main():
        user = Approver(issuer)
        ticks: list = []
        tick_task = asyncio.ensure_future(ticker(ticks))
        started = time.monotonic()
        tokens = await df.async_login(issuer=issuer, client_id="public-cli", scope=SCOPE,
                                      on_code=user)
        elapsed = time.monotonic() - started
        tick_task.cancel()
        user.result()
        # The loop kept running while we polled: ticks every 10 ms, never a long gap.
        assert len(ticks) > elapsed * 30
        assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.5
        fresh = await df.async_refresh(tokens, issuer=issuer, client_id="public-cli")
        assert fresh.refresh_token != tokens.refresh_token
        await df.async_revoke(fresh, issuer=issuer, client_id="public-cli")
        with pytest.raises(df.InvalidGrant):
            await df.async_refresh(fresh, issuer=issuer, client_id="public-cli")

    run(main())


def test_async_denied(issuer: str) -> None:
    async def on_code(prompt):  # a coroutine callback is awaited
        await asyncio.get_running_loop().run_in_executor(
            None, approve_now, issuer, prompt.user_code, True)

    with pytest.raises(df.AccessDenied):
        run(df.async_login(issuer=issuer, client_id="public-cli", scope=SCOPE, on_code=on_code))


def test_async_expired(make_server) -> None:
    server = make_server(DEVICE_INTERVAL="1", DEVICE_TTL="3")
    with pytest.raises(df.ExpiredToken):
        run(df.async_login(issuer=server.issuer, client_id="public-cli", scope=SCOPE,
                           on_code=lambda p: None))


def test_async_confidential_client(issuer: str) -> None:
    async def main():
        auth = await df.async_request_device_code(issuer=issuer, client_id="basic-cli",
                                                  client_secret="basic-secret", scope=SCOPE)
        await asyncio.get_running_loop().run_in_executor(None, approve_now, issuer,
                                                         auth.user_code)
        return await df.async_poll_device_token(auth)

    assert run(main()).refresh_token


def test_task_cancellation_cancels_the_flow(issuer: str) -> None:
    async def main():
        auth = await df.async_request_device_code(issuer=issuer, client_id="public-cli",
                                                  scope=SCOPE)
        task = asyncio.ensure_future(df.async_poll_device_token(auth))
        await asyncio.sleep(0.3)  # inside a 1 s Wait
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 0.5
        assert auth.flow.is_finished
        action = auth.flow.poll_action()
        assert isinstance(action, df.Failed) and isinstance(action.error, df.Cancelled)

    run(main())


def test_wait_for_timeout_cancels(issuer: str) -> None:
    with pytest.raises(asyncio.TimeoutError):
        run(asyncio.wait_for(df.async_login(issuer=issuer, client_id="public-cli", scope=SCOPE,
                                            on_code=lambda p: None), timeout=1.5))


@pytest.fixture
def slow_server() -> Iterator[str]:
    """A server that takes 3 s to answer anything."""

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            time.sleep(3)
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_cancel_during_a_blocking_request(slow_server: str) -> None:
    """The blocking urllib call runs off the loop, and a cancelled one does not
    delay the program's exit (the server answers only after 3 s)."""

    async def main():
        ticks: list = []
        tick_task = asyncio.ensure_future(ticker(ticks))
        task = asyncio.ensure_future(df.async_request_device_code(
            client_id="c", device_authorization_endpoint=f"{slow_server}/device",
            token_endpoint=f"{slow_server}/token"))
        await asyncio.sleep(0.5)
        assert len(ticks) > 10  # the urllib request runs in a thread, not on the loop
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 0.5
        tick_task.cancel()

    started = time.monotonic()
    run(main())
    assert time.monotonic() - started < 2


def test_async_httpx_transport(issuer: str) -> None:
    httpx = pytest.importorskip("httpx")
    from deviceflow.adapters import AsyncHttpxTransport

    async def main():
        async with httpx.AsyncClient() as client:
            transport = AsyncHttpxTransport(client)
            user = Approver(issuer)
            tokens = await df.async_login(issuer=issuer, client_id="public-cli", scope=SCOPE,
                                          on_code=user, transport=transport)
            user.result()
            await df.async_revoke(tokens, issuer=issuer, client_id="public-cli",
                                  transport=transport)

    run(main())
