"""Checks every artifact `cargo xtask dist` listed in target/dist/manifest.json.

    python tests/dist/check.py [--dist target/dist] [--cache target/dist-check]

What runs here: the Linux x86_64 artifacts natively (the static musl CLI also in a bare
chroot), the Linux aarch64 ones under qemu-user. What cannot run (macOS, Windows, musllinux
wheels) is inspected: headers, architecture, imported libraries, tags. Prints each artifact's
size and one line per check; exits non-zero if a check failed (or was skipped under CI=true)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import binaries  # noqa: E402
import crates  # noqa: E402
import jar as jar_checks  # noqa: E402
import linux_run  # noqa: E402
import npm as npm_checks  # noqa: E402
import wheels  # noqa: E402
from report import ROOT, Report, Section, sha256  # noqa: E402
from serve import Serve  # noqa: E402

# What issue 16 asks `cargo xtask dist` for (kind -> targets).
EXPECTED = {
    "wheel": ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-unknown-linux-musl",
              "aarch64-unknown-linux-musl", "x86_64-apple-darwin|universal2-apple-darwin",
              "aarch64-apple-darwin|universal2-apple-darwin", "x86_64-pc-windows-*"],
    "sdist": ["any"],
    "cli": ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl", "x86_64-apple-darwin",
            "aarch64-apple-darwin", "x86_64-pc-windows-*"],
    "jar": ["any"],
    "npm": ["any"],
    "crate": ["any"],
}
CLI_FILES = {"README.md", "LICENSE-MIT", "LICENSE-APACHE"}


def workspace_version() -> str:
    import tomllib
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]


def _covers(entries: List[dict], kind: str, want: str) -> bool:
    import fnmatch
    return any(e["kind"] == kind and any(fnmatch.fnmatch(e["target"], w) for w in want.split("|"))
               for e in entries)


def check_index(r: Report, dist: Path, entries: List[dict]) -> None:
    for e in entries:
        path = dist / e["file"]
        r.size(e["file"], path.stat().st_size if path.exists() else -1,
               f"{e['kind']} {e['target']}")
        r.check(f"manifest: {e['file']} exists with the listed size and sha256",
                path.is_file() and path.stat().st_size == e["size"] and sha256(path) == e["sha256"],
                f"listed size {e['size']} sha256 {e['sha256'][:16]}..., found "
                f"{path.stat().st_size if path.exists() else 'no file'}")
    sums = {}
    for line in (dist / "SHA256SUMS").read_text().splitlines():
        digest, _, file = line.partition("  ")
        sums[file] = digest
    r.check("SHA256SUMS lists exactly the manifest's files with the same digests",
            sums == {e["file"]: e["sha256"] for e in entries},
            f"only in SHA256SUMS: {sorted(set(sums) - {e['file'] for e in entries})}, "
            f"only in manifest: {sorted({e['file'] for e in entries} - set(sums))}")
    on_disk = {str(p.relative_to(dist)) for p in dist.rglob("*") if p.is_file()}
    extra = sorted(on_disk - {e["file"] for e in entries} - {"manifest.json", "SHA256SUMS"})
    r.check("target/dist holds nothing the manifest does not list", not extra, f"unlisted: {extra}")
    missing = [f"{k} {w}" for k, ws in EXPECTED.items() for w in ws if not _covers(entries, k, w)]
    r.check("every artifact issue 16 asks for is there "
            f"({sum(len(v) for v in EXPECTED.values())} kinds x targets)",
            not missing, f"missing: {missing}")


def unpack_cli(r: Report, path: Path, triple: str, version: str, work: Path) -> Optional[Path]:
    """Checks the archive's contents; returns the extracted binary."""
    windows = "windows" in triple
    exe = "deviceflow.exe" if windows else "deviceflow"
    suffix = ".zip" if windows else ".tar.gz"
    label = f"cli {path.name}"
    r.check(f"{label}: file name", path.name == f"deviceflow-cli-{version}-{triple}{suffix}",
            path.name)
    out = work / "cli" / triple
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    if windows:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            modes = {}
            z.extractall(out)
    else:
        with tarfile.open(path) as t:
            names = set(t.getnames())
            modes = {m.name: m.mode for m in t.getmembers()}
            t.extractall(out, filter="data")
    r.check(f"{label}: holds {exe}, README.md, LICENSE-MIT, LICENSE-APACHE at the top",
            names == CLI_FILES | {exe}, f"holds {sorted(names)}")
    if not windows:
        r.check(f"{label}: {exe} is executable (0755)", modes.get(exe, 0) & 0o777 == 0o755,
                f"mode {oct(modes.get(exe, 0))}")
    binary = out / exe
    if not binary.exists():
        return None
    r.check(f"{label}: README is the CLI's", (out / "README.md").read_bytes()
            == (ROOT / "cli/README.md").read_bytes(), "README.md differs from cli/README.md")
    ins = binaries.inspect(binary, triple, kind="exe", label=f"{path.name}:{exe}")
    r.check(f"{label}: {exe} is {triple}, needs only system libraries", not ins.problems,
            "; ".join(ins.problems), ins.summary())
    return binary


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dist", default=str(ROOT / "target/dist"))
    ap.add_argument("--cache", default=str(ROOT / "target/dist-check"))
    ap.add_argument("--venv", default=None, help="venv with tests/dist/requirements.txt")
    args = ap.parse_args()
    dist, cache = Path(args.dist), Path(args.cache)
    venv_bin = Path(args.venv or cache / "venv") / "bin"
    work = cache / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    version = workspace_version()
    r = Report()
    if not (dist / "manifest.json").is_file():
        r.fail("manifest", f"{dist}/manifest.json does not exist: run `cargo xtask dist` first")
        return r.summary()
    entries = json.loads((dist / "manifest.json").read_text())
    by_kind: Dict[str, List[dict]] = {}
    for e in entries:
        by_kind.setdefault(e["kind"], []).append(e)

    with Section(r, "manifest, SHA256SUMS, completeness"):
        check_index(r, dist, entries)

    with Section(r, "wheels and sdist (tags, RECORD, binaries, twine, abi3audit, auditwheel)"):
        wheel_targets = {dist / e["file"]: e["target"] for e in by_kind.get("wheel", [])}
        for path, triple in sorted(wheel_targets.items()):
            wheels.check_wheel(r, path, triple, version, venv_bin / "python", work)
        sdists = [dist / e["file"] for e in by_kind.get("sdist", [])]
        for s in sdists:
            wheels.check_sdist(r, s, version)
        wheels.check_tools(r, wheel_targets, sdists, venv_bin)

    clis: Dict[str, Path] = {}
    with Section(r, "CLI archives (contents, binaries)"):
        for e in by_kind.get("cli", []):
            binary = unpack_cli(r, dist / e["file"], e["target"], version, work)
            if binary:
                clis[e["target"]] = binary

    with Section(r, "npm tarball (publint, attw, npm publish --dry-run, size)"):
        for e in by_kind.get("npm", []):
            npm_checks.check_npm(r, dist / e["file"], version)

    with Section(r, "crates (contents, cargo publish --dry-run)"):
        names = [crates.check_crate(r, dist / e["file"], version) for e in by_kind.get("crate", [])]
        crates.check_publish(r, names)

    with Section(r, "arm64 root for qemu-user (cached)"):
        root = linux_run.arm64_root(r, cache)
        pylib = linux_run.arm64_pylib(r, cache, venv_bin / "python") if root else None

    host_cli = clis.get("x86_64-unknown-linux-musl") or clis.get("x86_64-unknown-linux-gnu")
    serve: Optional[Serve] = None
    try:
        if host_cli is not None:
            serve = Serve(host_cli, work / "serve")
            print(f"   deviceflow serve (from {host_cli.parent.name}) at {serve.issuer}")
        with Section(r, "Linux x86_64, natively"):
            if host_cli is not None:
                linux_run.cli_checks(r, "cli x86_64 (native)", [], str(host_cli), version, serve,
                                     str(work / "cfg-native"), work / "cfg-native")
                if "x86_64-unknown-linux-musl" in clis:
                    linux_run.bare_chroot_checks(r, "cli x86_64-unknown-linux-musl",
                                                 clis["x86_64-unknown-linux-musl"], version, serve,
                                                 work)
            for path, triple in sorted(wheel_targets.items()):
                if triple == "x86_64-unknown-linux-gnu":
                    linux_run.native_wheel(r, path, serve, work)
            for e in by_kind.get("npm", []):
                npm_checks.run_npm(r, dist / e["file"], serve, work)
        with Section(r, "Linux aarch64, under qemu-user"):
            if root is None:
                r.skip("aarch64 artifacts under qemu-user", "no arm64 root (see above)")
            else:
                arm_cli = clis.get("aarch64-unknown-linux-musl")
                if arm_cli is not None:
                    linux_run.cli_checks(r, "cli aarch64 (qemu-user)", [linux_run.QEMU],
                                         str(arm_cli), version, serve, str(work / "cfg-arm64"),
                                         work / "cfg-arm64")
                for path, triple in sorted(wheel_targets.items()):
                    if triple == "aarch64-unknown-linux-gnu":
                        unpacked = next((work / "wheels" / path.stem).iterdir(), None) \
                            if (work / "wheels" / path.stem).exists() else None
                        if unpacked is None:
                            r.fail(f"{path.name} (aarch64, qemu-user)", "wheel did not unpack")
                            continue
                        linux_run.arm64_wheel(r, f"{path.name} (aarch64, qemu-user)", unpacked,
                                              root, pylib, serve)
        with Section(r, "jar (contents, host JVM, aarch64 library under qemu)"):
            for e in by_kind.get("jar", []):
                jar_checks.check_jar(r, dist / e["file"], version, work,
                                     linux_run.arm64_python(root) if root else None)
    finally:
        if serve is not None:
            serve.close()

    print("\nnot run here (no such machine): the macOS and Windows artifacts and the "
          "musllinux wheels are inspected only (headers, architectures, imports, tags).")
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
