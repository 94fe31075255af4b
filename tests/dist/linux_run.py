"""Running the Linux artifacts: x86_64 natively (the static musl CLI also in a bare chroot),
aarch64 under qemu-user without binfmt_misc. For aarch64 the suite keeps a Debian bookworm
arm64 root (debootstrap --foreign, unpacked with dpkg-deb) under the cache directory; its
python3.11 runs as `qemu-aarch64-static -L ROOT ROOT/usr/bin/python3.11`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import List, Optional

from report import ROOT, Report, run, tail
from serve import CLIENT_ID, SCOPE, Serve, last_json, login_with

QEMU = shutil.which("qemu-aarch64-static") or "qemu-aarch64-static"
MIRROR = "http://deb.debian.org/debian"
HERE = Path(__file__).resolve().parent


def base_env(**extra: str) -> dict:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.update(extra)
    return env


# ---- the CLI ------------------------------------------------------------------------------

def cli_checks(r: Report, label: str, runner: List[str], binary: str, version: str,
               serve: Optional[Serve], config_dir: str, host_config_dir: Path) -> None:
    """`--version`, then `--json login` against `serve` approved through its pages, then
    `token`. `runner` prefixes the command (qemu, chroot); `binary`/`config_dir` are as the
    runner sees them, `host_config_dir` is the same folder seen from here."""
    done = run([*runner, binary, "--version"], timeout=60)
    r.check(f"{label}: --version", done.returncode == 0
            and done.stdout.strip() == f"deviceflow {version}",
            f"exit {done.returncode}: {done.stdout.strip()!r} {tail(done.stderr)}",
            done.stdout.strip())
    if serve is None:
        r.skip(f"{label}: login", "no Linux x86_64 CLI artifact to run `deviceflow serve`")
        return
    host_config_dir.mkdir(parents=True, exist_ok=True)
    env = base_env(DEVICEFLOW_CONFIG_DIR=config_dir)
    try:
        rc, out, err = login_with(
            [*runner, binary, "--json", "login", "--issuer", serve.issuer, "--client-id",
             CLIENT_ID, "--scope", SCOPE, "--no-open", "--store", "file"], serve.issuer, env)
    except Exception as e:  # an approval page that was not what it should be
        r.fail(f"{label}: login against deviceflow serve", repr(e))
        return
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    last = lines[-1] if lines else {}
    if not r.check(f"{label}: login against deviceflow serve (approved through its pages)",
                   rc == 0 and last.get("status") == "authenticated",
                   f"exit {rc}, last line {last}\n{tail(err)}", f"{len(lines)} NDJSON lines"):
        return
    token = run([*runner, binary, "token"], env=env, timeout=60)
    secret = token.stdout.strip()
    r.check(f"{label}: token prints the stored token, which never appeared in login output",
            token.returncode == 0 and len(secret) > 10 and secret not in out + err,
            f"exit {token.returncode} {tail(token.stderr)}")


def chroot_runner() -> Optional[List[str]]:
    """How to enter a chroot here: plainly as root, else in a user namespace."""
    chroot, unshare = shutil.which("chroot"), shutil.which("unshare")
    if os.geteuid() == 0 and chroot:
        return [chroot]
    if unshare and chroot and run([unshare, "-r", "true"]).returncode == 0:
        return [unshare, "-r", chroot]
    return None


def bare_chroot_checks(r: Report, label: str, binary: Path, version: str,
                       serve: Optional[Serve], work: Path) -> None:
    """The static binary in a directory that holds nothing else (no libc, no loader, no /etc,
    no /dev; one empty folder for the token file)."""
    how = chroot_runner()
    if how is None:
        r.skip(f"{label} in a bare chroot", "neither root nor unprivileged user namespaces")
        return
    jail = work / "chroot"
    shutil.rmtree(jail, ignore_errors=True)
    (jail / "config").mkdir(parents=True)
    shutil.copy2(binary, jail / "deviceflow")
    contents = sorted(str(p.relative_to(jail)) for p in jail.rglob("*"))
    r.check(f"{label} in a bare chroot: it holds only the binary", contents == ["config", "deviceflow"],
            f"contents {contents}")
    cli_checks(r, f"{label} in a bare chroot", [*how, str(jail)], "/deviceflow", version, serve,
               "/config", jail / "config")


# ---- the arm64 root -----------------------------------------------------------------------

def arm64_root(r: Report, cache: Path) -> Optional[Path]:
    """A bookworm arm64 root with python3 (made once, then reused), or None (skipped)."""
    root = cache / "arm64-root"
    stamp = root / ".deviceflow-unpacked"
    if stamp.exists():
        return root
    missing = [t for t in (QEMU, "debootstrap", "dpkg-deb") if shutil.which(t) is None]
    if missing:
        r.skip("aarch64 under qemu-user", f"{', '.join(missing)} not installed")
        return None
    if os.geteuid() != 0:
        r.skip("aarch64 under qemu-user", "debootstrap needs root")
        return None
    shutil.rmtree(root, ignore_errors=True)
    done = run(["debootstrap", "--foreign", "--arch=arm64", "--variant=minbase",
                "--include=python3", "bookworm", root, MIRROR], timeout=600)
    if done.returncode != 0:
        r.fail("debootstrap --foreign arm64 bookworm", tail(done.stdout + done.stderr))
        return None
    for deb in sorted((root / "var/cache/apt/archives").glob("*.deb")):
        x = run(["dpkg-deb", "-x", deb, root])
        if x.returncode != 0:
            r.fail("dpkg-deb -x into the arm64 root", f"{deb.name}: {x.stderr}")
            return None
    stamp.write_text("ok\n")
    return root


def arm64_python(root: Path) -> List[str]:
    return [QEMU, "-L", str(root), str(root / "usr/bin/python3.11")]


def arm64_pylib(r: Report, cache: Path, venv_py: Path) -> Optional[Path]:
    """pytest and its pure-Python dependencies for the arm64 Python (pip install --target)."""
    reqs = HERE / "arm64-requirements.txt"
    lib = cache / "arm64-pylib"
    stamp = lib / ".requirements"
    if stamp.exists() and stamp.read_text() == reqs.read_text():
        return lib
    shutil.rmtree(lib, ignore_errors=True)
    done = run([venv_py, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                "--only-binary=:all:", "--python-version", "3.11", "--platform", "any",
                "--implementation", "py", "--target", lib, "-r", reqs], timeout=300)
    if done.returncode != 0:
        r.fail("pip install --target (pytest for the arm64 Python)", tail(done.stderr))
        return None
    stamp.write_text(reqs.read_text())
    return lib


# ---- the wheels ---------------------------------------------------------------------------

def probe_wheel(r: Report, label: str, python: List[str], pythonpath: Optional[str],
                serve: Optional[Serve], expect_machine: str, expect_native_under: Path) -> None:
    if serve is None:
        r.skip(f"{label}: login", "no Linux x86_64 CLI artifact to run `deviceflow serve`")
        return
    env = base_env(**({"PYTHONPATH": pythonpath} if pythonpath else {}))
    try:
        rc, out, err = login_with([*python, HERE / "probe_login.py", serve.issuer],
                                  serve.issuer, env, timeout=180)
    except Exception as e:
        r.fail(f"{label}: login, refresh, revoke against deviceflow serve", repr(e))
        return
    seen = last_json(out)
    native = Path(seen.get("native", "/nonexistent"))
    r.check(f"{label}: login, refresh, revoke against deviceflow serve",
            rc == 0 and seen.get("token_type", "").lower() == "bearer" and seen.get("has_refresh") is True
            and seen.get("refreshed") is True
            and seen.get("redacted") is True,
            f"exit {rc}, saw {seen}\n{tail(err)}", f"Python {seen.get('python')}")
    r.check(f"{label}: ran the wheel's own {expect_machine} extension",
            seen.get("machine") == expect_machine
            and native.resolve().is_relative_to(expect_native_under.resolve()),
            f"machine {seen.get('machine')}, extension {native}")


def native_wheel(r: Report, wheel: Path, serve: Optional[Serve], work: Path) -> None:
    """A fresh venv of the host's Python, `pip install` the wheel (no index), log in."""
    label = f"{wheel.name} (x86_64, fresh venv)"
    venv = work / "venv-native"
    shutil.rmtree(venv, ignore_errors=True)
    py = shutil.which("python3") or "python3"
    made = run([py, "-m", "venv", venv], timeout=120)
    if not r.check(f"{label}: venv", made.returncode == 0, tail(made.stderr)):
        return
    inst = run([venv / "bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
                "--no-index", "--no-deps", wheel], timeout=120)
    if not r.check(f"{label}: pip install accepts it on this platform", inst.returncode == 0,
                   tail(inst.stderr)):
        return
    probe_wheel(r, label, [str(venv / "bin/python")], None, serve, "x86_64", venv)


