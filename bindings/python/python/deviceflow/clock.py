"""The clock the drivers pass to the machines as ``now_ms``."""

from __future__ import annotations

import time


class Clock:
    """Unix-epoch milliseconds that never go backwards.

    Anchored to the wall clock once (so ``TokenSet.expires_at`` is a real epoch
    time that survives storage) and advanced by the monotonic clock (so a wall
    clock step during a flow cannot shorten or stretch a wait).
    """

    __slots__ = ("_epoch_ms", "_start")

    def __init__(self) -> None:
        self._epoch_ms = time.time_ns() // 1_000_000
        self._start = time.monotonic_ns()

    def now(self) -> int:
        return self._epoch_ms + (time.monotonic_ns() - self._start) // 1_000_000
