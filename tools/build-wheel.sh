#!/usr/bin/env bash
# Builds the gencast_rs wheel once, to install with `pip install gencast_rs-*.whl` on other
# machines of the same platform (operating system, CPU architecture, C library) without a Rust
# toolchain. One abi3 wheel serves CPython 3.9 and later. The build uses the release profile,
# whose dependency tree `cargo build --release` shares (target/release); cargo's progress is
# shown. Usage: tools/build-wheel.sh [OUTPUT_FOLDER] (default target/wheels).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/target/wheels}
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "build-wheel: $python is required" >&2; exit 1; }
export CARGO_TARGET_DIR="$root/target"
mkdir -p "$out"
# pip fetches maturin (the build backend named in pyproject.toml) and shows the build's output.
"$python" -m pip wheel --no-deps --disable-pip-version-check -v -w "$out" "$root/crates/gencast-py"
ls -1 "$out"/gencast_rs-*.whl
