"""A person approving a user code through ``deviceflow serve``'s own pages, as a browser
would (the dev sign-in: the name is typed on the code form), like
deviceflow_server::approve_via_page. Standard library only: the Python tests (cli_serve.py)
and the distribution checks (tests/dist/serve.py, whose venv has no pytest) both use it."""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Dict, Optional, Tuple


def approve(issuer: str, user_code: str, username: str = "alice") -> None:
    """Approves `user_code` through the server's pages; raises RuntimeError if a page is not
    the one expected."""
    url = urllib.parse.urlsplit(issuer)
    base = url.path.rstrip("/")

    def request(method: str, path: str, cookie: Optional[str] = None,
                form: Optional[Dict[str, str]] = None) -> Tuple[int, str, Optional[str]]:
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=15)
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
        raise RuntimeError(f"device page: {status} {page[:500]}")
    csrf = between(page, 'name="csrf" value="', '"')
    status, page, newer = request("POST", "/device", cookie,
                                  {"csrf": csrf, "username": username, "user_code": user_code})
    if status != 200 or 'data-outcome="confirm"' not in page:
        raise RuntimeError(f"code entry: {status} {page[:500]}")
    status, page, _ = request("POST", "/device/confirm", newer or cookie,
                              {"csrf": csrf, "decision": "approve"})
    if status != 200 or 'data-outcome="approved"' not in page:
        raise RuntimeError(f"confirmation: {status} {page[:500]}")
