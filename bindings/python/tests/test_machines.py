"""The low-level sans-IO API: actions as frozen, pattern-matchable classes,
input forms, errors (outcome vs misuse vs config), panics, TokenSet storage."""

from __future__ import annotations

import json
import pickle
import sys
import textwrap

import pytest

import deviceflow as df

DEVICE = "https://as.example.com/device"
TOKEN = "https://as.example.com/token"
JSON = [("content-type", "application/json")]
ISSUED = json.dumps({"device_code": "dc-1", "user_code": "WDJB-MJHT",
                     "verification_uri": "https://as.example.com/activate",
                     "expires_in": 600, "interval": 5})


def new_flow(**extra) -> df.DeviceFlow:
    return df.DeviceFlow(client_id="cli", device_authorization_endpoint=DEVICE,
                         token_endpoint=TOKEN, scope="openid", now_ms=0, **extra)


def to_polling(flow: df.DeviceFlow) -> df.HttpRequest:
    """Device authorization answered; returns the first token request."""
    send = flow.poll_action(0)
    flow.handle_response(send.request.id, 200, JSON, ISSUED, 100)
    assert isinstance(flow.poll_action(100), df.Display)
    wait = flow.poll_action(100)
    assert isinstance(wait, df.Wait)
    poll = flow.poll_action(wait.until)
    assert isinstance(poll, df.Send)
    return poll.request


def test_first_action_is_the_device_authorization_request() -> None:
    action = new_flow().poll_action(0)
    assert isinstance(action, df.Send)
    req = action.request
    assert (req.method, req.url) == ("POST", DEVICE)
    assert dict(req.headers)["content-type"] == "application/x-www-form-urlencoded"
    assert req.body == b"scope=openid&client_id=cli"
    assert df.HttpRequest.__match_args__ == ("id", "method", "url", "headers", "body")


def test_send_and_display_are_handed_out_once() -> None:
    flow = new_flow()
    send = flow.poll_action(0)
    waiting = flow.poll_action(1)
    assert isinstance(waiting, df.AwaitingResponse) and waiting.id == send.request.id
    assert flow.poll_action(2) == waiting  # repeats until the response arrives
    flow.handle_response(send.request.id, 200, JSON, ISSUED, 100)
    display = flow.poll_action(100)
    assert display.prompt.user_code == "WDJB-MJHT"
    assert display.prompt.verification_host == "as.example.com"
    assert flow.prompt == display.prompt  # level-triggered view
    first, again = flow.poll_action(100), flow.poll_action(200)
    assert isinstance(first, df.Wait) and first.reason == "interval"
    assert again.until == first.until and again.delay_ms == first.delay_ms - 100


def test_actions_are_frozen() -> None:
    flow = new_flow()
    action = flow.poll_action(0)
    with pytest.raises(AttributeError):
        action.request = None  # type: ignore[misc]
    with pytest.raises(AttributeError):
        action.request.url = "https://evil.example"  # type: ignore[misc]
    flow.handle_response(action.request.id, 200, JSON, ISSUED, 1)
    with pytest.raises(AttributeError):
        flow.poll_action(1).prompt.user_code = "X"