def arm64_wheel(r: Report, label: str, unpacked: Path, root: Path, pylib: Optional[Path],
                serve: Optional[Serve]) -> None:
    """The unpacked aarch64 wheel on the arm64 Python's path: the shared vectors through the
    binding's own test file, then a login against the host's server."""
    python = arm64_python(root)
    if pylib is not None:
        vectors = ROOT / "tests/vectors"
        nvec = len(list(vectors.glob("*.json"))) + len(list((vectors / "dpop").glob("*.json")))
        tests = ROOT / "bindings/python/tests"
        done = subprocess.run(
            [*python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_vectors.py"],
            cwd=tests, env=base_env(PYTHONPATH=f"{unpacked}:{pylib}"), text=True,
            capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
        summary = (done.stdout.strip().splitlines() or [""])[-1]
        # One test per vector (the DPoP ones included) plus the file's own checks of the set.
        passed = re.match(r"(\d+) passed", summary)
        r.check(f"{label}: the {nvec} shared vectors (bindings/python/tests/test_vectors.py)",
                done.returncode == 0 and passed is not None and int(passed.group(1)) > nvec
                and "failed" not in summary and "skipped" not in summary,
                tail(done.stdout + done.stderr, 40), summary)
    probe_wheel(r, label, python, str(unpacked), serve, "aarch64", unpacked)
