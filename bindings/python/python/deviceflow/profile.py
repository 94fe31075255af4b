"""Stored logins shared with the ``deviceflow`` CLI: the same profile files
(format version 1), the same refresh lock and the same OS keyring entry.

    import deviceflow
    profile = deviceflow.Profile("default")          # or Profile("work")
    profile.login(issuer="https://auth.example.com", client_id="my-cli",
                  scope="openid offline_access")    # once
    token = profile.access_token()                   # valid for 60 s more, refreshed if needed

``access_token`` follows the CLI's refresh protocol: take the profile's lock,
read the tokens only then, refresh only if they still need it, store the whole
answer, let go. So any number of processes (Python or ``deviceflow token``)
that need a refresh at the same moment make one refresh request between them,
and a refresh token rotated by another process is picked up, never replayed.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, TypeVar, Union

from . import _profile_keyring as keyring_store
from ._native import ServerMetadata, TokenSet
from ._profile_errors import KeyringUnavailable, NotLoggedIn, ProfileError, UnknownProfileVersion
from ._profile_store import FORMAT_VERSION, TOKEN_FIELDS, Lock, Record, Store, check_name
from .api import discover, login, refresh, revoke
from .config import Params, flow_config
from .dpop import SoftwareKey, dpop_headers
from .errors import ConfigError, DeviceFlowError, Unsupported
from .prompt import print_prompt
from .transport import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from .async_api import OnCode

__all__ = ["Profile", "ProfileInfo", "ProfileError", "NotLoggedIn", "UnknownProfileVersion",
           "KeyringUnavailable", "FORMAT_VERSION"]

T = TypeVar("T")
Timing = Mapping[str, int]
PathLike = Union[str, "os.PathLike[str]"]
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x1f\x7f-\x9f]")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class ProfileInfo:
    """What a profile records about its login (no secrets)."""

    name: str
    provider: Optional[str]
    issuer: Optional[str]
    device_authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: Optional[str]
    client_id: str
    client_auth: str
    scope: Optional[str]
    store: str  #: ``file`` or ``keyring``: where the tokens are
    account: Optional[str]  #: from the ID token, unverified; for display only
    logged_in_at_ms: int


@dataclass
class _Plan:
    """A login's endpoints and client, resolved before the flow starts."""

    profile: Dict[str, Any]
    client_secret: Optional[str]
    scope: Optional[str]


