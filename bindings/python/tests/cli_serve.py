"""For the profile tests: the real ``deviceflow`` CLI binary, ``deviceflow serve
--dev-sign-in --audit-log`` (which rotates refresh tokens, revokes the whole
grant when a used one comes back, and logs every refresh), a user who approves
through its real pages, and a private GNOME Keyring on its own D-Bus session."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

from page_approval import approve
from servers import ROOT

CLI = Path(os.environ.get("DEVICEFLOW_CLI") or ROOT / "target" / "debug" / "deviceflow")
SCOPE = "openid profile offline_access"
CLIENT_ID = "deviceflow-cli"
# Variables the CLI reads that must not leak in from the developer's shell.
_CLEAN = ("DEVICEFLOW_CLIENT_SECRET", "DEVICEFLOW_CLIENT_ID", "DEVICEFLOW_PROFILE",
          "DEVICEFLOW_HTTP_TIMEOUT", "DEVICEFLOW_TIMING", "DISPLAY", "WAYLAND_DISPLAY")


def skip(why: str) -> None:
    """SKIPPED, loudly on the real stderr; a failure when CI=true (a missing tool in
    CI is a broken setup, not a pass)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and this test cannot run: {why}")
    print(f"\n*** SKIPPED: {why} ***\n(run tests/setup.sh; with CI=true this fails)\n",
          file=sys.__stderr__, flush=True)
    pytest.skip(why)


def need_cli() -> Path:
    if not CLI.is_file():
        skip(f"the deviceflow CLI is not built at {CLI} (cargo build -p deviceflow-cli)")
    return CLI


def env_for(home: Path, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEAN}
    env["DEVICEFLOW_CONFIG_DIR"] = str(home)
    env.update(extra or {})
    return env


def cli(home: Path, *args: str, env: Optional[Dict[str, str]] = None,
        timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(need_cli()), *args], env=env_for(home, env), text=True,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def unix_ms() -> int:
    return time.time_ns() // 1_000_000


def stored(home: Path, name: str = "default") -> dict:
    return json.loads((home / "profiles" / f"{name}.json").read_text())


def expire(home: Path, name: str = "default") -> None:
    """Makes the stored access token look expired (the refresh token stays)."""
    v = stored(home, name)
    v["secrets"]["tokens"]["expires_at"] = unix_ms() - 1000
    (home / "profiles" / f"{name}.json").write_text(json.dumps(v))


class Serve:
    """``deviceflow --json serve --port 0 --interval 1 --dev-sign-in --audit-log``."""

    def __init__(self, scratch: Path) -> None:
        self.proc = subprocess.Popen(
            [str(need_cli()), "--json", "serve", "--port", "0", "--interval", "1",
             "--dev-sign-in", "--audit-log"],
            env=env_for(scratch), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        ready = json.loads(line) if line else {}
        if ready.get("status") != "serving":
            self.proc.kill()
            raise RuntimeError(f"deviceflow serve did not start: {line!r}")
        self.issuer: str = ready["issuer"]
        self.audit: List[dict] = []
        self._lines: "queue.Queue[str]" = queue.Queue()
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            self._lines.put(line)

    def events(self, kind: str) -> int:
        """The audit events of this kind (``refresh``, ``reuse_detected``) so far."""
        time.sleep(0.3)  # the server logs as it answers; a thread reads its stderr
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                self.audit.append(event)
        return sum(1 for e in self.audit if e.get("event") == kind)

    def close(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cli_login(home: Path, issuer: str, *extra: str,
              env: Optional[Dict[str, str]] = None) -> "tuple[int, str, str]":
    """``deviceflow --json login`` approved as alice; (exit status, stdout, stderr)."""
    proc = subprocess.Popen(
        [str(need_cli()), "--json", "login", "--issuer", issuer, "--client-id", CLIENT_ID,
         "--scope", SCOPE, "--no-open", *extra],
        env=env_for(home, env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()  # type: ignore[union-attr]
    try:
        status = json.loads(first)
        if status.get("status") == "waiting_for_authorization":
            approve(issuer, status["user_code"])
    finally:
        out, err = proc.communicate(timeout=60)
    return proc.returncode, first + out, err


def after_go(*args: str) -> List[str]:
    """A command that waits for a line on stdin before it starts."""
    return ["sh", "-c", 'read go; exec "$0" "$@"', *args]


def python_after_go(code: str) -> List[str]:
    """Python code run once a line arrives on stdin, after the imports (so that the
    interpreter's start does not hand the race to the others)."""
    prelude = "import sys, deviceflow, deviceflow.profile, deviceflow.urllib_transport"
    return [sys.executable, "-c", f"{prelude}\nsys.stdin.readline()\n{code}"]


def race(commands: Sequence[Sequence[str]], env: Dict[str, str]) -> List["tuple[int, str, str]"]:
    """Starts all commands (each waits for a line on stdin), lets them go at the same
    moment, returns (exit status, stdout, stderr) of each."""
    procs = [subprocess.Popen(c, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for c in commands]
    time.sleep(1.0)
    for p in procs:
        p.stdin.write("go\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append((p.returncode, out, err))
    return results


class Keyring:
    """gnome-keyring-daemon (secrets component, login keyring unlocked with a known
    password) on a private bus from ``dbus-run-session``; ``env`` points at it."""

    TOOLS = ("dbus-run-session", "dbus-send", "gnome-keyring-daemon", "secret-tool")

    def __init__(self, scratch: Path) -> None:
        run = scratch / "run"
        run.mkdir(mode=0o700, parents=True)
        self.bus = subprocess.Popen(
            ["dbus-run-session", "--", "sh", "-c",
             'echo "$DBUS_SESSION_BUS_ADDRESS"; exec cat >/dev/null'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        address = self.bus.stdout.readline().strip()  # type: ignore[union-attr]
        assert address.startswith("unix:"), address
        self.env = {"DBUS_SESSION_BUS_ADDRESS": address, "XDG_RUNTIME_DIR": str(run)}
        self.daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            env={**os.environ, **self.env, "HOME": str(scratch),
                 "XDG_DATA_HOME": str(scratch / "data")},
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.daemon.stdin.write(b"pw")  # type: ignore[union-attr]
        self.daemon.stdin.close()  # type: ignore[union-attr]
        for _ in range(100):
            o = subprocess.run(
                ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                 "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
                 "string:org.freedesktop.secrets"],
                env={**os.environ, **self.env}, capture_output=True, text=True)
            if "boolean true" in o.stdout:
                return
            time.sleep(0.1)
        self.close()
        raise RuntimeError("gnome-keyring-daemon did not appear on the session bus")

    @classmethod
    def missing(cls) -> List[str]:
        return [t for t in cls.TOOLS if shutil.which(t) is None]

    def items(self, profile: str) -> List[str]:
        """The secrets of every item libsecret finds for the profile's entry."""
        o = subprocess.run(["secret-tool", "search", "--all", "--unlock", "service",
                            "deviceflow", "username", profile],
                           env={**os.environ, **self.env}, capture_output=True, text=True)
        return [line.split("=", 1)[1].strip() for line in (o.stdout + o.stderr).splitlines()
                if line.startswith("secret =")]

    def close(self) -> None:
        self.daemon.kill()
        self.daemon.wait()
        self.bus.stdin.close()  # type: ignore[union-attr]
        self.bus.wait(timeout=10)
