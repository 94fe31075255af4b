"""The .crate files: what crates.io would receive (the normalized Cargo.toml: version, the
metadata crates.io requires, no path-only dependency left, licence files), then
`cargo publish --dry-run` of the same crates. `cargo xtask dist` already ran `cargo package`,
which builds each crate from its packaged sources; the dry run adds what publishing checks on
top (the dependencies resolvable from the registry plus the crates published with them), so
it runs with --no-verify instead of compiling everything a second time."""

from __future__ import annotations

import tarfile
import tomllib
from pathlib import Path
from typing import List

from report import ROOT, Report, run, tail

DEP_TABLES = ("dependencies", "dev-dependencies", "build-dependencies")


def _deps(manifest: dict) -> List["tuple[str, dict]"]:
    found = []
    tables = [manifest] + list(manifest.get("target", {}).values())
    for t in tables:
        for kind in DEP_TABLES:
            for name, spec in t.get(kind, {}).items():
                found.append((name, spec if isinstance(spec, dict) else {"version": spec}))
    return found


def check_crate(r: Report, path: Path, version: str) -> str:
    """Returns the package name."""
    stem = path.name.removesuffix(".crate")
    name = stem.removesuffix(f"-{version}")
    label = f"crate {path.name}"
    r.check(f"{label}: file name carries the workspace version", stem == f"{name}-{version}",
            path.name)
    with tarfile.open(path, "r:gz") as tar:
        names = tar.getnames()
        outside = [n for n in names if not n.startswith(stem + "/")]
        r.check(f"{label}: everything under {stem}/", not outside, f"outside: {outside[:5]}")
        try:
            manifest = tomllib.loads(tar.extractfile(f"{stem}/Cargo.toml").read().decode())  # type: ignore[union-attr]
        except (KeyError, AttributeError):
            r.fail(f"{label}: Cargo.toml", "no Cargo.toml at the top")
            return name
    package = manifest.get("package", {})
    r.check(f"{label}: [package] name and version", (package.get("name"), package.get("version"))
            == (name, version), f"{package.get('name')} {package.get('version')}")
    missing = [k for k in ("description", "license", "repository", "rust-version")
               if not package.get(k)]
    r.check(f"{label}: description, license, repository, rust-version", not missing,
            f"missing {missing}")
    licences = [f"{stem}/LICENSE-MIT", f"{stem}/LICENSE-APACHE"]
    r.check(f"{label}: carries LICENSE-MIT and LICENSE-APACHE",
            all(x in names for x in licences), f"missing {[x for x in licences if x not in names]}")
    # cargo package strips `path` from dependencies that also have a version; one left
    # without a version could not be published.
    path_only = [n for n, spec in _deps(manifest) if "path" in spec
                 or ("version" not in spec and "git" not in spec and "workspace" not in spec)]
    r.check(f"{label}: every dependency is a registry dependency with a version", not path_only,
            f"path-only or version-less: {path_only}")
    inner = [n for n, spec in _deps(manifest) if n.startswith("deviceflow")
             and spec.get("version", "").lstrip("=^") != version]
    r.check(f"{label}: the project's own crates are required at {version}", not inner,
            f"wrong version for {inner}")
    return name


def check_publish(r: Report, names: List[str]) -> None:
    if not names:
        return
    args = ["cargo", "publish", "--dry-run", "--no-verify", "--locked", "--allow-dirty"]
    for n in names:
        args += ["-p", n]
    done = run(args, cwd=ROOT, timeout=600)
    text = done.stdout + done.stderr
    r.check(f"cargo publish --dry-run ({', '.join(names)})",
            done.returncode == 0 and "aborting upload due to dry run" in text.lower(),
            tail(text, 30))
