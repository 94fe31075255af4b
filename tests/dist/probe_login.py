"""Run by the Python under test (the host's in a fresh venv, or the arm64 one under
qemu-user) with the wheel being checked on its path: logs in against the issuer given as
argv[1], printing {"user_code": ...} as soon as the code is there (the suite approves it
through the server's pages), then refreshes and revokes, and prints what it saw as JSON."""

import json
import platform
import sys

import deviceflow

issuer = sys.argv[1]
CLIENT = "deviceflow-cli"


def on_code(prompt):  # type: ignore[no-untyped-def]
    print(json.dumps({"user_code": prompt.user_code}), flush=True)


tokens = deviceflow.login(issuer=issuer, client_id=CLIENT, scope="openid profile offline_access",
                          on_code=on_code)
fresh = deviceflow.refresh(tokens, client_id=CLIENT, issuer=issuer)
deviceflow.revoke(fresh, client_id=CLIENT, issuer=issuer)
print(json.dumps({
    "machine": platform.machine(),
    "python": platform.python_version(),
    "native": deviceflow._native.__file__,
    "token_type": tokens.token_type,
    "has_refresh": tokens.refresh_token is not None,
    "refreshed": fresh.access_token != tokens.access_token,
    "redacted": "redacted" in repr(tokens) and tokens.access_token not in repr(tokens),
}), flush=True)