@pytest.mark.skipif(sys.version_info < (3, 10), reason="match needs Python 3.10")
def test_pattern_matching() -> None:
    source = textwrap.dedent('''
        def describe(action):
            match action:
                case Send(HttpRequest(id, "POST", url)):
                    return ("send", id, url)
                case Display(prompt):
                    return ("display", prompt.user_code)
                case Wait(until, delay_ms, reason):
                    return ("wait", until, delay_ms, reason)
                case AwaitingResponse(id):
                    return ("awaiting", id)
                case Done(tokens):
                    return ("done", tokens.access_token)
                case Failed(error):
                    return ("failed", error.code)
    ''')
    scope = vars(df).copy()
    exec(source, scope)
    describe = scope["describe"]
    flow = new_flow()
    assert describe(flow.poll_action(0)) == ("send", 1, DEVICE)
    assert describe(flow.poll_action(0)) == ("awaiting", 1)
    flow.handle_response(1, 200, JSON, ISSUED, 0)
    assert describe(flow.poll_action(0)) == ("display", "WDJB-MJHT")
    assert describe(flow.poll_action(0)) == ("wait", 5020, 5020, "interval")
    assert describe(flow.poll_action(5020)) == ("send", 2, TOKEN)
    flow.handle_response(2, 400, {"content-type": "application/json"},
                         b'{"error":"access_denied"}', 5600)
    assert describe(flow.poll_action(5600)) == ("failed", "access_denied")


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json"},
    [("content-type", "application/json")],
    (("content-type", "application/json"),),
])
@pytest.mark.parametrize("body", [b'{"access_token":"at","token_type":"Bearer"}',
                                  '{"access_token":"at","token_type":"Bearer"}',
                                  bytearray(b'{"access_token":"at","token_type":"Bearer"}')])
def test_response_forms(headers, body) -> None:
    flow = new_flow()
    req = to_polling(flow)
    flow.handle_response(req.id, 200, headers, body, 6000)
    done = flow.poll_action(6000)
    assert isinstance(done, df.Done) and done.result.access_token == "at"


def test_outcomes_are_data_and_raise_the_right_class() -> None:
    cases = {
        "access_denied": df.AccessDenied, "expired_token": df.ExpiredToken,
        "invalid_grant": df.InvalidGrant, "invalid_client": df.InvalidClient,
        "unauthorized_client": df.UnauthorizedClient, "invalid_scope": df.InvalidScope,
        "unsupported_grant_type": df.Unsupported, "something_new": df.OAuthError,
    }
    for error, cls in cases.items():
        flow = new_flow()
        req = to_polling(flow)
        body = json.dumps({"error": error, "error_description": "why", "error_uri": "https://x.example/e"})
        flow.handle_response(req.id, 400, JSON, body, 6000)
        failed = flow.poll_action(6000)
        assert isinstance(failed, df.Failed)
        e = failed.error
        assert type(e) is cls and isinstance(e, df.DeviceFlowError)
        assert (e.error, e.error_description, e.error_uri, e.status) == (error, "why", "https://x.example/e", 400)
        assert flow.is_finished


def test_invalid_response_and_network_error() -> None:
    flow = new_flow()
    send = flow.poll_action(0)
    flow.handle_response(send.request.id, 200, [("content-type", "text/html")], b"<html>", 10)
    assert isinstance(flow.poll_action(10).error, df.InvalidResponse)

    flow = new_flow(timing={"request_retries": 1, "retry_base_ms": 10})
    for now in (0, 1000):
        send = flow.poll_action(now)
        assert isinstance(send, df.Send), send
        flow.handle_transport_error(send.request.id, "connect", now)
        wait = flow.poll_action(now)
    assert isinstance(wait, df.Failed) and isinstance(wait.error, df.NetworkError)
    with pytest.raises(ValueError):
        new_flow().handle_transport_error(1, "bogus", 0)


def test_misuse_is_separate_from_outcomes() -> None:
    flow = new_flow()
    flow.poll_action(0)
    with pytest.raises(df.MisuseError) as stale:
        flow.handle_response(42, 200, None, None, 1)
    assert stale.value.code == "unknown_request"
    assert not isinstance(stale.value, df.DeviceFlowError)
    flow.cancel(2)
    failed = flow.poll_action(2)
    assert isinstance(failed.error, df.Cancelled)
    with pytest.raises(df.MisuseError) as finished:
        flow.cancel(3)
    assert finished.value.code == "finished"