class Profile:
    """One stored login, ``<config dir>/profiles/<name>.json``, where the CLI keeps it.

    The config dir is ``config_dir``, else ``$DEVICEFLOW_CONFIG_DIR``, else
    ``$XDG_CONFIG_HOME/deviceflow``, else ``~/.config/deviceflow``
    (``%APPDATA%\\deviceflow`` on Windows). ``transport``, ``timeout`` and
    ``timing`` are those of the high-level functions. Errors are
    ``DeviceFlowError``s: ``NotLoggedIn`` (log in), ``InvalidGrant`` (the server
    ended the login), ``UnknownProfileVersion``, ``KeyringUnavailable``,
    ``ProfileError``, ``NetworkError``, ...
    """

    def __init__(self, name: str = "default", *, config_dir: Optional[PathLike] = None,
                 transport: Any = None, timeout: float = DEFAULT_TIMEOUT,
                 timing: Optional[Timing] = None) -> None:
        try:
            check_name(name)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        self.name = name
        self._store = Store(config_dir)
        self.transport = transport
        self.timeout = timeout
        self.timing = timing

    @property
    def config_dir(self) -> Path:
        return self._store.dir

    @property
    def path(self) -> Path:
        """The profile file."""
        return self._store.path(self.name)

    def __repr__(self) -> str:
        return f"Profile(name={self.name!r}, config_dir={str(self._store.dir)!r})"

    @classmethod
    def list(cls, *, config_dir: Optional[PathLike] = None) -> List[str]:
        """The names of the stored profiles, sorted."""
        return Store(config_dir).list()

    def exists(self) -> bool:
        return self.path.exists()

    # ---- reading ----

    def _load(self) -> Record:
        record = self._store.load(self.name)
        if record is None:
            raise NotLoggedIn(f'not logged in (profile "{self.name}"); log in first')
        if record.secrets is None:
            raise NotLoggedIn(f'the tokens of profile "{self.name}" are gone from the keyring; '
                              "log in again")
        return record

    def _tokens_of(self, record: Record) -> TokenSet:
        stored = record.secrets["tokens"]  # type: ignore[index]
        data = {k: stored.get(k) for k in TOKEN_FIELDS}  # readers ignore unknown fields
        if data["extra"] is None:
            data["extra"] = {}
        try:
            return TokenSet.from_dict({k: v for k, v in data.items() if v is not None})
        except (ConfigError, TypeError, ValueError) as e:
            raise ProfileError(f'the tokens of profile "{self.name}" are damaged ({e}); '
                               "log in again") from None

    def info(self) -> ProfileInfo:
        """The stored login's settings (``NotLoggedIn`` when there is none)."""
        record = self._store.load(self.name)
        if record is None:
            raise NotLoggedIn(f'not logged in (profile "{self.name}"); log in first')
        p = record.profile
        fields: Dict[str, Any] = {k: p.get(k) for k in ProfileInfo.__dataclass_fields__}
        return ProfileInfo(**fields)

    def tokens(self) -> TokenSet:
        """The stored tokens as they are (no refresh; see ``fresh_tokens``)."""
        return self._tokens_of(self._load())

    # ---- refreshing (the shared protocol) ----

    def _client(self, record: Record) -> Dict[str, Any]:
        p = record.profile
        secret = os.environ.get("DEVICEFLOW_CLIENT_SECRET") or (
            record.secrets or {}).get("client_secret")
        return {"client_id": p["client_id"], "client_secret": secret,
                "client_auth": p["client_auth"]}

    def _key_of(self, record: Record) -> Optional[SoftwareKey]:
        """The DPoP key the tokens are bound to (``login(dpop=True)``, ``login --dpop``)."""
        secret = (record.secrets or {}).get("dpop_key")
        if secret is None:
            return None
        try:
            return SoftwareKey.from_secret(str(secret))
        except ConfigError as e:
            raise ProfileError(f'the DPoP key of profile "{self.name}" is damaged ({e}); '
                               "log in again") from None

    def _refresh_args(self, record: Record, tokens: TokenSet) -> Dict[str, Any]:
        if tokens.refresh_token is None:
            raise NotLoggedIn("the access token expired and the server gave no refresh token; "
                              "log in again")
        return dict(self._client(record), token_endpoint=record.profile["token_endpoint"],
                    dpop=self._key_of(record), timing=self.timing, timeout=self.timeout)

    def _store_refreshed(self, record: Record, old: TokenSet, new: TokenSet) -> TokenSet:
        """Saves the whole answer; a response need not repeat the ID token or scope."""
        data = new.to_dict()
        if data.get("id_token") is None:
            data["id_token"] = old.id_token
        if data.get("scope") is None:
            data["scope"] = old.scope
        secrets = dict(record.secrets or {}, tokens=data)
        try:
            self._store.save(self.name, record.profile, secrets)
        except ProfileError as e:
            raise type(e)(f"refreshed, but could not store the tokens: {e.message}") from None
        return TokenSet.from_dict({k: v for k, v in data.items() if v is not None})

    def _locked(self, work: Callable[[Record], T]) -> T:
        with self._store.lock(self.name):
            return work(self._load())

    def fresh_tokens(self, min_valid_s: int = 60) -> TokenSet:
        """Tokens whose access token is valid ``min_valid_s`` seconds more (or has no
        known expiry), refreshed under the profile's lock when needed."""
        return self._locked(lambda record: self._fresh_locked(record, min_valid_s))

    def _fresh_locked(self, record: Record, min_valid_s: int) -> TokenSet:
        tokens = self._tokens_of(record)
        if not tokens.needs_refresh(_now_ms(), max(0, min_valid_s) * 1000):
            return tokens
        new = refresh(tokens, transport=self.transport, **self._refresh_args(record, tokens))
        return self._store_refreshed(record, tokens, new)

    def dpop_key(self) -> Optional[SoftwareKey]:
        """The DPoP key this login is bound to, or None for a bearer login."""
        return self._key_of(self._load())

    def headers(self, method: str, url: str, *, nonce: Optional[str] = None,
                min_valid_s: int = 60) -> Dict[str, str]:
        """The headers for one request to a resource server with a fresh token:
        ``Authorization: Bearer <token>``, or for a DPoP login ``Authorization: DPoP
        <token>`` and ``DPoP: <proof>`` for this ``method`` and ``url`` (pass the
        server's ``DPoP-Nonce`` as ``nonce`` after it answered ``use_dpop_nonce``)."""
        def work(record: Record) -> Dict[str, str]:
            tokens = self._fresh_locked(record, min_valid_s)
            key = self._key_of(record)
            if key is None:
                return {"Authorization": f"Bearer {tokens.access_token}"}
            return dpop_headers(method, url, tokens.access_token, key=key, nonce=nonce)
        return self._locked(work)

    def access_token(self, min_valid_s: int = 60) -> str:
        """An access token valid ``min_valid_s`` seconds more, refreshing when needed."""
        return self.fresh_tokens(min_valid_s).access_token

    def refresh(self) -> TokenSet:
        """Refreshes now (under the lock) and stores the new tokens."""
        def work(record: Record) -> TokenSet:
            tokens = self._tokens_of(record)
            new = refresh(tokens, transport=self.transport, **self._refresh_args(record, tokens))
            return self._store_refreshed(record, tokens, new)
        return self._locked(work)

    # ---- login and logout ----

    def _plan(self, *, client_id: str, issuer: Optional[str], provider: Optional[str],
              tenant: Optional[str], device_authorization_endpoint: Optional[str],
              token_endpoint: Optional[str], revocation_endpoint: Optional[str],
              scope: Optional[str], client_secret: Optional[str], client_auth: Optional[str],
              store: str, meta: Optional[ServerMetadata]) -> _Plan:
        if store not in ("auto", "file", "keyring"):
            raise ConfigError(f"store must be 'auto', 'file' or 'keyring', not {store!r}")
        config = flow_config(client_id=client_id, issuer=issuer, provider=provider,
                             tenant=tenant, scope=scope, client_secret=client_secret,
                             client_auth=client_auth,
                             device_authorization_endpoint=device_authorization_endpoint,
                             token_endpoint=token_endpoint)
        if revocation_endpoint is None and provider is not None:
            from ._native import provider_info
            revocation_endpoint = provider_info(provider, tenant)["revocation_endpoint"]
        dae = config.get("device_authorization_endpoint")
        te = config.get("token_endpoint")
        issuer = config.get("issuer")
        if meta is not None:
            issuer = meta.issuer
            dae = dae or meta.device_authorization_endpoint
            te = te or meta.token_endpoint
            revocation_endpoint = revocation_endpoint or meta.revocation_endpoint
        if not dae or not te:
            raise Unsupported("the server publishes no device authorization or token endpoint")
        auth = config.get("client_auth") or ("client_secret_basic" if client_secret else "none")
        return _Plan({"name": self.name, "provider": provider, "issuer": issuer,
                      "device_authorization_endpoint": dae, "token_endpoint": te,
                      "revocation_endpoint": revocation_endpoint, "client_id": client_id,
                      "client_auth": auth, "scope": config.get("scope"), "store": store,
                      "account": None, "logged_in_at_ms": 0},
                     client_secret, config.get("scope"))

    @staticmethod
    def _needs_discovery(issuer: Optional[str], provider: Optional[str],
                         dae: Optional[str], te: Optional[str]) -> bool:
        if provider is not None:
            return False
        if dae and te:
            return False
        if issuer is None:
            raise ConfigError("give issuer, provider, or both endpoints")
        return True

    def _save_login(self, plan: _Plan, tokens: TokenSet,
                    key: Optional[SoftwareKey] = None) -> None:
        profile = dict(plan.profile, account=_account_name(tokens), logged_in_at_ms=_now_ms())
        if profile["store"] == "auto":
            profile["store"] = "keyring" if keyring_store.available() else "file"
        secrets = {"tokens": tokens.to_dict(), "client_secret": plan.client_secret}
        if key is not None:
            secrets["dpop_key"] = key.secret()
        try:
            with self._store.lock(self.name):
                self._store.save(self.name, profile, secrets)
        except ProfileError as e:
            raise type(e)(f"signed in, but could not store the tokens: {e.message}") from None

    def login(self, *, client_id: str, issuer: Optional[str] = None,
              provider: Optional[str] = None, tenant: Optional[str] = None,
              scope: Optional[str] = None, client_secret: Optional[str] = None,
              client_auth: Optional[str] = None,
              device_authorization_endpoint: Optional[str] = None,
              token_endpoint: Optional[str] = None, revocation_endpoint: Optional[str] = None,
              params: Optional[Params] = None, extra_token_types: Optional[Sequence[str]] = None,
              store: str = "auto", on_code: Callable[[Any], Any] = print_prompt,
              cancel_event: Optional[threading.Event] = None, dpop: bool = False) -> TokenSet:
        """Signs in with the device flow (``deviceflow.login``) and stores the login
        in this profile, replacing the one it had. ``store``: ``auto`` (the OS
        keyring when usable, else the file), ``file`` or ``keyring``. ``dpop``: bind
        the tokens to a new ``SoftwareKey`` kept with them (``deviceflow login
        --dpop``); refreshes and logout use it, and ``headers()`` makes the proofs."""
        meta = None
        if self._needs_discovery(issuer, provider, device_authorization_endpoint, token_endpoint):
            meta = discover(issuer, transport=self.transport,  # type: ignore[arg-type]
                            timeout=self.timeout, timing=self.timing)
        plan = self._plan(client_id=client_id, issuer=issuer, provider=provider, tenant=tenant,
                          device_authorization_endpoint=device_authorization_endpoint,
                          token_endpoint=token_endpoint, revocation_endpoint=revocation_endpoint,
                          scope=scope, client_secret=client_secret, client_auth=client_auth,
                          store=store, meta=meta)
        self._check_writable(store)
        p = plan.profile
        key = SoftwareKey.generate() if dpop else None
        tokens = login(client_id=client_id,
                       device_authorization_endpoint=p["device_authorization_endpoint"],
                       token_endpoint=p["token_endpoint"], scope=plan.scope,
                       client_secret=client_secret, client_auth=p["client_auth"], params=params,
                       extra_token_types=extra_token_types, on_code=on_code,
                       cancel_event=cancel_event, dpop=key, timing=self.timing,
                       transport=self.transport, timeout=self.timeout)
        self._save_login(plan, tokens, key)
        return tokens

    def _check_writable(self, store: str) -> None:
        """Refuses before the user signs in when the login could not be stored."""
        if store == "keyring" and not keyring_store.available():
            raise KeyringUnavailable("store='keyring', but no OS keyring is usable from Python "
                                     "(pip install deviceflow[keyring]; on Linux a Secret "
                                     "Service must be running)")
        try:
            self._store.load(self.name)
        except UnknownProfileVersion as e:
            raise UnknownProfileVersion(f"{e.message}; it is left as it is (delete it to log in "
                                        "here)") from None
        except ProfileError:
            pass  # damaged or keyring trouble: the new login replaces it

    def _revocations(self, record: Record) -> List[Dict[str, Any]]:
        """The refresh token (which ends the grant), then the access token."""
        tokens = self._tokens_of(record)
        client = self._client(record)
        common = dict(client, revocation_endpoint=record.profile.get("revocation_endpoint"),
                      dpop=self._key_of(record), timing=self.timing, timeout=self.timeout)
        calls = []
        if tokens.refresh_token is not None:
            calls.append(dict(common, token=tokens.refresh_token, token_type_hint="refresh_token"))
        calls.append(dict(common, token=tokens.access_token, token_type_hint="access_token"))
        return calls

    def logout(self, *, force: bool = False) -> bool:
        """Revokes the tokens at the server (RFC 7009, when it has a revocation
        endpoint) and deletes the profile. True when they were revoked. When the
        server cannot be reached the profile is kept, unless ``force``."""
        with self._store.lock(self.name):
            record = self._store.load(self.name)
            if record is None:
                return False
            revoked = False
            if record.profile.get("revocation_endpoint") and record.secrets is not None:
                try:
                    for call in self._revocations(record):
                        token = call.pop("token")
                        revoke(token, transport=self.transport, **call)
                    revoked = True
                except DeviceFlowError:
                    if not force:
                        raise
            self._store.delete(self.name)
            return revoked

    # ---- asyncio ----

    async def fresh_tokens_async(self, min_valid_s: int = 60) -> TokenSet:
        """``fresh_tokens`` without blocking the event loop (the lock is awaited in a
        thread; the refresh uses ``async_refresh``)."""
        return await self._fresh_async(min_valid_s, force=False)

    async def access_token_async(self, min_valid_s: int = 60) -> str:
        return (await self._fresh_async(min_valid_s, force=False)).access_token

    async def refresh_async(self) -> TokenSet:
        return await self._fresh_async(0, force=True)

    async def _fresh_async(self, min_valid_s: int, force: bool) -> TokenSet:
        import asyncio

        from .async_api import async_refresh

        lock = await _lock_async(self._store, self.name)
        try:
            record = await asyncio.to_thread(self._load)
            tokens = self._tokens_of(record)
            if not force and not tokens.needs_refresh(_now_ms(), max(0, min_valid_s) * 1000):
                return tokens
            new = await async_refresh(tokens, transport=self.transport,
                                      **self._refresh_args(record, tokens))
            return await asyncio.to_thread(self._store_refreshed, record, tokens, new)
        finally:
            lock.close()

    async def login_async(self, *, client_id: str, issuer: Optional[str] = None,
                          provider: Optional[str] = None, tenant: Optional[str] = None,
                          scope: Optional[str] = None, client_secret: Optional[str] = None,
                          client_auth: Optional[str] = None,
                          device_authorization_endpoint: Optional[str] = None,
                          token_endpoint: Optional[str] = None,
                          revocation_endpoint: Optional[str] = None,
                          params: Optional[Params] = None,
                          extra_token_types: Optional[Sequence[str]] = None,
                          store: str = "auto", on_code: "OnCode" = print_prompt,
                          dpop: bool = False) -> TokenSet:
        """``login`` on asyncio (``on_code`` may be a coroutine function)."""
        import asyncio

        from .async_api import async_discover, async_login

        meta = None
        if self._needs_discovery(issuer, provider, device_authorization_endpoint, token_endpoint):
            meta = await async_discover(issuer, transport=self.transport,  # type: ignore[arg-type]
                                        timeout=self.timeout, timing=self.timing)
        plan = self._plan(client_id=client_id, issuer=issuer, provider=provider, tenant=tenant,
                          device_authorization_endpoint=device_authorization_endpoint,
                          token_endpoint=token_endpoint, revocation_endpoint=revocation_endpoint,
                          scope=scope, client_secret=client_secret, client_auth=client_auth,
                          store=store, meta=meta)
        await asyncio.to_thread(self._check_writable, store)
        p = plan.profile
        key = SoftwareKey.generate() if dpop else None
        tokens = await async_login(
            client_id=client_id, device_authorization_endpoint=p["device_authorization_endpoint"],
            token_endpoint=p["token_endpoint"], scope=plan.scope, client_secret=client_secret,
            client_auth=p["client_auth"], params=params, extra_token_types=extra_token_types,
            on_code=on_code, dpop=key, timing=self.timing, transport=self.transport,
            timeout=self.timeout)
        await asyncio.to_thread(self._save_login, plan, tokens, key)
        return tokens


