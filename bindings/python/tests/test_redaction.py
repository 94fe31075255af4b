"""No secret (device code, access/refresh/ID token, client secret) appears in the
repr or str of any object or exception the package hands out."""

from __future__ import annotations

import json

import deviceflow as df
from deviceflow.authorization import DeviceAuthorization
from deviceflow.clock import Clock

SECRETS = {
    "device_code": "DEVICE-CODE-c0ffee",
    "access_token": "ACCESS-TOKEN-c0ffee",
    "refresh_token": "REFRESH-TOKEN-c0ffee",
    "id_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJJRC1UT0tFTi1jMGZmZWUifQ.SIG-c0ffee",
    "client_secret": "CLIENT-SECRET-c0ffee",
}
JSON = [("content-type", "application/json")]


def assert_clean(*objects) -> None:
    for obj in objects:
        for text in (repr(obj), str(obj)):
            for name, secret in SECRETS.items():
                assert secret not in text, f"{name} leaked in {type(obj).__name__}: {text}"
            assert "c0ffee" not in text, f"a secret leaked in {type(obj).__name__}: {text}"
            # base64 of the Basic credentials must not leak either
            assert "Q0xJRU5ULVNFQ1JFVC1jMGZmZWU" not in text


def test_nothing_secret_in_any_repr() -> None:
    seen = []
    flow = df.DeviceFlow(client_id="cli", client_secret=SECRETS["client_secret"],
                         device_authorization_endpoint="https://as.example.com/device",
                         token_endpoint="https://as.example.com/token", now_ms=0)
    seen.append(flow)
    send = flow.poll_action(0)
    assert any(n.lower() == "authorization" for n, _ in send.request.headers)
    seen += [send, send.request]
    issued = {"device_code": SECRETS["device_code"], "user_code": "ABCD-EFGH",
              "verification_uri": "https://as.example.com/activate", "expires_in": 600}
    flow.handle_response(send.request.id, 200, JSON, json.dumps(issued), 10)
    display = flow.poll_action(10)
    seen += [display, display.prompt, flow.poll_action(10)]
    seen.append(DeviceAuthorization(flow, display.prompt, None, Clock(), 1.0))
    poll = flow.poll_action(10_000)
    assert SECRETS["device_code"].encode() in poll.request.body  # it is sent ...
    seen += [poll, poll.request]  # ... and never shown
    tokens = {"access_token": SECRETS["access_token"], "token_type": "Bearer",
              "refresh_token": SECRETS["refresh_token"], "id_token": SECRETS["id_token"],
              "expires_in": 60}
    flow.handle_response(poll.request.id, 200, JSON, json.dumps(tokens), 10_100)
    done = flow.poll_action(10_100)
    seen += [done, done.result, flow]
    assert done.result.refresh_token == SECRETS["refresh_token"]  # reachable on purpose

    refresh = df.Refresh(client_id="cli", client_secret=SECRETS["client_secret"],
                         token_endpoint="https://as.example.com/token",
                         refresh_token=SECRETS["refresh_token"], now_ms=0)
    send = refresh.poll_action(0)
    seen += [refresh, send, send.request]
    refused = {"error": "invalid_grant", "error_description": "refresh token revoked"}
    refresh.handle_response(send.request.id, 400, JSON, json.dumps(refused), 5)
    failed = refresh.poll_action(5)
    seen += [failed, failed.error]

    revocation = df.Revocation(client_id="cli", revocation_endpoint="https://as.example.com/rev",
                               token=SECRETS["access_token"], now_ms=0)
    send = revocation.poll_action(0)
    seen += [revocation, send, send.request]
    revocation.handle_response(send.request.id, 200, [], b"", 1)
    seen.append(revocation.poll_action(1).result)
    assert_clean(*seen)


def test_nothing_secret_in_config_errors() -> None:
    bad = [
        dict(client_id="cli", client_secret=SECRETS["client_secret"], issuer="http://x.example"),
        dict(client_id="cli", client_secret=SECRETS["client_secret"], client_auth="bogus",
             issuer="https://x.example"),
        dict(client_id="", client_secret=SECRETS["client_secret"], issuer="https://x.example"),
        dict(client_id="cli", client_secret=SECRETS["client_secret"], issuer="https://x.example",
             extra_secret_field=1),
    ]
    for config in bad:
        try:
            df.DeviceFlow(config)
        except df.ConfigError as e:
            assert_clean(e)
        else:
            raise AssertionError(f"accepted {config.keys()}")
    try:
        df.Refresh(client_id="cli", token_endpoint="http://x.example/t",
                   refresh_token=SECRETS["refresh_token"])
    except df.ConfigError as e:
        assert_clean(e)
