"""The Kotlin/JVM jar: its classes, one native library per platform under JNA's resource
prefixes, each inspected (binaries.py); every library exports the same uniffi API; the host
JVM loads the linux-x86-64 one from the jar and calls through it (JarProbe.java); the arm64
Python under qemu loads the linux-aarch64 one with ctypes and its uniffi contract version and
API checksums must equal the x86_64 library's (which the JVM run has just matched against the
jar's classes). The macOS and Windows libraries cannot run here."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

import lief

import binaries
from report import ROOT, Report, run, tail

# JNA resource prefix -> (Rust triple, file name JNA looks for).
PLATFORMS = {
    "linux-x86-64": ("x86_64-unknown-linux-gnu", "libdeviceflow_uniffi.so"),
    "linux-aarch64": ("aarch64-unknown-linux-gnu", "libdeviceflow_uniffi.so"),
    "darwin-aarch64": ("aarch64-apple-darwin", "libdeviceflow_uniffi.dylib"),
    "darwin-x86-64": ("x86_64-apple-darwin", "libdeviceflow_uniffi.dylib"),
    "win32-x86-64": ("x86_64-pc-windows-gnu", "deviceflow_uniffi.dll"),
}
CLASSES = ["deviceflow/Deviceflow_uniffiKt.class", "deviceflow/LoginKt.class",
           "deviceflow/TransportKt.class", "deviceflow/DpopKt.class"]
HERE = Path(__file__).resolve().parent

# Run by a Python (host or arm64) on one library: prints the contract version and checksums.
CTYPES_PROBE = r"""
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
out = {}
for name in sys.argv[2:]:
    f = getattr(lib, name)
    f.restype = ctypes.c_uint32 if name.endswith("contract_version") else ctypes.c_uint16
    f.argtypes = []
    out[name] = f()
print(json.dumps(out))
"""


def _uniffi_exports(path: Path) -> List[str]:
    fat_or = lief.parse(str(path))
    names = []
    if isinstance(fat_or, lief.PE.Binary):
        names = [e.name for e in fat_or.exported_functions]
    elif fat_or is not None:
        names = [s.name.lstrip("_") if isinstance(fat_or, lief.MachO.Binary) else s.name
                 for s in fat_or.exported_symbols]
    return sorted({n for n in names if n.startswith(("uniffi_deviceflow_uniffi_",
                                                      "ffi_deviceflow_uniffi_"))})


def check_jar(r: Report, jar: Path, version: str, work: Path,
              arm64_python: Optional[List[str]]) -> None:
    name = f"jar {jar.name}"
    r.check(f"{name}: file name", jar.name == f"deviceflow-kotlin-{version}.jar", jar.name)
    out = work / "jar"
    shutil.rmtree(out, ignore_errors=True)
    with zipfile.ZipFile(jar) as z:
        bad = z.testzip()
        r.check(f"{name}: zip CRCs", bad is None, f"corrupt member {bad}")
        names = set(z.namelist())
        z.extractall(out)
    missing = [c for c in CLASSES if c not in names]
    r.check(f"{name}: the generated bindings and the drivers' classes", not missing,
            f"missing {missing}")
    exports: Dict[str, List[str]] = {}
    for prefix, (triple, lib) in PLATFORMS.items():
        member = f"{prefix}/{lib}"
        if not r.check(f"{name}: {member}", member in names,
                       f"absent; native entries: {sorted(n for n in names if '/' in n and n.split('/')[0] in PLATFORMS or n.endswith(('.so', '.dylib', '.dll')))}"):
            continue
        path = out / member
        r.size(f"  {jar.name}:{member}", path.stat().st_size)
        ins = binaries.inspect(path, triple, kind="lib", label=member)
        r.check(f"{name}: {member} is {triple}, needs only system libraries",
                not ins.problems, "; ".join(ins.problems), ins.summary())
        exports[prefix] = _uniffi_exports(path)
    if exports:
        ref = exports.get("linux-x86-64") or next(iter(exports.values()))
        differ = {p: sorted(set(ref) ^ set(e))[:6] for p, e in exports.items()
                  if set(e) != set(ref)}
        r.check(f"{name}: every platform's library exports the same uniffi API "
                f"({len(ref)} symbols)", bool(ref) and not differ, f"differences: {differ}")
    _run_on_jvm(r, name, jar, work)
    x86 = out / "linux-x86-64/libdeviceflow_uniffi.so"
    arm = out / "linux-aarch64/libdeviceflow_uniffi.so"
    if not (x86.exists() and arm.exists()):
        return
    if arm64_python is None:
        r.skip(f"{name}: linux-aarch64 library loaded under qemu", "no arm64 root")
        return
    symbols = [s for s in exports.get("linux-aarch64", [])
               if "_checksum_" in s or s.endswith("_uniffi_contract_version")]
    results = {}
    for label, python, lib in (("x86_64", ["python3"], x86), ("aarch64", arm64_python, arm)):
        done = run([*python, "-c", CTYPES_PROBE, lib, *symbols], timeout=120)
        try:
            results[label] = json.loads(done.stdout)
        except ValueError:
            r.fail(f"{name}: {lib.parent.name} library through ctypes", tail(done.stderr))
            return
    r.check(f"{name}: linux-aarch64 library loads under qemu (ctypes); its contract version and "
            f"{len(symbols) - 1} API checksums equal the x86_64 library's",
            len(symbols) > 1 and results["x86_64"] == results["aarch64"],
            f"x86_64 {results.get('x86_64')}\naarch64 {results.get('aarch64')}")


def _run_on_jvm(r: Report, name: str, jar: Path, work: Path) -> None:
    java, javac = shutil.which("java"), shutil.which("javac")
    kotlin_lib = ROOT / "tests/node_modules/kotlin-compiler/lib"
    jna = Path("/usr/share/java/jna.jar")
    if not (java and javac and kotlin_lib.is_dir() and jna.exists()):
        r.skip(f"{name}: host JVM run", "needs java/javac, Debian's libjna-java and "
               "`npm ci --prefix tests` (kotlin-stdlib) (tests/setup.sh)")
        return
    deps = [jna, kotlin_lib / "kotlin-stdlib.jar", kotlin_lib / "kotlinx-coroutines-core-jvm.jar"]
    cp = ":".join(str(p) for p in [jar, *deps])
    classes = work / "jarprobe"
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir(parents=True)
    built = run([javac, "-d", classes, "-cp", cp, HERE / "JarProbe.java"], timeout=120)
    if not r.check(f"{name}: JarProbe.java compiles against the jar", built.returncode == 0,
                   tail(built.stderr)):
        return
    # No jna.library.path: the library must come out of the jar itself.
    done = run([java, "-Djna.debug_load=true", f"-Djna.tmpdir={classes}", "-cp",
                f"{classes}:{cp}", "JarProbe"], timeout=120)
    try:
        seen = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        seen = {}
    from_jar = f"jar:file:{jar.resolve()}!/linux-x86-64/libdeviceflow_uniffi.so" in done.stderr \
        or f"{jar.name}!/linux-x86-64/" in done.stderr
    r.check(f"{name}: host JVM loads linux-x86-64 from the jar; calls cross the FFI",
            done.returncode == 0 and from_jar and seen.get("client_id") == "probe-client"
            and seen.get("panic_code") == "internal"
            and str(seen.get("device_endpoint", "")).startswith("https://github.com/"),
            f"exit {done.returncode}, saw {seen}, loaded from jar: {from_jar}\n"
            + tail(done.stdout + done.stderr, 30), f"{seen}")
