"""The npm tarball: name and version, publint and @arethetypeswrong/cli (attw) on the packed
file itself, `npm publish --dry-run` of it, and its size against the ceilings recorded in
size-limits.json (the tarball, and the gzipped browser entry: browser.js and every file it
loads, the way a browser fetches them)."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, Set

from report import ROOT, Report, run, tail

BIN = ROOT / "tests/node_modules/.bin"
LIMITS = Path(__file__).resolve().parent / "size-limits.json"
# Static imports, side-effect imports, re-exports and `new URL('./x', import.meta.url)`.
REFS = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*|new\s+URL\(\s*)['"](\.{1,2}/[^'"]+)['"]""")


def browser_closure(files: Dict[str, bytes], entry: str) -> Set[str]:
    """The package files `entry` loads, transitively (relative references only)."""
    seen: Set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        if name in seen or name not in files:
            continue
        seen.add(name)
        if name.endswith((".js", ".mjs")):
            base = Path(name).parent
            for ref in REFS.findall(files[name].decode("utf-8", "replace")):
                todo.append(_norm(base / ref))
    return seen


def _norm(p: Path) -> str:
    parts: list = []
    for part in p.parts:
        if part == "..":
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


def check_npm(r: Report, tgz: Path, version: str) -> None:
    name = f"npm {tgz.name}"
    r.check(f"{name}: file name", tgz.name == f"deviceflow-{version}.tgz", tgz.name)
    with tarfile.open(tgz) as tar:
        files = {m.name.removeprefix("package/"): tar.extractfile(m).read()  # type: ignore[union-attr]
                 for m in tar.getmembers() if m.isfile()}
    manifest = json.loads(files.get("package.json", b"{}"))
    r.check(f"{name}: package.json name and version",
            (manifest.get("name"), manifest.get("version")) == ("deviceflow", version),
            f"{manifest.get('name')} {manifest.get('version')}")
    wasm = [f for f in files if f.endswith(".wasm")]
    r.check(f"{name}: carries the wasm for Node and for browsers",
            any(f.startswith("node/") for f in wasm) and any(f.startswith("web/") for f in wasm),
            f"wasm files: {wasm}")

    limits = json.loads(LIMITS.read_text())
    size = tgz.stat().st_size
    r.check(f"{name}: tarball {size:,} B <= ceiling {limits['npm_tarball_bytes']:,} B",
            size <= limits["npm_tarball_bytes"], "the npm package grew past its recorded ceiling "
            "(tests/dist/size-limits.json): shrink it, or raise the ceiling with a reason")
    # What a browser build loads: package.json's "browser" (a string), else the "browser"
    # condition of the "." export, else "module".
    dot = (manifest.get("exports") or {}).get(".", {})
    entry = (manifest.get("browser") if isinstance(manifest.get("browser"), str) else None) \
        or (dot.get("browser") if isinstance(dot, dict) else None) or manifest.get("module") \
        or "browser.js"
    entry = entry.removeprefix("./")
    closure = browser_closure(files, entry)
    gz = sum(len(gzip.compress(files[f], 9)) for f in closure)
    r.size(f"  {tgz.name}: browser entry {entry}, gzip -9 ({len(closure)} files)", gz)
    r.check(f"{name}: browser entry ({entry} and what it loads) gzipped {gz:,} B <= ceiling "
            f"{limits['npm_browser_gzip_bytes']:,} B",
            entry in closure and any(f.endswith(".wasm") for f in closure)
            and gz <= limits["npm_browser_gzip_bytes"],
            f"closure {sorted(closure)}; over the ceiling or missing the wasm")

    if not (BIN / "publint").exists() or not (BIN / "attw").exists():
        r.skip(f"{name}: publint, attw", "`npm ci --prefix tests` has not installed them")
    else:
        done = run([BIN / "publint", "run", "--strict", tgz], timeout=120)
        r.check(f"publint --strict {tgz.name}", done.returncode == 0 and "All good" in done.stdout,
                tail(done.stdout + done.stderr))
        done = run([BIN / "attw", "--format", "ascii", "--no-color", "--no-emoji", tgz],
                   timeout=180)
        r.check(f"attw (are the types wrong) {tgz.name}",
                done.returncode == 0 and "No problems found" in done.stdout,
                tail(done.stdout + done.stderr, 40))
    npm = shutil.which("npm")
    if npm is None:
        r.skip(f"npm publish --dry-run {tgz.name}", "npm not installed")
        return
    with tempfile.TemporaryDirectory() as cwd:  # away from any .npmrc or workspace
        done = run([npm, "publish", "--dry-run", tgz.resolve()], cwd=Path(cwd), timeout=180)
    text = done.stdout + done.stderr
    warnings = [line for line in text.splitlines() if line.startswith("npm warn publish")
                and "requires you to be logged in" not in line]
    r.check(f"npm publish --dry-run {tgz.name}",
            done.returncode == 0 and f"+ deviceflow@{version}" in text and not warnings,
            "\n".join(warnings) + "\n" + tail(text))


def run_npm(r: Report, tgz: Path, serve, work: Path) -> None:  # type: ignore[no-untyped-def]
    """`npm install` of the tarball into an empty folder (the package has no dependencies, so
    nothing is fetched), then a login, refresh and revocation through it against `serve`."""
    from serve import last_json, login_with

    label = f"npm {tgz.name} (installed, Node)"
    npm, node = shutil.which("npm"), shutil.which("node")
    if not (npm and node):
        r.skip(label, "node/npm not installed")
        return
    if serve is None:
        r.skip(f"{label}: login", "no Linux x86_64 CLI artifact to run `deviceflow serve`")
        return
    app = work / "npm-app"
    shutil.rmtree(app, ignore_errors=True)
    app.mkdir(parents=True)
    (app / "package.json").write_text('{"name": "probe", "private": true, "type": "module"}\n')
    done = run([npm, "install", "--no-audit", "--no-fund", "--offline", tgz.resolve()], cwd=app,
               timeout=180)
    if not r.check(f"{label}: npm install of the tarball", done.returncode == 0,
                   tail(done.stdout + done.stderr)):
        return
    shutil.copy(Path(__file__).resolve().parent / "probe_login.mjs", app / "probe.mjs")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(app)}
    try:
        rc, out, err = login_with([node, app / "probe.mjs", serve.issuer], serve.issuer, env)
    except Exception as e:
        r.fail(f"{label}: login, refresh, revoke against deviceflow serve", repr(e))
        return
    seen = last_json(out)
    r.check(f"{label}: login, refresh, revoke against deviceflow serve (ESM and CJS entries)",
            rc == 0 and seen.get("refreshed") is True and seen.get("cjs_login") == "function"
            and str(seen.get("resolved", "")).startswith(f"file://{app}/node_modules/deviceflow/"),
            f"exit {rc}, saw {seen}\n{tail(err)}")