async def _lock_async(store: Store, name: str) -> Lock:
    """The profile lock, waited for in a thread of its own (so that waiters never
    take the event loop's executor from the holder). Cancelling gives it back."""
    import asyncio

    loop = asyncio.get_running_loop()
    future: "asyncio.Future[Lock]" = loop.create_future()

    def take() -> None:
        try:
            lock = store.lock(name)
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting task
            loop.call_soon_threadsafe(_settle, future, None, e)
        else:
            loop.call_soon_threadsafe(_settle, future, lock, None)

    threading.Thread(target=take, name=f"deviceflow-lock-{name}", daemon=True).start()
    return await future


def _settle(future: Any, lock: Optional[Lock], error: Optional[BaseException]) -> None:
    if future.cancelled():
        if lock is not None:
            lock.close()
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(lock)


def _account_name(tokens: TokenSet) -> Optional[str]:
    """Who signed in, from the ID token's claims (unverified; display only), as the CLI."""
    claims = tokens.id_token_claims_unverified() or {}

    def text(key: str) -> Optional[str]:
        value = claims.get(key)
        return _ESCAPES.sub("", value) if isinstance(value, str) else None

    name, email = text("name"), text("email") or text("preferred_username")
    if name and email and name != email:
        who: Optional[str] = f"{name} <{email}>"
    else:
        who = email or name or text("sub")
    return who[:120] if who else None
