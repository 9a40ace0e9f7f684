#!/usr/bin/env bash
# Builds the Python package (crates/gencast-py) from source and runs its pytest suite.
#
# The virtual environment (target/python-venv) is made once and reused while its requirements
# are unchanged: the Python version, the package's pyproject.toml and the tools listed below.
# When any of them changes it is made afresh; its packages come from the package registry by
# name. The extension is built by maturin with the `dev` profile, which `cargo test` already
# compiled the dependency tree with (target/debug), and installed into the environment (the
# package's Cargo.toml lists the features that make the two builds resolve alike).
#
# The tests compare with the `gencast` binary: $GENCAST_BIN, else the one `cargo test
# --workspace` builds (target/debug/gencast; results are bitwise the same in every profile).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "test-python: $python is required" >&2; exit 1; }
export CARGO_TARGET_DIR="$root/target"
venv="$CARGO_TARGET_DIR/python-venv"
wheels="$CARGO_TARGET_DIR/python-test-wheel"
# The build backend and the test runner; the package's dependencies and its `test` extra (Dask,
# Zarr, PyYAML) come with its wheel.
tools=("maturin>=1.5,<2" "pytest" "tqdm")
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)

key=$({ "$python" -VV; cat crates/gencast-py/pyproject.toml; printf '%s\n' "${tools[@]}"; } \
  | sha256sum | cut -d' ' -f1)
if [ "$(cat "$venv/requirements.sha256" 2>/dev/null)" != "$key" ]; then
  echo "test-python: making $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  echo "test-python: installing ${tools[*]} and the package's dependencies from the registry"
  "${pip[@]}" install "${tools[@]}"
  fresh=1
else
  echo "test-python: reusing $venv"
  fresh=0
fi

rm -rf "$wheels"
# pyproject.toml's feature, and those `cargo test` compiled the library with, so that its build
# is reused too (they add only the benchmark presets and the writers of test inputs).
"$venv/bin/maturin" build --profile dev -m crates/gencast-py/Cargo.toml -o "$wheels" \
  -F pyo3/extension-module -F gencast/bench -F gencast/testing
wheel=$(ls "$wheels"/gencast_rs-*.whl)
# A fresh environment takes the package's dependencies with it; afterwards only the package
# itself is replaced.
"${pip[@]}" install --force-reinstall --no-deps "$wheel"
[ "$fresh" -eq 0 ] || "${pip[@]}" install "$wheel[test]"
# Recorded only once the environment is complete, so an interrupted setup is redone.
echo "$key" >"$venv/requirements.sha256"

if [ -z "${GENCAST_BIN:-}" ]; then
  # The same selection as the README's `cargo test --workspace`, so nothing is rebuilt.
  cargo test --workspace --no-run --quiet
  export GENCAST_BIN="$CARGO_TARGET_DIR/debug/gencast"
fi
exec "$venv/bin/python" -m pytest crates/gencast-py/tests -q "$@"
