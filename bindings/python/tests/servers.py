"""The repository paths, a real authorization server (node-oidc-provider,
`tests/e2e/provider.mjs`) on 127.0.0.1, a person who approves or denies
through the server's own pages (`tests/e2e/approve.mjs`), and the shared
hostile-server suite (`tests/hostile/server.mjs`)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[3]
E2E = ROOT / "tests" / "e2e"
VECTORS = ROOT / "tests" / "vectors"
HOSTILE = ROOT / "tests" / "hostile"


class Server:
    """A running provider.mjs. Closing stdin stops it."""

    def __init__(self, **env: str) -> None:
        full_env = {**os.environ, "PORT": "0", "MAX_LIFETIME": "1200", **env}
        self.proc = subprocess.Popen(
            ["node", str(E2E / "provider.mjs")], cwd=ROOT, env=full_env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            err = self.proc.stderr.read()  # type: ignore[union-attr]
            raise RuntimeError(f"provider.mjs did not start: {err[-2000:]}")
        self.issuer: str = json.loads(line)["issuer"]
        # Drain stderr so the provider never blocks on a full pipe.
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # type: ignore[union-attr]

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class HostileServer:
    """A running tests/hostile/server.mjs: ``base``, ``options`` (how to drive a
    login) and ``cases`` (name, about, expect). Closing stdin stops it."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(HOSTILE / "server.mjs")], cwd=ROOT, env={**os.environ},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            err = self.proc.stderr.read()  # type: ignore[union-attr]
            raise RuntimeError(f"hostile/server.mjs did not start: {err[-2000:]}")
        info = json.loads(line)
        self.base: str = info["base"]
        self.options: dict = info["options"]
        self.cases: dict = {c["name"]: c for c in info["cases"]}
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # type: ignore[union-attr]

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def hostile_case_names() -> list[str]:
    """The case names of tests/hostile/cases.mjs (for parametrizing at collection
    time); empty when node cannot list them, which the suite reports as a failure."""
    script = ("const { cases } = await import(process.argv[1]);"
              "console.log(JSON.stringify(cases.map((c) => c.name)));")
    try:
        done = subprocess.run(["node", "--input-type=module", "-e", script,
                               (HOSTILE / "cases.mjs").as_uri()],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        return list(json.loads(done.stdout)) if done.returncode == 0 else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []


class Approver:
    """Plays the user: runs approve.mjs in the background for a user code."""

    def __init__(self, issuer: str, deny: bool = False) -> None:
        self.issuer = issuer
        self.deny = deny
        self.proc: Optional[subprocess.Popen] = None
        self.codes: list[str] = []

    def __call__(self, prompt) -> None:  # usable directly as on_code
        self.codes.append(prompt.user_code)
        args = ["node", str(E2E / "approve.mjs"), "--issuer", self.issuer,
                "--user-code", prompt.user_code]
        if self.deny:
            args.append("--deny")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def result(self) -> dict:
        assert self.proc is not None, "on_code was never called"
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, f"approve.mjs failed: {err}"
        return json.loads(out.strip().splitlines()[-1])


def approve_now(issuer: str, user_code: str, deny: bool = False) -> dict:
    """Approves (or denies) and waits for the pages to be done."""
    args = ["node", str(E2E / "approve.mjs"), "--issuer", issuer, "--user-code", user_code]
    if deny:
        args.append("--deny")
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
