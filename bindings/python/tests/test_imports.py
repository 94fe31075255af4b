"""`import deviceflow` stays cheap (bench/python): the value dataclasses (`deviceflow._values`,
which imports `dataclasses` and so `inspect`), asyncio and urllib load on first use, yet every
public name is there, from the package and from `deviceflow._native`."""

from __future__ import annotations

import json
import subprocess
import sys

import deviceflow as df

LAZY_MODULES = ("deviceflow._values", "dataclasses", "inspect", "asyncio", "urllib.request",
                "http.client", "ssl")
VALUES = ("HttpRequest", "Prompt", "TokenSet", "ServerMetadata", "Revoked", "Send", "Display",
          "Wait", "AwaitingResponse", "Sign", "Done", "Failed")


def fresh(code: str) -> dict:
    """Runs `code` in a new interpreter (outside the sources) and returns the JSON it prints."""
    done = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_loads_no_heavy_module() -> None:
    loaded = fresh("import sys, json, deviceflow\n"
                   f"print(json.dumps([m for m in {LAZY_MODULES!r} if m in sys.modules]))")
    assert loaded == []


def test_native_converts_before_anything_asked_for_a_value_class() -> None:
    """The Rust side imports `deviceflow._values` on its first conversion."""
    result = fresh(
        "import sys, json, deviceflow\n"
        "flow = deviceflow.DeviceFlow(client_id='c', device_authorization_endpoint="
        "'https://as.example/da', token_endpoint='https://as.example/token', now_ms=0)\n"
        "action = flow.poll_action(0)\n"
        "print(json.dumps([type(action).__module__, type(action).__name__,"
        " type(action) is deviceflow.Send is deviceflow._native.Send, action.request.url]))")
    assert result == ["deviceflow._values", "Send", True, "https://as.example/da"]


def test_every_public_name_resolves_in_a_fresh_interpreter() -> None:
    names = fresh("import json, deviceflow\n"
                  "ok = [n for n in deviceflow.__all__ if getattr(deviceflow, n, None) is not None]\n"
                  "ns = {}\n"
                  "exec('from deviceflow import *', ns)\n"
                  "print(json.dumps([ok, sorted(n for n in deviceflow.__all__ if n in ns)]))")
    assert names[0] == df.__all__
    assert names[1] == sorted(df.__all__)


def test_value_classes_are_one_set_of_objects() -> None:
    from deviceflow import _native, _values

    for name in VALUES:
        cls = getattr(_values, name)
        assert getattr(df, name) is cls and getattr(_native, name) is cls, name
        assert name in dir(df)
    assert df.Action is _values.Action
    for module in (df, _native):
        try:
            getattr(module, "NoSuchName")
        except AttributeError as e:
            assert "NoSuchName" in str(e)
        else:
            raise AssertionError(f"{module.__name__}.NoSuchName resolved")
