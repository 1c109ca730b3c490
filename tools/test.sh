#!/usr/bin/env bash
# The README's test command: cargo tests, then every Python suite in a venv
# of its own (.venv-test/). A suite is one line in SUITES below.
set -euo pipefail
cd "$(dirname "$0")/.."

# "pytest dir|pip requirements (space-separated)"
SUITES=(
    "crates/ferrite-python/tests|pytest numpy ai-edge-litert ./crates/ferrite-python"
    "crates/ferrite-serve/tests/python|-r crates/ferrite-serve/tests/python/requirements.txt"
)

echo "== cargo test --workspace"
cargo test --workspace
# The server suite drives the real binary.
cargo build -p ferrite-cli
export FERRITE_BIN="${FERRITE_BIN:-$PWD/target/debug/ferrite}"

PY=${PYTHON:-python3}
VENV=.venv-test
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
for suite in "${SUITES[@]}"; do
    dir=${suite%%|*}
    reqs=${suite#*|}
    echo "== python suite $dir"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install --quiet $reqs
    set +e
    "$VENV/bin/python" -m pytest -q -rs "$dir"
    rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then
        echo "no tests collected in $dir" >&2
        exit 1
    fi
    [ "$rc" -eq 0 ] || exit "$rc"
done
