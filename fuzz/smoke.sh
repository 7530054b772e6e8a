#!/usr/bin/env bash
# CI smoke run of every fuzz target: seeds the corpora from the golden vectors, then runs each
# target for a short time (default 10 s, override with FUZZ_SECONDS) on the stable toolchain
# with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs nightly-only flags). Exits non-zero on the first
# crash; libFuzzer leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
seconds="${FUZZ_SECONDS:-10}"
targets=(yaml json dotenv ini open)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

./seed.sh

export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
    echo "fuzzing $target for ${seconds}s"
    if ! cargo fuzz run "$target" -- -max_total_time="$seconds" -jobs=1; then
        echo "fuzz target '$target' failed: see fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
echo "all fuzz targets ran ${seconds}s without a crash"
