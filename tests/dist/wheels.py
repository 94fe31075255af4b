"""Python wheels and the sdist: file names and tags for each target, RECORD hashes, metadata,
the extension module's binary (binaries.py), and the ecosystem's own checkers: twine check,
abi3audit (the Python C API symbols abi3 allows, for ELF, Mach-O and PE alike) and
auditwheel show (the manylinux/musllinux policy of the Linux wheels)."""

from __future__ import annotations

import email.parser
import json
import re
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, List

from packaging.utils import parse_sdist_filename, parse_wheel_filename

import binaries
from report import Report, run, tail

PYTHON_TAG, ABI_TAG, REQUIRES_PYTHON = "cp39", "abi3", ">=3.9"

# The platform tags each target's wheel must carry (one of them at least), as pip matches them.
def expected_platforms(triple: str) -> List[str]:
    arch = triple.split("-")[0]
    if triple.endswith("-linux-gnu"):
        return [f"manylinux2014_{arch}", f"manylinux_2_17_{arch}"]
    if triple.endswith("-linux-musl"):
        return [f"musllinux_1_2_{arch}"]
    if triple == "x86_64-apple-darwin":
        return ["macosx_*_x86_64"]
    if triple == "aarch64-apple-darwin":
        return ["macosx_*_arm64"]
    if triple == "universal2-apple-darwin":
        return ["macosx_*_universal2"]
    if "windows" in triple:
        return ["win_amd64"]
    raise ValueError(f"no wheel platform known for {triple}")


def _matches(tag: str, pattern: str) -> bool:
    return re.fullmatch(pattern.replace("*", r"\d+_\d+"), tag) is not None


def check_wheel(r: Report, path: Path, triple: str, version: str, py: Path, work: Path) -> None:
    name = f"wheel {path.name}"
    dist, ver, _build, tags = parse_wheel_filename(path.name)
    platforms = sorted({t.platform for t in tags})
    r.check(f"{name}: name, version, cp39-abi3 tag",
            dist == "deviceflow" and str(ver) == version
            and {(t.interpreter, t.abi) for t in tags} == {(PYTHON_TAG, ABI_TAG)},
            f"parsed {dist} {ver} {sorted(str(t) for t in tags)}; expected deviceflow "
            f"{version} {PYTHON_TAG}-{ABI_TAG}")
    want = expected_platforms(triple)
    r.check(f"{name}: platform tag for {triple}",
            any(_matches(p, w) for p in platforms for w in want),
            f"platform tags {platforms}, expected one of {want}")

    # `wheel unpack` checks every file against RECORD (hash and size).
    out = work / "wheels" / path.stem
    done = run([py, "-m", "wheel", "unpack", "-d", out, path])
    if not r.check(f"{name}: RECORD hashes (wheel unpack)", done.returncode == 0,
                   tail(done.stdout + done.stderr)):
        return
    root = next(out.iterdir())
    info = root / f"deviceflow-{version}.dist-info"
    wheel_meta = email.parser.Parser().parsestr((info / "WHEEL").read_text())
    meta = email.parser.Parser().parsestr((info / "METADATA").read_text())
    r.check(f"{name}: WHEEL tags equal the file name's, Root-Is-Purelib false",
            sorted(wheel_meta.get_all("Tag") or []) == sorted(str(t) for t in tags)
            and wheel_meta["Root-Is-Purelib"] == "false",
            f"WHEEL says Tag={wheel_meta.get_all('Tag')} Root-Is-Purelib="
            f"{wheel_meta['Root-Is-Purelib']}")
    r.check(f"{name}: METADATA Name/Version/Requires-Python",
            (meta["Name"], meta["Version"], meta["Requires-Python"])
            == ("deviceflow", version, REQUIRES_PYTHON),
            f"{meta['Name']} {meta['Version']} Requires-Python {meta['Requires-Python']}")
    exts = sorted(p for p in (root / "deviceflow").iterdir()
                  if p.name.startswith("_native.") and p.suffix in (".so", ".pyd", ".dylib"))
    want_ext = "_native.pyd" if "windows" in triple else "_native.abi3.so"
    r.check(f"{name}: one extension module {want_ext}, typing files present",
            [p.name for p in exts] == [want_ext]
            and (root / "deviceflow" / "py.typed").exists()
            and (root / "deviceflow" / "_native.pyi").exists(),
            f"extension modules {[p.name for p in exts]}")
    for ext in exts:
        ins = binaries.inspect(ext, triple, kind="pyext", label=f"{path.name}:{ext.name}")
        r.check(f"{name}: extension module is {triple}, imports only system libraries",
                not ins.problems, "; ".join(ins.problems), ins.summary())
        # The macOS version in the tag must not be older than the one the binary needs:
        # otherwise pip installs it where it cannot load.
        if ins.minos:
            tag_versions = [tuple(int(x) for x in m.groups()) for p in platforms
                            for m in [re.match(r"macosx_(\d+)_(\d+)_", p)] if m]
            need = max(v[:2] for v in ins.minos.values())
            r.check(f"{name}: macOS tag version >= the binary's minimum macOS",
                    bool(tag_versions) and min(tag_versions) >= need,
                    f"tag says {tag_versions}, binary needs {need}")


