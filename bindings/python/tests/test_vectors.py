"""Replays every `tests/vectors/*.json` and `tests/vectors/dpop/*.json` through the Python
API, with the rules of `core/tests/vectors.rs` and `core/tests/dpop_vectors.rs` (format:
`tests/vectors/README.md` and `tests/vectors/dpop/README.md`)."""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

import pytest

import deviceflow as df
from servers import VECTORS

FILES = sorted(VECTORS.glob("*.json")) + sorted(VECTORS.glob("dpop/*.json"))
#: The DPoP vectors' key: d = 0x01..0x20 (tests/vectors/dpop/README.md).
DPOP_KEY = bytes(range(1, 33))


def test_vectors_exist() -> None:
    assert FILES, f"no vectors in {VECTORS}"
    assert any(p.parent.name == "dpop" for p in FILES), "the DPoP vectors are replayed too"


def test_dpop_vectors_use_the_documented_key() -> None:
    """Every DPoP vector's JWK is the public half of the key its README names."""
    jwk = df.SoftwareKey(DPOP_KEY).public_jwk()
    for path in VECTORS.glob("dpop/*.json"):
        vector = json.loads(path.read_text(encoding="utf-8"))
        if not vector.get("config_error"):
            assert vector["config"]["dpop"]["jwk"] == jwk, path.name


def make_operation(kind: str, config: dict, now: int) -> Any:
    if kind == "device_flow":
        return df.DeviceFlow(config, now_ms=now)
    if kind == "discovery":
        return df.Discovery(config["issuer"], timing=config.get("timing"), now_ms=now)
    if kind == "refresh":
        return df.Refresh(config, now_ms=now)
    if kind == "revocation":
        return df.Revocation(config, now_ms=now)
    raise AssertionError(f"unknown operation {kind}")


def action_json(action: Any) -> dict:
    """The serde JSON shape of the action, rebuilt from the Python attributes."""
    kind = type(action)
    if kind is df.Send:
        r = action.request
        return {"type": "send", "id": r.id, "method": r.method, "url": r.url,
                "headers": [{"name": n, "value": v} for n, v in r.headers],
                "body": r.body.decode("utf-8", "replace"), "timeout_ms": r.timeout_ms}
    if kind is df.Display:
        p = action.prompt
        fields = ("user_code", "verification_uri", "verification_uri_complete",
                  "verification_host", "expires_at", "expires_in", "interval", "message")
        return {"type": "display", **{f: getattr(p, f) for f in fields}}
    if kind is df.Wait:
        return {"type": "wait", "until": action.until, "delay_ms": action.delay_ms,
                "reason": action.reason}
    if kind is df.AwaitingResponse:
        return {"type": "awaiting_response", "id": action.id}
    if kind is df.Sign:
        return {"type": "sign", "id": action.id, "input": action.input}
    if kind is df.Done:
        return {"type": "done", **action.result.to_dict()}
    if kind is df.Failed:
        e = action.error
        assert isinstance(e, df.DeviceFlowError)
        return {"type": "failed", "code": e.code, "message": e.message, "error": e.error,
                "error_description": e.error_description, "error_uri": e.error_uri,
                "status": e.status}
    raise AssertionError(f"unknown action {action!r}")


def subset(expected: Any, actual: Any, path: str = "action") -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, want in expected.items():
            got = actual.get(key)
            if key == "headers" and isinstance(want, dict) and isinstance(got, list):
                for name, value in want.items():
                    found = next((h["value"] for h in got if h["name"].lower() == name.lower()),
                                 None)
                    assert found == value, f"{path}.headers.{name}: expected {value!r}, got {found!r}"
            else:
                subset(want, got, f"{path}.{key}")
        return
    if expected is None:
        assert actual is None, f"{path}: expected null, got {actual!r}"
        return
    # JSON equality: 1 == 1.0 in both languages, but True must not equal 1.
    same = expected == actual and isinstance(expected, bool) == isinstance(actual, bool)
    assert same, f"{path}: expected {expected!r}, got {actual!r}"


def response_parts(spec: dict) -> tuple:
    headers = list(spec.get("headers", {}).items())
    if "json" in spec:
        if "headers" not in spec:
            headers.append(("content-type", "application/json"))
        # serde_json's compact form (the Rust runner's bytes), keys sorted like its BTreeMap.
        body = json.dumps(spec["json"], separators=(",", ":"), ensure_ascii=False,
                          sort_keys=True).encode()
    elif "text" in spec:
        body = spec["text"].encode()
    elif "base64" in spec:
        body = base64.b64decode(spec["base64"])
    elif "repeat" in spec:
        body = (spec["repeat"]["text"] * spec["repeat"]["times"]).encode()
    else:
        body = b""
    return spec["status"], headers, body


def call(step: dict, fn, *args) -> None:
    want = step.get("misuse")
    try:
        fn(*args)
    except df.MisuseError as e:
        assert want == e.code, f"misuse: expected {want!r}, got {e.code!r} ({e})"
        return
    assert want is None, f"misuse: expected {want!r}, the call succeeded"


def run(vector: dict) -> None:
    start = vector.get("start", 0)
    kind = vector.get("operation", "device_flow")
    if vector.get("config_error"):
        with pytest.raises(df.ConfigError) as refused:
            make_operation(kind, vector["config"], start)
        assert refused.value.code == "invalid_config"
        return
    op = make_operation(kind, vector["config"], start)
    last_id: Optional[int] = None
    last_sign_id: Optional[int] = None
    for i, step in enumerate(vector["steps"]):
        where = f"step {i}"
        if "poll" in step:
            action = op.poll_action(step["poll"])
            actual = action_json(action)
            if actual["type"] == "send":
                last_id = actual["id"]
            if actual["type"] == "sign":
                last_sign_id = actual["id"]
            try:
                subset(step["expect"], actual)
            except AssertionError as e:
                raise AssertionError(f"{where}: {e}\n  actual: {actual}") from None
        elif "respond" in step:
            r = step["respond"]
            rid = r.get("id", last_id)
            assert rid is not None, f"{where}: no request to answer"
            status, headers, body = response_parts(r)
            call(step, op.handle_response, rid, status, headers, body, r["now"])
        elif "transport_error" in step:
            t = step["transport_error"]
            rid = t.get("id", last_id)
            assert rid is not None, f"{where}: no request"
            call(step, op.handle_transport_error, rid, t["kind"], t["now"])
        elif "sign" in step:
            g = step["sign"]
            sid = g.get("id", last_sign_id)
            assert sid is not None, f"{where}: nothing to sign"
            signature = bytes.fromhex(g["raw_hex"] if "raw_hex" in g else g["der_hex"])
            call(step, op.handle_signature, sid, signature, g["now"])
        elif "cancel" in step:
            call(step, op.cancel, step["cancel"])
        else:
            raise AssertionError(f"{where}: unknown step {step}")


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(VECTORS).with_suffix("").as_posix()
                                             for p in FILES])
def test_vector(path) -> None:
    vector = json.loads(path.read_text(encoding="utf-8"))
    run(vector)
