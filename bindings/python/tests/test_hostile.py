"""Every case of the shared hostile-server suite (tests/hostile/README.md) through
the sync ``login`` (default urllib transport) and ``async_login`` (asyncio): the
outcome each case names, within its time budget, nothing unsafe reaching
``on_code``, the code shown once when the login completes, and the event loop
never blocked. All cases (sync and async) run at once, so the module takes about
as long as the slowest case; the tests then check each case's result. Cases marked
``defaults`` run with ``login``'s own defaults (no ``timing``, no ``timeout``): they
must end within one request deadline (30 s) + slack, not one per attempt, and set
the pace (~31 s)."""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

import pytest

import deviceflow as df
from servers import HOSTILE, HostileServer, hostile_case_names

NAMES = hostile_case_names()
TOKEN = "hostile-access-token-0123456789"
# isSafeText in tests/hostile/harness.mjs: C0/C1 controls, DEL, BiDi and invisible format chars.
UNSAFE = re.compile("[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f"
                    "\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")
# A case still running this long after the budget is reported as hung (and abandoned).
GRACE_S = 5.0


@dataclass
class Outcome:
    outcome: str = "hung"  # "done", a DeviceFlowError code, "crash: ..." or "hung"
    took: float = float("inf")
    prompts: List[df.Prompt] = field(default_factory=list)
    detail: str = ""


@dataclass
class Run:
    base: str
    options: Dict[str, Any]
    cases: Dict[str, Any]
    sync: Dict[str, Outcome]
    aio: Dict[str, Outcome]
    loop_gap: float  # the longest the event loop went without running a 10 ms ticker
    took: float


def login_args(server: HostileServer, run: str, name: str, prompts: List[df.Prompt]) -> Dict[str, Any]:
    base = f"{server.base}/{run}/{name}"
    args: Dict[str, Any] = dict(
        client_id=server.options["client_id"], device_authorization_endpoint=f"{base}/device",
        token_endpoint=f"{base}/token", on_code=prompts.append)
    if not server.cases[name].get("defaults"):
        args.update(timing=server.options["timing"], timeout=server.options["timeout_ms"] / 1000)
    return args


def settle(result: Outcome, started: float, tokens: Optional[df.TokenSet],
           error: Optional[BaseException]) -> None:
    result.took = time.monotonic() - started
    if error is None:
        assert tokens is not None
        result.outcome = "done"
        if tokens.access_token != TOKEN:
            result.outcome, result.detail = "crash: wrong tokens", repr(tokens)
    elif isinstance(error, df.DeviceFlowError):
        result.outcome, result.detail = error.code, repr(error)
    else:
        result.outcome = f"crash: {type(error).__name__}"
        result.detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))


def run_sync(server: HostileServer, name: str, result: Outcome) -> None:
    started = time.monotonic()
    tokens, error = None, None
    try:
        tokens = df.login(**login_args(server, "py", name, result.prompts))
    except BaseException as e:
        error = e
    settle(result, started, tokens, error)


async def run_async(server: HostileServer, name: str, result: Outcome, limit: float) -> None:
    started = time.monotonic()
    tokens, error = None, None
    try:
        tokens = await asyncio.wait_for(
            df.async_login(**login_args(server, "pyasync", name, result.prompts)), limit)
    except asyncio.TimeoutError:  # hung: the task was cancelled
        result.took = time.monotonic() - started
        return
    except BaseException as e:
        error = e
    settle(result, started, tokens, error)


async def run_all_async(server: HostileServer, results: Dict[str, Outcome], limit: float) -> float:
    gaps = [0.0]

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    tick = asyncio.ensure_future(ticker())
    await asyncio.gather(*(run_async(server, name, results[name], limit) for name in NAMES))
    tick.cancel()
    return max(gaps)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    if shutil.which("node") is None:
        pytest.fail("node is needed for tests/hostile/server.mjs")
    server = HostileServer()
    yield server
    server.close()


def run_everything(hostile: HostileServer) -> Run:
    """Runs every case, sync (one thread each) and async (one loop, gathered), all at once."""
    limit = max(c["budget_ms"] for c in hostile.cases.values()) / 1000 + GRACE_S
    sync = {name: Outcome() for name in NAMES}
    aio = {name: Outcome() for name in NAMES}
    loop_gap: List[float] = [float("inf")]

    def loop_thread() -> None:
        loop_gap[0] = asyncio.run(run_all_async(hostile, aio, limit))

    started = time.monotonic()
    threads = [threading.Thread(target=run_sync, args=(hostile, name, sync[name]), daemon=True,
                                name=f"hostile-{name}") for name in NAMES]
    threads.append(threading.Thread(target=loop_thread, daemon=True, name="hostile-asyncio"))
    for t in threads:
        t.start()
    for t in threads:  # a hung sync case is left behind (daemon) and reported as "hung"
        t.join(max(0.0, started + limit + 1 - time.monotonic()))
    return Run(hostile.base, hostile.options, hostile.cases, sync, aio, loop_gap[0],
               time.monotonic() - started)


@pytest.fixture(scope="module")
def run(hostile: HostileServer) -> Run:
    return run_everything(hostile)


def test_the_suite_has_its_cases(hostile: HostileServer) -> None:
    assert len(NAMES) >= 35, f"only {len(NAMES)} hostile cases listed from {HOSTILE / 'cases.mjs'}"
    assert sorted(NAMES) == sorted(hostile.cases), "cases.mjs and server.mjs disagree"


def check(run: Run, name: str, result: Outcome) -> None:
    case = run.cases[name]
    budget = case["budget_ms"] / 1000
    assert result.outcome in case["expect"], (
        f"{case['about']}: expected {' or '.join(case['expect'])}, got {result.outcome} "
        f"after {result.took:.1f} s\n{result.detail}")
    assert result.took < budget, f"{name} took {result.took:.1f} s (budget {budget:.0f} s)"
    for prompt in result.prompts:
        for text in (prompt.user_code, prompt.verification_uri, prompt.verification_uri_complete,
                     prompt.message):
            assert text is None or not UNSAFE.search(text), f"unsafe text shown: {text!r}"
    if result.outcome == "done":
        assert len(result.prompts) == 1, f"the code was shown {len(result.prompts)} times"
    if name == "unsafe_message":
        assert re.search("Go to .*example and enter the code", result.prompts[0].message or "")


@pytest.mark.parametrize("name", NAMES)
def test_sync_login(run: Run, name: str) -> None:
    check(run, name, run.sync[name])


@pytest.mark.parametrize("name", NAMES)
def test_async_login(run: Run, name: str) -> None:
    check(run, name, run.aio[name])


def test_the_event_loop_was_never_blocked(run: Run) -> None:
    # ~0.1 s at most while 41 logins start at once; a request on the loop would take >= 1 s.
    assert run.loop_gap < 0.75, f"the event loop stalled for {run.loop_gap:.2f} s"


def test_the_whole_suite_is_quick(run: Run) -> None:
    # As long as the slowest case: the default-timing ones, one 30 s deadline each, at once.
    slowest = max(c["budget_ms"] for c in run.cases.values()) / 1000
    assert run.took < slowest + 4, f"all hostile cases took {run.took:.1f} s"


def test_default_timing_gives_up_after_one_deadline(run: Run) -> None:
    # The 93 s of three 30 s attempts is what these cases exist to catch.
    for name, case in run.cases.items():
        if case.get("defaults"):
            for result in (run.sync[name], run.aio[name]):
                assert result.took < case["budget_ms"] / 1000, (name, result.took, result.outcome)
    assert any(c.get("defaults") for c in run.cases.values()), "no default-timing case listed"
