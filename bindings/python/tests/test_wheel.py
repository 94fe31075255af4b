"""What a new user does: install the wheel into a fresh virtualenv, import
deviceflow, log in against a real server. Uses the newest `dist/deviceflow-*.whl`
(or $DEVICEFLOW_WHEEL); skipped without one unless $DEVICEFLOW_REQUIRE_WHEEL=1."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from servers import E2E, ROOT

USER_SCRIPT = r'''
import json, subprocess, sys
import deviceflow

issuer, approve = sys.argv[1], sys.argv[2:]
people = []

def on_code(prompt):
    deviceflow.print_prompt(prompt)
    people.append(subprocess.Popen(approve + ["--issuer", issuer, "--user-code", prompt.user_code],
                                   stdout=subprocess.DEVNULL))

tokens = deviceflow.login(issuer=issuer, client_id="public-cli",
                          scope="openid offline_access", on_code=on_code)
assert people[0].wait(60) == 0
print(json.dumps({"file": deviceflow.__file__, "version": deviceflow.__version__,
                  "sub": tokens.id_token_claims_unverified()["sub"],
                  "has_refresh": tokens.refresh_token is not None, "repr": repr(tokens)}))
'''


def find_wheel() -> Path:
    given = os.environ.get("DEVICEFLOW_WHEEL")
    wheels = [Path(given)] if given else sorted(
        map(Path, glob.glob(str(ROOT / "dist" / "deviceflow-*.whl"))), key=os.path.getmtime)
    if not wheels:
        if os.environ.get("DEVICEFLOW_REQUIRE_WHEEL") == "1":
            pytest.fail("no wheel in dist/ (build it: tests/suites/python.sh)")
        pytest.skip("no wheel in dist/")
    return wheels[-1]


def interpreters() -> list:
    found = [sys.executable]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    oldest = sorted(pyenv.glob("3.9*/bin/python3"))  # abi3-py39: the oldest Python we promise
    return found + [str(oldest[-1])] if oldest else found


@pytest.mark.parametrize("python", interpreters())
def test_fresh_venv_install_and_login(python: str, tmp_path: Path, issuer: str) -> None:
    wheel = find_wheel()
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    venv_python = venv / "bin" / "python"
    subprocess.run([str(venv_python), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                    str(wheel)], check=True)
    (tmp_path / "app.py").write_text(USER_SCRIPT)
    done = subprocess.run(
        [str(venv_python), "app.py", issuer, "node", str(E2E / "approve.mjs")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["file"]).resolve().is_relative_to(venv.resolve())
    assert result["sub"] == "alice" and result["has_refresh"]
    assert "redacted" in result["repr"]
    assert "enter the code" in done.stderr  # the default prompt went to stderr
    package = Path(result["file"]).parent
    assert (package / "py.typed").exists() and (package / "_native.pyi").exists()
