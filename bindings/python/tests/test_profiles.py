"""deviceflow.Profile: the CLI's profiles from Python (same files, same lock, same
keyring entry). Unit tests in temporary config dirs, then both directions with
the real ``deviceflow`` binary against ``deviceflow serve``: the CLI logs in and
Python refreshes, Python logs in and the CLI reads, 8 processes (4 Python, 4
CLI) needing a refresh at once make exactly one, and the Secret Service entry."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import deviceflow as df
from cli_serve import (CLIENT_ID, SCOPE, Keyring, Serve, after_go, approve, cli, cli_login,
                       env_for, expire, need_cli, python_after_go, race, skip, stored, unix_ms)

FAR = 4_102_444_800_000  # 2100-01-01, in ms


def write_profile(home: Path, name: str = "default", *, token: str = "at-1",
                  refresh: Any = "rt-1", expires_at: Any = FAR, **top: Any) -> Path:
    """A profile as the CLI README's "Profile files" section describes it."""
    doc = {
        "version": 1,
        "profile": {"name": name, "provider": None, "issuer": "http://127.0.0.1:9",
                    "device_authorization_endpoint": "http://127.0.0.1:9/device",
                    "token_endpoint": "http://127.0.0.1:9/token", "revocation_endpoint": None,
                    "client_id": "cli", "client_auth": "none", "scope": "openid",
                    "store": "file", "account": "Alice", "logged_in_at_ms": 1},
        "secrets": {"tokens": {"access_token": token, "token_type": "Bearer",
                               "expires_at": expires_at, "expires_in": 3600,
                               "refresh_token": refresh, "scope": "openid",
                               "id_token": "id-1", "extra": {}},
                    "client_secret": None},
    }
    doc.update(top)
    path = home / "profiles" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


class FakeTokenEndpoint:
    """A transport answering every refresh with new tokens; counts the requests."""

    def __init__(self, delay: float = 0.0, **extra: Any) -> None:
        self.requests: List[str] = []
        self.delay = delay
        self.extra = extra
        self.lock = threading.Lock()

    def __call__(self, request: Any, timeout: float) -> Any:
        time.sleep(self.delay)
        with self.lock:
            self.requests.append(bytes(request.body).decode())
            n = len(self.requests)
        body = {"access_token": f"new-at-{n}", "token_type": "Bearer", "expires_in": 3600,
                "refresh_token": f"new-rt-{n}", **self.extra}
        return 200, [("content-type", "application/json")], json.dumps(body).encode()


# ---- unit tests --------------------------------------------------------------------------