def test_config_errors() -> None:
    with pytest.raises(df.ConfigError) as e:
        df.DeviceFlow(client_id="cli", issuer="http://as.example.com")
    assert e.value.code == "invalid_config" and isinstance(e.value, ValueError)
    with pytest.raises(df.ConfigError, match="scopes"):
        df.DeviceFlow(client_id="cli", issuer="https://as.example.com", scopes="openid")
    with pytest.raises(df.ConfigError, match="timing.interval"):
        df.DeviceFlow(client_id="cli", issuer="https://as.example.com", timing={"interval": 1})
    with pytest.raises(df.ConfigError):
        df.DeviceFlow(client_id="cli")
    with pytest.raises(df.ConfigError):
        df.DeviceFlow({"client_id": "cli", "issuer": "https://as.example.com",
                       "client_auth": "client_secret_basic"})
    with pytest.raises(df.ConfigError):
        df.Refresh(client_id="cli", token_endpoint=TOKEN)  # no refresh_token
    with pytest.raises(df.ConfigError):
        df.Discovery("https://as.example.com/?q=1")
    with pytest.raises(df.ConfigError):
        df.login(provider="nope", client_id="x")


def test_config_dict_and_keywords_merge() -> None:
    flow = df.DeviceFlow({"client_id": "a", "issuer": "https://as.example.com"}, client_id="b",
                         params={"audience": "api"}, now_ms=0)
    req = flow.poll_action(0).request
    assert req.url == "https://as.example.com/.well-known/openid-configuration"
    assert flow.state == "discovering"


def test_panic_becomes_internal_error() -> None:
    with pytest.raises(df.InternalError) as e:
        df._native._panic_for_tests("boom")
    assert isinstance(e.value, df.DeviceFlowError) and isinstance(e.value, Exception)
    assert e.value.code == "internal_error" and "boom" in str(e.value)


def test_tokenset_storage_and_helpers() -> None:
    flow = new_flow()
    req = to_polling(flow)
    claims = {"sub": "alice", "name": "Alice"}
    payload = __import__("base64").urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    id_token = b"e30." + payload + b".sig"
    body = {"access_token": "at-1", "token_type": "Bearer", "expires_in": 60,
            "refresh_token": "rt-1", "id_token": id_token.decode(), "custom": [1, 2]}
    flow.handle_response(req.id, 200, JSON, json.dumps(body), 6000)
    tokens = flow.poll_action(6000).result
    assert tokens.expires_at == 66000 and tokens.extra == {"custom": [1, 2]}
    assert tokens.id_token_claims_unverified() == claims
    assert not tokens.needs_refresh(now_ms=0, skew_ms=0)
    assert tokens.needs_refresh(now_ms=10_000)  # within the default 60 s skew
    assert tokens.is_expired(now_ms=66000) and not tokens.is_expired(now_ms=65999)
    stored = json.loads(json.dumps(tokens.to_dict()))
    assert stored["refresh_token"] == "rt-1"
    assert df.TokenSet.from_dict(stored) == tokens
    with pytest.raises(df.ConfigError):
        df.TokenSet.from_dict({"token_type": "Bearer"})


def test_errors_pickle_with_their_fields() -> None:
    e = df.errors._from_core("access_denied", "denied", "access_denied", "no", None, 400)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is df.AccessDenied and (back.code, back.status, back.error_description) == (
        "access_denied", 400, "no")
    m = pickle.loads(pickle.dumps(df.MisuseError("x", "finished")))
    assert m.code == "finished"


def test_provider_presets() -> None:
    github = df.provider_info("github")
    assert github["device_authorization_endpoint"] == "https://github.com/login/device/code"
    ms = df.provider_info("microsoft", "organizations")
    assert "/organizations/" in ms["token_endpoint"]


def test_provider_preset_fills_the_config() -> None:
    from deviceflow.config import flow_config

    config = flow_config(provider="github", client_id="Iv1.abc")
    request = df.DeviceFlow(config).poll_action().request
    assert request.url == "https://github.com/login/device/code"
    assert b"scope=read%3Auser" in request.body
    google = flow_config(provider="google", client_id="x", client_secret="s", scope="email")
    assert google["client_auth"] == "client_secret_post" and google["scope"] == "email"
