#!/usr/bin/env python3
"""Python benchmarks for the deviceflow wheel, side by side with oauthlib.

1. Step cost: feeding one `authorization_pending` response to a polling
   `DeviceFlow` and taking the next action (the Wait), then the next poll (the
   Send); vs oauthlib's `DeviceClient.parse_request_body_response` of the same
   body (it raises an error object, which is what a hand-rolled loop catches).
2. Import time of `deviceflow` (and of `oauthlib.oauth2` for scale), fresh interpreters.
3. Wheel size (newest `dist/deviceflow-*.whl`) and its native library.

Run: .venv/bin/python bench/python/bench.py [--quick]   (needs the wheel installed, and oauthlib)
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time
import zipfile

import deviceflow as df

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PENDING = json.dumps({"error": "authorization_pending",
                      "error_description": "The authorization request is still pending"}).encode()
HEADERS = [("content-type", "application/json"), ("cache-control", "no-store")]
ISSUED = json.dumps({"device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
                     "user_code": "WDJB-MJHT", "verification_uri": "https://as.example.com/device",
                     "expires_in": 86400, "interval": 1})


def polling_flow():
    """A flow that has shown its prompt and holds its first token request."""
    flow = df.DeviceFlow(client_id="bench", device_authorization_endpoint="https://as.example.com/da",
                         token_endpoint="https://as.example.com/token", now_ms=0)
    send = flow.poll_action(0)
    flow.handle_response(send.request.id, 200, HEADERS, ISSUED, 0)
    flow.poll_action(0)  # Display
    wait = flow.poll_action(0)
    send = flow.poll_action(wait.until)
    return flow, send.request.id, wait.until


def bench_steps(rounds: int, per_round: int) -> dict:
    """Nanoseconds per pending response: handle_response + poll_action (Wait) +
    poll_action at `until` (Send)."""
    best = []
    for _ in range(rounds):
        flow, rid, now = polling_flow()
        handle, poll = flow.handle_response, flow.poll_action
        started = time.perf_counter_ns()
        for _ in range(per_round):
            handle(rid, 400, HEADERS, PENDING, now)
            wait = poll(now)
            now = wait.until
            rid = poll(now).request.id
        best.append((time.perf_counter_ns() - started) / per_round)
    return {"median_ns": statistics.median(best), "min_ns": min(best)}


def bench_handle_only(rounds: int, per_round: int) -> dict:
    """Nanoseconds for handle_response + the next poll_action alone (the Wait)."""
    samples = []
    for _ in range(rounds):
        flow, rid, now = polling_flow()
        total = 0
        for _ in range(per_round):
            t0 = time.perf_counter_ns()
            flow.handle_response(rid, 400, HEADERS, PENDING, now)
            wait = flow.poll_action(now)
            total += time.perf_counter_ns() - t0
            now = wait.until
            rid = flow.poll_action(now).request.id
        samples.append(total / per_round)
    return {"median_ns": statistics.median(samples), "min_ns": min(samples)}


def bench_oauthlib(rounds: int, per_round: int) -> dict:
    from oauthlib.oauth2 import DeviceClient
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    client = DeviceClient("bench")
    body = PENDING.decode()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        for _ in range(per_round):
            try:
                client.parse_request_body_response(body)
            except OAuth2Error as e:
                assert e.error == "authorization_pending"
        samples.append((time.perf_counter_ns() - started) / per_round)
    return {"median_ns": statistics.median(samples), "min_ns": min(samples)}


def import_time(module: str, runs: int) -> float:
    """Median milliseconds to import `module` in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    times = [float(subprocess.check_output([sys.executable, "-c", code], cwd="/")) * 1000
             for _ in range(runs)]
    return statistics.median(times)


def wheel_size() -> dict:
    wheels = sorted(glob.glob(os.path.join(ROOT, "dist", "deviceflow-*.whl")), key=os.path.getmtime)
    if not wheels:
        return {}
    with zipfile.ZipFile(wheels[-1]) as z:
        native = [i for i in z.infolist() if i.filename.endswith(".so")]
    return {"wheel": os.path.basename(wheels[-1]), "wheel_bytes": os.path.getsize(wheels[-1]),
            "native_bytes": native[0].file_size if native else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations (smoke test)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    rounds, per_round, imports = (3, 200, 2) if args.quick else (15, 5000, 15)

    results = {
        "python": sys.version.split()[0],
        "deviceflow_cycle": bench_steps(rounds, per_round),
        "deviceflow_handle_and_next": bench_handle_only(rounds, per_round),
        "oauthlib_parse": bench_oauthlib(rounds, per_round),
        "import_ms": {m: import_time(m, imports) for m in ("deviceflow", "oauthlib.oauth2")},
        **wheel_size(),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    us = lambda r: f"{r['median_ns'] / 1000:8.2f} µs (best {r['min_ns'] / 1000:.2f})"  # noqa: E731
    print(f"Python {results['python']}; {rounds} rounds × {per_round} pending responses")
    print(f"  deviceflow handle_response + next action (Wait):   {us(results['deviceflow_handle_and_next'])}")
    print(f"  deviceflow full poll cycle (+ next Send):          {us(results['deviceflow_cycle'])}")
    print(f"  oauthlib DeviceClient.parse_request_body_response: {us(results['oauthlib_parse'])}")
    for module, ms in results["import_ms"].items():
        print(f"  import {module}: {ms:.1f} ms (median of {imports} fresh interpreters)")
    if "wheel" in results:
        print(f"  wheel {results['wheel']}: {results['wheel_bytes']:,} bytes "
              f"(native library {results['native_bytes']:,} bytes unpacked)")


if __name__ == "__main__":
    main()
