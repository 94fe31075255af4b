"""`deviceflow serve` (the project's own authorization server, from the Linux x86_64 CLI
artifact) on a free loopback port, and a user who approves codes through its real pages.

The approval is the Python tests' own browser-like walk (bindings/python/tests/page_approval.py,
standard library only): device page with the code, the dev sign-in name, confirm."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings/python/tests"))
from page_approval import approve  # noqa: E402

CLIENT_ID = "deviceflow-cli"  # the public client every `deviceflow serve` knows
SCOPE = "openid profile offline_access"


class Serve:
    """`deviceflow --json serve --port 0 --interval 1 --dev-sign-in`; stops on close()."""

    def __init__(self, cli: Path, scratch: Path) -> None:
        scratch.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(cli), "--json", "serve", "--port", "0", "--interval", "1", "--dev-sign-in"],
            env={"PATH": "/usr/bin:/bin", "DEVICEFLOW_CONFIG_DIR": str(scratch)},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        ready = json.loads(line) if line.startswith("{") else {}
        if ready.get("status") != "serving":
            self.close()
            raise RuntimeError(f"deviceflow serve did not start: {line!r}")
        self.issuer: str = ready["issuer"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "Serve":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def login_with(cmd: list, issuer: str, env: Dict[str, str], timeout: float = 120
               ) -> Tuple[int, str, str]:
    """Runs a login command that prints a JSON line with `user_code` as soon as it has the
    code (the CLI's `--json login`, or the arm64 Python probe), approves that code, and
    returns (exit status, all stdout, stderr)."""
    proc = subprocess.Popen([str(c) for c in cmd], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline() if proc.stdout else ""
    try:
        status = json.loads(first) if first.startswith("{") else {}
        if status.get("user_code"):
            approve(issuer, status["user_code"])
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        proc.kill()
        out, err = proc.communicate()
        raise
    return proc.returncode, first + out, err


def last_json(out: str) -> Dict:
    """The JSON object on a probe's last stdout line, or {} when there is none."""
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}
