#!/usr/bin/env bash
# The Python package: build the wheel (pyo3 abi3, maturin), install it, run pytest
# (vectors, sans-IO API, redaction, hostile transports, end to end against
# node-oidc-provider, profiles shared with the CLI binary, fresh-venv install), type checks,
# then a quick benchmark smoke run.
# Works on a fresh machine (creates .venv at the repo root); exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PYTHON:-python3}
VENV=$ROOT/.venv
REQS=bindings/python/requirements-dev.txt
log() { printf '\n== python: %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating .venv with $($PY --version 2>&1)"
  if ! "$PY" -m venv "$VENV"; then
    # Debian's python3 has no ensurepip without python3-venv.
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-venv >/dev/null
    rm -rf "$VENV"; "$PY" -m venv "$VENV"
  fi
fi
export PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV"  # maturin --zig finds `python -m ziglang` here

stamp="$VENV/.deviceflow-python-reqs"
if ! cmp -s "$REQS" "$stamp"; then
  log "pip install -r $REQS"
  python -m pip install -q --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$stamp"
fi

log "maturin build (release, abi3, manylinux2014 via zig)"
rm -f dist/deviceflow-*.whl
(
  cd bindings/python
  if ! maturin build --release --locked --zig --compatibility manylinux2014 --out "$ROOT/dist"; then
    echo "python: zig build failed; falling back to the default manylinux tag" >&2
    maturin build --release --locked --out "$ROOT/dist"
  fi
)
WHEEL=$(ls -t dist/deviceflow-*.whl | head -n1)
log "installing $WHEEL ($(stat -c %s "$WHEEL") bytes)"
python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$WHEEL"

log "mypy --strict (package) and stubtest (_native.pyi against the built module)"
python -m mypy --strict --cache-dir=/dev/null bindings/python/python/deviceflow
(cd bindings/python/tests && MYPY_CACHE_DIR=/dev/null python -m mypy.stubtest deviceflow._native)

log "cargo build -p deviceflow-cli (test_profiles.py checks Profile against the real CLI and its serve)"
cargo build -q -p deviceflow-cli

log "pytest"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
# Run from the tests folder so `import deviceflow` is the installed wheel, not the sources.
(cd bindings/python/tests && DEVICEFLOW_WHEEL="$ROOT/$WHEEL" DEVICEFLOW_REQUIRE_WHEEL=1 \
  python -m pytest -q -p no:cacheprovider -rfEs --junitxml="$report" .)
# "No tests ran" (or a silently shrunken run) is a failure, not a pass.
python - "$report" <<'PY'
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot()
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
n = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
passed = n["tests"] - n["failures"] - n["errors"] - n["skipped"]
print(f"python: {passed} passed, {n['failures'] + n['errors']} failed, {n['skipped']} skipped")
sys.exit(0 if passed >= 50 and not (n["failures"] or n["errors"]) else 1)
PY

log "benchmark smoke run"
python bench/python/bench.py --quick
