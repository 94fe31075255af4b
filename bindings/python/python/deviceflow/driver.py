"""The blocking driving loop: ``poll_action`` → do it → feed the answer → repeat
(the loop from the core's crate docs, for any of the four machines)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from .clock import Clock
from .transport import Transport, TransportError, error_kind

if TYPE_CHECKING:  # the value classes load on first use (see deviceflow/__init__.py)
    from ._values import Prompt, Send

OnPrompt = Callable[["Prompt"], Any]


def send(machine: Any, transport: Transport, action: Send, clock: Clock, timeout: float) -> None:
    request = action.request
    if request.timeout_ms is not None:  # what is left of the operation's budget
        timeout = min(timeout, request.timeout_ms / 1000)
    try:
        response = transport(request, timeout)
    except TransportError as e:
        machine.handle_transport_error(request.id, e.kind, clock.now())
    except OSError as e:  # a third-party transport that did not wrap its socket error
        machine.handle_transport_error(request.id, error_kind(e), clock.now())
    else:
        status, headers, body = response
        machine.handle_response(request.id, status, headers, body, clock.now())


def drive(
    machine: Any,
    transport: Transport,
    clock: Clock,
    timeout: float,
    *,
    on_prompt: Optional[OnPrompt] = None,
    stop_at_prompt: bool = False,
    cancel_event: Optional[threading.Event] = None,
    signer: Any = None,
) -> Any:
    """Runs ``machine`` to its result (or, with ``stop_at_prompt``, to its prompt).

    Raises the ``DeviceFlowError`` of a ``Failed`` action. Any exception on the
    way (``KeyboardInterrupt``, a callback's error) cancels the machine first.
    ``cancel_event`` (a ``threading.Event``) cancels from another thread.
    ``signer`` (a ``deviceflow.Signer``) answers ``Sign`` when DPoP is on.
    """
    from ._values import AwaitingResponse, Display, Done, Failed, Send, Sign, Wait

    try:
        while True:
            if cancel_event is not None and cancel_event.is_set() and not machine.is_finished:
                machine.cancel(clock.now())
            action = machine.poll_action(clock.now())
            kind = type(action)
            if kind is Send:
                send(machine, transport, action, clock, timeout)
            elif kind is Sign:
                machine.handle_signature(action.id, sign(signer, action.input), clock.now())
            elif kind is Wait:
                pause(action.delay_ms / 1000, cancel_event)
            elif kind is Display:
                if on_prompt is not None:
                    on_prompt(action.prompt)
                if stop_at_prompt:
                    return action.prompt
            elif kind is Done:
                return action.result
            elif kind is Failed:
                raise action.error
            elif kind is AwaitingResponse:  # this loop answers every Send before polling again
                raise RuntimeError("deviceflow: unexpected AwaitingResponse in the blocking driver")
    except BaseException:
        if not machine.is_finished:
            machine.cancel(clock.now())
        raise


def sign(signer: Any, signing_input: str) -> bytes:
    """The signer's ES256 signature of a proof's signing input (raw or DER bytes)."""
    if signer is None:
        raise RuntimeError("deviceflow: DPoP is on but no signer was given (pass dpop=)")
    signature = signer.sign(signing_input.encode())
    if not isinstance(signature, (bytes, bytearray, memoryview)):
        raise TypeError("the DPoP signer's sign() must return bytes in the blocking API "
                        "(an async signer works with the async_ functions)")
    return bytes(signature)


def pause(seconds: float, cancel_event: Optional[threading.Event]) -> None:
    if cancel_event is None:
        time.sleep(seconds)
    else:
        cancel_event.wait(seconds)