def test_config_dir_is_the_clis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("DEVICEFLOW_CONFIG_DIR", "XDG_CONFIG_HOME", "HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert df.Profile().config_dir == tmp_path / "home" / ".config" / "deviceflow"
    monkeypatch.setenv("XDG_CONFIG_HOME", "")  # empty counts as unset, as in the CLI
    assert df.Profile().config_dir == tmp_path / "home" / ".config" / "deviceflow"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert df.Profile().config_dir == tmp_path / "xdg" / "deviceflow"
    monkeypatch.setenv("DEVICEFLOW_CONFIG_DIR", str(tmp_path / "own"))
    assert df.Profile("work").path == tmp_path / "own" / "profiles" / "work.json"
    assert df.Profile(config_dir=tmp_path / "x").config_dir == tmp_path / "x"


def test_names_are_checked_and_listed(tmp_path: Path) -> None:
    for bad in ["", ".hidden", "../x", "a/b", "a b", "x\x1b", "a" * 65]:
        with pytest.raises(df.ConfigError):
            df.Profile(bad, config_dir=tmp_path)
    assert df.Profile.list(config_dir=tmp_path) == []
    write_profile(tmp_path, "work.eu-1_b")
    write_profile(tmp_path, "default")
    for junk in (".default.lock", ".default.json.1.2.tmp", "notes.txt", "bad name.json"):
        (tmp_path / "profiles" / junk).write_text("")
    assert df.Profile.list(config_dir=tmp_path) == ["default", "work.eu-1_b"]


def test_reads_the_documented_format(tmp_path: Path) -> None:
    write_profile(tmp_path, future_field={"x": 1})  # readers ignore unknown fields
    doc = json.loads((tmp_path / "profiles/default.json").read_text())
    doc["profile"]["new_setting"] = True
    doc["secrets"]["tokens"]["new_token_field"] = "?"
    del doc["version"]  # a file from before the field existed is version 1
    (tmp_path / "profiles/default.json").write_text(json.dumps(doc))
    p = df.Profile(config_dir=tmp_path)
    assert p.access_token() == "at-1"  # valid: no request (the endpoint does not exist)
    tokens = p.tokens()
    assert (tokens.refresh_token, tokens.id_token, tokens.expires_at) == ("rt-1", "id-1", FAR)
    assert "at-1" not in repr(tokens) and "rt-1" not in repr(tokens) and "id-1" not in repr(tokens)
    info = p.info()
    assert (info.client_id, info.store, info.account, info.scope) == ("cli", "file", "Alice", "openid")
    assert "at-1" not in repr(info) and "rt-1" not in repr(p)


@pytest.mark.parametrize("version", [2, "1", 0, 1.0, True, None])
def test_unknown_versions_are_refused_and_never_rewritten(tmp_path: Path, version: Any) -> None:
    path = write_profile(tmp_path, version=version, expires_at=1)
    before = path.read_bytes()
    p = df.Profile(config_dir=tmp_path, transport=FakeTokenEndpoint())
    calls = [p.access_token, p.tokens, p.refresh, p.info, p.logout,
             lambda: p.login(client_id="cli", device_authorization_endpoint="http://127.0.0.1:9/d",
                             token_endpoint="http://127.0.0.1:9/t", store="file")]
    for call in calls:
        with pytest.raises(df.UnknownProfileVersion) as e:
            call()
        assert e.value.code == "unknown_profile_version" and "reads version 1" in e.value.message
        assert isinstance(e.value, df.DeviceFlowError)
    assert path.read_bytes() == before
    assert asyncio.run(_raises_async(p.access_token_async())) is df.UnknownProfileVersion


async def _raises_async(coro: Any) -> Any:
    try:
        await coro
    except Exception as e:  # noqa: BLE001
        return type(e)
    return None


def test_the_cli_refuses_an_unknown_version_too(tmp_path: Path) -> None:
    path = write_profile(tmp_path, version=2)
    before = path.read_bytes()
    done = cli(tmp_path, "token")
    assert done.returncode != 0 and "profile format version 2" in done.stderr, done.stderr
    assert path.read_bytes() == before


def test_not_logged_in(tmp_path: Path) -> None:
    p = df.Profile("nobody", config_dir=tmp_path)
    with pytest.raises(df.NotLoggedIn) as e:
        p.access_token()
    assert e.value.requires_login and e.value.code == "login_required"
    assert p.logout() is False and not p.exists()
    write_profile(tmp_path, refresh=None, expires_at=unix_ms() - 1000)
    with pytest.raises(df.NotLoggedIn, match="no refresh token"):
        df.Profile(config_dir=tmp_path).access_token()


def test_refresh_writes_what_the_cli_writes(tmp_path: Path) -> None:
    path = write_profile(tmp_path, expires_at=unix_ms() + 30_000)  # within the 60 s margin
    endpoint = FakeTokenEndpoint()
    p = df.Profile(config_dir=tmp_path, transport=endpoint)
    assert p.access_token(min_valid_s=10) == "at-1" and not endpoint.requests
    assert p.access_token() == "new-at-1"
    assert "refresh_token=rt-1" in endpoint.requests[0] and "client_id=cli" in endpoint.requests[0]
    doc = json.loads(path.read_text())
    assert list(doc) == ["version", "profile", "secrets"] and doc["version"] == 1
    assert list(doc["profile"]) == [
        "name", "provider", "issuer", "device_authorization_endpoint", "token_endpoint",
        "revocation_endpoint", "client_id", "client_auth", "scope", "store", "account",
        "logged_in_at_ms"]
    assert list(doc["secrets"]) == ["tokens", "client_secret"]
    t = doc["secrets"]["tokens"]
    assert list(t) == ["access_token", "token_type", "expires_at", "expires_in",
                       "refresh_token", "scope", "id_token", "extra"]
    assert (t["access_token"], t["refresh_token"]) == ("new-at-1", "new-rt-1")
    assert (t["id_token"], t["scope"]) == ("id-1", "openid"), "kept when the answer has none"
    assert abs(t["expires_at"] - (unix_ms() + 3_600_000)) < 60_000
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lock = tmp_path / "profiles" / ".default.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600 and lock.read_bytes() == b""
    assert sorted(os.listdir(tmp_path / "profiles")) == [".default.lock", "default.json"]
    fresh = tmp_path / "fresh"
    write_profile(fresh, expires_at=1)
    os.chmod(fresh / "profiles", 0o755)
    df.Profile(config_dir=fresh, transport=FakeTokenEndpoint()).refresh()
    assert stat.S_IMODE((fresh / "profiles/default.json").stat().st_mode) == 0o600
    # The CLI reads what Python wrote (a valid token: no request).
    done = cli(tmp_path, "token")
    assert done.returncode == 0 and done.stdout == "new-at-1\n", done.stderr


def test_the_lock_is_the_clis(tmp_path: Path) -> None:
    """While Python holds the profile lock, `deviceflow token` waits; and the other way
    round a Python process waits for a lock held elsewhere."""
    write_profile(tmp_path)
    from deviceflow._profile_store import Store

    held = Store(tmp_path).lock("default")
    proc = subprocess.Popen([str(need_cli()), "token"], env=env_for(tmp_path),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert proc.poll() is None, "deviceflow token did not wait for the lock"
    held.close()
    assert proc.communicate(timeout=30)[0] == "at-1\n"

    held = Store(tmp_path).lock("default")
    got: List[str] = []
    waiter = threading.Thread(target=lambda: got.append(df.Profile(config_dir=tmp_path).access_token()))
    waiter.start()
    time.sleep(0.5)
    assert not got, "two holders at once"
    held.close()
    waiter.join(10)
    assert got == ["at-1"]


def test_threads_and_coroutines_share_one_refresh(tmp_path: Path) -> None:
    write_profile(tmp_path, expires_at=1)
    endpoint = FakeTokenEndpoint(delay=0.2)
    results: List[str] = []
    threads = [threading.Thread(target=lambda: results.append(
        df.Profile(config_dir=tmp_path, transport=endpoint).access_token())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == ["new-at-1"] * 8 and len(endpoint.requests) == 1

    expire_file = tmp_path / "profiles/default.json"
    doc = json.loads(expire_file.read_text())
    doc["secrets"]["tokens"]["expires_at"] = 1
    expire_file.write_text(json.dumps(doc))

    async def many() -> List[str]:
        p = df.Profile(config_dir=tmp_path, transport=endpoint)
        return list(await asyncio.gather(*(p.access_token_async() for _ in range(10))))

    assert asyncio.run(many()) == ["new-at-2"] * 10 and len(endpoint.requests) == 2
    assert "refresh_token=new-rt-1" in endpoint.requests[1], "the rotated token is used"
    forced = asyncio.run(df.Profile(config_dir=tmp_path, transport=endpoint).refresh_async())
    assert forced.access_token == "new-at-3"


def test_keyring_profile_without_the_keyring_package(tmp_path: Path) -> None:
    write_profile(tmp_path, secrets=None)
    doc = json.loads((tmp_path / "profiles/default.json").read_text())
    doc["profile"]["store"] = "keyring"
    (tmp_path / "profiles/default.json").write_text(json.dumps(doc))
    script = ("import sys; sys.modules['secretstorage'] = sys.modules['keyring'] = None\n"
              "import deviceflow\n"
              "try:\n    deviceflow.Profile().access_token()\n"
              "except deviceflow.KeyringUnavailable as e:\n    print(e.code, e.message)\n")
    done = subprocess.run([sys.executable, "-c", script], env=env_for(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("keyring_unavailable "), done.stdout + done.stderr
    assert "pip install deviceflow[keyring]" in done.stdout


# ---- against deviceflow serve, with the CLI ------------------------------------------------

@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    need_cli()
    server = Serve(tmp_path_factory.mktemp("serve"))
    yield server
    server.close()


def test_cli_login_python_refreshes_cli_reads(serve: Serve, tmp_path: Path) -> None:
    code, out, err = cli_login(tmp_path, serve.issuer, "--store", "file")
    assert code == 0, out + err
    first = stored(tmp_path)["secrets"]["tokens"]
    refreshes = serve.events("refresh")
    p = df.Profile(config_dir=tmp_path)
    assert p.access_token() == first["access_token"]
    assert serve.events("refresh") == refreshes, "a valid token is not refreshed"

    expire(tmp_path)
    new = p.access_token()
    now = stored(tmp_path)["secrets"]["tokens"]
    assert new == now["access_token"] != first["access_token"]
    assert now["refresh_token"] != first["refresh_token"], "the server rotates refresh tokens"
    assert now["scope"] and (now["id_token"] or not first["id_token"]), "kept when not repeated"
    assert serve.events("refresh") == refreshes + 1
    done = cli(tmp_path, "token")
    assert done.returncode == 0 and done.stdout == new + "\n", done.stderr
    assert serve.events("refresh") == refreshes + 1

    # The CLI rotates; Python picks the new refresh token up (a replay would kill the grant).
    assert cli(tmp_path, "refresh").returncode == 0
    by_cli = stored(tmp_path)["secrets"]["tokens"]
    assert p.tokens().access_token == by_cli["access_token"]
    assert p.refresh().access_token != by_cli["access_token"]
    assert cli(tmp_path, "token", "--min-valid", "100000").returncode == 0
    assert serve.events("refresh") == refreshes + 4 and serve.events("reuse_detected") == 0


def test_python_login_cli_reads_python_logout(serve: Serve, tmp_path: Path) -> None:
    p = df.Profile("py", config_dir=tmp_path)
    approver: List[threading.Thread] = []

    def on_code(prompt: Any) -> None:
        t = threading.Thread(target=approve, args=(serve.issuer, prompt.user_code))
        t.start()
        approver.append(t)

    tokens = p.login(issuer=serve.issuer, client_id=CLIENT_ID, scope=SCOPE, store="file",
                     on_code=on_code)
    approver[0].join(30)
    assert tokens.refresh_token and p.tokens() == tokens
    info = p.info()
    assert (info.issuer, info.client_id, info.scope, info.store) == (
        serve.issuer, CLIENT_ID, SCOPE, "file")
    assert info.token_endpoint.startswith(serve.issuer) and info.revocation_endpoint
    status = cli(tmp_path, "--json", "status", "--profile", "py")
    assert status.returncode == 0, status.stdout + status.stderr
    assert json.loads(status.stdout)["status"] == "logged_in"
    done = cli(tmp_path, "token", "--profile", "py")
    assert done.stdout == tokens.access_token + "\n", done.stderr
    expire(tmp_path, "py")
    done = cli(tmp_path, "token", "--profile", "py")  # the CLI refreshes a Python login
    assert done.returncode == 0 and done.stdout.strip() != tokens.access_token, done.stderr
    assert p.access_token() == done.stdout.strip()

    assert p.logout() is True and not p.exists() and df.Profile.list(config_dir=tmp_path) == []
    assert cli(tmp_path, "token", "--profile", "py").returncode == 6
    with pytest.raises(df.InvalidGrant):  # revoked at the server
        df.refresh(tokens, issuer=serve.issuer, client_id=CLIENT_ID)


def test_async_login_and_token(serve: Serve, tmp_path: Path) -> None:
    async def on_code(prompt: Any) -> None:
        asyncio.get_running_loop().run_in_executor(None, approve, serve.issuer, prompt.user_code)

    async def main() -> List[str]:
        p = df.Profile("aio", config_dir=tmp_path)
        tokens = await p.login_async(issuer=serve.issuer, client_id=CLIENT_ID, scope=SCOPE,
                                     store="file", on_code=on_code)
        first = await p.access_token_async()
        expire(tmp_path, "aio")
        again = await asyncio.gather(*(p.access_token_async() for _ in range(4)))
        return [tokens.access_token, first, *again]

    refreshes = serve.events("refresh")
    issued, first, *again = asyncio.run(main())
    assert first == issued and len(set(again)) == 1 and again[0] != issued
    assert serve.events("refresh") == refreshes + 1
    done = cli(tmp_path, "token", "--profile", "aio")
    assert done.returncode == 0 and done.stdout == again[0] + "\n", done.stderr


def test_eight_processes_one_refresh(serve: Serve, tmp_path: Path) -> None:
    """4 Python processes and 4 `deviceflow token` find the token expired at the same
    moment: one refresh request between them, and all 8 print its token."""
    code, out, err = cli_login(tmp_path, serve.issuer, "--store", "file")
    assert code == 0, out + err
    old = stored(tmp_path)["secrets"]["tokens"]
    refreshes, reuses = serve.events("refresh"), serve.events("reuse_detected")
    expire(tmp_path)
    py = python_after_go("print(deviceflow.Profile().access_token())")
    commands = [py, after_go(str(need_cli()), "token")] * 4
    results = race(commands, env_for(tmp_path))
    new = stored(tmp_path)["secrets"]["tokens"]
    assert new["access_token"] != old["access_token"]
    assert new["refresh_token"] != old["refresh_token"]
    for i, (status, out, err) in enumerate(results):
        assert status == 0, f"process {i} ({commands[i][-1]}): {err}"
        assert out == new["access_token"] + "\n", f"process {i} did not get the new token"
    count = serve.events("refresh") - refreshes
    print(f"\n8 concurrent processes (4 Python, 4 CLI): {count} refresh request(s) in the "
          "server's audit log", file=sys.__stderr__, flush=True)
    assert count == 1, "exactly one refresh for 8 processes"
    assert serve.events("reuse_detected") == reuses

    # 8 forced refreshes at once: each uses the token the one before it stored.
    refresh_py = python_after_go("deviceflow.Profile().refresh()")
    results = race([refresh_py, after_go(str(need_cli()), "refresh")] * 4, env_for(tmp_path))
    assert all(status == 0 for status, _, _ in results), results
    assert serve.events("refresh") - refreshes == 9
    assert serve.events("reuse_detected") == reuses, "a rotated refresh token was replayed"
    assert cli(tmp_path, "token", "--min-valid", "100000").returncode == 0, "the grant lives"


# ---- the Secret Service, shared with the CLI -----------------------------------------------

@pytest.fixture()
def keyring_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Keyring]:
    missing = Keyring.missing()
    if missing:
        skip(f"the Secret Service test needs {missing} "
             "(apt-get install dbus gnome-keyring libsecret-tools)")
    try:
        import secretstorage  # noqa: F401
    except ImportError:
        skip("the Secret Service test needs the keyring extra (pip install deviceflow[keyring])")
    kr = Keyring(tmp_path / "session")
    for k, v in kr.env.items():
        monkeypatch.setenv(k, v)
    yield kr
    kr.close()


def test_keyring_entry_is_shared_with_the_cli(serve: Serve, keyring_session: Keyring,
                                              tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, out, err = cli_login(home, serve.issuer, "--store", "keyring", env=keyring_session.env)
    assert code == 0, out + err
    doc = stored(home)
    assert doc["profile"]["store"] == "keyring" and doc["secrets"] is None
    (entry,) = keyring_session.items("default")
    by_cli = json.loads(entry)["tokens"]
    p = df.Profile(config_dir=home)
    assert p.access_token() == by_cli["access_token"]

    fresh = p.refresh()  # Python rotates in the CLI's item: one item, never two
    (entry,) = keyring_session.items("default")
    assert json.loads(entry)["tokens"]["access_token"] == fresh.access_token
    assert stored(home)["secrets"] is None
    done = cli(home, "token", env=keyring_session.env)
    assert done.returncode == 0 and done.stdout == fresh.access_token + "\n", done.stderr
    assert cli(home, "refresh", env=keyring_session.env).returncode == 0
    assert p.tokens().access_token == json.loads(keyring_session.items("default")[0])[
        "tokens"]["access_token"] != fresh.access_token

    # Python logs in to the keyring; the CLI reads it; Python logs out: the entry is gone.
    q = df.Profile("py", config_dir=home)
    tokens = q.login(issuer=serve.issuer, client_id=CLIENT_ID, scope=SCOPE, store="keyring",
                     on_code=lambda pr: threading.Thread(
                         target=approve, args=(serve.issuer, pr.user_code)).start())
    assert stored(home, "py")["secrets"] is None and len(keyring_session.items("py")) == 1
    done = cli(home, "token", "--profile", "py", env=keyring_session.env)
    assert done.stdout == tokens.access_token + "\n", done.stderr
    assert q.logout() is True and keyring_session.items("py") == [] and not q.exists()
    assert serve.events("reuse_detected") == 0
