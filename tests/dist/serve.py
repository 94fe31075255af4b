"""`deviceflow serve` (the project's own authorization server, from the Linux x86_64 CLI
artifact) on a free loopback port, and a user who approves codes through its real pages.

The approval is the same browser-like walk as bindings/python/tests/cli_serve.py `approve`
(that module needs pytest and the test tree's fixtures, which this suite's venv does not
carry): device page with the code, the dev sign-in name, confirm."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import urllib.parse
from pathlib import Path
from typing import Dict, Optional, Tuple

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


def approve(issuer: str, user_code: str, username: str = "alice") -> None:
    """Approves `user_code` through the server's pages as a browser would; raises if a page
    is not the one expected."""
    url = urllib.parse.urlsplit(issuer)
    base = url.path.rstrip("/")

    def request(method: str, path: str, cookie: Optional[str] = None,
                form: Optional[Dict[str, str]] = None) -> Tuple[int, str, Optional[str]]:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=15)
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, base + path, body=body, headers=headers)
            resp = conn.getresponse()
            page = resp.read().decode("utf-8", "replace")
            cookies = [v.split(";")[0] for k, v in resp.getheaders() if k.lower() == "set-cookie"]
        finally:
            conn.close()
        session = [c for c in cookies if c.split("=")[0].endswith("deviceflow_session")]
        return resp.status, page, session[0] if session else None

    def between(page: str, start: str, end: str) -> str:
        i = page.index(start) + len(start)
        return page[i:page.index(end, i)]

    _, _, cookie = request("GET", "/device?user_code=" + urllib.parse.quote(user_code))
    if not cookie:
        raise RuntimeError("no session cookie from the device page")
    status, page, _ = request("GET", "/device", cookie)
    if status != 200 or 'data-outcome="entry"' not in page:
        raise RuntimeError(f"device page: {status} {page[:300]}")
    csrf = between(page, 'name="csrf" value="', '"')
    status, page, newer = request("POST", "/device", cookie,
                                  {"csrf": csrf, "username": username, "user_code": user_code})
    if status != 200 or 'data-outcome="confirm"' not in page:
        raise RuntimeError(f"code entry: {status} {page[:300]}")
    status, page, _ = request("POST", "/device/confirm", newer or cookie,
                              {"csrf": csrf, "decision": "approve"})
    if status != 200 or 'data-outcome="approved"' not in page:
        raise RuntimeError(f"confirmation: {status} {page[:300]}")


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
