"""Keeps the Kotlin and Swift sources buildable for Android and Apple's mobile/TV platforms,
which cannot be built here (no Android SDK/NDK, no Xcode).

    python tests/dist/mobile_sources.py              # check the real sources
    python tests/dist/mobile_sources.py --self-test  # prove it catches seeded bad lines

Kotlin (generated bindings + the drivers in bindings/uniffi/kotlin/src/main + the Android
source set bindings/uniffi/kotlin/src/android, i.e. what an Android module compiles; not
src/jvm, the JVM-only JavaHttpTransport) must not use JVM APIs Android lacks at any API level
(ABSENT), nor APIs newer than MIN_SDK unless the file probes for them at run time with
`Class.forName("<the class>")` as uniffi's cleaner does (NEWER). Swift (generated bindings + the drivers in bindings/uniffi/swift/Sources) must not use
Linux-only modules or APIs in code that is compiled for an Apple platform: every `#if`,
`#elseif` and `#else` is evaluated for macOS, iOS, tvOS, watchOS and visionOS (an unknown
condition counts as possibly true).

Comments and string literals are blanked before the scan by a small lexer (no Kotlin or Swift
parser is available on PyPI without native grammars, and only these two token kinds matter).
Findings listed in android-known-defects.txt are reported as KNOWN DEFECT instead of failing;
a listed finding that is gone fails, so the list only ever shrinks."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
KNOWN = HERE / "android-known-defects.txt"
# bindings/uniffi/kotlin/src/<dir> compiled into an Android module (src/jvm is JVM-only)
ANDROID_SOURCE_SETS = ["main", "android"]
MIN_SDK = 24  # Android 7.0: java.util.function/stream and CompletableFuture exist from here

# Not in Android's java.* / javax.* at any API level (android.jar has no such classes):
ABSENT: List[Tuple[str, str]] = [
    (r"(?<![\w.])java\.awt(?!\.font\.(?:NumericShaper|TextAttribute))", "AWT (desktop GUI) is not on Android"),
    (r"(?<![\w.])javax\.swing", "Swing is not on Android"),
    (r"(?<![\w.])java\.applet", "applets are not on Android"),
    (r"(?<![\w.])javax\.imageio", "ImageIO is not on Android (use android.graphics)"),
    (r"(?<![\w.])javax\.sound", "javax.sound is not on Android"),
    (r"(?<![\w.])javax\.print", "javax.print is not on Android"),
    (r"(?<![\w.])javax?\.rmi", "RMI is not on Android"),
    (r"(?<![\w.])javax\.naming", "JNDI is not on Android"),
    (r"(?<![\w.])(?:javax\.management|java\.lang\.management)", "JMX / management beans are not on Android"),
    (r"(?<![\w.])javax\.script", "javax.script is not on Android"),
    (r"(?<![\w.])(?:javax\.tools|javax\.lang\.model|javax\.annotation\.processing)", "compiler APIs are not on Android"),
    (r"(?<![\w.])java\.lang\.instrument", "instrumentation is not on Android"),
    (r"(?<![\w.])java\.net\.http", "java.net.http (JDK 11 HttpClient) is not on Android: use "
                         "HttpURLConnection or a transport the app provides"),
    (r"(?<![\w.])java\.lang\.foreign", "the FFM API is not on Android"),
    (r"(?<![\w.])(?:javax\.xml\.bind|javax\.activation)", "JAXB / JAF were never on Android"),
    (r"(?<![\w.])(?:jdk|sun)\.[a-z]", "JDK-internal packages are not on Android"),
    (r"(?<![\w.])com\.sun\.(?!jna\b)", "com.sun.* (other than JNA, which Android gets from jna@aar) is JDK-internal"),
    (r"(?<![\w.])ProcessHandle\b", "java.lang.ProcessHandle (JDK 9) is not on Android"),
    (r"\bStackWalker\b", "java.lang.StackWalker (JDK 9) is not on Android"),
    (r"\bRuntime\.version\(\)|\bRuntime\.Version\b", "Runtime.Version (JDK 9) is not on Android"),
    (r"\bModuleLayer\b", "the module system is not on Android"),
]
# On Android only from an API level above MIN_SDK: (pattern, fully qualified class to probe, API, why)
NEWER: List[Tuple[str, str, int, str]] = [
    (r"(?<![\w.])java\.time\b", "java.time", 26, "java.time is API 26+ (or needs core library desugaring)"),
    (r"(?<![\w.])java\.nio\.file\b", "java.nio.file", 26, "java.nio.file is API 26+"),
    (r"(?<![\w.])java\.util\.Base64\b", "java.util.Base64", 26, "java.util.Base64 is API 26+ (android.util.Base64 is not)"),
    (r"(?<![\w.])java\.lang\.invoke\b", "java.lang.invoke", 26, "java.lang.invoke is API 26+"),
    (r"(?<![\w.])java\.util\.concurrent\.Flow\b", "java.util.concurrent.Flow", 30, "java.util.concurrent.Flow is API 30+"),
    (r"(?<![\w.])java\.lang\.ref\.Cleaner\b", "java.lang.ref.Cleaner", 33, "java.lang.ref.Cleaner is API 33+"),
    (r"(?<![\w.])java\.util\.HexFormat\b", "java.util.HexFormat", 34, "java.util.HexFormat is API 34+"),
]

APPLE_OSES = ["macOS", "iOS", "tvOS", "watchOS", "visionOS"]
# canImport(...) on Apple platforms; anything not listed is unknown (possibly true).
APPLE_HAS = {"Darwin", "Foundation", "Security", "CryptoKit", "Network", "Dispatch", "os",
             "ObjectiveC", "Combine", "DeviceFlowFFI", "UIKit", "AppKit"}
APPLE_LACKS = {"FoundationNetworking", "FoundationXML", "Glibc", "Musl", "Bionic", "Android",
               "WinSDK", "CRT", "WASILibc"}
LINUX_ONLY_SWIFT: List[Tuple[str, str]] = [
    (r"^\s*(?:@\w+\s+)*import\s+(?:(?:struct|func|class|enum|var)\s+)?(Glibc|Musl|Bionic|Android|FoundationNetworking|FoundationXML|WinSDK)\b",
     "a module that does not exist on Apple platforms"),
    (r"\bGlibc\.", "Glibc is Linux-only"),
    (r"\bcurl_\w+\s*\(", "libcurl calls: Apple platforms go through URLSession"),
    (r"\bdlopen\(\s*\"[^\"]*\.so\b", "loads a Linux shared object"),
    (r"\bepoll_\w+|\binotify_\w+|\beventfd\(", "Linux-only system calls"),
    (r"\"/proc/", "/proc is Linux-only"),
]


@dataclass
class Finding:
    file: str
    line: int
    key: str
    why: str
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.why}\n        {self.text.strip()}"


def blank_comments_and_strings(src: str, swift: bool) -> str:
    """The source with comments and the contents of string literals replaced by spaces
    (newlines kept, so line numbers hold). Block comments nest in Kotlin and Swift."""
    out = []
    i, n = 0, len(src)
    depth = 0
    while i < n:
        c = src[i]
        two = src[i:i + 2]
        if depth:
            if two == "/*":
                depth += 1
                out.append("  ")
                i += 2
            elif two == "*/":
                depth -= 1
                out.append("  ")
                i += 2
            else:
                out.append("\n" if c == "\n" else " ")
                i += 1
        elif two == "//":
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif two == "/*":
            depth = 1
            out.append("  ")
            i += 2
        elif c == '"' or (swift and c == "#" and re.match(r'#+"', src[i:])):
            hashes = len(re.match(r"#*", src[i:]).group(0))  # Swift raw strings: #"..."#
            start = i + hashes
            quote = '"""' if src.startswith('"""', start) else '"'
            close = quote + "#" * hashes
            body_from = start + len(quote)
            j = body_from
            while j < n and not src.startswith(close, j):
                j += 2 if (src[j] == "\\" and not hashes) else 1
            body_to = min(j, n)
            out.append(src[i:body_from])
            out.append(re.sub(r"[^\n]", " ", src[body_from:body_to]))
            out.append(src[body_to:body_to + len(close)])
            i = body_to + len(close)
        elif not swift and c == "'":
            m = re.match(r"'(?:\\u[0-9a-fA-F]{4}|\\.|[^\\'\n])'", src[i:])
            if m:
                out.append("'" + " " * (len(m.group(0)) - 2) + "'")
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


# ---- Kotlin -------------------------------------------------------------------------------

def check_kotlin(path: Path, rel: str) -> List[Finding]:
    raw = path.read_text(encoding="utf-8")
    probed = set(re.findall(r'Class\.forName\(\s*"([\w.$]+)"', raw))
    code = blank_comments_and_strings(raw, swift=False)
    found = []
    for no, (line, original) in enumerate(zip(code.splitlines(), raw.splitlines()), 1):
        for pattern, why in ABSENT:
            m = re.search(pattern, line)
            if m:
                found.append(Finding(rel, no, m.group(0).rstrip("."), why, original))
        for pattern, fqcn, api, why in NEWER:
            m = re.search(pattern, line)
            if m and api > MIN_SDK and not any(p == fqcn or p.startswith(fqcn + ".") for p in probed):
                found.append(Finding(rel, no, m.group(0), f"{why}, above minSdk {MIN_SDK}, "
                                     f"and the file never probes for it (Class.forName)", original))
    return found


# ---- Swift --------------------------------------------------------------------------------

def _tokens(cond: str) -> List[str]:
    return re.findall(r"&&|\|\||!|\(|\)|[A-Za-z_][\w.]*\s*\([^()]*\)|true|false", cond)


def eval_condition(cond: str, os_name: str) -> Optional[bool]:
    """Kleene logic over a Swift compilation condition on Apple platform `os_name`: True,
    False, or None (unknown)."""
    toks = _tokens(cond)
    pos = 0

    def atom(t: str) -> Optional[bool]:
        m = re.fullmatch(r"(\w+)\s*\(\s*([^()]*?)\s*\)", t)
        if t in ("true", "false"):
            return t == "true"
        if not m:
            return None
        fn, arg = m.groups()
        if fn == "os":
            return arg == os_name or (arg == "macOS" and os_name == "macOS")
        if fn == "canImport":
            module = arg.split(",")[0].strip()
            return True if module in APPLE_HAS else False if module in APPLE_LACKS else None
        if fn in ("swift", "compiler"):
            return True
        return None  # arch(...), targetEnvironment(...), hasFeature(...), ...

    def primary() -> Optional[bool]:
        nonlocal pos
        t = toks[pos]
        pos += 1
        if t == "!":
            return _k_not(primary())
        if t == "(":
            v = disj()
            pos += 1  # ")"
            return v
        return atom(t)

    def chain(operand: Callable[[], Optional[bool]], op: str,
              join: Callable[[Optional[bool], Optional[bool]], Optional[bool]]) -> Optional[bool]:
        nonlocal pos
        v = operand()
        while pos < len(toks) and toks[pos] == op:
            pos += 1
            v = join(v, operand())
        return v

    def conj() -> Optional[bool]:
        return chain(primary, "&&", _k_and)

    def disj() -> Optional[bool]:
        return chain(conj, "||", _k_or)

    return disj() if toks else None


def _k_not(v: Optional[bool]) -> Optional[bool]:
    return None if v is None else not v


def _k_and(a: Optional[bool], b: Optional[bool]) -> Optional[bool]:
    return False if (a is False or b is False) else (None if None in (a, b) else True)


def _k_or(a: Optional[bool], b: Optional[bool]) -> Optional[bool]:
    return True if (a is True or b is True) else (None if None in (a, b) else False)


def check_swift(path: Path, rel: str) -> List[Finding]:
    raw = path.read_text(encoding="utf-8")
    code = blank_comments_and_strings(raw, swift=True)
    found: Dict[Tuple[int, str], Finding] = {}
    for os_name in APPLE_OSES:
        # Each open #if: [value of the current branch, any earlier branch taken (Kleene)].
        stack: List[List[Optional[bool]]] = []
        for no, (line, original) in enumerate(zip(code.splitlines(), raw.splitlines()), 1):
            d = re.match(r"\s*#(if|elseif|else|endif)\b(.*)", line)
            if d:
                kind, rest = d.group(1), d.group(2)
                if kind == "if":
                    v = eval_condition(rest, os_name)
                    stack.append([v, v])
                elif kind == "elseif" and stack:
                    v = eval_condition(rest, os_name)
                    stack[-1] = [_k_and(_k_not(stack[-1][1]), v), _k_or(stack[-1][1], v)]
                elif kind == "else" and stack:
                    stack[-1] = [_k_not(stack[-1][1]), True]
                elif kind == "endif" and stack:
                    stack.pop()
                continue
            active: Optional[bool] = True
            for branch, _ in stack:
                active = _k_and(active, branch)
            if active is False:
                continue
            for pattern, why in LINUX_ONLY_SWIFT:
                # Strings are blanked; dlopen/"/proc" need the original line's literal.
                text = original if ('"' in pattern) else line
                m = re.search(pattern, text)
                if m:
                    key = (no, pattern)
                    if key not in found:
                        found[key] = Finding(rel, no, m.group(0).strip(),
                                             f"{why}, in code compiled for {os_name}", original)
    return sorted(found.values(), key=lambda f: f.line)


# ---- driver -------------------------------------------------------------------------------

def sources() -> Tuple[List[Path], List[Path]]:
    u = ROOT / "bindings/uniffi"
    # The Android build's Kotlin: generated + src/main + src/android. src/jvm is JVM-only.
    kotlin = sorted((u / "build/bindgen").rglob("*.kt")) + [
        p for d in ANDROID_SOURCE_SETS for p in sorted((u / "kotlin/src" / d).rglob("*.kt"))]
    swift = sorted((u / "build/bindgen").glob("*.swift")) + sorted(
        p for p in (u / "swift/Sources").rglob("*.swift") if p.name != "DeviceFlowKit.swift")
    return kotlin, swift


def scan(kotlin: Iterable[Path], swift: Iterable[Path], base: Path) -> List[Finding]:
    out: List[Finding] = []
    for p in kotlin:
        out += check_kotlin(p, str(p.relative_to(base)))
    for p in swift:
        out += check_swift(p, str(p.relative_to(base)))
    return out


def known_defects() -> Dict[Tuple[str, str], str]:
    known = {}
    if KNOWN.exists():
        for line in KNOWN.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                file, key, *why = line.split(None, 2)
                known[(file, key)] = why[0] if why else ""
    return known


def main() -> int:
    kotlin, swift = sources()
    if not any("build/bindgen" in str(p) for p in kotlin + swift):
        print("SKIPPED: mobile sources: no generated bindings in bindings/uniffi/build/bindgen "
              "(run bindings/uniffi/build.sh)")
        return 1 if os.environ.get("CI") == "true" else 0
    failed = 0
    for d in ANDROID_SOURCE_SETS:
        if not any(f"kotlin/src/{d}/" in p.as_posix() for p in kotlin):
            failed += 1  # a vanished source set would make the scan pass on nothing
            print(f"FAIL    bindings/uniffi/kotlin/src/{d}: no Kotlin file found")
    findings = scan(kotlin, swift, ROOT)
    known = known_defects()
    seen_known = set()
    for f in findings:
        k = (f.file, f.key)
        if k in known:
            seen_known.add(k)
            print(f"KNOWN DEFECT (tests/dist/{KNOWN.name}) {f}")
        else:
            failed += 1
            print(f"FAIL    {f}")
    for k in sorted(set(known) - seen_known):
        failed += 1
        print(f"FAIL    {k[0]}: `{k[1]}` is listed in tests/dist/{KNOWN.name} but no longer "
              "found: delete that line")
    print(f"mobile sources: {len(kotlin)} Kotlin and {len(swift)} Swift files, "
          f"{len(findings)} findings ({len(seen_known)} known defects), {failed} failures")
    return 1 if failed else 0


# ---- self-test: seeded bad lines must be caught, good lines must pass -----------------------

SEEDS_KOTLIN_BAD = [
    "import java.net.http.HttpClient",
    "val c = java.awt.Color.RED",
    "val pid = ProcessHandle.current().pid()",
    "import java.time.Duration",
    "import javax.swing.JFrame",
    "val b = java.lang.management.ManagementFactory.getRuntimeMXBean()",
    "import java.util.concurrent.Flow",
]
SEEDS_KOTLIN_GOOD = """
import com.sun.jna.Native
import java.util.concurrent.CompletableFuture
// javax.swing in a comment, java.net.http too
/* ProcessHandle /* nested */ java.awt */
val s = "java.net.http.HttpClient and ProcessHandle in a string"
val r = \"\"\"raw java.awt
string\"\"\"
val cleaner = try { Class.forName("java.lang.ref.Cleaner"); java.lang.ref.Cleaner.create() } catch (e: Exception) { null }
"""
SEEDS_SWIFT_BAD = [
    "import Glibc",
    "#if os(macOS)\nimport FoundationNetworking\n#endif",
    "#if !os(Linux)\nlet h = dlopen(\"libcurl.so.4\", RTLD_NOW)\n#endif",
    "#if os(Linux)\n#else\nimport Glibc\n#endif",
    "#if canImport(Glibc)\n#elseif os(iOS)\nlet t = Glibc.time(nil)\n#endif",
    "#if arch(arm64)\nlet e = epoll_create1(0)\n#endif",
]
SEEDS_SWIFT_GOOD = """
import Foundation
#if os(Linux)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
let h = dlopen("libcurl.so.4", RTLD_NOW)
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if !canImport(FoundationNetworking)
let session = URLSession.shared
#else
let e = curl_easy_init()
#endif
// import Glibc in a comment
let s = "import Glibc in a string"
"""


def self_test() -> int:
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)

        def run_one(name: str, text: str, lang: str) -> List[Finding]:
            p = base / name
            p.write_text(text)
            return check_kotlin(p, name) if lang == "kt" else check_swift(p, name)

        cases = (
            ("Kotlin", "kt", "package x\n", SEEDS_KOTLIN_BAD, SEEDS_KOTLIN_GOOD,
             "Kotlin comments, strings, JNA and a probed Cleaner pass"),
            ("Swift", "swift", "import Foundation\n", SEEDS_SWIFT_BAD, SEEDS_SWIFT_GOOD,
             "Swift code guarded for Linux passes"),
        )
        for lang, ext, header, bads, good, good_what in cases:
            for i, bad in enumerate(bads):
                got = run_one(f"bad{i}.{ext}", header + bad + "\n", ext)
                ok = bool(got)
                failures += not ok
                print(f"{'ok  ' if ok else 'FAIL'} self-test: {lang} {bad!r} is caught"
                      + (f" ({got[0].why})" if got else ""))
            got = run_one(f"good.{ext}", good, ext)
            failures += bool(got)
            print(f"{'ok  ' if not got else 'FAIL'} self-test: {good_what}"
                  + "".join(f"\n        {f}" for f in got))
    print(f"mobile sources self-test: {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(self_test() if "--self-test" in sys.argv else main())
