#!/usr/bin/env bash
# The one test command (README "Test"; `.ci/run` runs exactly this): installs the missing peers,
# then formatting, lints, docs, every test (unit, integration, doctests, interop with real
# peers), fuzz and bench smoke runs, and finally checks that nothing wrote into the repository.
# Order as in STYLE §7. Any failing stage stops the run with a non-zero exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stage() { printf '\n==> %s\n' "$*"; }

stage "peers (scripts/setup-peers.sh)"
bash scripts/setup-peers.sh
# shellcheck source=/dev/null
. .peers/env
# A missing peer is a failure here, never a skip.
export AESEC_REQUIRE_PEERS=1
# Each stage builds once: incremental caches gain a run like this nothing and took 6.5 GB of
# its disk (set CARGO_INCREMENTAL=1 to keep them).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# The fuzz workspace (fuzz/, outside the main one) and the benches are stages of their own; a
# tree without them is broken, not "not there yet".
need() { [[ -e "$1" ]] || { printf 'error: %s is missing (%s)\n' "$1" "$2" >&2; exit 1; }; }
need fuzz/Cargo.toml "the fuzz workspace: fuzz targets, fmt and clippy over them, fuzz smoke"
need fuzz/smoke.sh "the fuzz smoke run"
compgen -G 'crates/*/benches/*.rs' >/dev/null ||
  need 'crates/*/benches/*.rs' "the criterion benches the bench smoke stage runs"

stage "module floors (scripts/check-layers.py)"
python3 scripts/check-layers.py

stage "cargo fmt --all --check (workspace and fuzz/)"
cargo fmt --all --check
cargo fmt --manifest-path fuzz/Cargo.toml --all --check

stage "cargo clippy --all-targets --locked -- -D warnings (workspace and fuzz/)"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The library alone, as an embedder builds it: without the test-only `fuzzing` feature (which the
# line above turns on through aesec's dev-dependency on itself), so code left unused there fails.
cargo clippy -p aesec --lib --locked -- -D warnings
# fuzz/ has its own Cargo.lock and target directory; the targets build on stable (libfuzzer-sys
# needs RUSTC_BOOTSTRAP=1 only for cargo-fuzz's sanitizer flags, which clippy does not pass).
cargo clippy --manifest-path fuzz/Cargo.toml --all-targets --locked -- -D warnings

stage "cargo doc --workspace --no-deps --document-private-items (warnings denied)"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --document-private-items

stage "cargo test --workspace --locked"
# The interop tests run the `aesec` binary of another package (aesec-cli); build it up front so
# the harness (tests/src/lib.rs, aesec_bin) finds it up to date.
cargo build --locked -p aesec-cli --bin aesec
cargo test --workspace --locked

stage "example fleet (scripts/example-fleet.sh, with the sops cross-checks)"
# AESEC_REQUIRE_PEERS=1 (above) makes a missing sops a failure there too.
AESEC_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/aesec" bash scripts/example-fleet.sh

stage "bench smoke (criterion benches run once in test mode)"
cargo test --workspace --locked --bench '*'

stage "fuzz smoke (fuzz/smoke.sh, 10 s per target)"
bash fuzz/smoke.sh

stage "repository unchanged (git diff --exit-code)"
git diff --exit-code
untracked="$(git ls-files --others --exclude-standard)"
if [[ -n "$untracked" ]]; then
  printf 'untracked files appeared:\n%s\n' "$untracked" >&2
  exit 1
fi

stage "all stages passed"
