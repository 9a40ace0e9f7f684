#!/usr/bin/env bash
# Builds the Python package (crates/gencast-py) into a fresh virtual environment, with maturin
# from the package registry as the build backend, and runs its pytest suite. The release build
# shares the workspace's target folder. The tests compare with the `gencast` binary: $GENCAST_BIN
# (.ci/run passes the one `cargo test --workspace` built), else a debug build made here (results
# are bitwise the same in every profile).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "test-python: $python is required" >&2; exit 1; }
export CARGO_TARGET_DIR="$root/target"
venv="$CARGO_TARGET_DIR/python-venv"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "./crates/gencast-py[test]"
if [ -z "${GENCAST_BIN:-}" ]; then
  cargo build --quiet -p gencast-cli
  export GENCAST_BIN="$CARGO_TARGET_DIR/debug/gencast"
fi
exec "$venv/bin/python" -m pytest crates/gencast-py/tests -q "$@"
