"""Results of the distribution checks: each check passes, fails or is skipped with a reason.

A skip prints `SKIPPED: <reason>` (tests/run.sh lists the suite as skipped, and fails it
under CI=true: a skip is not a pass)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[2]


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: List[str] = []
        self.skipped: List[str] = []
        self.sizes: List["tuple[str, int, str]"] = []

    def ok(self, name: str, detail: str = "") -> None:
        self.passed += 1
        print(f"ok      {name}" + (f"  ({detail})" if detail else ""), flush=True)

    def fail(self, name: str, detail: str) -> None:
        self.failed.append(name)
        print(f"FAIL    {name}\n        {detail.strip().replace(chr(10), chr(10) + '        ')}",
              flush=True)

    def check(self, name: str, condition: bool, detail: str = "", ok_detail: str = "") -> bool:
        if condition:
            self.ok(name, ok_detail)
        else:
            self.fail(name, detail or "condition not met")
        return condition

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append(name)
        print(f"SKIPPED: {name}: {reason}", flush=True)

    def size(self, file: str, size: int, note: str = "") -> None:
        self.sizes.append((file, size, note))

    def summary(self) -> int:
        if self.sizes:
            print("\nartifact sizes:")
            width = max(len(f) for f, _, _ in self.sizes)
            for f, n, note in self.sizes:
                print(f"  {f:<{width}}  {n:>11,} B" + (f"  {note}" if note else ""))
        print(f"\ndist: {self.passed} passed, {len(self.failed)} failed, "
              f"{len(self.skipped)} skipped")
        for name in self.failed:
            print(f"  failed: {name}")
        if self.failed:
            return 1
        if self.skipped and os.environ.get("CI") == "true":
            print("CI=true: a skipped check fails the run")
            return 1
        return 0


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(cmd: Sequence[str], *, timeout: float = 300, cwd: Optional[Path] = None,
        env: Optional[dict] = None, input: Optional[str] = None) -> subprocess.CompletedProcess:
    """Runs a command, capturing its output as text; never raises on a non-zero status."""
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, input=input, text=True,
                          capture_output=True, timeout=timeout,
                          stdin=None if input is not None else subprocess.DEVNULL)


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class Section:
    """A timed group of checks; an exception inside is one failure, and the run goes on."""

    def __init__(self, r: Report, what: str) -> None:
        self.r, self.what = r, what

    def __enter__(self) -> "Section":
        self.t0 = time.monotonic()
        print(f"\n== dist: {self.what}", flush=True)
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> bool:
        if exc is not None and isinstance(exc, Exception):
            import traceback
            self.r.fail(f"{self.what}: the checks themselves failed",
                        "".join(traceback.format_exception(exc))[-2000:])  # type: ignore[arg-type]
        print(f"   ({self.what}: {time.monotonic() - self.t0:.1f} s)", flush=True)
        return exc is None or isinstance(exc, Exception)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