def check_tools(r: Report, wheels: Dict[Path, str], sdists: List[Path], venv_bin: Path) -> None:
    files = sorted(wheels) + sorted(sdists)
    if files:
        done = run([venv_bin / "twine", "check", "--strict", *files])
        r.check(f"twine check --strict ({len(files)} files)", done.returncode == 0,
                tail(done.stdout + done.stderr))
    for wheel in sorted(wheels):
        done = run([venv_bin / "abi3audit", "--strict", "--summary", "--verbose", wheel])
        r.check(f"abi3audit {wheel.name}", done.returncode == 0,
                tail(done.stdout + done.stderr, 40), _first(done.stdout + done.stderr, "scanned"))
    empty = Path(tempfile.mkdtemp(prefix="dist-ldpaths-"))
    for wheel, triple in sorted(wheels.items()):
        if "-linux-" not in triple:
            continue
        _, _, _, tags = parse_wheel_filename(wheel.name)
        claimed = {t.platform for t in tags}
        # On this glibc host the default library path would resolve a musl wheel's libraries
        # to glibc's files: look for them nowhere instead.
        extra = ["--ldpaths", str(empty)] if triple.endswith("-musl") else []
        done = run([venv_bin / "auditwheel", "show", "--json", *extra, wheel])
        try:
            info = json.loads(done.stdout)
        except ValueError:
            r.fail(f"auditwheel show {wheel.name}", tail(done.stdout + done.stderr))
            continue
        overall = info.get("overall_tag")
        if triple.endswith("-gnu"):
            r.check(f"auditwheel show {wheel.name}", overall in claimed,
                    f"auditwheel says {overall}, the file name claims {sorted(claimed)}\n"
                    + json.dumps(info, indent=1)[:1500], f"policy {overall}")
            continue
        # musllinux: zig links the extension against musl as `libc.so` (DT_NEEDED), where a
        # gcc on Alpine writes `libc.musl-<arch>.so.1`; auditwheel's policy knows only the
        # latter. musl's loader resolves every `libc.*` name to itself (ldso/dynlink.c,
        # reserved names), so that one difference is accepted, and nothing else.
        upgrades = info.get("policy_upgrades", {})
        want = sorted(claimed)[0]
        left = upgrades.get(want, {}).get("libs_to_eliminate", []) if want in upgrades else []
        ok = info.get("sym_tag") == want and (overall == want or (
            set(info.get("external_libs", {})) == {"libc.so"} and left == ["libc.so"]))
        r.check(f"auditwheel show {wheel.name}", ok,
                f"auditwheel: {json.dumps(info, indent=1)[:1500]}",
                f"symbols {info.get('sym_tag')}; needs only musl's libc"
                + (" (as libc.so)" if overall != want else ""))
    shutil.rmtree(empty, ignore_errors=True)


def _first(text: str, word: str) -> str:
    for line in text.splitlines():
        if word in line.lower():
            return " ".join(line.split())[:120]
    return ""


def check_sdist(r: Report, path: Path, version: str) -> None:
    name = f"sdist {path.name}"
    dist, ver = parse_sdist_filename(path.name)
    r.check(f"{name}: name and version", dist == "deviceflow" and str(ver) == version,
            f"parsed {dist} {ver}")
    with tarfile.open(path) as tar:
        names = tar.getnames()
    top = f"deviceflow-{version}/"
    outside = [n for n in names if not (n + "/").startswith(top)]
    r.check(f"{name}: everything under {top}", not outside, f"outside: {outside[:5]}")
    needed = ["pyproject.toml", "PKG-INFO", "Cargo.toml", "Cargo.lock"]
    missing = [n for n in needed if top + n not in names]
    r.check(f"{name}: has {', '.join(needed)}", not missing, f"missing {missing}")
    # It must build the extension offline from what it carries: the core's sources are in it.
    r.check(f"{name}: carries the Rust sources of the core and the binding",
            any(n.endswith("core/src/lib.rs") for n in names)
            and any(n.endswith("python/src/lib.rs") for n in names),
            "core/src/lib.rs or bindings/python/src/lib.rs missing")
