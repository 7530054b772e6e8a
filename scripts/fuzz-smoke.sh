#!/usr/bin/env bash
# Runs every fuzz target in fuzz/fuzz_targets/ for a short time (STYLE §5: 10 s each, stable
# toolchain with RUSTC_BOOTSTRAP=1, as rustls does). Uses cargo-fuzz when installed; otherwise
# builds the targets with the same instrumentation flags cargo-fuzz passes (libfuzzer-sys
# needs a C++ compiler). The corpus and any crash artifacts go to a temporary directory, never
# into the repository.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${FUZZ_SECONDS:-10}"
mapfile -t targets < <(find fuzz/fuzz_targets -maxdepth 1 -name '*.rs' -printf '%f\n' | sed 's/\.rs$//' | sort)
((${#targets[@]})) || { echo "skipping: no fuzz targets in fuzz/fuzz_targets"; exit 0; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
locked=()
[[ -f fuzz/Cargo.lock ]] && locked=(--locked)
export RUSTC_BOOTSTRAP=1

# libfuzzer-sys compiles libFuzzer, which is C++; a machine with only gcc lacks g++.
if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1; then
  echo "fuzz: installing g++ (libfuzzer-sys needs a C++ compiler)"
  sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo -n)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends g++ >/dev/null
fi

if cargo fuzz --version >/dev/null 2>&1; then
  # One build for all targets (shared dependencies), then each run is a no-op build.
  cargo fuzz build --fuzz-dir fuzz
  for target in "${targets[@]}"; do
    echo "fuzz: $target (${seconds}s, cargo fuzz)"
    mkdir -p "$work/$target"
    cargo fuzz run --fuzz-dir fuzz "$target" "$work/$target" -- \
      -max_total_time="$seconds" -artifact_prefix="$work/"
  done
  exit 0
fi

host="$(rustc -vV | sed -n 's/^host: //p')"
# --target keeps the flags away from build scripts and proc macros, as cargo-fuzz does.
RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks" \
  cargo build "${locked[@]}" --manifest-path fuzz/Cargo.toml --release --bins --target "$host" \
  --target-dir fuzz/target
for target in "${targets[@]}"; do
  echo "fuzz: $target (${seconds}s)"
  mkdir -p "$work/$target"
  "fuzz/target/$host/release/$target" -max_total_time="$seconds" -artifact_prefix="$work/" "$work/$target"
done
