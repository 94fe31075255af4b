"""Structural checks of native code that cannot run here (and of code that can, before it
runs): ELF, Mach-O and PE headers read with LIEF: format, architecture, the libraries each
binary needs, and a few properties the target's loader insists on.

The allow-lists say what a user's machine is sure to have. Anything else is a library the
user would have to install, so a binary needing it is a defect (the archive or jar does not
ship it)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import lief

lief.logging.disable()

# Rust target triple -> (format, architecture name as LIEF spells it).
ARCH = {
    "x86_64-unknown-linux-gnu": ("ELF", "X86_64"),
    "aarch64-unknown-linux-gnu": ("ELF", "AARCH64"),
    "x86_64-unknown-linux-musl": ("ELF", "X86_64"),
    "aarch64-unknown-linux-musl": ("ELF", "AARCH64"),
    "x86_64-apple-darwin": ("MachO", "X86_64"),
    "aarch64-apple-darwin": ("MachO", "ARM64"),
    "universal2-apple-darwin": ("MachO", "universal2"),
    "x86_64-pc-windows-gnu": ("PE", "AMD64"),
    "x86_64-pc-windows-gnullvm": ("PE", "AMD64"),
    "x86_64-pc-windows-msvc": ("PE", "AMD64"),
}

# glibc Linux: the libraries of glibc itself and libgcc_s (the unwinder Rust's std uses),
# present on every glibc distribution; manylinux2014 allows the same ones.
ELF_GLIBC_ALLOWED = {
    "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libgcc_s.so.1",
    "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
}
# The newest glibc symbol version a shipped glibc-linked library may need: 2.17 is the
# manylinux2014 baseline the wheels promise (CentOS 7, Debian 8, Ubuntu 14.04 and later).
GLIBC_MAX = (2, 17)

# macOS: libSystem (libc, libm, pthreads, dyld) and the system frameworks are in every
# macOS's shared cache; libiconv (with its libcharset), libresolv, libc++ and libobjc ship with
# every macOS too.
MACHO_ALLOWED = re.compile(
    r"^(/usr/lib/libSystem\.B\.dylib|/usr/lib/libiconv\.2\.dylib|/usr/lib/libcharset\.1\.dylib"
    r"|/usr/lib/libresolv\.9\.dylib"
    r"|/usr/lib/libc\+\+\.1\.dylib|/usr/lib/libobjc\.A\.dylib"
    r"|/System/Library/Frameworks/[A-Za-z0-9]+\.framework/(Versions/[A-Z]/)?[A-Za-z0-9]+)$")

# The oldest macOS each architecture's Rust target supports (rustc's default deployment target):
# the CLI and the jar's libraries must load there too (the wheels are held to their tag).
MACOS_OLDEST = {"ARM64": (11, 0), "X86_64": (10, 12)}

# Windows: DLLs of Windows itself (Windows 10 and later), named case-insensitively.
#   kernel32, ntdll: the base API Rust's std is built on; api-ms-win-core-*: API sets
#   (std's WaitOnAddress comes from api-ms-win-core-synch-l1-2-0); bcrypt, bcryptprimitives:
#   the OS random generator (ProcessPrng, BCryptGenRandom); ws2_32: sockets; advapi32:
#   registry, Credential Manager (the CLI's keyring); userenv: the profile directory;
#   crypt32, ncrypt, secur32: the system certificate store and TLS helpers; shell32, ole32,
#   oleaut32, user32: opening the browser (ShellExecuteW) and COM; msvcrt: the system C runtime
#   mingw-w64 builds link; ucrtbase, api-ms-win-crt-*: the Universal CRT (part of Windows 10).
PE_ALLOWED = re.compile(
    r"^(kernel32|ntdll|advapi32|bcrypt|bcryptprimitives|ws2_32|userenv|crypt32|ncrypt|secur32"
    r"|shell32|ole32|oleaut32|user32|shlwapi|iphlpapi|msvcrt|ucrtbase|synchronization"
    r"|api-ms-win-core-[a-z0-9-]+|api-ms-win-crt-[a-z0-9-]+)\.dll$", re.I)
# A Python extension on Windows may also need the stable-ABI python3.dll (never python3X.dll,
# which would tie it to one Python version) and vcruntime140.dll, which every CPython for
# Windows ships beside python.exe.
PE_PYTHON_EXTRA = re.compile(r"^(python3|vcruntime140|vcruntime140_1)\.dll$", re.I)
# The usual mistakes, named in the failure: mingw-w64's own runtime DLLs are not on Windows.
PE_KNOWN_BAD = re.compile(r"^(libgcc_s_seh-1|libwinpthread-1|libstdc\+\+-6)\.dll$", re.I)


@dataclass
class Inspection:
    path: str
    fmt: str = "?"
    archs: List[str] = field(default_factory=list)
    libraries: List[str] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)
    facts: List[str] = field(default_factory=list)
    minos: Dict[str, "tuple[int, ...]"] = field(default_factory=dict)  # Mach-O, per arch

    def summary(self) -> str:
        return f"{self.fmt} {'+'.join(self.archs)}; " + "; ".join(self.facts)


def _glibc_versions(b: "lief.ELF.Binary") -> List["tuple[int, ...]"]:
    found = []
    for req in b.symbols_version_requirement:
        for aux in req.get_auxiliary_symbols():
            m = re.fullmatch(r"GLIBC_(\d+(?:\.\d+)*)", aux.name)
            if m:
                found.append(tuple(int(x) for x in m.group(1).split(".")))
    return found


def inspect(path: Path, triple: str, *, kind: str, python_ext: bool = False,
            label: Optional[str] = None) -> Inspection:
    """kind: "exe" (a program), "lib" (a shared library loaded by JNA), "pyext" (a CPython
    extension module). Fills `problems` with everything wrong for `triple`."""
    want_fmt, want_arch = ARCH[triple]
    ins = Inspection(label or path.name)
    if want_fmt == "MachO":
        fat = lief.MachO.parse(str(path))
        if fat is None:
            ins.problems.append("not a Mach-O file")
            return ins
        ins.fmt = "Mach-O"
        slices = [fat.at(i) for i in range(fat.size)]
        ins.archs = [str(s.header.cpu_type).split(".")[-1] for s in slices]
        want = ["X86_64", "ARM64"] if want_arch == "universal2" else [want_arch]
        if sorted(ins.archs) != sorted(want):
            ins.problems.append(f"architectures {ins.archs}, expected {want}")
        for s in slices:
            _macho(s, ins, kind)
        return ins
    b = lief.parse(str(path))
    if b is None:
        ins.problems.append("not an executable or library LIEF can read")
        return ins
    ins.fmt = str(b.format).split(".")[-1]
    if ins.fmt != want_fmt:
        ins.problems.append(f"format {ins.fmt}, expected {want_fmt}")
        return ins
    if want_fmt == "ELF":
        _elf(b, ins, triple, want_arch, kind)
    else:
        _pe(b, ins, want_arch, kind)
    return ins


def _elf(b: "lief.ELF.Binary", ins: Inspection, triple: str, want_arch: str, kind: str) -> None:
    arch = str(b.header.machine_type).split(".")[-1]
    ins.archs = [arch]
    if arch != want_arch:
        ins.problems.append(f"architecture {arch}, expected {want_arch}")
    ins.libraries = list(b.libraries)
    if triple.endswith("-musl") and kind == "exe":
        # The static musl CLI: no dynamic loader, no shared library at all.
        if b.has_interpreter:
            ins.problems.append(f"has a program interpreter {b.interpreter} (not static)")
        if ins.libraries:
            ins.problems.append(f"needs shared libraries {ins.libraries} (not static)")
        ins.facts.append("static" + (", PIE" if b.is_pie else ""))
    else:
        bad = [lib for lib in ins.libraries if lib not in ELF_GLIBC_ALLOWED]
        if triple.endswith("-musl"):
            bad = [lib for lib in ins.libraries if not lib.startswith("libc.musl-")
                   and lib not in ("libc.so", "libgcc_s.so.1")]
        if bad:
            ins.problems.append(f"needs non-system libraries {bad}")
        versions = _glibc_versions(b)
        if versions:
            top = max(versions)
            ins.facts.append("needs GLIBC_" + ".".join(map(str, top)))
            if top > GLIBC_MAX:
                ins.problems.append(
                    f"needs GLIBC_{'.'.join(map(str, top))}, newer than the manylinux2014 "
                    f"baseline GLIBC_{'.'.join(map(str, GLIBC_MAX))}")
        ins.facts.append("needs " + (", ".join(ins.libraries) or "nothing"))
    if not b.has_nx:
        ins.problems.append("executable stack (no PT_GNU_STACK NX)")


def _macho(s: "lief.MachO.Binary", ins: Inspection, kind: str) -> None:
    arch = str(s.header.cpu_type).split(".")[-1]
    # Every dylib the loader must find (LC_LOAD_DYLIB, weak, re-exported); not LC_ID_DYLIB,
    # which is a library's own name.
    libs = [lib.name for lib in s.libraries if not str(lib.command).endswith("ID_DYLIB")]
    ins.libraries += libs
    bad = [lib for lib in libs if not MACHO_ALLOWED.match(lib)]
    if bad:
        ins.problems.append(f"{arch}: loads non-system libraries {bad}")
    minos = None
    if s.has_build_version:
        minos = tuple(s.build_version.minos)
    elif s.has_version_min:
        minos = tuple(s.version_min.version)
    if minos:
        ins.facts.append(f"{arch} minos {'.'.join(map(str, minos[:2]))}")
        ins.minos[arch] = minos
        oldest = MACOS_OLDEST.get(arch)
        if kind != "pyext" and oldest and minos[:2] > oldest:
            ins.problems.append(f"{arch}: needs macOS {'.'.join(map(str, minos[:2]))}, newer than "
                                f"{'.'.join(map(str, oldest))} (set MACOSX_DEPLOYMENT_TARGET)")
    else:
        ins.problems.append(f"{arch}: no LC_BUILD_VERSION / LC_VERSION_MIN_MACOSX")
    # Apple silicon refuses to map arm64 code without at least an ad-hoc signature.
    if arch == "ARM64" and not s.has_code_signature:
        ins.problems.append("arm64 slice has no code signature (Apple silicon kills it at load)")
    ins.facts.append(f"{arch} loads " + ", ".join(lib.rsplit("/", 1)[-1] for lib in libs))
    if kind == "exe" and not s.is_pie:
        ins.problems.append(f"{arch}: not PIE")
    if kind == "pyext":
        if any("Python" in lib for lib in libs):
            ins.problems.append(f"{arch}: links libpython/Python.framework (must use "
                                "-undefined dynamic_lookup)")
        if not s.has_symbol("_PyInit__native"):
            ins.problems.append(f"{arch}: does not export PyInit__native")
    if kind == "lib" and not any(sym.name.startswith("_ffi_deviceflow_uniffi_uniffi_contract_version")
                                 for sym in s.exported_symbols):
        ins.problems.append(f"{arch}: does not export ffi_deviceflow_uniffi_uniffi_contract_version")


def _pe(b: "lief.PE.Binary", ins: Inspection, want_arch: str, kind: str) -> None:
    arch = str(b.header.machine).split(".")[-1]
    ins.archs = [arch]
    if arch != want_arch:
        ins.problems.append(f"machine {arch}, expected {want_arch}")
    ins.libraries = [imp.name for imp in b.imports]
    for lib in ins.libraries:
        if PE_KNOWN_BAD.match(lib):
            ins.problems.append(f"imports {lib}: mingw-w64's runtime, not part of Windows "
                                "(link it statically)")
        elif not (PE_ALLOWED.match(lib) or (kind == "pyext" and PE_PYTHON_EXTRA.match(lib))):
            ins.problems.append(f"imports non-system DLL {lib}")
        if kind == "pyext" and re.match(r"^python3\d+\.dll$", lib, re.I):
            ins.problems.append(f"imports {lib}: an abi3 extension must use python3.dll")
    flags = lief.PE.OptionalHeader.DLL_CHARACTERISTICS
    for flag, what in ((flags.DYNAMIC_BASE, "ASLR"), (flags.NX_COMPAT, "DEP")):
        if not b.optional_header.has(flag):
            ins.problems.append(f"no {str(flag).split('.')[-1]} ({what})")
    subsystem = str(b.optional_header.subsystem).split(".")[-1]
    if kind == "exe" and subsystem != "WINDOWS_CUI":
        ins.problems.append(f"subsystem {subsystem}, expected WINDOWS_CUI (a console program)")
    exports = {e.name for e in b.exported_functions}
    if kind == "pyext" and "PyInit__native" not in exports:
        ins.problems.append("does not export PyInit__native")
    if kind == "lib" and "ffi_deviceflow_uniffi_uniffi_contract_version" not in exports:
        ins.problems.append("does not export ffi_deviceflow_uniffi_uniffi_contract_version")
    unique = list(dict.fromkeys(lib.lower() for lib in ins.libraries))
    ins.facts.append(f"{subsystem}; imports " + ", ".join(unique))


# ---- self-test: binaries with known defects must be caught ---------------------------------

def self_test() -> int:
    """Builds small binaries with the defects the checks exist for (gcc, mingw-w64, zig from
    the venv for Mach-O) and asserts each is caught, and that a clean one passes."""
    import shutil
    import subprocess
    import sys
    import tempfile

    failures = 0
    d = Path(tempfile.mkdtemp(prefix="dist-binaries-"))
    (d / "x.c").write_text("#include <pthread.h>\nextern const char *zlibVersion(void);\n"
                           "static void *f(void *a) { return a; }\n"
                           "int main(void) { pthread_t t; pthread_create(&t, 0, f, 0);"
                           " return (int)zlibVersion()[0]; }\n")
    (d / "y.c").write_text("int main(void) { return 0; }\n")
    (d / "p.c").write_text("#include <pthread.h>\nstatic void *f(void *a) { return a; }\n"
                           "int main(void) { pthread_t t; return pthread_create(&t, 0, f, 0); }\n")

    def build(cmd: List[str]) -> bool:
        return subprocess.run(cmd, cwd=d, capture_output=True).returncode == 0

    def expect(name: str, path: Path, triple: str, kind: str, want: Optional[str]) -> None:
        nonlocal failures
        ins = inspect(path, triple, kind=kind)
        ok = (not ins.problems) if want is None else any(want in p for p in ins.problems)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} self-test: {name}: "
              + ("; ".join(ins.problems) or "no problem"), flush=True)

    cases = 0
    if shutil.which("gcc") and build(["gcc", "-o", "zlib", "x.c", "-l:libz.so.1", "-pthread"]):
        expect("ELF needing libz and a new glibc", d / "zlib", "x86_64-unknown-linux-gnu",
               "lib", "non-system libraries")
        expect("ELF with a new glibc", d / "zlib", "x86_64-unknown-linux-gnu", "lib", "GLIBC_2.")
        expect("a dynamic executable claimed static (musl)", d / "zlib",
               "x86_64-unknown-linux-musl", "exe", "not static")
        expect("an x86_64 ELF claimed aarch64", d / "zlib", "aarch64-unknown-linux-gnu", "lib",
               "architecture")
        cases += 1
    mingw = "x86_64-w64-mingw32-gcc"
    if shutil.which(mingw) and build([mingw, "-o", "thr.exe", "p.c", "-pthread"]):
        expect("PE importing a MinGW runtime DLL", d / "thr.exe", "x86_64-pc-windows-gnu",
               "exe", "mingw-w64's runtime")
        cases += 1
    if shutil.which(mingw) and build([mingw, "-o", "ok.exe", "y.c"]):
        expect("clean PE console program", d / "ok.exe", "x86_64-pc-windows-gnu", "exe", None)
        expect("PE claimed to be a Python extension", d / "ok.exe", "x86_64-pc-windows-gnu",
               "pyext", "PyInit__native")
    # zig (PyPI ziglang) links Mach-O without an SDK: from the build's venv (.venv-dist, made
    # by tests/setup.sh for `cargo xtask dist`) or any venv at hand.
    root = Path(__file__).resolve().parents[2]
    pythons = [sys.executable, root / ".venv-dist/bin/python", root / ".venv/bin/python"]
    zig_py = next((str(p) for p in pythons if Path(p).exists() and subprocess.run(
        [str(p), "-c", "import ziglang"], capture_output=True).returncode == 0), None)
    zig = [zig_py or "python3", "-m", "ziglang", "cc", "-target", "aarch64-macos.11.0"]
    if zig_py and build([*zig, "-o", "m", "y.c"]):
        expect("clean arm64 Mach-O (macOS 11)", d / "m", "aarch64-apple-darwin", "exe", None)
        b = lief.MachO.parse(str(d / "m")).at(0)
        b.remove_signature()
        b.add_library("/opt/homebrew/lib/libssl.3.dylib")
        b.write(str(d / "m-bad"))
        new = lief.MachO.parse(str(d / "m")).at(0)
        new.build_version.minos = [15, 0, 0]
        new.write(str(d / "m15"))
        expect("Mach-O needing macOS 15", d / "m15", "aarch64-apple-darwin", "exe", "needs macOS 15")
        expect("arm64 Mach-O without signature", d / "m-bad", "aarch64-apple-darwin", "exe",
               "no code signature")
        expect("Mach-O loading a Homebrew library", d / "m-bad", "aarch64-apple-darwin", "exe",
               "non-system libraries")
        cases += 1
    shutil.rmtree(d, ignore_errors=True)
    if cases < 3:
        print("SKIPPED: binaries self-test: gcc, mingw-w64 or zig missing for some cases")
        if os.environ.get("CI") == "true":
            failures += 1  # a skip is not a pass
    print(f"binaries self-test: {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__" and "--self-test" in __import__("sys").argv:
    raise SystemExit(self_test())
