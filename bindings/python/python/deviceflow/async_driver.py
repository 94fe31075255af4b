"""The asyncio driving loop. It never blocks the event loop: waits are
``asyncio.sleep``, an ``async`` transport is awaited, a blocking one runs in a
worker thread. Cancelling the task cancels the machine and re-raises
``asyncio.CancelledError``."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, Awaitable, Callable, Optional, Union, cast

from ._native import AwaitingResponse, Display, Done, Failed, Send, Sign, Wait
from .clock import Clock
from .driver import OnPrompt
from .transport import AsyncTransport, Response, Transport, TransportError, error_kind

AnyTransport = Union[Transport, AsyncTransport]


def is_async(transport: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(transport) or inspect.iscoroutinefunction(
        getattr(transport, "__call__", None))


async def call_transport(transport: AnyTransport, request: Any, timeout: float) -> Any:
    if is_async(transport):
        return await cast(Awaitable[Response], transport(request, timeout))
    result = await in_daemon_thread(transport, request, timeout)
    return await result if inspect.isawaitable(result) else result


async def in_daemon_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Runs a blocking call in its own daemon thread. Unlike the loop's default
    executor, a cancelled call left running cannot hold up ``asyncio.run``'s exit
    (it ends by itself within the transport's timeout)."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(result: Any, error: Optional[BaseException]) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            outcome: Any = (fn(*args), None)
        except BaseException as e:  # handed to the awaiting task
            outcome = (None, e)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    threading.Thread(target=work, name="deviceflow-http", daemon=True).start()
    return await future


async def send(machine: Any, transport: AnyTransport, action: Send, clock: Clock,
               timeout: float) -> None:
    request = action.request
    if request.timeout_ms is not None:  # what is left of the operation's budget
        timeout = min(timeout, request.timeout_ms / 1000)
    try:
        response = await call_transport(transport, request, timeout)
    except TransportError as e:
        machine.handle_transport_error(request.id, e.kind, clock.now())
    except OSError as e:  # asyncio.TimeoutError is an OSError subclass only on 3.11+
        machine.handle_transport_error(request.id, error_kind(e), clock.now())
    except asyncio.TimeoutError:
        machine.handle_transport_error(request.id, "timeout", clock.now())
    else:
        status, headers, body = response
        machine.handle_response(request.id, status, headers, body, clock.now())


async def drive(
    machine: Any,
    transport: AnyTransport,
    clock: Clock,
    timeout: float,
    *,
    on_prompt: Optional[OnPrompt] = None,
    stop_at_prompt: bool = False,
    signer: Any = None,
) -> Any:
    """Like :func:`deviceflow.driver.drive`; ``on_prompt`` and the ``signer``'s
    ``sign`` may be coroutine functions (an async keystore)."""
    try:
        while True:
            action = machine.poll_action(clock.now())
            kind = type(action)
            if kind is Send:
                await send(machine, transport, action, clock, timeout)
            elif kind is Sign:
                if signer is None:
                    raise RuntimeError("deviceflow: DPoP is on but no signer was given (pass dpop=)")
                signature = signer.sign(action.input.encode())
                if inspect.isawaitable(signature):
                    signature = await signature
                machine.handle_signature(action.id, bytes(signature), clock.now())
            elif kind is Wait:
                await asyncio.sleep(action.delay_ms / 1000)
            elif kind is Display:
                if on_prompt is not None:
                    shown = on_prompt(action.prompt)
                    if inspect.isawaitable(shown):
                        await shown
                if stop_at_prompt:
                    return action.prompt
            elif kind is Done:
                return action.result
            elif kind is Failed:
                raise action.error
            elif kind is AwaitingResponse:
                raise RuntimeError("deviceflow: unexpected AwaitingResponse in the asyncio driver")
    except BaseException:  # CancelledError included: stop the machine, then let it propagate
        if not machine.is_finished:
            machine.cancel(clock.now())
        raise
