"""The asyncio high-level API: the same functions as ``deviceflow.api`` with an
``async_`` prefix. They never block the event loop (a blocking transport runs in
a worker thread; pass ``AsyncHttpxTransport`` or any ``async`` callable to stay
on the loop), and cancelling the task cancels the flow and re-raises
``asyncio.CancelledError``."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Sequence, Union, cast

from ._native import DeviceFlow, Discovery, Prompt, Refresh, Revocation, ServerMetadata, TokenSet
from .async_driver import AnyTransport, drive
from .authorization import DeviceAuthorization
from .clock import Clock
from .config import FlowOptions, Timing, flow_config
from .dpop import Signer, dpop_config
from .endpoints import from_metadata, need_endpoint, refresh_config, revocation_config
from .prompt import print_prompt
from .transport import DEFAULT_TIMEOUT, default_transport

if TYPE_CHECKING:
    from typing_extensions import Unpack

OnCode = Callable[[Prompt], Union[Any, Awaitable[Any]]]


async def async_discover(issuer: str, *, transport: Optional[AnyTransport] = None,
                         timeout: float = DEFAULT_TIMEOUT,
                         timing: Optional[Timing] = None) -> ServerMetadata:
    clock = Clock()
    machine = Discovery(issuer, timing=timing, now_ms=clock.now())
    return cast(ServerMetadata, await drive(machine, transport or default_transport(), clock, timeout))


async def async_request_device_code(*, client_id: str, transport: Optional[AnyTransport] = None,
                                    timeout: float = DEFAULT_TIMEOUT,
                                    **options: Unpack[FlowOptions]) -> DeviceAuthorization:
    clock = Clock()
    flow = DeviceFlow(flow_config(client_id=client_id, **options), now_ms=clock.now())
    transport, signer = transport or default_transport(), options.get("dpop")
    prompt = await drive(flow, transport, clock, timeout, stop_at_prompt=True, signer=signer)
    return DeviceAuthorization(flow, prompt, transport, clock, timeout, signer=signer)


async def async_poll_device_token(auth: DeviceAuthorization) -> TokenSet:
    return cast(TokenSet, await drive(auth.flow, auth.transport, auth.clock, auth.timeout,
                                      signer=auth.signer))


async def async_login(*, client_id: str, on_code: OnCode = print_prompt,
                      transport: Optional[AnyTransport] = None, timeout: float = DEFAULT_TIMEOUT,
                      **options: Unpack[FlowOptions]) -> TokenSet:
    """The whole device flow; ``on_code`` may be a plain or a coroutine function."""
    auth = await async_request_device_code(client_id=client_id, transport=transport,
                                           timeout=timeout, **options)
    try:
        shown = on_code(auth.prompt)
        if inspect.isawaitable(shown):
            await shown
    except BaseException:
        auth.cancel()
        raise
    return await async_poll_device_token(auth)


async def async_refresh(
    token: Union[str, TokenSet],
    *,
    client_id: str,
    token_endpoint: Optional[str] = None,
    issuer: Optional[str] = None,
    client_secret: Optional[str] = None,
    client_auth: Optional[str] = None,
    scope: Optional[str] = None,
    extra_token_types: Optional[Sequence[str]] = None,
    dpop: Optional[Signer] = None,
    timing: Optional[Timing] = None,
    transport: Optional[AnyTransport] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> TokenSet:
    transport = transport or default_transport()
    if need_endpoint(token_endpoint, issuer, "token_endpoint"):
        meta = await async_discover(issuer, transport=transport, timeout=timeout,  # type: ignore[arg-type]
                                    timing=timing)
        token_endpoint = from_metadata(meta, "token_endpoint")
    config = refresh_config(token, token_endpoint, client_id=client_id,  # type: ignore[arg-type]
                            client_secret=client_secret, client_auth=client_auth, scope=scope,
                            timing=timing, extra_token_types=extra_token_types)
    if dpop is not None:
        config["dpop"] = dpop_config(dpop)
    clock = Clock()
    return cast(TokenSet, await drive(Refresh(config, now_ms=clock.now()), transport, clock,
                                      timeout, signer=dpop))


async def async_revoke(
    token: Union[str, TokenSet],
    *,
    client_id: str,
    revocation_endpoint: Optional[str] = None,
    issuer: Optional[str] = None,
    token_type_hint: Optional[str] = None,
    client_secret: Optional[str] = None,
    client_auth: Optional[str] = None,
    dpop: Optional[Signer] = None,
    timing: Optional[Timing] = None,
    transport: Optional[AnyTransport] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    transport = transport or default_transport()
    if need_endpoint(revocation_endpoint, issuer, "revocation_endpoint"):
        meta = await async_discover(issuer, transport=transport, timeout=timeout,  # type: ignore[arg-type]
                                    timing=timing)
        revocation_endpoint = from_metadata(meta, "revocation_endpoint")
    config = revocation_config(token, revocation_endpoint,  # type: ignore[arg-type]
                               client_id=client_id, client_secret=client_secret,
                               client_auth=client_auth, token_type_hint=token_type_hint,
                               timing=timing)
    if dpop is not None:
        config["dpop"] = dpop_config(dpop)
    clock = Clock()
    await drive(Revocation(config, now_ms=clock.now()), transport, clock, timeout, signer=dpop)
