"""A device authorization in progress, between ``request_device_code`` and
``poll_device_token`` (the shape of MSAL's ``initiate_device_flow``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from ._native import DeviceFlow
from .clock import Clock

if TYPE_CHECKING:  # the value classes load on first use (see deviceflow/__init__.py)
    from ._values import Prompt


class DeviceAuthorization:
    """What the user must do (RFC 8628 §3.2): open ``verification_uri`` and enter
    ``user_code``. The device code stays inside the machine and is never shown.

    Pass it to ``poll_device_token`` (or ``async_poll_device_token``) to wait for
    the tokens, or call :meth:`cancel`. It lives in this process only.
    """

    def __init__(self, flow: DeviceFlow, prompt: Prompt, transport: Any, clock: Clock,
                 timeout: float, signer: Any = None) -> None:
        self.flow = flow
        self.signer = signer  #: the DPoP key (``dpop=``) the polls prove possession of
        self.prompt = prompt
        self.transport = transport
        self.clock = clock
        self.timeout = timeout

    @property
    def user_code(self) -> str:
        return self.prompt.user_code

    @property
    def verification_uri(self) -> str:
        return self.prompt.verification_uri

    @property
    def verification_uri_complete(self) -> Optional[str]:
        return self.prompt.verification_uri_complete

    @property
    def verification_host(self) -> str:
        return self.prompt.verification_host

    @property
    def expires_at(self) -> int:
        """Unix epoch milliseconds."""
        return self.prompt.expires_at

    @property
    def interval(self) -> int:
        return self.prompt.interval

    @property
    def message(self) -> Optional[str]:
        return self.prompt.message

    def cancel(self) -> None:
        """Stops the flow; polling then raises ``Cancelled``."""
        if not self.flow.is_finished:
            self.flow.cancel(self.clock.now())

    def __repr__(self) -> str:
        return (f"DeviceAuthorization(user_code={self.user_code!r}, "
                f"verification_uri={self.verification_uri!r}, expires_at={self.expires_at!r})")
