#!/usr/bin/env bash
# CI smoke run of every fuzz target: seeds the corpora from the golden vectors, then runs each
# target for a short time (default 10 s, override with FUZZ_SECONDS) on the stable toolchain
# with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs nightly-only flags). Exits non-zero on the first
# crash; libFuzzer leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
seconds="${FUZZ_SECONDS:-10}"
targets=(yaml json dotenv ini open tamper config)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
# libfuzzer-sys compiles libFuzzer, which is C++: a machine with only gcc lacks g++.
if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1; then
    echo "installing g++ (libfuzzer-sys needs a C++ compiler)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null
fi

# Every target of fuzz/Cargo.toml is smoke-run: one left out of the list is an error, not a skip.
listed="$(cargo fuzz list | sort | tr '\n' ' ')"
wanted="$(printf '%s\n' "${targets[@]}" | sort | tr '\n' ' ')"
if [[ "$listed" != "$wanted" ]]; then
    echo "fuzz/smoke.sh runs ($wanted) but fuzz/Cargo.toml has ($listed)" >&2
    exit 1
fi

./seed.sh

# A fixed libFuzzer seed (FUZZ_SEED, default 1; 0 asks for a random one) makes runs comparable.
# They are not identical: coverage feedback (hash-map order in the targets) still steers each run
# its own way, so a finding in CI is a real finding to narrow or fix, never to retry away.
seed="${FUZZ_SEED:-1}"
export RUSTC_BOOTSTRAP=1
for target in "${targets[@]}"; do
    echo "fuzzing $target for ${seconds}s (seed $seed)"
    # -timeout: one input running 10 s is a hang; -rss_limit_mb: libFuzzer's default, said
    # out loud (the parsers' budgets keep every input far below it).
    if ! cargo fuzz run "$target" -- -max_total_time="$seconds" -seed="$seed" -jobs=1 \
        -timeout=10 -rss_limit_mb=2048; then
        echo "fuzz target '$target' failed: see fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
echo "all fuzz targets ran ${seconds}s without a crash"
