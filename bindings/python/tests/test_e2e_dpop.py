"""DPoP (RFC 9449) end to end against node-oidc-provider: the client ``dpop-cli``
must prove possession (``dpop_bound_access_tokens``) and every proof must carry a
server nonce (``DPOP_NONCE=1``). The tokens work at userinfo with
``dpop_headers``; refresh needs the same key; a DER-returning signer and an async
signer work too; ``Profile(dpop=True)`` shares its key with the CLI."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import pytest

import deviceflow as df
from cli_serve import cli
from servers import Approver

SCOPE = "openid offline_access"
CLIENT = "dpop-cli"


@pytest.fixture(scope="module")
def issuer(make_server) -> str:
    return make_server(DEVICE_INTERVAL="1", DPOP_NONCE="1").issuer


def get(url: str, headers: Dict[str, str]) -> Tuple[int, Dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def userinfo(url: str, make_headers: Any) -> Tuple[int, bytes]:
    """GET with ``make_headers(nonce)``; once more with the server's nonce when it
    answers ``use_dpop_nonce`` (RFC 9449 §9), as a client should."""
    nonce: Optional[str] = None
    for _ in range(2):
        status, headers, body = get(url, make_headers(nonce))
        if status == 401 and "use_dpop_nonce" in headers.get("www-authenticate", ""):
            nonce = headers["dpop-nonce"]
            continue
        return status, body
    return status, body


def der(raw: bytes) -> bytes:
    """ES256 raw r||s as DER (SEQUENCE of two INTEGERs), as keystores return it."""
    def integer(b: bytes) -> bytes:
        b = b.lstrip(b"\0") or b"\0"
        if b[0] & 0x80:
            b = b"\0" + b
        return bytes([0x02, len(b)]) + b
    body = integer(raw[:32]) + integer(raw[32:])
    return bytes([0x30, len(body)]) + body


class DerSigner:
    """A custom signer (think HSM or cloud KMS) that answers in DER."""

    def __init__(self) -> None:
        self.key = df.SoftwareKey.generate()
        self.calls = 0

    def public_jwk(self) -> Dict[str, Any]:
        return self.key.public_jwk()

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        return der(self.key.sign(data))


class AsyncSigner(DerSigner):
    """An async keystore: ``sign`` is a coroutine function."""

    async def sign(self, data: bytes) -> bytes:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().sign(data)


def test_software_key_and_the_helper() -> None:
    key = df.SoftwareKey(bytes([7]) * 32)
    again = df.SoftwareKey.from_secret(key.secret())
    assert again.public_jwk() == key.public_jwk() and again.thumbprint == key.thumbprint
    assert set(key.public_jwk()) == {"kty", "crv", "x", "y"} and len(key.secret()) == 43
    assert key.secret() not in repr(key) and key.thumbprint in repr(key)
    assert isinstance(key, df.Signer) and isinstance(DerSigner(), df.Signer)
    assert len(key.sign(b"x")) == 64 and df.SoftwareKey.generate().thumbprint != key.thumbprint
    with pytest.raises(df.ConfigError):
        df.SoftwareKey(b"short")
    h = df.dpop_headers("get", "https://api.example/me?q=1", "tok", key=key, nonce="n1",
                        now_ms=1_700_000_000_000)
    assert h["Authorization"] == "DPoP tok" and set(h) == {"Authorization", "DPoP"}
    import base64
    claims = json.loads(base64.urlsafe_b64decode(h["DPoP"].split(".")[1] + "=="))
    assert claims["htm"] == "GET" and claims["htu"] == "https://api.example/me"
    assert claims["nonce"] == "n1" and claims["iat"] == 1_700_000_000 and "ath" in claims
    # DER from a custom signer gives the same JWS signature length (normalised to r||s).
    d = df.dpop_headers("GET", "https://api.example/me", "tok", key=DerSigner())
    assert len(base64.urlsafe_b64decode(d["DPoP"].split(".")[2] + "==")) == 64


def test_dpop_login_userinfo_refresh_revoke(issuer: str) -> None:
    key = df.SoftwareKey.generate()
    user = Approver(issuer)
    tokens = df.login(issuer=issuer, client_id=CLIENT, scope=SCOPE, on_code=user, dpop=key)
    user.result()
    assert tokens.token_type == "DPoP" and tokens.refresh_token

    me = f"{issuer}/me"
    status, body = userinfo(me, lambda n: df.dpop_headers("GET", me, tokens.access_token,
                                                          key=key, nonce=n))
    assert status == 200, body
    assert json.loads(body)["sub"] == "alice"
    for scheme in ("Bearer", "DPoP"):  # the token alone (as Bearer, or without a proof)
        assert get(me, {"Authorization": f"{scheme} {tokens.access_token}"})[0] in (400, 401)

    with pytest.raises(df.InvalidGrant):  # the refresh token is bound to the key
        df.refresh(tokens, issuer=issuer, client_id=CLIENT, dpop=df.SoftwareKey.generate())
    fresh = df.refresh(tokens, issuer=issuer, client_id=CLIENT, dpop=key)
    assert fresh.token_type == "DPoP" and fresh.access_token != tokens.access_token
    status, _ = userinfo(me, lambda n: df.dpop_headers("GET", me, fresh.access_token, key=key,
                                                       nonce=n))
    assert status == 200

    df.revoke(fresh, issuer=issuer, client_id=CLIENT, dpop=key)
    with pytest.raises(df.InvalidGrant):
        df.refresh(fresh, issuer=issuer, client_id=CLIENT, dpop=key)


def test_without_dpop_the_client_is_refused(issuer: str) -> None:
    user = Approver(issuer)
    with pytest.raises(df.DeviceFlowError):
        df.login(issuer=issuer, client_id=CLIENT, scope=SCOPE, on_code=user)
    if user.proc is not None:
        user.proc.communicate(timeout=60)


def test_a_der_signer(issuer: str) -> None:
    signer = DerSigner()
    user = Approver(issuer)
    tokens = df.login(issuer=issuer, client_id=CLIENT, scope=SCOPE, on_code=user, dpop=signer)
    user.result()
    assert tokens.token_type == "DPoP" and signer.calls >= 3  # device request, polls, retry
    me = f"{issuer}/me"
    status, body = userinfo(me, lambda n: df.dpop_headers("GET", me, tokens.access_token,
                                                          key=signer, nonce=n))
    assert status == 200, body
    fresh = df.refresh(tokens, issuer=issuer, client_id=CLIENT, dpop=signer)
    assert fresh.token_type == "DPoP"


def test_async_with_an_async_signer(issuer: str) -> None:
    async def main() -> Tuple[Any, Any]:
        signer = AsyncSigner()
        user = Approver(issuer)
        tokens = await df.async_login(issuer=issuer, client_id=CLIENT, scope=SCOPE,
                                      on_code=user, dpop=signer)
        user.result()
        fresh = await df.async_refresh(tokens, issuer=issuer, client_id=CLIENT, dpop=signer)
        await df.async_revoke(fresh, issuer=issuer, client_id=CLIENT, dpop=signer)
        return tokens, fresh

    tokens, fresh = asyncio.run(main())
    assert tokens.token_type == "DPoP" and fresh.token_type == "DPoP"


def test_profile_with_dpop_shared_with_the_cli(issuer: str, tmp_path: Path) -> None:
    profile = df.Profile("d", config_dir=tmp_path)
    user = Approver(issuer)
    tokens = profile.login(issuer=issuer, client_id=CLIENT, scope=SCOPE, store="file",
                           on_code=user, dpop=True)
    user.result()
    assert tokens.token_type == "DPoP"
    document = json.loads(profile.path.read_text())
    secret = document["secrets"]["dpop_key"]
    key = profile.dpop_key()
    assert key is not None and key.secret() == secret

    me = f"{issuer}/me"
    status, body = userinfo(me, lambda n: profile.headers("GET", me, nonce=n))
    assert status == 200, body
    profile.refresh()  # with the stored key; the key stays with the new tokens
    assert json.loads(profile.path.read_text())["secrets"]["dpop_key"] == secret
    status, _ = userinfo(me, lambda n: profile.headers("GET", me, nonce=n))
    assert status == 200

    # The CLI reads the same key and makes proofs the provider accepts.
    def cli_headers(nonce: Optional[str]) -> Dict[str, str]:
        args = ["--profile", "d", "token", "--format", "header", "--method", "GET", "--url", me]
        done = cli(tmp_path, *args, *(["--nonce", nonce] if nonce else []))
        assert done.returncode == 0, done.stderr
        return dict(line.split(": ", 1) for line in done.stdout.splitlines())
    status, _ = userinfo(me, cli_headers)
    assert status == 200

    assert profile.logout() is True  # revoked with the key
    assert not profile.exists()
