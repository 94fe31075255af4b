"""End to end, blocking API, against node-oidc-provider on 127.0.0.1; the user
approves or denies through the provider's own pages."""

from __future__ import annotations

import threading
import time

import pytest

import deviceflow as df
from servers import Approver, approve_now

SCOPE = "openid offline_access"


def test_login_approved_then_refresh_and_revoke(issuer: str) -> None:
    user = Approver(issuer)
    tokens = df.login(issuer=issuer, client_id="public-cli", scope=SCOPE, on_code=user)
    assert user.result()["action"] == "approved"
    assert tokens.token_type.lower() == "bearer"
    assert tokens.access_token and tokens.refresh_token and tokens.id_token
    assert set(tokens.scope.split()) == {"openid", "offline_access"}
    claims = tokens.id_token_claims_unverified()
    assert claims["sub"] == "alice" and claims["aud"] == "public-cli" and claims["iss"] == issuer
    assert abs(tokens.expires_at - (time.time() * 1000 + tokens.expires_in * 1000)) < 30_000
    assert not tokens.needs_refresh() and tokens.needs_refresh(skew_ms=tokens.expires_in * 1000)

    fresh = df.refresh(tokens, issuer=issuer, client_id="public-cli")
    assert fresh.access_token != tokens.access_token
    assert fresh.refresh_token != tokens.refresh_token  # the provider rotates refresh tokens

    stored = df.TokenSet.from_dict(fresh.to_dict())  # what an app writes to disk and reads back
    assert stored == fresh
    df.revoke(stored, issuer=issuer, client_id="public-cli")
    with pytest.raises(df.InvalidGrant) as refused:
        df.refresh(stored, issuer=issuer, client_id="public-cli")
    assert refused.value.requires_login and refused.value.status == 400


def test_login_with_explicit_endpoints(issuer: str) -> None:
    meta = df.discover(issuer)
    assert meta.issuer == issuer and meta.token_endpoint and meta.revocation_endpoint
    assert "urn:ietf:params:oauth:grant-type:device_code" in meta.grant_types_supported
    user = Approver(issuer)
    tokens = df.login(device_authorization_endpoint=meta.device_authorization_endpoint,
                      token_endpoint=meta.token_endpoint, client_id="public-cli",
                      scope="openid", on_code=user)
    user.result()
    assert tokens.refresh_token is None  # no offline_access asked for
    with pytest.raises(df.ConfigError):
        df.refresh(tokens, token_endpoint=meta.token_endpoint, client_id="public-cli")


def test_login_denied(issuer: str) -> None:
    user = Approver(issuer, deny=True)
    with pytest.raises(df.AccessDenied) as denied:
        df.login(issuer=issuer, client_id="public-cli", scope=SCOPE, on_code=user)
    assert user.result()["action"] == "denied"
    assert denied.value.code == "access_denied" and denied.value.error == "access_denied"


def test_request_device_code_then_poll(issuer: str) -> None:
    auth = df.request_device_code(issuer=issuer, client_id="public-cli", scope=SCOPE)
    assert auth.verification_uri == f"{issuer}/device"
    assert auth.verification_uri_complete.endswith(auth.user_code)
    assert auth.verification_host == "127.0.0.1" and auth.interval == 1
    approve_now(issuer, auth.user_code)
    tokens = df.poll_device_token(auth)
    assert tokens.refresh_token
    with pytest.raises(df.MisuseError):  # the flow is finished
        auth.flow.cancel()


def test_code_expires(make_server) -> None:
    server = make_server(DEVICE_INTERVAL="1", DEVICE_TTL="3")
    started = time.monotonic()
    with pytest.raises(df.ExpiredToken) as expired:
        df.login(issuer=server.issuer, client_id="public-cli", scope=SCOPE, on_code=lambda p: None)
    assert expired.value.requires_login
    # oidc-provider keeps whole seconds (exp = floor(issued) + 3, expired once exp <= floor(now)):
    # the code dies 2 to 3 s after it is issued, so the poll 2 s in may already hear expired_token.
    assert 2.0 < time.monotonic() - started < 10


def test_slow_down_is_honoured(make_server) -> None:
    server = make_server(DEVICE_INTERVAL="1", SLOW_DOWN_FIRST="1")
    started = time.monotonic()
    user = Approver(server.issuer)
    tokens = df.login(issuer=server.issuer, client_id="public-cli", scope=SCOPE, on_code=user)
    user.result()
    assert tokens.access_token
    assert time.monotonic() - started > 6  # 1 s interval, then +5 s after slow_down (§3.5)


@pytest.mark.parametrize("client_id,secret,auth", [
    ("basic-cli", "basic-secret", None),  # client_secret_basic is the default with a secret
    ("post-cli", "post-secret", "client_secret_post"),
])
def test_confidential_clients(issuer: str, client_id: str, secret: str, auth) -> None:
    user = Approver(issuer)
    tokens = df.login(issuer=issuer, client_id=client_id, client_secret=secret,
                      client_auth=auth, scope=SCOPE, on_code=user)
    user.result()
    fresh = df.refresh(tokens, issuer=issuer, client_id=client_id, client_secret=secret,
                       client_auth=auth)
    df.revoke(fresh, issuer=issuer, client_id=client_id, client_secret=secret, client_auth=auth)


def test_wrong_client_secret(issuer: str) -> None:
    with pytest.raises(df.InvalidClient) as refused:
        df.request_device_code(issuer=issuer, client_id="basic-cli", client_secret="wrong",
                               scope=SCOPE)
    assert "wrong" not in str(refused.value) and "wrong" not in repr(refused.value)


def test_cancel_event_stops_polling(issuer: str) -> None:
    cancel = threading.Event()
    started = time.monotonic()
    threading.Timer(1.5, cancel.set).start()
    with pytest.raises(df.Cancelled):
        df.login(issuer=issuer, client_id="public-cli", scope=SCOPE, on_code=lambda p: None,
                 cancel_event=cancel)
    assert time.monotonic() - started < 4


def test_callback_error_cancels_and_propagates(issuer: str) -> None:
    class Boom(Exception):
        pass

    def on_code(prompt):
        raise Boom(prompt.user_code)

    with pytest.raises(Boom):
        df.login(issuer=issuer, client_id="public-cli", scope=SCOPE, on_code=on_code)


def test_unknown_client(issuer: str) -> None:
    with pytest.raises(df.InvalidClient):
        df.login(issuer=issuer, client_id="nobody", scope=SCOPE, on_code=lambda p: None)


def test_httpx_and_requests_adapters(issuer: str) -> None:
    httpx = pytest.importorskip("httpx")
    requests = pytest.importorskip("requests")
    from deviceflow.adapters import HttpxTransport, RequestsTransport

    with httpx.Client() as client, requests.Session() as session:  # closes pooled connections
        for transport in (HttpxTransport(client), RequestsTransport(session)):
            user = Approver(issuer)
            tokens = df.login(issuer=issuer, client_id="public-cli", scope=SCOPE, on_code=user,
                              transport=transport)
            user.result()
            df.revoke(tokens, issuer=issuer, client_id="public-cli", transport=transport)
